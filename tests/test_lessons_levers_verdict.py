"""Lessons 08 (levers) and 09 (verdict): the sensitivity table, the crossing, the claims file.

Fast tests: no papermill. Oracles come from an independent computation (the scalar estimate, a
function whose root is known), never from a pasted output.
"""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest

from costlib.bill.estimate import estimate
from costlib.bill.params import load_params, with_overrides
from costlib.bill.vector import price_many
from costlib.core.paths import NOTEBOOKS_DIR, PARAMS_DIR
from costlib.lessons import levers, verdict
from costlib.lessons.widgets import traffic_scale_overrides


@pytest.fixture(scope="module")
def steady():
    return verdict.start(PARAMS_DIR / "scenario_b_steady.yaml", "svg")


@pytest.fixture(scope="module")
def steady_curve(steady):
    return verdict.traffic_curve(steady.params)


# -------------------------------------------------------------------------------------------
# the crossing


def test_bisect_rate_finds_a_known_root():
    root = verdict.bisect_rate(lambda r: r - 3.0, 0.5, 40.0)
    assert 3.0 <= root <= 3.0 * (1 + verdict.RPS_TOLERANCE)


def test_bisect_rate_refuses_a_bracket_without_a_sign_change():
    with pytest.raises(Exception, match="no sign change"):
        verdict.bisect_rate(lambda r: r + 1.0, 1.0, 2.0)


def test_crossing_by_bisection_is_where_a_direct_sweep_changes_sign(steady, steady_curve):
    # scenario B: the self-hosted fleets against the premium managed model
    params = steady.params
    c = verdict.find_crossing(params, steady_curve, managed="bedrock_claude_sonnet_45")
    assert c.found
    lo, hi = c.bracket
    assert lo <= c.avg_rps <= hi
    # a direct, independent sweep of the whole bill on a fine grid inside the bracket
    rates = np.geomspace(lo, hi, 201)
    inputs = {}
    for r in rates:
        for k, v in traffic_scale_overrides(params, r).items():
            inputs.setdefault(k, []).append(v)
    bill = price_many(params, {k: np.asarray(v) for k, v in inputs.items()})
    hosted = np.minimum(*(bill.total(n) for n, k in bill.kinds.items() if k == "self_hosted"))
    diff = hosted - bill.total("bedrock_claude_sonnet_45")
    change = np.flatnonzero(np.sign(diff[:-1]) != np.sign(diff[1:]))
    assert change.size == 1
    assert rates[change[0]] <= c.avg_rps * (1 + 1e-9)
    assert c.avg_rps <= rates[change[0] + 1] * (1 + verdict.RPS_TOLERANCE)
    # on the scalar estimate, the sign differs either side of the crossing
    below = verdict.difference_at(params, c.avg_rps / (1 + 2 * verdict.RPS_TOLERANCE),
                                  "bedrock_claude_sonnet_45")
    above = verdict.difference_at(params, c.avg_rps, "bedrock_claude_sonnet_45")
    assert np.sign(below) != np.sign(above)
    assert c.direction == "self-hosted cheaper above" and above < 0


def test_curve_matches_the_scalar_estimate(steady, steady_curve):
    params = steady.params
    row = steady_curve[(steady_curve["option"] == "p5_vllm_llama31_70b")]
    row = row.iloc[len(row) // 3]
    scaled = estimate(with_overrides(params, traffic_scale_overrides(params, row["avg_rps"])))
    total = next(o.monthly_usd for o in scaled.options if o.name == "p5_vllm_llama31_70b")
    assert math.isclose(row["monthly_usd"], total, rel_tol=1e-9)


def test_no_crossing_is_said_when_the_sweep_keeps_its_sign(steady, steady_curve):
    c = verdict.find_crossing(steady.params, steady_curve)  # against the cheapest managed
    rps, diff = verdict._series(steady_curve, None)
    assert (np.sign(diff) == np.sign(diff[0])).all() == (not c.found)
    if not c.found:
        assert "every rate" in c.note
        assert "No crossing" in verdict.flip_note(steady.params, c, steady_curve).data


def test_a_file_without_a_fleet_has_no_crossing():
    params, _ = verdict.start(PARAMS_DIR / "scenario_c_cached_rag.yaml", "svg")
    c = verdict.find_crossing(params)
    assert not c.found and "no self-hosted option" in c.note


# -------------------------------------------------------------------------------------------
# the verdict and the idle tax


def test_verdict_margins_are_differences_of_the_estimate(steady):
    params, result = steady
    table = verdict.verdict_table(result, params)
    totals = {o.name: o.monthly_usd for o in result.options}
    low = min(totals.values())
    assert table.index[0] == result.cheapest
    for name, row in table.iterrows():
        assert row["more_than_cheapest_usd"] == pytest.approx(totals[name] - low, abs=0.01)


def test_idle_share_and_idle_usd_follow_from_utilisation(steady):
    params, result = steady
    fleets = verdict.fleet_table(result, params)
    for name, row in fleets.iterrows():
        o = next(x for x in result.options if x.name == name)
        assert row["utilisation"] + row["idle_share"] == pytest.approx(1.0, abs=2e-3)
        assert row["idle_usd"] == pytest.approx((1 - o.details["utilisation"])
                                                * row["instance_usd"], abs=1.0)


def test_a_fleet_sized_for_the_spikes_carries_the_peak_minute():
    example = verdict.spike_example()
    day = verdict.spike_day(example)
    billed = day[day["series"].str.startswith("billed")]["instances"].iloc[0]
    needed = day[day["series"] == "needed by the demand"]["instances"]
    assert needed.max() <= billed < needed.max() + 1  # whole instances, enough for the peak
    assert needed.median() < 0.1 * billed  # most minutes need a small part of it


def test_option_sides_put_routers_with_the_model_they_route_to():
    params = load_params(PARAMS_DIR / "scenario_c_cached_rag.yaml")
    assert set(verdict.option_sides(params).values()) == {"managed"}


# -------------------------------------------------------------------------------------------
# the claims file


def test_the_claims_file_has_an_entry_for_each_scenario_params_file():
    claims = verdict.load_claims()
    for path in sorted(PARAMS_DIR.glob("*.yaml")):
        params = load_params(path)
        entry = verdict.claim_for(params)
        for field in ("name", "section", "workload", "claim", "conclusion", "expects"):
            assert entry[field], (path.name, field)
        assert entry["expects"] in ("managed", "self_hosted", "none")
        if path.stem.startswith("scenario_"):
            assert path.stem in claims, path.name
            assert "Scenario" in entry["section"], path.name


def test_claim_note_compares_with_the_computed_verdict(steady):
    params, result = steady
    text = verdict.claim_note(params, result).data
    side = verdict.option_sides(params)[result.cheapest]
    agrees = side == verdict.claim_for(params)["expects"].replace("_", "-")
    assert ("does not agree" in text) == (not agrees)


# -------------------------------------------------------------------------------------------
# the sensitivity table


@pytest.fixture(scope="module")
def default_sensitivity():
    params, result = levers.start(PARAMS_DIR / "default.yaml", "svg")
    return params, result, levers.sensitivity(params, result)


def test_a_swing_is_the_difference_of_the_two_estimates_it_came_from(default_sensitivity):
    params, result, table = default_sensitivity
    for key in ("traffic", "workload.in_tokens"):
        rows = table[(table["key"] == key) & (table["option"] == result.cheapest)]
        row = rows.iloc[0]
        lo = estimate(with_overrides(params, levers.input_overrides(params, key, row["low_value"])))
        hi = estimate(with_overrides(params, levers.input_overrides(params, key, row["high_value"])))
        lo_usd = next(o.monthly_usd for o in lo.options if o.name == result.cheapest)
        hi_usd = next(o.monthly_usd for o in hi.options if o.name == result.cheapest)
        assert row["low_usd"] == pytest.approx(lo_usd, rel=1e-9)
        assert row["high_usd"] == pytest.approx(hi_usd, rel=1e-9)
        assert row["swing_usd"] == pytest.approx(hi_usd - lo_usd, rel=1e-9)


def test_sensitivity_ranges_are_half_and_one_and_a_half_times_the_value(default_sensitivity):
    params, _, table = default_sensitivity
    row = table[table["key"] == "workload.out_tokens"].iloc[0]
    assert row["low_value"] == params.workload.out_tokens * levers.LOW
    assert row["high_value"] == params.workload.out_tokens * levers.HIGH


def test_ranks_order_the_swings_by_size(default_sensitivity):
    _, _, table = default_sensitivity
    for _, group in table.groupby("option"):
        ordered = group.sort_values("rank")["swing_usd"].abs().to_numpy()
        assert (np.diff(ordered) <= 1e-9).all()


def test_a_batch_moves_only_its_own_fleet(default_sensitivity):
    _, _, table = default_sensitivity
    """Another option's row for this batch is left out only when it does not move (the tornado
    keeps an option-scoped input's row for another option whenever its swing is not zero)."""
    rows = table[table["key"] == "options.p5_vllm_llama31_70b.batch_size"]
    assert set(rows["option"]) == {"p5_vllm_llama31_70b"}


def test_lever_status_has_one_row_per_lever_and_says_why():
    from costlib.whatif.levers import LEVERS

    params, result = levers.start(PARAMS_DIR / "scenario_a_bursty.yaml", "svg")
    report = levers.lever_report(params)
    status = levers.lever_status(report)
    assert list(status["lever"]) == [lv.name for lv in LEVERS]
    assert status.loc[~status["applies"], "why"].str.len().gt(0).all()
    chart = levers.sensitivity_chart(levers.sensitivity(params, result)).to_dict()
    assert chart["spec"]["encoding"]["color"]["scale"]["range"] == ["#bab0ac", "#4c78a8"]


# -------------------------------------------------------------------------------------------
# where self-hosting ties with the managed API (lesson 09), the largest lever's waterfall (08)


@pytest.mark.parametrize("path", sorted(PARAMS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_the_tie_is_where_both_bills_meet_on_the_scalar_estimate(path):
    params = load_params(path)
    result = estimate(params)
    b = verdict.tie_breakeven(params, result)
    sentence = verdict.tie_sentence(b, result)
    kinds = {o.kind for o in result.options}
    if not {"managed_api", "self_hosted"} <= kinds:
        assert b is None and sentence.count(". ") == 0 and "no self-hosted option" in sentence
        assert verdict.tie_chart(b) is None
        return
    managed, hosted = b.options
    # the two compared are the cheapest of their kind
    for name, kind in ((managed, "managed_api"), (hosted, "self_hosted")):
        assert next(o for o in result.options if o.name == name).monthly_usd == min(
            o.monthly_usd for o in result.options if o.kind == kind)
    assert b.key == f"options.{managed}.usd_per_1m_input_tokens"
    if not b.found:
        assert sentence.startswith("No crossing in the valid range")
        return
    c = b.crossings[0]
    again = estimate(with_overrides(params, {b.key: c.value}))
    tot = {o.name: o.monthly_usd for o in again.options}
    assert math.isclose(tot[managed], tot[hosted], rel_tol=1e-6)
    assert f"{c.value:,.4g}" in sentence
    verdict.tie_chart(b).to_dict()


def test_the_tie_of_scenario_b_by_hand(steady):
    params, result = steady
    # the managed bill is affine in its input price: rest + price x input tokens [1M/month]
    bedrock = next(o for o in result.options if o.name == "bedrock_llama31_70b")
    fleet = next(o for o in result.options if o.name == "p5_vllm_llama31_70b")
    tokens = next(li for li in bedrock.line_items if li.item.endswith("input tokens"))
    price = (fleet.monthly_usd - (bedrock.monthly_usd - tokens.monthly_usd)) / tokens.quantity
    b = verdict.tie_breakeven(params, result)
    assert b.options == ("bedrock_llama31_70b", "p5_vllm_llama31_70b")
    assert math.isclose(b.crossings[0].value, price, rel_tol=1e-7)
    assert f"{price / tokens.unit_usd:.2f}x today's" in verdict.tie_sentence(b, result)


def test_no_tie_in_the_range_is_said(steady):
    from costlib.whatif.breakeven import breakeven

    params, result = steady
    b = breakeven(params, "options.bedrock_llama31_70b.usd_per_1m_input_tokens",
                  "bedrock_llama31_70b", "p5_vllm_llama31_70b", lo=0.1, hi=0.5, grid=8)
    sentence = verdict.tie_sentence(b, result)
    assert sentence.startswith("No crossing in the valid range")
    assert "bedrock_llama31_70b stays cheaper than p5_vllm_llama31_70b" in sentence


@pytest.mark.parametrize("name", ["scenario_b_steady.yaml", "scenario_c_cached_rag.yaml"])
def test_the_largest_lever_waterfall_ends_on_the_lever_tables_after(name):
    params, result = levers.start(PARAMS_DIR / name, "svg")
    report = levers.lever_report(params)
    change = levers.largest_lever(params, report, result)
    mine = report[(report["option"] == result.cheapest) & report["applies"]
                  & report["targeted"] & (report["change_usd"] < 0)]
    best = mine.loc[mine["change_usd"].idxmin()]
    assert (change.lever, change.option) == (best["lever"], result.cheapest)
    frame = levers.lever_waterfall_frame(change)
    assert math.isclose(frame["end_usd"].iloc[0], best["before_usd"], rel_tol=1e-12)
    assert math.isclose(frame["end_usd"].iloc[-1], best["after_usd"], rel_tol=1e-9)
    assert math.isclose(frame["change_usd"].iloc[1:-1].sum(), best["change_usd"], rel_tol=1e-9)
    assert change.lever in levers.lever_waterfall_note(change).data
    levers.lever_waterfall_chart(change).to_dict()


def test_no_lever_no_waterfall():
    assert levers.lever_waterfall_chart(None) is None
    assert "no saving" in levers.lever_waterfall_note(None).data


# -------------------------------------------------------------------------------------------
# the notebooks call only their lesson module

NOT_IN_A_CELL = ("altair", "ipywidgets", "numpy", "costlib.formulas", "costlib.bill",
                 "costlib.whatif", "costlib.tables", "costlib.lessons.charts",
                 "costlib.lessons.widgets")


@pytest.mark.parametrize("number,module", [("08", "levers"), ("09", "verdict")])
def test_notebook_cells_call_only_their_lesson_module(number, module):
    import nbformat

    (path,) = NOTEBOOKS_DIR.glob(f"{number}_*.ipynb")
    nb = nbformat.read(path, as_version=4)
    imported, called = set(), set()
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported |= {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Lambda)):
                raise AssertionError(f"{path.name} defines a function in a cell")
            elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                  and node.value.id == "lesson"):
                called.add(node.attr)
    assert f"costlib.lessons.{module}" in imported
    bad = [m for m in imported if any(m == b or m.startswith(b + ".") for b in NOT_IN_A_CELL)]
    assert bad == []
    lesson = getattr(__import__("costlib.lessons", fromlist=[module]), module)
    for name in called:
        assert getattr(lesson, name).__doc__, name
