"""The floor (what an option costs without requests) and the cost per unit of work.

Oracles: hand sums of the unit prices the estimate prints (typed in below with the price rows
they come from), the done-when identity ``usd_per_unit * units_per_month == usage_usd``, and
properties: floor <= total, a managed option's floor does not move with the traffic, the
vectorised bill agrees with the scalar estimate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from costlib.bill.estimate import estimate, floor_items
from costlib.bill.params import load_params, with_overrides
from costlib.bill.vector import price_many
from costlib.core.errors import CostlibError

ROOT = Path(__file__).resolve().parents[1]
PARAMS = sorted((ROOT / "params").glob("*.yaml"))
WITH_UNIT = ROOT / "params" / "scenario_c_cached_rag.yaml"


@pytest.fixture(scope="module")
def unit_result():
    return estimate(load_params(WITH_UNIT))


@pytest.fixture(scope="module", params=PARAMS, ids=[p.stem for p in PARAMS])
def any_result(request):
    return estimate(load_params(request.param))


# ---------------------------------------------------------------------------------------------
# cost per unit of work


def test_per_unit_cost_times_units_per_month_is_the_usage_part(unit_result):
    units = unit_result.work_unit["units_per_month"]
    for o in unit_result.options:
        assert o.usd_per_unit * units == pytest.approx(o.usage_usd, rel=1e-12), o.name
        assert o.usd_per_unit_all_in * units == pytest.approx(o.monthly_usd, rel=1e-12), o.name


def test_units_per_month_by_hand(unit_result):
    # scenario C: avg_rps 2; requests/month = 2 x 730 h x 3600 s = 5,256,000.
    # The unit: 3 turns x 1 call (count 1) = 3 requests; 5,256,000 / 3 = 1,752,000 units.
    u = unit_result.work_unit
    assert unit_result.workload["requests_per_month"] == pytest.approx(2 * 730 * 3600)
    assert u["requests_per_unit"] == 3
    assert u["units_per_month"] == pytest.approx(1_752_000, rel=1e-12)
    # the call takes the workload's tokens: 3 x (3000 + 300) = 9,900 tokens a unit
    assert u["tokens_per_unit"] == pytest.approx(9_900)
    assert u["calls"][0]["in_tokens"] == 3000 and u["calls"][0]["out_tokens"] == 300


def test_a_file_without_a_work_unit_has_no_per_unit_cost():
    e = estimate(load_params(ROOT / "params" / "scenario_b_steady.yaml"))
    assert e.work_unit is None
    assert all(o.usd_per_unit is None and o.usd_per_unit_all_in is None for o in e.options)
    assert "usd_per_unit" not in e.totals_frame().columns
    bill = price_many(load_params(ROOT / "params" / "scenario_b_steady.yaml"))
    with pytest.raises(CostlibError, match="work_unit"):
        bill.usd_per_unit("bedrock_llama31_70b")


def test_more_calls_per_turn_mean_fewer_units_at_a_higher_cost_each(tmp_path):
    # two calls a turn instead of one: twice the requests per unit, half the units, twice the
    # usage per unit (the bill itself does not change: same requests, same tokens)
    data = yaml.safe_load(WITH_UNIT.read_text())
    data["work_unit"]["calls"] = [{"name": "answer", "count": 2}]
    path = tmp_path / "two_calls.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    one, two = estimate(load_params(WITH_UNIT)), estimate(load_params(path))
    assert two.work_unit["units_per_month"] == pytest.approx(one.work_unit["units_per_month"] / 2)
    for a, b in zip(one.options, two.options):
        assert b.monthly_usd == a.monthly_usd
        assert b.usd_per_unit == pytest.approx(2 * a.usd_per_unit, rel=1e-12)


def test_calls_with_their_own_tokens_that_average_to_the_workload_load(tmp_path):
    # 1 rewrite of 1000 in / 100 out and 1 answer of 5000 in / 500 out: means 3000 and 300
    data = yaml.safe_load(WITH_UNIT.read_text())
    data["work_unit"]["calls"] = [
        {"name": "rewrite the question", "in_tokens": 1000, "out_tokens": 100},
        {"name": "answer", "in_tokens": 5000, "out_tokens": 500}]
    path = tmp_path / "two_kinds.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    e = estimate(load_params(path))
    assert e.work_unit["requests_per_unit"] == 6  # 3 turns x 2 calls


# ---------------------------------------------------------------------------------------------
# bad work units: one line naming the file and the key


def _bad(tmp_path, work_unit: dict, **top) -> str:
    data = yaml.safe_load(WITH_UNIT.read_text())
    data["work_unit"] = work_unit
    data.update(top)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(CostlibError) as exc:
        load_params(path)
    msg = exc.value.message
    assert "\n" not in msg and str(path) in msg
    return msg


def test_a_negative_call_count_is_named(tmp_path):
    msg = _bad(tmp_path, {"name": "x", "calls": [{"name": "answer", "count": -1}]})
    assert "work_unit.calls.0.count" in msg


def test_an_empty_list_of_calls_is_named(tmp_path):
    msg = _bad(tmp_path, {"name": "x", "calls": []})
    assert "work_unit.calls" in msg


def test_calls_that_disagree_with_the_workload_tokens_name_both(tmp_path):
    msg = _bad(tmp_path, {"name": "x", "calls": [{"name": "answer", "in_tokens": 1500}]})
    assert "work_unit.calls" in msg and "workload.in_tokens" in msg
    assert "1500" in msg and "3000" in msg


def test_retrievals_without_a_priced_retrieval_are_refused(tmp_path):
    msg = _bad(tmp_path, {"name": "x", "calls": [{"name": "answer"}], "retrievals": 3})
    assert "work_unit.retrievals" in msg and "retrieval.enabled" in msg


def test_a_misspelt_work_unit_key_is_named(tmp_path):
    msg = _bad(tmp_path, {"name": "x", "calls": [{"name": "answer"}], "turn": 3})
    assert "turn" in msg and "turns" in msg


def test_an_override_that_breaks_the_unit_is_refused_but_inherited_tokens_follow(tmp_path):
    params = load_params(WITH_UNIT)
    # the file's call inherits the workload's tokens: halving the prompt moves the call too
    half = with_overrides(params, {"workload.in_tokens": 1500})
    assert estimate(half).work_unit["calls"][0]["in_tokens"] == 1500
    # a call that states its tokens no longer matches a workload whose prompt is halved
    data = yaml.safe_load(WITH_UNIT.read_text())
    data["work_unit"]["calls"] = [{"name": "answer", "in_tokens": 3000, "out_tokens": 300}]
    path = tmp_path / "stated.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(CostlibError, match="workload.in_tokens is 1500"):
        with_overrides(load_params(path), {"workload.in_tokens": 1500})


# ---------------------------------------------------------------------------------------------
# the floor


def test_floor_is_between_zero_and_the_total_for_every_option(any_result):
    for o in any_result.options:
        assert 0.0 <= o.floor_usd <= o.monthly_usd, o.name
        assert o.usage_usd == pytest.approx(o.monthly_usd - o.floor_usd, rel=0, abs=0)
        for li in o.line_items:
            assert 0.0 <= li.floor_usd <= li.monthly_usd, (o.name, li.item)


def test_floor_items_add_up_to_the_floor(any_result):
    for o in any_result.options:
        items = floor_items(any_result, o.name)
        assert sum(li.monthly_usd for li in items) == pytest.approx(o.floor_usd, rel=1e-12)
        for li in items:
            assert li.quantity * li.unit_usd == pytest.approx(li.monthly_usd, rel=1e-12)


def test_managed_floor_is_only_its_hourly_plumbing():
    # scenario B, Bedrock Llama 3.1 70B: the unit prices the estimate prints (price table rows
    # nat_gateway/hour, public_ipv4/hour, alb/hour, kms/key_month, us-east-1):
    #   NAT gateways      2 x 730 h x 0.045  = 65.700
    #   NAT public IPs    2 x 730 h x 0.005  =  7.300
    #   ALB               1 x 730 h x 0.0225 = 16.425
    #   ALB public IPs    2 x 730 h x 0.005  =  7.300
    #   KMS key           1 key-month x 1.00 =  1.000
    #                                          ------
    #                                          97.725 USD/month; tokens, LCUs, logs: usage
    e = estimate(load_params(ROOT / "params" / "scenario_b_steady.yaml"))
    o = e.option("bedrock_llama31_70b")
    hand = 2 * 730 * 0.045 + 2 * 730 * 0.005 + 730 * 0.0225 + 2 * 730 * 0.005 + 1 * 1.00
    assert hand == pytest.approx(97.725)
    assert o.floor_usd == pytest.approx(hand, rel=1e-12)
    assert {li.category for li in floor_items(e, o.name)} == {"network", "security"}
    tokens = [li for li in o.line_items if li.unit == "1M tokens"]
    assert tokens and all(li.floor_usd == 0.0 for li in tokens)


def test_fixed_fleet_floor_includes_its_whole_instance_hours():
    e = estimate(load_params(ROOT / "params" / "scenario_b_steady.yaml"))
    o = e.option("p4d_vllm_llama31_70b")
    hours = next(li for li in o.line_items if li.unit == "instance-hour"
                 and li.category == "inference")
    assert hours.floor_usd == hours.monthly_usd > 0
    # and the disks, image and EKS control plane of that fleet
    for label in ("EBS gp3 volumes", "ECR image storage", "EKS control plane"):
        li = next(li for li in o.line_items if li.item == label)
        assert li.floor_usd == li.monthly_usd, label


def test_autoscaled_fleet_floor_is_its_warm_minimum():
    # scenario A, g5 autoscaled with min_instances 1: 1 x 730 h x 1.006 USD/h (g5.xlarge on
    # demand, the row the estimate prints) = 734.38; EBS of that one instance 200 GB x 0.08 = 16
    e = estimate(load_params(ROOT / "params" / "scenario_a_bursty.yaml"))
    o = e.option("g5_llama31_8b_autoscaled")
    hours = next(li for li in o.line_items if li.unit == "instance-hour"
                 and li.category == "inference")
    assert hours.unit_usd == pytest.approx(1.006)
    assert hours.floor_usd == pytest.approx(1 * 730 * 1.006, rel=1e-12)
    assert hours.monthly_usd > hours.floor_usd  # the instances booted for spikes are usage
    ebs = next(li for li in o.line_items if li.item == "EBS gp3 volumes")
    assert ebs.floor_usd == pytest.approx(200 * 1 * 0.08, rel=1e-12)


def test_managed_floor_does_not_move_with_the_traffic_but_usage_does():
    params = load_params(ROOT / "params" / "scenario_b_steady.yaml")
    rps = np.array([5.0, 20.0, 40.0, 80.0])
    bill = price_many(params, {"workload.avg_rps": rps, "workload.p95_rps": rps})
    for name in ("bedrock_llama31_70b", "bedrock_claude_sonnet_45"):
        floor = bill.floor(name)
        assert np.all(floor == floor[0]), name
        assert floor[0] == pytest.approx(97.725, rel=1e-12)
        assert np.all(np.diff(bill.usage(name)) > 0), name


def test_vector_floor_and_per_unit_equal_the_scalar_estimate():
    params = load_params(WITH_UNIT)
    rng = np.random.default_rng(7)
    rps = rng.uniform(1.0, 4.0, 3)
    inputs = {"workload.avg_rps": rps, "workload.traffic.peak_rps": rps * 2.25,
              "options.cache_then_llama31_8b.cache.hit_fraction": rng.uniform(0.5, 0.9, 3)}
    bill = price_many(params, inputs)
    for i in range(3):
        one = estimate(with_overrides(params, {k: float(v[i]) for k, v in inputs.items()}))
        assert bill.units_per_month[i] == pytest.approx(one.work_unit["units_per_month"],
                                                        rel=1e-12)
        for o in one.options:
            assert bill.floor(o.name)[i] == pytest.approx(o.floor_usd, rel=1e-9)
            assert bill.usage(o.name)[i] == pytest.approx(o.usage_usd, rel=1e-9)
            assert bill.usd_per_unit(o.name)[i] == pytest.approx(o.usd_per_unit, rel=1e-9)
            assert bill.usd_per_unit_all_in(o.name)[i] == pytest.approx(
                o.usd_per_unit_all_in, rel=1e-9)
            # the identity holds row by row in the vector bill too
            assert bill.usd_per_unit(o.name)[i] * bill.units_per_month[i] == pytest.approx(
                bill.usage(o.name)[i], rel=1e-12)


def test_estimate_floor_flag_lists_each_floor(capsys):
    from costlib.cli import main

    assert main(["estimate", str(WITH_UNIT), "--floor"]) == 0
    out = capsys.readouterr().out
    assert "floor_usd" in out and "usd_per_unit" in out
    assert "cache_then_llama31_8b floor: 97.72 USD/month without requests" in out
    assert "NAT gateways (2, one per AZ)" in out


def test_retrievals_with_retrieval_on_are_one_per_request(tmp_path):
    # rag_plumbing.yaml retrieves once per request (retrieval.enabled): a unit of 2 turns x 2
    # calls = 4 requests makes 4 retrievals; stating 2 is refused, stating 4 (or nothing) loads
    data = yaml.safe_load((ROOT / "params" / "rag_plumbing.yaml").read_text())
    data["work_unit"] = {"name": "ticket", "turns": 2, "calls": [{"name": "answer", "count": 2}],
                         "retrievals": 4, "tool_calls": 3}
    path = tmp_path / "rag_unit.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    e = estimate(load_params(path))
    assert e.work_unit["retrievals_per_unit"] == 4
    assert e.work_unit["tool_calls_per_unit"] == 3  # counted, not priced
    data["work_unit"]["retrievals"] = 2
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(CostlibError, match=r"work_unit.retrievals: 2 per unit.*4 requests"):
        load_params(path)


def test_scheduled_fleet_floor_is_what_the_schedule_keeps_on(tmp_path):
    # a scheduled fleet runs its count whenever the schedule is on, requests or not: all its
    # billed instance-hours are floor
    data = yaml.safe_load((ROOT / "params" / "scenario_a_bursty.yaml").read_text())
    data["options"]["g5_llama31_8b_sized_for_spikes"]["fleet"] = {
        "policy": "scheduled", "schedule": {"hours": [13, 22]}, "size_for": "peak"}
    path = tmp_path / "scheduled.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    e = estimate(load_params(path))
    hours = next(li for li in e.option("g5_llama31_8b_sized_for_spikes").line_items
                 if li.unit == "instance-hour" and li.category == "inference")
    assert 0 < hours.quantity < 730 * 100
    assert hours.floor_usd == hours.monthly_usd
