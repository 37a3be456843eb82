"""Tests for costlib.formulas.fleet. Expected values are worked out by hand in the comments."""

from __future__ import annotations


import numpy as np
import pytest
from pydantic import ValidationError

from costlib.formulas import fleet
from costlib.core.errors import CostlibError
from costlib.bill.fleet import FleetPolicy, FleetSchedule
from costlib.formulas.fleet import (
    ceil_instances,
    demand_tokens_per_s,
    schedule_mask,
    simulate_fleet,
    spot_overhead,
)
from costlib.formulas.worksheet import required_instances, tokens_per_request


def auto(**kw) -> FleetPolicy:
    """Autoscaled policy with zero delays, target 1 and no warm minimum unless overridden."""
    base = dict(policy="autoscaled", target_utilisation=1.0, scale_out_delay_min=0.0,
                cold_start_min=0.0, scale_in_cooldown_min=0.0, min_instances=0)
    base.update(kw)
    return FleetPolicy(**base)


# ---------------------------------------------------------------- worksheet formulas


def test_tokens_per_request_scenario_a():
    # 1.5k in + 400 out = 1,900 tokens
    assert tokens_per_request(1500, 400) == 1900.0


def test_demand_tokens_per_s_vectorised():
    # [3, 60] rps x 1,900 tokens = [5,700, 114,000] tokens/s
    np.testing.assert_allclose(demand_tokens_per_s(np.array([3.0, 60.0]), 1900),
                               [5_700.0, 114_000.0])


def test_required_instances_hand():
    # scenario B: 40 rps x (2,000 + 500) = 100,000 tokens/s; 1,250 tokens/s x batch 4 = 5,000
    # per instance -> 100,000 / 5,000 = 20
    assert required_instances(40 * 2500.0, 1250.0, 4) == pytest.approx(20.0)


def test_required_instances_broadcasts():
    # batch sizes 1, 2, 4 against 8,000 tokens/s at 1,000 tokens/s per instance: 8, 4, 2
    out = required_instances(8000.0, 1000.0, np.array([1.0, 2.0, 4.0]))
    np.testing.assert_allclose(out, [8.0, 4.0, 2.0])
    assert isinstance(required_instances(1.0, 1.0, 1.0), float)


def test_required_instances_linear_in_demand():
    d = np.linspace(0, 1e5, 7)
    out = required_instances(d, 700.0, 3.0)
    np.testing.assert_allclose(out, d * out[-1] / d[-1])


@pytest.mark.parametrize("args", [(1.0, 0.0, 1.0), (1.0, 10.0, 0.0), (-1.0, 10.0, 1.0)])
def test_required_instances_bad_input_raises(args):
    with pytest.raises(CostlibError):
        required_instances(*args)


def test_ceil_instances_tolerance():
    # 2 + 1e-12 is float noise -> 2; 2.01 -> 3; 0 -> 0
    np.testing.assert_array_equal(ceil_instances(np.array([2 + 1e-12, 2.01, 0.0])), [2, 3, 0])


# ---------------------------------------------------------------- fixed


def _known_series():
    # 100 steps: 94 at 1.4, 5 at 2.2, 1 at 7.0. Sorted, p95 index 0.95 * 99 = 94.05 falls
    # between positions 94 and 95, both 2.2 -> p95 = 2.2; peak 7.0
    return np.array([1.4] * 94 + [2.2] * 5 + [7.0])


def test_simulate_fleet_fixed_ceil_p95_everywhere():
    r = simulate_fleet(_known_series(), 60.0, FleetPolicy(policy="fixed"))
    # ceil(2.2) = 3 instances in every step
    assert np.all(r.billed_instances == 3) and np.all(r.serving_instances == 3)
    # unserved only in the 7.0 step: (7 - 3) / (94*1.4 + 5*2.2 + 7) = 4 / 149.6
    assert r.unserved_fraction == pytest.approx(4 / 149.6)
    # 3 instances all month = 3 * 730 = 2,190 instance-hours; never restarted
    assert r.instance_hours_per_month == pytest.approx(2190.0)
    assert r.cold_starts_per_month == 0.0


def test_simulate_fleet_fixed_size_for_peak():
    r = simulate_fleet(_known_series(), 60.0, FleetPolicy(size_for="peak"))
    assert np.all(r.billed_instances == 7) and r.unserved_fraction == 0.0
    # served 149.6 of capacity 7 * 100 = 700 -> utilisation 0.213714...
    assert r.utilisation == pytest.approx(149.6 / 700)


def test_simulate_fleet_fixed_floor_and_cap():
    assert simulate_fleet(np.full(10, 0.2), 60.0, FleetPolicy(min_instances=2)) \
        .peak_billed_instances == 2.0
    r = simulate_fleet(np.full(10, 5.0), 60.0, FleetPolicy(max_instances=4))
    # capped at 4 of 5 needed: unserved 1/5
    assert r.peak_billed_instances == 4.0 and r.unserved_fraction == pytest.approx(0.2)


# ---------------------------------------------------------------- autoscaled


def _step_demand():
    # 60 one-minute steps: 1.5 for 20, 4.2 for 20, 2.0 for 20 -> desired 2, 5, 2 at target 1
    return np.array([1.5] * 20 + [4.2] * 20 + [2.0] * 20)


def test_simulate_fleet_autoscaled_follows_ceil_demand_without_delays():
    r = simulate_fleet(_step_demand(), 60.0, auto())
    np.testing.assert_array_equal(r.billed_instances, [2] * 20 + [5] * 20 + [2] * 20)
    np.testing.assert_array_equal(r.serving_instances, r.billed_instances)
    assert r.unserved_fraction == 0.0


def test_simulate_fleet_autoscaled_cooldown_visible():
    # cooldown 5 min: after the drop at step 40 the 5 instances stay for steps 40..44
    r = simulate_fleet(_step_demand(), 60.0, auto(scale_in_cooldown_min=5.0))
    np.testing.assert_array_equal(r.billed_instances, [2] * 20 + [5] * 25 + [2] * 15)
    # launches: 2 -> 5 at step 20 = 3 per hour-long window; 3 * 730 = 2,190 per month
    assert r.cold_starts_per_window == 3.0
    assert r.cold_starts_per_month == pytest.approx(2190.0)


def test_simulate_fleet_autoscaled_delay_and_cooldown_together():
    # delay 2, cooldown 5: R[k] = max(W[k-5] .. W[k-2]). The rise at step 20 shows at 22;
    # the drop at step 40 shows once k - 5 >= 40, at step 45 (cooldown counted from the drop)
    r = simulate_fleet(_step_demand(), 60.0,
                       auto(scale_out_delay_min=2.0, scale_in_cooldown_min=5.0))
    np.testing.assert_array_equal(r.billed_instances, [2] * 22 + [5] * 23 + [2] * 15)
    # unserved: steps 20, 21 need 4.2 with 2 serving -> 2 * 2.2 = 4.4 of 154
    assert r.unserved_fraction == pytest.approx(4.4 / 154)


def test_simulate_fleet_autoscaled_target_utilisation():
    # demand 1.4 at target 0.7 -> 1.4 / 0.7 = 2 instances (float noise must not make it 3)
    r = simulate_fleet(np.full(30, 1.4), 60.0, auto(target_utilisation=0.7))
    assert np.all(r.billed_instances == 2)


def test_simulate_fleet_autoscaled_long_delay_leaves_demand_unserved():
    # demand 1 for 30 steps then 3 for 30; scale-out delay 10 min. Billed R[k] = W[k-10]:
    # steps 30..39 still 1 instance while demand is 3 -> unserved 2 * 10 = 20 of
    # total demand 30*1 + 30*3 = 120 -> 1/6. (The window wraps: steps 0..9 keep 3.)
    demand = np.array([1.0] * 30 + [3.0] * 30)
    r = simulate_fleet(demand, 60.0, auto(scale_out_delay_min=10.0))
    assert r.unserved_fraction == pytest.approx(20 / 120)
    np.testing.assert_array_equal(r.billed_instances, [3] * 10 + [1] * 30 + [3] * 20)


def test_simulate_fleet_autoscaled_cold_start_billed_not_serving():
    # same demand, no delay, cold start 3 min: billed 3 from step 30, serving 3 from step 33
    demand = np.array([1.0] * 30 + [3.0] * 30)
    r = simulate_fleet(demand, 60.0, auto(cold_start_min=3.0))
    np.testing.assert_array_equal(r.billed_instances, [1] * 30 + [3] * 30)
    np.testing.assert_array_equal(r.serving_instances, [1] * 33 + [3] * 27)
    # unserved 2 in steps 30, 31, 32 = 6 of 120 = 0.05
    assert r.unserved_fraction == pytest.approx(0.05)
    # booting: 2 instances x 3 of 60 steps -> mean 0.1 -> 0.1 * 730 = 73 instance-h/month
    assert r.booting_instance_hours_per_month == pytest.approx(73.0)


def test_simulate_fleet_scale_to_zero():
    # demand only in steps 10..19; min 0, cooldown 5: billed 0 outside 10..24
    demand = np.zeros(60)
    demand[10:20] = 0.5
    r = simulate_fleet(demand, 60.0, auto(scale_in_cooldown_min=5.0))
    expected = np.zeros(60)
    expected[10:25] = 1
    np.testing.assert_array_equal(r.billed_instances, expected)
    # 15 instance-minutes in a 60-minute window -> avg 0.25 -> 182.5 instance-h/month
    assert r.instance_hours_per_month == pytest.approx(0.25 * 730)


def test_simulate_fleet_warm_minimum_floor():
    r = simulate_fleet(np.zeros(30), 60.0, auto(min_instances=2))
    assert np.all(r.billed_instances == 2)
    assert np.isnan(simulate_fleet(np.zeros(30), 60.0, auto()).utilisation)


def test_simulate_fleet_max_instances_caps():
    r = simulate_fleet(_step_demand(), 60.0, auto(max_instances=3))
    assert r.peak_billed_instances == 3.0
    # unserved: steps 20..39 need 4.2 with 3 serving -> 1.2 * 20 = 24 of
    # total 1.5*20 + 4.2*20 + 2*20 = 154
    assert r.unserved_fraction == pytest.approx(24 / 154)


# ---------------------------------------------------------------- scheduled


def _week_business_demand():
    # one week of minutes; 1.5 instances of demand Mon-Fri 09:00-17:00 UTC, zero otherwise
    minute = np.arange(7 * 1440)
    day, mod = minute // 1440, minute % 1440
    return np.where((day < 5) & (mod >= 540) & (mod < 1020), 1.5, 0.0)


def test_simulate_fleet_scheduled_bills_zero_when_off():
    demand = _week_business_demand()
    pol = FleetPolicy(policy="scheduled", min_instances=0, cold_start_min=0.0,
                      schedule=FleetSchedule(hours=(9, 17), prewarm=False))
    r = simulate_fleet(demand, 60.0, pol)
    on = demand > 0
    assert np.all(r.billed_instances[~on] == 0)
    assert np.all(r.billed_instances[on] == 2)     # ceil(1.5)
    assert r.unserved_fraction == 0.0
    # 2 instances x 8 h x 5 days = 80 instance-h per 168 h week -> 80/168 * 730 a month
    assert r.instance_hours_per_month == pytest.approx(80 / 168 * 730)
    # 2 launches a day x 5 days = 10 per week; a month is 730/168 weeks
    assert r.cold_starts_per_month == pytest.approx(10 * 730 / 168)


def test_simulate_fleet_scheduled_prewarm_bills_cold_start():
    demand = _week_business_demand()
    pol = FleetPolicy(policy="scheduled", cold_start_min=10.0,
                      schedule=FleetSchedule(hours=(9, 17)))
    r = simulate_fleet(demand, 60.0, pol)
    # billed 2 from 08:50 to 17:00 each weekday: (480 + 10) min x 5 days x 2 = 4,900
    assert r.billed_instances.sum() == 4900.0
    # serving only 09:00-17:00: 480 x 5 x 2 = 4,800; no demand lost
    assert r.serving_instances.sum() == 4800.0 and r.unserved_fraction == 0.0


def test_simulate_fleet_scheduled_without_prewarm_loses_first_minutes():
    demand = _week_business_demand()
    pol = FleetPolicy(policy="scheduled", cold_start_min=10.0,
                      schedule=FleetSchedule(hours=(9, 17), prewarm=False))
    r = simulate_fleet(demand, 60.0, pol)
    # first 10 minutes each weekday unserved: 10 x 5 x 1.5 = 75 of 480 x 5 x 1.5 = 3,600
    assert r.unserved_fraction == pytest.approx(75 / 3600)


def test_schedule_mask_across_midnight():
    # Monday 22:00 to Tuesday 06:00 only: 8 h of minutes, starting at minute 1320
    m = schedule_mask(7 * 1440, 60.0, FleetSchedule(hours=(22, 6), weekdays=["mon"]))
    assert m.sum() == 480 and m[1320] and m[1440 + 359] and not m[1440 + 360]
    assert not m[:1320].any()


def test_schedule_mask_respects_window_start():
    # window starting Saturday 00:00 (5 days after Monday): Mon-Fri 9-17 schedule is off
    # for the first two days
    m = schedule_mask(3 * 1440, 60.0, FleetSchedule(hours=(9, 17)), start_s_of_week=5 * 86400.0)
    assert not m[:2 * 1440].any() and m[2 * 1440 + 540]


# ---------------------------------------------------------------- spot


def test_spot_overhead_hand():
    # 10 instances all month = 7,300 instance-h = 10 instance-months; 0.2 per instance-month
    # -> 2 interruptions; x 15 min = 0.5 instance-h booting; x 8 in flight = 16 requests
    s = spot_overhead(7300.0, 0.2, 15.0, 8)
    assert s.interruptions_per_month == pytest.approx(2.0)
    assert s.extra_instance_hours_per_month == pytest.approx(0.5)
    assert s.lost_serving_instance_hours_per_month == pytest.approx(0.5)
    assert s.recomputed_requests_per_month == pytest.approx(16.0)


def test_spot_overhead_vectorised_over_rate():
    s = spot_overhead(730.0, np.array([0.0, 0.05, 0.2]), 10.0, 4)
    # 1 instance-month: interruptions = rate
    np.testing.assert_allclose(s.interruptions_per_month, [0.0, 0.05, 0.2])


def test_simulate_fleet_with_spot():
    pol = FleetPolicy(min_instances=2, spot={"interruptions_per_instance_month": 0.1,
                                             "in_flight_requests_per_instance": 4})
    r = simulate_fleet(np.full(10, 1.0), 60.0, pol)
    # 2 instances x 730 h = 2 instance-months x 0.1 = 0.2 interruptions; x 10 min = 2 min
    assert r.spot.interruptions_per_month == pytest.approx(0.2)
    assert r.spot.extra_instance_hours_per_month == pytest.approx(2 / 60)
    assert r.spot.recomputed_requests_per_month == pytest.approx(0.8)


# ---------------------------------------------------------------- policy validation


def test_policy_unknown_key_rejected():
    with pytest.raises(ValidationError):
        FleetPolicy(policy="fixed", warm_minimum=2)


def test_policy_target_above_one_rejected():
    with pytest.raises(ValidationError):
        FleetPolicy(target_utilisation=1.5)


def test_simulate_fleet_scheduled_without_schedule_raises():
    with pytest.raises(CostlibError, match="needs schedule"):
        simulate_fleet(np.ones(5), 60.0, fleet.Policy(policy="scheduled"))


def test_policy_knob_for_other_policy_rejected_when_built():
    with pytest.raises(ValidationError, match="scale_in_cooldown_min applies only"):
        FleetPolicy(policy="fixed", scale_in_cooldown_min=5)


def test_simulate_fleet_max_below_min_raises():
    with pytest.raises(CostlibError, match="max_instances"):
        simulate_fleet(np.ones(5), 60.0, fleet.Policy(min_instances=3, max_instances=2))
    with pytest.raises(ValidationError, match="max_instances 2 is below min_instances 3"):
        FleetPolicy(min_instances=3, max_instances=2)


def test_simulate_fleet_negative_demand_raises():
    with pytest.raises(CostlibError, match="demand_instances"):
        simulate_fleet(np.array([1.0, -1.0]), 60.0, FleetPolicy())


# ---------------------------------------------------------------- properties


def _random_demand(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.gamma(2.0, 1.0, size=2000)
    spikes = (rng.random(2000) < 0.03) * rng.uniform(5, 20, size=2000)
    return base + spikes


POLICIES = [
    FleetPolicy(),
    FleetPolicy(size_for="peak", min_instances=0),
    FleetPolicy(policy="autoscaled"),
    FleetPolicy(policy="autoscaled", min_instances=0, cold_start_min=25, scale_out_delay_min=7),
    FleetPolicy(policy="scheduled", schedule=FleetSchedule(hours=(8, 18))),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.policy)
def test_simulate_fleet_properties(seed, policy):
    demand = _random_demand(seed)
    r = simulate_fleet(demand, 60.0, policy)
    assert np.all(r.billed_instances >= r.serving_instances)
    assert np.all(r.serving_instances >= 0)
    assert 0.0 <= r.unserved_fraction <= 1.0
    assert r.utilisation <= 1.0 + 1e-12
    assert r.billed_utilisation <= r.utilisation + 1e-12
    # served + unserved = demand
    unserved = np.maximum(demand - r.serving_instances, 0).sum()
    assert r.served_demand_instances.sum() + unserved == pytest.approx(demand.sum())
    assert r.instance_hours_per_month == pytest.approx(r.avg_billed_instances * 730)


@pytest.mark.parametrize("policy_name", ["fixed", "autoscaled"])
def test_simulate_fleet_more_warm_minimum_never_bills_less(policy_name):
    demand = _random_demand(3)
    prev = None
    for m in range(0, 8):
        r = simulate_fleet(demand, 60.0, FleetPolicy(policy=policy_name, min_instances=m))
        if prev is not None:
            assert np.all(r.billed_instances >= prev.billed_instances)
            assert r.unserved_fraction <= prev.unserved_fraction + 1e-12
        prev = r


def test_simulate_fleet_lower_target_never_bills_less():
    demand = _random_demand(4)
    hours = [simulate_fleet(demand, 60.0, FleetPolicy(policy="autoscaled", target_utilisation=t))
             .instance_hours_per_month for t in (1.0, 0.8, 0.6, 0.4)]
    assert hours == sorted(hours)


def test_simulate_fleet_week_scale():
    # a week of one-minute steps (10,080) with long windows runs and stays periodic-consistent
    demand = np.tile(_random_demand(5)[:1440], 7)
    pol = FleetPolicy(policy="autoscaled", cold_start_min=30, scale_in_cooldown_min=60)
    r = simulate_fleet(demand, 60.0, pol)
    # identical days give identical billed series day after day
    days = r.billed_instances.reshape(7, 1440)
    assert np.all(days == days[0])
