"""Lesson 10 (how the capacity is bought): the functions its notebook calls.

Oracles: the estimate itself (a Standard row is the option's total), a hand calculation of the
batch mix (Llama 3.1 70B on Bedrock: 0.72 USD per 1M tokens on demand, 0.36 in batch, from the
price table), the prefix-cache formula worked by hand, and properties (the inverse of the hit
curve, monotonicity, a region's column equal to the params file priced there).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from costlib.bill.estimate import estimate
from costlib.bill.params import load_params
from costlib.core.paths import PARAMS_DIR
from costlib.formulas.prompt_cache import prefix_hit_fraction
from costlib.lessons import buying

FILES = sorted(p.name for p in PARAMS_DIR.glob("*.yaml"))


@pytest.fixture(scope="module")
def scenario_b():
    return load_params(PARAMS_DIR / "scenario_b_steady.yaml")


def test_the_standard_row_is_the_options_own_total(scenario_b):
    table = buying.tier_table(scenario_b)
    totals = {o.name: o.monthly_usd for o in estimate(scenario_b).options}
    for name in buying.managed_options(scenario_b):
        row = table[(table["option"] == name) & (table["mix"] == "standard")].iloc[0]
        assert row["monthly usd"] == pytest.approx(totals[name], abs=0.005)


def test_batch_for_the_tolerant_share_saves_half_its_token_spend_by_hand(scenario_b):
    """40 rps x 2,628,000 s = 105,120,000 requests x 2,500 tokens = 262,800 M tokens a month at
    0.72 USD per 1M on demand (189,216 USD); batch halves the price (0.36), so moving 40 % of the
    requests to batch saves 0.4 x 189,216 x 0.5 = 37,843.20 USD; the plumbing is unchanged."""
    table = buying.tier_table(scenario_b, tolerant_share=0.4)
    rows = table[table["option"] == "bedrock_llama31_70b"].set_index("mix")["monthly usd"]
    assert rows["standard"] - rows["standard+batch"] == pytest.approx(37_843.20, abs=0.02)


def test_the_cheapest_mark_is_on_the_lowest_priced_row(scenario_b):
    table = buying.tier_table(scenario_b)
    for _, rows in table.groupby("option"):
        priced = rows.dropna(subset=["monthly usd"])
        assert priced.loc[priced["monthly usd"].idxmin(), "cheapest"] == "yes"
        assert (rows["cheapest"] == "yes").sum() == 1


def test_unpriced_rows_say_why(scenario_b):
    table = buying.tier_table(scenario_b)
    unpriced = table[table["monthly usd"].isna()]
    assert not unpriced.empty and unpriced["why not priced"].str.len().gt(10).all()


def test_the_hit_curve_by_hand_and_rising():
    frame = buying.cache_hit_frame(ttls=(5.0,), rates=[0.2, 1.0, 3.0])
    # 1 - exp(-1 x 5) = 1 - 0.006738 = 0.993262
    assert frame["hit_fraction"].iloc[1] == pytest.approx(1 - math.exp(-5), rel=1e-12)
    assert frame["hit_fraction"].is_monotonic_increasing
    long = buying.cache_hit_frame()
    for _, curve in long.groupby("ttl"):
        assert curve["hit_fraction"].is_monotonic_increasing


@pytest.mark.parametrize("hit, ttl", [(0.5, 5.0), (0.9, 5.0), (0.99, 60.0)])
def test_rate_for_a_hit_fraction_inverts_the_curve(hit, ttl):
    assert float(prefix_hit_fraction(buying.rate_for_hit_fraction(hit, ttl), ttl)) == pytest.approx(hit, rel=1e-12)


def test_rate_for_90_percent_by_hand():
    # -ln(0.1) / 5 = 2.302585 / 5 = 0.460517 requests a minute
    assert buying.rate_for_hit_fraction(0.9, 5.0) == pytest.approx(0.460517, rel=1e-6)


def test_the_home_regions_column_is_the_estimate(scenario_b):
    table = buying.regions_table(scenario_b)
    totals = {o.name: o.monthly_usd for o in estimate(scenario_b).options}
    for name, usd in totals.items():
        assert table.loc[name, "us-east-1"] == pytest.approx(usd, abs=0.005)


def test_a_region_missing_prices_is_named_and_left_empty(scenario_b):
    table = buying.regions_table(scenario_b)
    note = buying.regions_note(scenario_b).data
    empty = table["us-west-2"].isna()
    if empty.any():
        assert "us-west-2: no price for" in note
    else:
        assert "Every option is priced" in note


@pytest.mark.parametrize("name", FILES)
def test_every_section_runs_for_every_params_file(name):
    params = load_params(PARAMS_DIR / name)
    for out in (buying.tier_table(params), buying.regions_table(params),
                buying.answer_tolerant_share(params, shares=(0.0, 0.5))):
        assert isinstance(out, (pd.DataFrame, str))
    buying.fleet_table(params)
    for md in (buying.tier_note(params), buying.regions_note(params), buying.fleet_note(params),
               buying.answer_reserved_breakeven(params)):
        assert md.data
    buying.tier_chart(params)


def test_more_tolerant_requests_never_cost_more(scenario_b):
    table = buying.answer_tolerant_share(scenario_b, shares=(0.0, 0.2, 0.4, 0.6, 0.8))
    for _, rows in table.groupby("option"):
        assert np.all(np.diff(rows["monthly usd"].to_numpy()) <= 1e-6)


# --------------------------------------------------------------------------------------------
# the fleets


def test_a_fixed_fleet_needs_one_minus_the_ratio_of_costs_as_a_discount(scenario_b):
    """A fixed fleet is committed whole, so its fleet cost at discount d is (1 - d) x on demand:
    it beats a target T when d > 1 - T / on demand (by hand), which the bisection must find."""
    table = buying.fleet_table(scenario_b)
    rows = table[table["option"] == "p4d_vllm_llama31_70b"].set_index("way of buying")
    on_demand = rows.loc["on demand", "fleet usd"]
    target = 0.5 * on_demand
    need = buying.discount_to_beat(scenario_b, "p4d_vllm_llama31_70b", target)
    assert need == pytest.approx(100 * (1 - target / on_demand), abs=0.02)


def test_no_advertised_discount_beats_a_target_below_its_reach(scenario_b):
    # the best commitment at 66 % costs 0.34 x on demand: a target of 0.2 x is out of reach
    table = buying.fleet_table(scenario_b)
    on_demand = table[(table["option"] == "p5_vllm_llama31_70b")
                      & (table["way of buying"] == "on demand")]["fleet usd"].iloc[0]
    assert buying.discount_to_beat(scenario_b, "p5_vllm_llama31_70b", 0.2 * on_demand) is None


@pytest.mark.parametrize("name", ["scenario_a_bursty.yaml", "scenario_b_steady.yaml"])
def test_the_best_commitment_never_costs_more_as_the_discount_grows(name):
    sweep = buying.commitment_sweep(load_params(PARAMS_DIR / name))
    for _, rows in sweep.groupby("option"):
        usd = rows.sort_values("discount_pct")["fleet_usd"].to_numpy()
        assert np.all(np.diff(usd) <= 1e-6)
        assert usd[0] == pytest.approx(rows["on_demand_usd"].iloc[0], rel=1e-12)


def test_the_on_demand_row_is_the_estimates_instance_hours(scenario_b):
    table = buying.fleet_table(scenario_b)
    result = estimate(scenario_b)
    for name in ("p4d_vllm_llama31_70b", "p5_vllm_llama31_70b"):
        items = sum(li.monthly_usd for li in result.option(name).line_items
                    if li.unit == "instance-hour")
        row = table[(table["option"] == name) & (table["way of buying"] == "on demand")].iloc[0]
        assert row["fleet usd"] == pytest.approx(items, abs=0.005)


def test_the_break_even_share_by_hand():
    assert "70%" in buying.answer_break_even_share(30.0).data


def test_a_table_as_shown_blanks_what_is_not_priced(scenario_b):
    table = buying.tier_table(scenario_b)
    view = buying.shown(table)
    assert (view["monthly usd"] == "").sum() == table["monthly usd"].isna().sum() > 0
    assert buying.shown("(none)") == "(none)"
