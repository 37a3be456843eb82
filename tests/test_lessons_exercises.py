"""The exercises of lessons 00-03: the answer functions their notebooks call.

Oracles are hand calculations from costlib's lower-level results (the worksheet formulas, the
price book's rows, an estimate's line items and fleet details, the throughput tables) or
properties (at the break-even batch the two prices are equal); never pasted outputs.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from IPython.display import Markdown
from numpy.testing import assert_allclose

from costlib.core.paths import PARAMS_DIR
from costlib.core.units import HOURS_PER_MONTH
from costlib.formulas import worksheet as ws
from costlib.lessons import inference, prices, start, throughput, worksheet
from costlib.tables import hardware as catalog


@pytest.fixture(scope="module")
def default():
    return start(PARAMS_DIR / "default.yaml", "svg")


@pytest.fixture(scope="module")
def bursty():
    return start(PARAMS_DIR / "scenario_a_bursty.yaml", "svg")


@pytest.fixture(scope="module")
def managed_only():
    return start(PARAMS_DIR / "scenario_c_cached_rag.yaml", "svg")


def _hosted(result):
    return [o for o in result.options if o.kind == "self_hosted"]


def _instance_hours_usd(option):
    return sum(li.monthly_usd for li in option.line_items if "instance-hours" in li.item)


# --------------------------------------------------------------------------------------------
# 00 worksheet


@pytest.mark.parametrize("kind", [float, list, np.array, pd.Series])
def test_batch_at_managed_price_hand(kind):
    # 55.04 USD/h (p5.48xlarge), 1,117.6 tokens/s per sequence, 0.00072 USD per 1k tokens:
    # 55.04 / (3.6 x 1117.6 x 0.00072) = 19.0006
    arg = kind([1117.6, 1117.6]) if kind is not float else 1117.6
    got = worksheet.batch_at_managed_price(55.04, arg, 0.00072)
    assert_allclose(np.asarray(got, dtype=float), 55.04 / (3.6 * 1117.6 * 0.00072))


def test_batch_at_managed_price_equals_prices():
    b = worksheet.batch_at_managed_price(55.04, 135.8, 0.00072)
    # one instance fully used at that batch serves tps x batch tokens/s: formula 4 gives the
    # managed price back
    assert_allclose(ws.usd_per_1k_tokens_self_hosted(55.04, 1, 135.8 * b), 0.00072)


def test_managed_usd_per_1k_tokens_default(default):
    params, result = default
    book = prices.book_for(params)
    model = params.options["bedrock_llama31_70b"].model
    w = params.workload
    blended = (w.in_tokens * book.usd("bedrock", model, "input")
               + w.out_tokens * book.usd("bedrock", model, "output")) / (w.in_tokens + w.out_tokens)
    assert_allclose(worksheet.managed_usd_per_1k_tokens(result)["bedrock_llama31_70b"],
                    blended / 1000.0)


def test_answer_managed_batch_default(default):
    params, result = default
    text = worksheet.answer_managed_batch(params, result).data
    m = worksheet.managed_usd_per_1k_tokens(result)["bedrock_llama31_70b"]
    for o in _hosted(result):
        b = worksheet.batch_at_managed_price(o.line_items[0].unit_usd,
                                             o.details["tokens_per_second_per_instance"], m)
        assert f"a batch of {b:,.1f}**" in text and o.name in text


def test_answer_one_more_instance_default(default):
    params, result = default
    text = worksheet.answer_one_more_instance(params, result).data
    w = params.workload
    tpr = w.in_tokens + w.out_tokens
    for o in _hosted(result):
        per = o.details["tokens_per_second_per_instance"] * o.details["batch_size"] / tpr
        need = ws.required_instances(result.workload["p95_rps"] * tpr,
                                     o.details["tokens_per_second_per_instance"], o.details["batch_size"])
        n = int(ws.instances_to_provision(need))
        assert f"{(n + 1) * per:,.2f} requests/s" in text
        assert f"{o.line_items[0].unit_usd * HOURS_PER_MONTH:,.0f} USD a month more" in text


def test_answer_average_premium_ratio(default, bursty):
    for params, result in (default, bursty):
        text = worksheet.answer_average_premium(params, result).data
        ratio = result.workload["p95_rps"] / params.workload.avg_rps
        assert f"**{ratio:,.2f} ×**" in text
    # the bursty file's p95 minute is below its average: a token is cheaper on average
    assert "Below 1" in worksheet.answer_average_premium(*bursty).data


def test_worksheet_answers_without_self_hosted(managed_only):
    params, result = managed_only
    for f in (worksheet.answer_managed_batch, worksheet.answer_one_more_instance,
              worksheet.answer_average_premium):
        answer = f(params, result)
        assert isinstance(answer, Markdown)
        assert answer.data.startswith(worksheet.NO_SELF_HOSTED)


# --------------------------------------------------------------------------------------------
# 01 prices


def test_answer_oldest_price(default):
    params, result = default
    used = prices.used_prices(result, params.prices.max_age_days)
    text = prices.answer_oldest_price(result, used).data
    oldest = min(date.fromisoformat(r["as_of"]) for r in result.prices["used"])
    age = (date.fromisoformat(result.prices["in_force_on"]) - oldest).days
    assert f"as of **{oldest}**" in text and f"{age:,} days old" in text
    first = [r for r in result.prices["used"] if date.fromisoformat(r["as_of"]) == oldest]
    assert any(r["source"] in text for r in first)


def test_days_to_age_limit_hand():
    used = pd.DataFrame({"age_days": [500, 373, 120], "older_than_limit": [True, False, False]})
    assert prices.days_to_age_limit(used, 400) == 400 - 373
    assert np.isnan(prices.days_to_age_limit(used.iloc[:1], 400))


def test_answer_age_limit_default(default):
    params, result = default
    limit = params.prices.max_age_days
    used = prices.used_prices(result, limit)
    on = date.fromisoformat(result.prices["in_force_on"])
    ages = [(on - date.fromisoformat(r["as_of"])).days for r in result.prices["used"]]
    text = prices.answer_age_limit(used, limit).data
    assert f"{sum(a > limit for a in ages)} of the {len(used)} price rows" in text
    assert f"**{min(limit - a for a in ages if a <= limit):,.0f} days**" in text


def test_answer_instance_discount_moves_instance_hours_only(default):
    params, result = default
    assert prices.instance_services(params) == {"p5_trtllm_llama31_70b": "ec2",
                                                "p5_vllm_llama31_70b": "ec2"}
    effect = prices.discount_effect(params, {"ec2": 20.0})
    t = effect.totals.set_index("option")
    for o in result.options:
        expected = -0.2 * _instance_hours_usd(o) if o.kind == "self_hosted" else 0.0
        assert_allclose(t.loc[o.name, "change_usd_per_month"], expected, atol=1e-6)
    text = prices.answer_instance_discount(params, result, 20.0).data
    for o in _hosted(result):
        assert f"**{o.monthly_usd - 0.2 * _instance_hours_usd(o):,.0f} USD a" in text


def test_answer_instance_discount_without_self_hosted(managed_only):
    text = prices.answer_instance_discount(*managed_only).data
    assert "no self-hosted option" in text


# --------------------------------------------------------------------------------------------
# 02 inference bill


@pytest.mark.parametrize("kind", [float, list, np.array, pd.Series])
def test_idle_share_kinds(kind):
    u = kind([0.25, 0.8]) if kind is not float else 0.25
    expected = [0.75, 0.2] if kind is not float else 0.75
    assert_allclose(np.asarray(inference.idle_share(np.asarray(u)), dtype=float), expected)


def test_answer_idle_share(bursty):
    _, result = bursty
    text = inference.answer_idle_share(result).data
    for o in _hosted(result):
        u, avg = o.details["utilisation"], o.details["avg_instances"]
        assert f"**{1 - u:.1%} idle**" in text
        assert f"{(1 - u) * avg * HOURS_PER_MONTH:,.0f} serve nothing" in text
        assert f"{(1 - u) * _instance_hours_usd(o):,.0f} USD" in text


def test_breakeven_avg_rps_property():
    # a managed bill scaled from 10 to r requests/s meets the fleet's bill
    r = inference.breakeven_avg_rps(10.0, np.array([120_000.0, 5_000.0]), 30_000.0)
    assert_allclose(30_000.0 * r / 10.0, [120_000.0, 5_000.0])


def test_fleet_capacity_avg_rps_hand(default, bursty):
    _, result = default
    o = next(o for o in result.options if o.name == "p5_trtllm_llama31_70b")
    # params: 1,117.6 tokens/s per sequence x 16 sequences / (1500 + 300) tokens, 3 instances,
    # sized for p95 25 requests/s of an average 10
    assert_allclose(inference.fleet_capacity_avg_rps(result, o), 3 * 1117.6 * 16 / 1800 * 10 / 25)
    _, result = bursty
    o = next(o for o in result.options if o.name == "g5_llama31_8b_sized_for_spikes")
    per = o.details["tokens_per_second_per_instance"] * o.details["batch_size"] / 1900
    assert_allclose(inference.fleet_capacity_avg_rps(result, o, "peak"),
                    o.details["peak_instances"] * per * 3.0 / 60.0)


def test_answer_breakeven_rps(default, bursty, managed_only):
    params, result = default
    text = inference.answer_breakeven_rps(result, params).data
    m = next(o for o in result.options if o.kind == "managed_api")
    for o in _hosted(result):
        assert f"**{10.0 * o.monthly_usd / m.monthly_usd:,.2f} requests/s**" in text
    text = inference.answer_breakeven_rps(bursty[1], bursty[0]).data
    assert "g5_llama31_8b_autoscaled: its fleet is autoscaled" in text
    assert inference.answer_breakeven_rps(managed_only[1], managed_only[0]).data == inference.NO_BREAKEVEN


# --------------------------------------------------------------------------------------------
# 03 throughput (scenario A's 8B model on one A10G: the cheapest setup to search)


@pytest.fixture(scope="module")
def small_setup(bursty):
    return throughput.lesson_setup(bursty[0])


def test_answer_bounds_concurrency(small_setup):
    bounds = throughput.bounds_table(small_setup)
    t = bounds.set_index("variant")
    both = t.loc["all the stated bounds"]
    singles = t.drop(index="all the stated bounds")
    # together the bounds allow no more than any one alone, and never more than memory holds
    assert both["concurrency"] <= singles["concurrency"].min() * (1 + 1e-6)
    assert both["concurrency"] <= both["max_concurrency_memory"]
    text = throughput.answer_bounds_concurrency(small_setup, bounds).data
    assert f"{both['concurrency']:,.1f} sequences per instance" in text
    assert f"limited by the {both['binding']}" in text


def test_answer_doubled_prompt_hand(small_setup):
    table = pd.DataFrame({"in_tokens": [1500.0, 3000.0], "concurrency": [20.0, 10.0],
                          "binding": ["memory", "memory"], "usd_per_1k_tokens": [0.0002, 0.00025],
                          "note": ["", ""]})
    text = throughput.answer_doubled_prompt(small_setup, table).data
    # per request: 0.0002 x 1900 / 1000 = 0.00038 USD; 0.00025 x 3400 / 1000 = 0.00085 USD
    assert "**10.0** sequences" in text and "(-50%" in text and "both times" in text
    assert "0.00038 to 0.00085 USD" in text and f"{3400 / 1900:.2f} × the tokens" in text


def test_answer_doubled_prompt_infeasible(small_setup):
    by_context = throughput.context_length_sweep(small_setup, multipliers=(1.0, 2.0))
    text = throughput.answer_doubled_prompt(small_setup, by_context).data
    two = by_context.set_index("in_tokens").loc[2 * small_setup.in_tokens]
    if np.isnan(two["concurrency"]):
        assert "cannot be served" in text and two["note"] in text
    else:
        assert f"**{two['concurrency']:,.1f}**" in text


def test_answer_fp8(small_setup):
    memory = throughput.memory_breakdown(small_setup)
    levers = throughput.levers_table(small_setup, speculative=None)
    text = throughput.answer_fp8(small_setup, levers, memory).data
    tp = int(memory["tensor_parallel"].iloc[0])
    from dataclasses import replace
    bf = throughput.memory_breakdown(replace(small_setup, precision="bf16", kv_precision="bf16"), tp)
    f8 = throughput.memory_breakdown(replace(small_setup, precision="fp8", kv_precision="fp8"), tp)
    w = {n: float(d.loc[d.component == "weights", "gib_per_gpu"].iloc[0]) for n, d in (("bf", bf), ("f8", f8))}
    assert w["f8"] < w["bf"]  # half the bytes per weight (embeddings stay 16-bit)
    assert f8["sequences_that_fit"].iloc[0] > bf["sequences_that_fit"].iloc[0]
    gpu = catalog.get_gpu(catalog.get_instance(small_setup.instance).accelerator)
    assert ("no FP8 tensor cores" in text) == (gpu.fp8_dense_tflops is None)
    row = levers.set_index("variant").loc["fp8 + fp8 KV"]
    assert f"**{row['concurrency']:,.1f}**" in text


def test_answer_bounds_concurrency_names_the_example(managed_only):
    setup = throughput.lesson_setup(managed_only[0])
    table = pd.DataFrame([{"variant": "all the stated bounds", "bounds": "x", "concurrency": 4.0,
                           "max_concurrency_memory": 8.0, "binding": "KV-cache memory",
                           "p95_ttft_ms": 100.0, "p95_tpot_ms": 20.0, "note": ""}])
    text = throughput.answer_bounds_concurrency(setup, table).data
    assert text.startswith("This params file has no self-hosted option")
    assert "50% of the KV slots" in text
