"""Lessons 06 (observability and security) and 07 (failures): the functions their notebooks call.

Oracles are hand calculations from the price table rows and the formulas' stated equations, or
properties (monotone in the sample rate, naive >= budgeted >= none in attempts), never pasted
outputs. No notebook is executed here.
"""

from __future__ import annotations

import ast

import altair as alt
import numpy as np
import pandas as pd
import pytest
from IPython.display import Markdown
from numpy.testing import assert_allclose

from costlib.bill.estimate import estimate
from costlib.bill.params import with_overrides
from costlib.core.paths import NOTEBOOKS_DIR, PARAMS_DIR
from costlib.core.units import BYTES_PER_TOKEN_TEXT
from costlib.lessons import failures, observability, start
from costlib.tables.prices import load_price_book

FILES = ["default.yaml", "rag_plumbing.yaml", "scenario_a_bursty.yaml",
         "scenario_c_cached_rag.yaml"]


@pytest.fixture(scope="module", params=FILES)
def lesson(request):
    return start(PARAMS_DIR / request.param, "svg")


@pytest.fixture(scope="module")
def default():
    return start(PARAMS_DIR / "default.yaml", "svg")


def _usd(params, service, name, dimension):
    book = load_price_book(params.prices.model_copy(update={"region": params.region}),
                           base_dir=PARAMS_DIR)
    return float(book.row(service, name, dimension)["usd"])


# --------------------------------------------------------------------------------------------
# lesson 06


def test_bytes_by_level_matches_the_hand_formula(default):
    params, result = default
    w = result.workload
    frame = observability.bytes_by_level(params, result).set_index("level")
    meta = 1024.0  # the file's default metadata line
    payload = (w["in_tokens"] + w["out_tokens"]) * BYTES_PER_TOKEN_TEXT
    traces = w["out_tokens"] * 150.0  # default bytes per token event
    assert_allclose(frame["bytes_per_request"], [meta, meta + payload, meta + payload + traces])
    assert_allclose(frame.loc["metadata only", "gb_per_month"],
                    meta * w["requests_per_month"] / 2**30)


def test_ingestion_is_gb_times_the_price_row(default):
    params, _ = default
    frame = observability.cost_by_level(params)
    ingest = frame[(frame["level"] == "+ prompt and answer") & (frame["kind"] == "ingestion")]
    w = estimate(params).workload
    gb = (1024.0 + (w["in_tokens"] + w["out_tokens"]) * 4.0) * w["requests_per_month"] / 2**30
    assert_allclose(ingest["monthly_usd"].iloc[0],
                    gb * _usd(params, "cloudwatch_logs", "standard", "ingest"))


def test_each_logging_level_costs_more(lesson):
    params, _ = lesson
    totals = observability.cost_by_level(params).groupby("level", sort=False)["monthly_usd"].sum()
    assert list(totals.index) == list(observability.LEVELS)
    assert totals.is_monotonic_increasing and totals.iloc[-1] > totals.iloc[0]


def test_sample_rate_sweep_is_monotone_and_matches_the_scalar_estimate(default):
    params, _ = default
    frame = observability.sample_rate_sweep(params, rates=[0.0, 0.1, 0.5, 1.0],
                                            retentions=[7.0, 30.0])
    for _, g in frame.groupby("retention_days"):
        assert g["monthly_usd"].is_monotonic_increasing
    at30 = frame[frame["retention_days"] == 30.0]
    # longer retention never costs less
    assert (frame[frame["retention_days"] == 7.0]["monthly_usd"].values
            <= at30["monthly_usd"].values).all()
    heavy, note = observability.heavy_logging(params)
    assert note  # the default file logs no payloads
    scalar = estimate(with_overrides(heavy, {"observability.payload_sample_rate": 0.5}))
    assert_allclose(at30[at30["payload_sample_rate"] == 0.5]["monthly_usd"].iloc[0],
                    observability.category_usd(scalar, "observability"))


def test_budget_sample_rate_doubles_the_metadata_bytes(lesson):
    params, result = lesson
    rate = observability.budget_sample_rate(params, 2.0)
    s = params.observability
    w = result.workload
    from costlib.formulas.logs import log_bytes_per_request
    meta = log_bytes_per_request(w["in_tokens"], w["out_tokens"], s.metadata_bytes_per_request,
                                 s.log_sample_rate)
    at = log_bytes_per_request(w["in_tokens"], w["out_tokens"], s.metadata_bytes_per_request,
                               s.log_sample_rate, True, True, s.bytes_per_token_event, rate,
                               s.payload_kept_fraction, s.payload_copies)
    assert 0 < rate <= 1
    assert_allclose(at, 2.0 * meta)


def test_kms_sweep_is_requests_over_objects_per_key_times_price(default):
    params, _ = default
    frame = observability.kms_sweep(params, [1, 10, 1000])
    reqs = estimate(params).workload["requests_per_month"]
    writes = observability.ASSUMED_WRITES_PER_REQUEST  # the default file encrypts nothing
    price = _usd(params, "kms", "customer_managed_key", "requests")
    assert_allclose(frame["kms_requests_usd"], reqs * writes / np.array([1, 10, 1000])
                    / 1e4 * price)
    key_month = _usd(params, "kms", "customer_managed_key", "key_month")
    assert_allclose(frame["monthly_usd"] - frame["kms_requests_usd"],
                    params.security.kms_keys * key_month)


def test_rank_table_ranks_observability_among_the_categories(lesson):
    params, _ = lesson
    table = observability.rank_table(params)
    assert set(table["case"]) == {"as filed", "full payload logging"}
    assert (table["rank"] >= 1).all() and (table["rank"] <= table["of_categories"]).all()
    full = table[table["case"] == "full payload logging"].set_index("option")
    filed = table[table["case"] == "as filed"].set_index("option")
    assert (full["observability_usd"] >= filed["observability_usd"] - 1e-9).all()


def test_prices_table_names_every_source(default):
    params, _ = default
    table = observability.prices_table(params)
    assert {"CloudWatch Logs ingestion", "KMS requests", "Secrets Manager secrets"} <= set(
        table.index)
    assert table["source"].str.len().min() > 0
    assert_allclose(table.loc["CloudWatch Logs ingestion", "unit_usd"],
                    _usd(params, "cloudwatch_logs", "standard", "ingest"))


# --------------------------------------------------------------------------------------------
# lesson 07


def test_quota_case_binds_below_the_peak(lesson):
    params, _ = lesson
    case = failures.quota_case(params)
    assert case.option is not None and case.note
    assert case.allowed_rps < case.peak_rps
    if params.options[case.option].quota is None:
        assert case.overrides == {f"options.{case.option}.quota.requests_per_minute":
                                  pytest.approx(0.8 * case.peak_rps * 60)}


def test_naive_retries_send_most_attempts_and_serve_no_more(lesson):
    params, _ = lesson
    frame = failures.retry_policies(params)
    for _, g in frame.groupby("case"):
        g = g.set_index("policy")
        assert g.loc["naive", "attempts"] >= g.loc["budgeted", "attempts"] >= g.loc["none",
                                                                                    "attempts"]
        # naive retries all land in the spent minute: exactly as many unserved as no retries
        assert_allclose(g.loc["naive", "unserved"], g.loc["none", "unserved"])
        assert g.loc["budgeted", "unserved"] <= g.loc["none", "unserved"] + 1e-6
        assert_allclose(g.loc["naive", "retries"],
                        (params.failures.max_attempts - 1) * g.loc["naive", "throttled"])
    billed = frame[frame["case"] == list(failures.BILLED_CASES)[1]].set_index("policy")
    free = frame[frame["case"] == list(failures.BILLED_CASES)[0]].set_index("policy")
    assert billed.loc["naive", "failures_usd"] >= billed.loc["budgeted", "failures_usd"] > 0
    assert_allclose(free["failures_usd"], 0.0, atol=1e-9)  # 429s are not billed


def test_retry_formula_agrees_with_the_bill(lesson):
    # the unserved count from the formula equals the bill's "failed after retries" line item
    params, _ = lesson
    frame = failures.retry_policies(params)
    for policy in ("none", "naive"):
        row = frame[frame["policy"] == policy].iloc[0]
        assert_allclose(row["unserved"], row["throttled"], rtol=1e-6)


def test_naive_billed_retries_cost_the_request_price(default):
    params, _ = default
    frame = failures.retry_policies(params)
    row = frame[(frame["policy"] == "naive")
                & (frame["case"] == list(failures.BILLED_CASES)[1])].iloc[0]
    model = params.options["bedrock_llama31_70b"].model
    w = estimate(params).workload
    usd = (w["in_tokens"] * _usd(params, "bedrock", model, "input")
           + w["out_tokens"] * _usd(params, "bedrock", model, "output")) / 1e6
    assert_allclose(row["failures_usd"], row["retries"] * usd)


def test_quota_sweep_loses_less_as_the_quota_grows(default):
    params, _ = default
    frame = failures.quota_sweep(params, shares=[0.5, 0.8, 1.0, 1.1])
    for _, g in frame.groupby("policy"):
        assert g["unserved_pct"].is_monotonic_decreasing
        assert_allclose(g["unserved_pct"].iloc[-1], 0.0, atol=1e-9)


def test_discarded_sweep_is_fraction_times_requests_times_price(default):
    params, _ = default
    frame = failures.discarded_sweep(params, [0.0, 0.02])
    row = frame[(frame["option"] == "bedrock_llama31_70b") & (frame["discarded_fraction"] == 0.02)]
    model = params.options["bedrock_llama31_70b"].model
    w = estimate(params).workload
    usd = (w["in_tokens"] * _usd(params, "bedrock", model, "input")
           + w["out_tokens"] * _usd(params, "bedrock", model, "output")) / 1e6
    assert_allclose(row["failures_usd"].iloc[0], 0.02 * w["requests_per_month"] * usd)
    fixed = frame[frame["option"] == "p5_vllm_llama31_70b"]
    assert_allclose(fixed["failures_usd"], 0.0)  # a fixed fleet absorbs it
    assert fixed["failures_instance_hours"].iloc[-1] > 0


def test_oom_sweep_lost_hours_are_restarts_times_minutes(default):
    params, result = default
    frame = failures.oom_sweep(params, [0.0, 2.0])
    name = "p5_vllm_llama31_70b"
    o = next(o for o in result.options if o.name == name)
    hours = next(li.quantity for li in o.line_items
                 if li.unit == "instance-hour" and li.category == "inference")
    minutes = params.options[name].fleet.cold_start_min
    row = frame[(frame["option"] == name) & (frame["restarts_per_instance_month"] == 2.0)]
    assert_allclose(row["lost_hours"].iloc[0], 2.0 * hours / 730 * minutes / 60)


def test_stampede_sweep_matches_the_hand_formula():
    params, result = start(PARAMS_DIR / "scenario_c_cached_rag.yaml", "svg")
    frame = failures.stampede_sweep(params, deploys=[0.0, 8.0], prewarm=(0.0, 0.9))
    hit = params.options["cache_then_llama31_8b"].cache.hit_fraction
    rps = result.workload["avg_rps"]
    expect = [0.0, 8 * hit * rps * 60 * 30, 0.0, 8 * hit * rps * 60 * 30 * 0.1]
    assert_allclose(frame["extra_misses"], expect)
    assert failures.stampede_sweep(start(PARAMS_DIR / "default.yaml", "svg").params).empty


def test_notes_replace_charts_when_a_section_does_not_apply():
    params, _ = start(PARAMS_DIR / "scenario_c_cached_rag.yaml", "svg")
    assert isinstance(failures.oom_chart(failures.oom_sweep(params)), Markdown)
    assert "does not apply" in failures.exercise_spot(params).data


# --------------------------------------------------------------------------------------------
# both lessons: charts, prose, exercises, notebooks


def test_every_chart_and_answer_builds(lesson):
    params, result = lesson
    o, f = observability, failures
    charts = [o.bytes_chart(o.bytes_by_level(params, result)),
              o.cost_by_level_chart(o.cost_by_level(params)),
              o.sample_rate_chart(o.sample_rate_sweep(params, rates=[0.0, 1.0])),
              o.kms_chart(o.kms_sweep(params, [1, 100])),
              f.retry_chart(f.retry_policies(params)),
              f.quota_chart(f.quota_sweep(params, shares=[0.5, 1.0])),
              f.discarded_chart(f.discarded_sweep(params, [0.0, 0.05])),
              f.oom_chart(f.oom_sweep(params, [0.0, 1.0])),
              f.stampede_chart(f.stampede_sweep(params, deploys=[0.0, 4.0]))]
    for c in charts:
        assert isinstance(c, (alt.TopLevelMixin, Markdown))
        if not isinstance(c, Markdown):
            c.to_dict()
    answers = [o.logging_answer(params, result), o.exercise_payload_ingestion(params),
               o.exercise_sample_rate(params), o.exercise_retention(params),
               o.exercise_kms(params), f.retry_answer(f.retry_policies(params), params),
               f.quota_needed(params), f.exercise_discarded(params), f.exercise_spot(params),
               f.exercise_naive_vs_budgeted(f.retry_policies(params)), f.discarded_note(params)]
    for a in answers:
        assert isinstance(a, Markdown) and a.data and "nan" not in a.data


def test_exercise_answers_agree_with_their_hand_calculation(default):
    # each exercise prints costlib's figure and the same figure by hand: they must agree
    params, _ = default
    import re
    for md in (observability.exercise_payload_ingestion(params),
               observability.exercise_retention(params),
               failures.exercise_discarded(params)):
        bold = re.findall(r"\*\*([\d,.]+) USD", md.data)[0]
        hand = re.findall(r"by hand: (?:[^)]*= )?([\d,.]+)\)", md.data)[0]
        assert bold == hand, md.data


def test_retry_chart_colours_the_failures_category():
    from costlib.lessons import charts
    assert failures.POLICY_COLORS["naive"] == charts.CATEGORY_COLORS["failures"]
    assert observability.OBS_SHADES["ingestion"] == charts.CATEGORY_COLORS["observability"]


@pytest.mark.parametrize("number,module", [("06", "observability"), ("07", "failures")])
def test_notebook_cells_call_only_their_lesson_module(number, module):
    import nbformat
    (path,) = NOTEBOOKS_DIR.glob(f"{number}_*.ipynb")
    nb = nbformat.read(path, as_version=4)
    imported, defined = set(), []
    for c in nb.cells:
        if c.cell_type != "code" or "parameters" in c.metadata.get("tags", []):
            continue
        for node in ast.walk(ast.parse(c.source)):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported |= {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Lambda)):
                defined.append(node)
    assert imported == {"pandas", f"costlib.lessons.{module}"}
    assert defined == []


def test_lesson_modules_document_every_public_function():
    for module in (observability, failures):
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) and not isinstance(obj, type(pd)):
                assert obj.__doc__, f"{module.__name__}.{name}"
