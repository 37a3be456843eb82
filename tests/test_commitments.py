"""Commitments, Capacity Blocks and Spot with fallback (issue 14).

Oracles: hand calculations shown in the comments, properties (a commitment used in full never
costs more than on demand; the search equals an exhaustive grid; Spot fallback 0 and 1 are pure
Spot and pure On-Demand), and the AWS maxima from the Savings Plans FAQ.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from costlib.bill.estimate import estimate
from costlib.bill.params import load_params, with_overrides
from costlib.core.errors import CostlibError
from costlib.core.paths import PARAMS_DIR
from costlib.formulas import commitments as cm

H = 730.0


def _grid_best(levels, hours, r_c, r_od):
    """Exhaustive: every integer c from 0 to the peak, the cheapest (smallest c on ties)."""
    levels = np.asarray(levels, dtype=float)
    costs = [cm.commitment_cost_usd(levels, hours, c, r_c, r_od)
             for c in range(int(levels.max()) + 1)]
    best = min(costs)
    c = next(i for i, v in enumerate(costs) if v <= best * (1 + 1e-12))
    return float(c), float(best)


# ------------------------------------------------------------------------- hand calculations


def test_commitment_cost_two_level_curve_by_hand():
    # 2 instances for 530 h, 5 for 200 h (= 730 h). Commit 3 at 6 $/h, the rest at 10 $/h:
    #   committed 3 * 730 * 6              = 13,140
    #   above 3: 200 h * (5 - 3) * 10      =  4,000   -> 17,140
    # commit 2: 2 * 730 * 6 = 8,760 + 200 * 3 * 10 = 6,000 -> 14,760 (the cheapest: the share
    # of hours above 2 is 200/730 = 0.274, below the break-even 6/10 = 0.6; above 0 it is 1)
    assert cm.commitment_cost_usd([2, 5], [530, 200], 3, 6.0, 10.0) == pytest.approx(17140.0)
    assert cm.commitment_cost_usd([2, 5], [530, 200], 2, 6.0, 10.0) == pytest.approx(14760.0)
    # nothing committed: 10 * (2 * 530 + 5 * 200) = 20,600
    assert cm.commitment_cost_usd([2, 5], [530, 200], 0, 6.0, 10.0) == pytest.approx(20600.0)
    assert cm.cheapest_commitment([2, 5], [530, 200], 6.0, 10.0) == (2.0, pytest.approx(14760.0))


def test_cheapest_commitment_covers_the_peak_when_the_peak_hours_beat_the_break_even():
    # same curve, 80 % off: break-even 0.2 < 200/730 = 0.274, so commit all 5:
    # 5 * 730 * 2 = 7,300 (against 2 committed: 2,920 + 200 * 3 * 10 = 8,920)
    assert cm.cheapest_commitment([2, 5], [530, 200], 2.0, 10.0) == (5.0, pytest.approx(7300.0))


def test_break_even_utilisation_is_committed_over_on_demand_rate():
    assert cm.break_even_utilisation(6.0, 10.0) == pytest.approx(0.6)
    assert_allclose(cm.break_even_utilisation([1.0, 3.0], [4.0, 4.0]), [0.25, 0.75])
    # one instance busy u of the month: committing it costs 730 r_c, not committing 730 u r_od;
    # equal exactly at u = r_c / r_od
    u = cm.break_even_utilisation(6.0, 10.0)
    with_c = cm.commitment_cost_usd([1, 0], [u * H, (1 - u) * H], 1, 6.0, 10.0)
    without = cm.commitment_cost_usd([1, 0], [u * H, (1 - u) * H], 0, 6.0, 10.0)
    assert with_c == pytest.approx(without)


def test_committed_rate_from_a_stated_discount():
    # 55.04 $/h (p5.48xlarge on demand, ec2.csv) at 40 % off: 55.04 * 0.6 = 33.024
    assert cm.committed_usd_per_hour(55.04, 40.0) == pytest.approx(33.024)


def test_overflow_and_used_hours_add_up_to_the_fleet_hours():
    levels, hours = np.array([0, 2, 5, 9]), np.array([100, 300, 200, 130])
    for c in range(0, 11):
        total = cm.overflow_instance_hours(levels, hours, c) + cm.used_committed_instance_hours(
            levels, hours, c)
        assert total == pytest.approx(float(levels @ hours))


# ------------------------------------------------------------------------- done-when properties


def _random_curves(seed=7, n=60):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        k = int(rng.integers(1, 12))
        levels = rng.integers(0, 25, size=k).astype(float)
        hours = rng.dirichlet(np.ones(k)) * H
        r_od = float(rng.uniform(0.5, 100))
        r_c = r_od * float(rng.uniform(0.05, 1.2))  # includes rates above on demand
        yield levels, hours, r_c, r_od


def test_a_commitment_never_costs_more_than_on_demand_at_full_utilisation():
    # committed count c <= the lowest level: every committed instance busy all 730 h;
    # with r_c <= r_od it cannot cost more than buying the same hours on demand
    for levels, hours, r_c, r_od in _random_curves():
        r_c = min(r_c, r_od)
        on_demand = cm.commitment_cost_usd(levels, hours, 0, r_c, r_od)
        for c in range(int(levels.min()) + 1):
            assert cm.commitment_cost_usd(levels, hours, c, r_c, r_od) <= on_demand * (1 + 1e-12)


def test_cheapest_commitment_equals_the_best_of_an_exhaustive_grid():
    for levels, hours, r_c, r_od in _random_curves():
        c, usd = cm.cheapest_commitment(levels, hours, r_c, r_od)
        gc, gusd = _grid_best(levels, hours, r_c, r_od)
        assert usd == pytest.approx(gusd, rel=1e-12)
        assert c == gc


def test_cheapest_commitment_of_many_curves_at_once_equals_one_at_a_time():
    curves = list(_random_curves(seed=11, n=20))
    k = 6
    rng = np.random.default_rng(3)
    levels = rng.integers(0, 30, size=(20, k)).astype(float)
    hours = rng.dirichlet(np.ones(k)) * H
    r_c = np.array([c[2] for c in curves])
    r_od = np.array([c[3] for c in curves])
    c_all, usd_all = cm.cheapest_commitment(levels, hours, r_c, r_od)
    for i in range(20):
        c, usd = cm.cheapest_commitment(levels[i], hours, r_c[i], r_od[i])
        assert c_all[i] == c and usd_all[i] == pytest.approx(usd)


def test_a_committed_rate_above_on_demand_commits_nothing():
    assert cm.cheapest_commitment([3, 3], [365, 365], 11.0, 10.0)[0] == 0.0


# ------------------------------------------------------------------------- spot and blocks


def test_spot_fallback_share_zero_is_pure_spot_and_one_is_on_demand():
    assert cm.spot_fallback_usd_per_hour(40.0, 60.0, 0.0) == pytest.approx(16.0)  # 40 * 0.4
    assert cm.spot_fallback_usd_per_hour(40.0, 60.0, 1.0) == pytest.approx(40.0)
    # a quarter on demand: 0.75 * 16 + 0.25 * 40 = 22
    assert cm.spot_fallback_usd_per_hour(40.0, 60.0, 0.25) == pytest.approx(22.0)


def test_capacity_block_durations_are_those_aws_sells():
    for ok in (1, 7, 14, 21, 28, 182):
        assert cm.check_capacity_block_days(ok) == ok
    for bad in (0, 15, 20, 189):
        with pytest.raises(CostlibError, match="Capacity Block duration"):
            cm.check_capacity_block_days(bad)


def test_capacity_block_of_part_of_the_month_buys_the_rest_on_demand():
    # 4 instances all month, a 14-day block of 4 at 6 $/h, on demand 10 $/h:
    # block 4 * 336 h * 6 = 8,064; the other 394 h on demand 4 * 394 * 10 = 15,760
    usd = cm.capacity_block_cost_usd([4], [H], 4, 14, 6.0, 10.0)
    assert usd == pytest.approx(4 * 336 * 6 + 4 * 394 * 10)


# ------------------------------------------------------------------------- through the bill


def _scenario(name):
    return load_params(PARAMS_DIR / f"{name}.yaml")


def fleet_usd_of(result, option):
    return sum(li.monthly_usd for li in result.option(option).line_items
               if li.unit == "instance-hour")


P5 = "p5_vllm_llama31_70b"


def test_an_empty_buying_block_prices_like_no_buying_block():
    p = _scenario("scenario_b_steady")
    base = estimate(p).option(P5).monthly_usd
    assert estimate(with_overrides(p, {f"options.{P5}.buying": {}})).option(
        P5).monthly_usd == pytest.approx(base, rel=1e-12)


def test_bill_commitment_of_the_steady_fleet_by_hand():
    # scenario B's p5 fleet is fixed: n instances all month at 55.04 $/h on demand (ec2.csv).
    # A 30 % Compute Savings Plan sized "optimal" commits all n: n * 730 * 55.04 * 0.7
    p = _scenario("scenario_b_steady")
    base = estimate(p)
    n = base.option(P5).details["peak_instances"]
    res = estimate(with_overrides(p, {f"options.{P5}.buying": {"commitment": {
        "kind": "compute_savings_plan", "term_years": 1, "discount_pct": 30}}}))
    d = res.option(P5).details["buying"]
    assert d["committed_instances"] == n
    assert fleet_usd_of(res, P5) == pytest.approx(n * H * 55.04 * 0.7)
    assert d["break_even_utilisation"] == pytest.approx(0.7)
    # the commitment is floor: paid without requests
    com = next(li for li in res.option(P5).line_items if "committed" in li.item)
    assert com.floor_usd == pytest.approx(com.monthly_usd)


def test_bill_commitment_never_costs_more_than_on_demand_when_fully_used():
    p = _scenario("scenario_b_steady")
    base = estimate(p)
    n = int(base.option(P5).details["peak_instances"])
    on_demand = fleet_usd_of(base, P5)
    for c in range(n + 1):
        res = estimate(with_overrides(p, {f"options.{P5}.buying": {"commitment": {
            "kind": "ec2_instance_savings_plan", "term_years": 3, "discount_pct": 0.0,
            "instances": c}}}))
        assert fleet_usd_of(res, P5) <= on_demand * (1 + 1e-12)


def _capture_curves(monkeypatch):
    import costlib.bill.options.self_hosted as sh

    seen = []
    real = sh.billed_curve

    def spy(*a, **k):
        out = real(*a, **k)
        seen.append(out)
        return out

    monkeypatch.setattr(sh, "billed_curve", spy)
    return seen


@pytest.mark.parametrize("scenario,option", [
    ("scenario_a_bursty", "g5_llama31_8b_autoscaled"),
    ("scenario_a_bursty", "g5_llama31_8b_sized_for_spikes"),
    ("scenario_b_steady", P5),
    ("scenario_b_steady", "p4d_vllm_llama31_70b"),
])
def test_bill_optimal_commitment_equals_the_exhaustive_grid_on_the_scenario_fleets(
        monkeypatch, scenario, option):
    p = _scenario(scenario)
    seen = _capture_curves(monkeypatch)
    res = estimate(with_overrides(p, {f"options.{option}.buying": {"commitment": {
        "kind": "compute_savings_plan", "term_years": 1, "discount_pct": 35}}}))
    levels, hours = seen[-1]
    d = res.option(option).details["buying"]
    r_od = d["on_demand_usd_per_hour"]
    gc, gusd = _grid_best(levels[0], hours, r_od * 0.65, r_od)
    assert d["committed_instances"] == gc
    # the fleet's instance-hour items add up to the grid's best cost
    assert fleet_usd_of(res, option) == pytest.approx(gusd, rel=1e-9)
    # and the curve holds the fleet's instance-hours
    on_demand = estimate(p)
    assert float(levels[0] @ hours) == pytest.approx(fleet_usd_of(on_demand, option) / r_od,
                                                     rel=1e-9)


def test_bill_spot_fallback_zero_and_one():
    p = _scenario("scenario_b_steady")
    on_demand = fleet_usd_of(estimate(p), P5)
    spot = {"discount_pct": 60, "source": "test", "as_of": "2026-01-01"}
    pure = estimate(with_overrides(p, {f"options.{P5}.buying": {
        "spot": {**spot, "fallback_share": 0.0}}}))
    back = estimate(with_overrides(p, {f"options.{P5}.buying": {
        "spot": {**spot, "fallback_share": 1.0}}}))
    assert fleet_usd_of(pure, P5) == pytest.approx(on_demand * 0.4)
    assert fleet_usd_of(back, P5) == pytest.approx(on_demand)


def test_bill_capacity_block_reads_the_table_rate_in_force():
    # p5.48xlarge us-east-1 Capacity Block 41.528 $/h from 2026-07-22 (ec2_commitments.csv)
    p = with_overrides(_scenario("scenario_b_steady"), {"prices.as_of": "2026-08-01"})
    res = estimate(with_overrides(p, {f"options.{P5}.buying": {"commitment": {
        "kind": "capacity_block", "days": 182}}}))
    com = next(li for li in res.option(P5).line_items if "committed" in li.item)
    assert com.unit_usd == pytest.approx(41.528)


def test_bill_capacity_block_without_a_rate_in_force_names_the_key_to_set():
    p = _scenario("scenario_b_steady")  # prices.as_of 2026-11-27: no verified rate in force
    with pytest.raises(CostlibError, match="usd_per_instance_hour"):
        estimate(with_overrides(p, {f"options.{P5}.buying": {"commitment": {
            "kind": "capacity_block", "days": 28}}}))


# ------------------------------------------------------------------------- bad inputs


def _write(tmp_path, buying: str, extra: str = ""):
    text = (PARAMS_DIR / "scenario_b_steady.yaml").read_text(encoding="utf-8")
    anchor = "    fleet: {policy: fixed, size_for: p95}\n"
    last = text.rindex(anchor)
    text = text[:last] + anchor + f"    buying: {buying}\n" + extra + text[last + len(anchor):]
    f = tmp_path / "b.yaml"
    f.write_text(text, encoding="utf-8")
    return f


@pytest.mark.parametrize("buying,fragment", [
    ("{commitment: {kind: compute_savings_plan, term_years: 1, discount_pct: 70}}",
     "maximum AWS advertises, 66%"),
    ("{commitment: {kind: compute_savings_plan, discount_pct: 30}}", "term_years"),
    ("{commitment: {kind: reserved_instance, term_years: 1}}", "discount_pct"),
    ("{commitment: {kind: capacity_block}}", "needs days"),
    ("{commitment: {kind: capacity_block, days: 16}}", "Capacity Block duration"),
    ("{commitment: {kind: capacity_block, days: 14, discount_pct: 10}}", "does not apply"),
    ("{commitment: {kind: savings, term_years: 1, discount_pct: 10}}", "kind"),
    ("{spot: {discount_pct: 50, fallback_share: 0.1}}", "source"),
    ("{spot: {discount_pct: 50, fallback_share: 1.5, source: x, as_of: 2026-01-01}}",
     "fallback_share"),
])
def test_bad_buying_inputs_are_one_line_errors_naming_file_and_key(tmp_path, buying, fragment):
    f = _write(tmp_path, buying)
    with pytest.raises(CostlibError) as err:
        load_params(f)
    msg = err.value.message
    assert "\n" not in msg and "b.yaml" in msg and "buying" in msg and fragment in msg


def test_buying_on_sagemaker_hosting_is_refused():
    spot = {"discount_pct": 50, "fallback_share": 0.1, "source": "x", "as_of": "x"}
    with pytest.raises(CostlibError, match="no Spot capacity"):
        with_overrides(_scenario("scenario_b_steady"), {f"options.{P5}.platform": "sagemaker",
                                                        f"options.{P5}.buying": {"spot": spot}})


def test_spot_discount_pct_with_buying_is_refused(tmp_path):
    f = _write(tmp_path, "{}", "    spot_discount_pct: 50\n")
    with pytest.raises(CostlibError, match="buying.spot.discount_pct"):
        load_params(f)


def test_aws_maxima_are_those_of_the_savings_plans_faq():
    # https://aws.amazon.com/savingsplans/faqs/: Compute SP up to 66 %, EC2 Instance SP up to 72 %
    assert cm.MAX_DISCOUNT_PCT["compute_savings_plan"] == 66.0
    assert cm.MAX_DISCOUNT_PCT["ec2_instance_savings_plan"] == 72.0


# ------------------------------------------------------------------------- the whatif and CLI


def test_buying_options_table_has_every_way_and_the_cheapest_is_the_lowest():
    from costlib.whatif.buying import buying_options

    t = buying_options(_scenario("scenario_b_steady"), P5, discount_pct=40.0)
    labels = [r.label for r in t.rows]
    assert labels[0] == "on demand"
    assert any("Compute Savings Plan" in x for x in labels)
    assert any("Capacity Block" in x for x in labels)
    assert any(x.startswith("Spot with on-demand fallback") for x in labels)
    assert any(x.startswith("mix:") for x in labels)
    assert t.cheapest.fleet_usd == min(r.fleet_usd for r in t.rows)
    # 40 % off a fully used steady fleet: 0.6 of on demand
    sp = next(r for r in t.rows if r.label.startswith("Compute Savings Plan"))
    assert sp.fleet_usd == pytest.approx(0.6 * t.rows[0].fleet_usd)
    # no Capacity Block rate in force on 2026-11-27: the row says it is the last sourced one
    cb = next(r for r in t.rows if "Capacity Block" in r.label)
    assert "last sourced" in cb.label and "NOT the rate" in cb.note


def test_buying_options_refuses_a_managed_option():
    from costlib.whatif.buying import buying_options

    with pytest.raises(CostlibError, match="self_hosted"):
        buying_options(_scenario("scenario_b_steady"), "bedrock_llama31_70b")


def test_cli_buying_json_and_bad_input(capsys):
    import json

    from costlib.cli import main

    path = str(PARAMS_DIR / "scenario_b_steady.yaml")
    assert main(["buying", path, "--option", P5, "--discount-pct", "30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["options"][0]["option"] == P5
    assert main(["buying", path, "--block-days", "16"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--block-days" in err


def test_without_a_stated_discount_the_commitments_are_listed_not_priced():
    """No Savings Plan or RI rate for a GPU instance is sourced: the rows must not carry AWS's
    advertised maximum as if it were this instance's rate."""
    from costlib.whatif.buying import buying_options

    t = buying_options(_scenario("scenario_b_steady"), P5)
    unpriced = [r for r in t.rows if r.fleet_usd is None]
    assert {r.label.split(",")[0] for r in unpriced} == {
        "Compute Savings Plan", "EC2 Instance Savings Plan", "Reserved Instance"}
    assert all("not priced" in r.note and "--discount-pct" in r.note for r in unpriced)
    assert t.cheapest.fleet_usd is not None
    assert not any(r.label.startswith("mix:") for r in t.rows)
