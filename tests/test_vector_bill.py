"""The vectorised bill (costlib.bill.vector.price_many) against the scalar estimate.

Oracle: for every row, the scalar ``estimate`` of the params with that row's values set through
the params schema (``with_overrides``, which validates) - an independent path through loading
and validation. Property: the two agree to 1e-9 relative on every option total and line item.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costlib.bill.estimate import estimate
from costlib.bill.params import load_params, with_overrides
from costlib.bill.vector import numeric_keys, price_many, structural_keys
from costlib.core.errors import CostlibError
from costlib.formulas.fleet import Policy, Schedule, fleet_family, simulate_fleet
from costlib.formulas.steps import build_family
from costlib.bill.traffic import TrafficSettings

ROOT = Path(__file__).resolve().parents[1]
PARAMS = sorted((ROOT / "params").glob("*.yaml"))
RATE_KEYS = ("workload.avg_rps", "workload.p95_rps", "workload.traffic.peak_rps",
             "workload.traffic.base_rps")


def _continuous_keys(params) -> dict:
    known = numeric_keys(params)
    keys = [k for k, v in known.items() if v["value"] is not None and not v["integer"]]
    structural = set(structural_keys(params, keys))
    return {k: known[k] for k in keys if k not in structural
            and not fnmatch.fnmatchcase(k, "options.*.routes.*")}


def _draw(params, rng, n: int) -> dict:
    """N rows of every continuous input: rates scaled together (the shape stays feasible),
    fractions shrunk (sums of shares stay <= 1), other numbers within +-50 % and their bounds."""
    out = {}
    scale = rng.uniform(0.5, 2.0, n)
    for key, spec in _continuous_keys(params).items():
        v = spec["value"]
        if key in RATE_KEYS:
            out[key] = v * scale
            continue
        if spec.get("le", np.inf) <= 1:
            x = v * rng.uniform(0.5, 1.0, n)
        else:
            x = v * rng.uniform(0.5, 1.5, n)
        lo = spec.get("ge", spec.get("gt", -np.inf))
        if "gt" in spec and not np.isfinite(lo):
            lo = spec["gt"]
        x = np.clip(x, lo if np.isfinite(lo) else -np.inf, spec.get("le", np.inf))
        if "gt" in spec:
            x = np.where(x <= spec["gt"], spec["gt"] + abs(v) * 0.01 + 1e-9, x)
        out[key] = x
    return out


def _assert_rows_match(params, bill, inputs, rows) -> None:
    for i in rows:
        one = with_overrides(params, {k: float(v[i]) for k, v in inputs.items()})
        e = estimate(one)
        for o in e.options:
            assert bill.total(o.name)[i] == pytest.approx(o.monthly_usd, rel=1e-9, abs=1e-9), \
                (o.name, i)
            assert bill.floor(o.name)[i] == pytest.approx(o.floor_usd, rel=1e-9, abs=1e-9), \
                (o.name, i)
            if e.work_unit is not None:
                assert bill.usd_per_unit(o.name)[i] == pytest.approx(o.usd_per_unit, rel=1e-9,
                                                                     abs=1e-12), (o.name, i)
            vec = [it.monthly_usd[i] for it in bill.options[o.name]]
            scal = [li.monthly_usd for li in o.line_items]
            # the vector bill lists the union of items over rows; the others are zero
            assert sum(vec) == pytest.approx(sum(scal), rel=1e-9, abs=1e-9)
            by_item = {}
            for it in bill.options[o.name]:
                by_item.setdefault((it.category, it.item, it.unit), []).append(it.monthly_usd[i])
            floors = {}
            for it in bill.options[o.name]:
                floors.setdefault((it.category, it.item, it.unit), []).append(it.floor_usd[i])
            for li in o.line_items:
                got = by_item.get((li.category, li.item, li.unit))
                if got is not None:  # labels with row-specific numbers read "varies"
                    assert any(g == pytest.approx(li.monthly_usd, rel=1e-9, abs=1e-9)
                               for g in got), (o.name, li.item, i)
                    assert any(g == pytest.approx(li.floor_usd, rel=1e-9, abs=1e-9)
                               for g in floors[(li.category, li.item, li.unit)]), \
                        (o.name, li.item, i)


@pytest.mark.parametrize("path", PARAMS, ids=[p.stem for p in PARAMS])
@settings(max_examples=3, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_vector_bill_equals_scalar_estimate_on_random_inputs(path, seed):
    params = load_params(path)
    rng = np.random.default_rng(seed)
    inputs = _draw(params, rng, 3)
    assert inputs, "every params file has continuous inputs"
    bill = price_many(params, inputs)
    assert bill.n == 3
    _assert_rows_match(params, bill, inputs, range(3))


def test_scalar_estimate_is_the_one_row_vector_bill():
    params = load_params(ROOT / "params" / "scenario_b_steady.yaml")
    bill = price_many(params, {})
    e = estimate(params)
    for o in e.options:
        assert bill.total(o.name)[0] == pytest.approx(o.monthly_usd, rel=1e-12)


def test_structural_inputs_are_grouped_and_still_match():
    # in_tokens feeds the throughput model's SLO search of default.yaml's self-hosted options
    params = load_params(ROOT / "params" / "default.yaml")
    assert "workload.in_tokens" in structural_keys(params, ["workload.in_tokens"])
    inputs = {"workload.in_tokens": np.array([1500.0, 2500.0, 1500.0]),
              "workload.avg_rps": np.array([9.0, 10.0, 11.0]),
              "workload.p95_rps": np.array([22.5, 25.0, 27.5])}
    bill = price_many(params, inputs)
    assert bill.groups == 2
    _assert_rows_match(params, bill, inputs, range(3))


def test_total_is_linear_in_a_managed_token_price():
    # property: the Bedrock option's total is affine in its input-token price
    params = load_params(ROOT / "params" / "scenario_b_steady.yaml")
    key = "options.bedrock_llama31_70b.usd_per_1m_input_tokens"
    bill = price_many(params, {key: np.array([0.0, 1.0, 2.0])})
    t = bill.total("bedrock_llama31_70b")
    assert t[2] - t[1] == pytest.approx(t[1] - t[0], rel=1e-12)
    # and the slope is the input tokens in millions per month
    items = {i.item: i for i in bill.options["bedrock_llama31_70b"]}
    tokens_m = next(i.quantity[0] for name, i in items.items() if name.endswith("input tokens"))
    assert t[1] - t[0] == pytest.approx(tokens_m, rel=1e-12)


def test_a_value_out_of_bounds_names_key_and_row():
    params = load_params(ROOT / "params" / "default.yaml")
    with pytest.raises(CostlibError, match=r"observability.log_sample_rate: row 2 is 1.5"):
        price_many(params, {"observability.log_sample_rate": np.array([0.1, 0.5, 1.5])})
    with pytest.raises(CostlibError, match="row 1 is inf"):
        price_many(params, {"workload.avg_rps": np.array([10.0, np.inf])})


def test_an_unknown_key_is_named_with_close_valid_ones():
    params = load_params(ROOT / "params" / "default.yaml")
    with pytest.raises(CostlibError, match="workload.avg_rsp"):
        price_many(params, {"workload.avg_rsp": np.array([1.0])})


def test_an_infeasible_traffic_row_is_named():
    params = load_params(ROOT / "params" / "default.yaml")
    # default: diurnal, p95 25 rps; an average of 2 rps cannot have that p95
    with pytest.raises(CostlibError, match="row 1: workload.traffic"):
        price_many(params, {"workload.avg_rps": np.array([10.0, 2.0])})


def test_cross_field_rule_is_checked_on_every_row():
    # scenario C's router sends all its misses to one route: a share of 0.7 in one row breaks
    # "shares add up to 1" there (and only there)
    params = load_params(ROOT / "params" / "scenario_c_cached_rag.yaml")
    key = next(k for k in numeric_keys(params) if fnmatch.fnmatchcase(k, "options.*.routes.0.share"))
    with pytest.raises(CostlibError, match="add up to 0.7; they must add up to 1"):
        price_many(params, {key: np.array([1.0, 0.7, 1.0])})


# ------------------------------------------------------------------------------------------
# the fleet over many profiles against the step-by-step simulation


POLICIES = [
    Policy(),
    Policy(size_for="peak", min_instances=1, max_instances=40),
    Policy(policy="autoscaled", min_instances=1),
    Policy(policy="autoscaled", scale_out_delay_min=5, scale_in_cooldown_min=30,
           cold_start_min=7, max_instances=9),
    Policy(policy="scheduled", schedule=Schedule(hours=(8, 18))),
    Policy(policy="scheduled", schedule=Schedule(hours=(20, 6), prewarm=True)),
]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.policy}-{p.size_for}")
@pytest.mark.parametrize("shape", ["diurnal", "bursty", "steady"])
def test_fleet_family_equals_simulate_fleet_row_by_row(shape, policy):
    rng = np.random.default_rng(7)
    avg = rng.uniform(1, 20, 12)
    if shape == "diurnal":
        fam = build_family(TrafficSettings(shape="diurnal"), avg_rps=avg,
                           p95_rps=avg * rng.uniform(1.2, 2.9, 12))
    elif shape == "bursty":
        fam = build_family(TrafficSettings(shape="bursty", peak_rps=60), avg_rps=avg,
                           peak_rps=avg * 10)
    else:
        fam = build_family(TrafficSettings(shape="steady"), avg_rps=avg)
    k = rng.uniform(0.05, 0.8, fam.n).reshape(-1, 1)
    got = fleet_family(fam, lambda r, rows: r * k[rows], policy)
    _assert_like_simulation(fam, k, policy, got)
    # a linear demand takes the prefix-sum path for fixed fleets; the figures are the same
    linear = fleet_family(fam, lambda r, rows: r * k[rows], policy, instances_per_rps=k[:, 0])
    _assert_like_simulation(fam, k, policy, linear)


def _assert_like_simulation(fam, k, policy, got):
    rates = fam.rates(fam.u)
    for i in range(fam.n):
        want = simulate_fleet(rates[i] * k[i, 0], fam.step_s, policy)
        assert got.instance_hours_per_month[i] == pytest.approx(want.instance_hours_per_month,
                                                                rel=1e-12)
        assert got.peak_billed_instances[i] == want.peak_billed_instances
        assert got.unserved_fraction[i] == pytest.approx(want.unserved_fraction, rel=1e-9,
                                                         abs=1e-15)
        assert got.billed_utilisation[i] == pytest.approx(want.billed_utilisation, rel=1e-9)
        assert got.cold_starts_per_month[i] == pytest.approx(want.cold_starts_per_month,
                                                             rel=1e-12, abs=1e-12)


def test_rows_priced_in_chunks_equal_one_pass():
    params = load_params(ROOT / "params" / "rag_plumbing.yaml")
    rng = np.random.default_rng(3)
    inputs = _draw(params, rng, 7)
    whole = price_many(params, inputs)
    chunked = price_many(params, inputs, chunk_rows=3)
    for name in whole.options:
        # the same arithmetic per row; sums over steps may round differently with the shape
        assert np.allclose(whole.total(name), chunked.total(name), rtol=1e-12, atol=0)
        for a, b in zip(whole.options[name], chunked.options[name]):
            assert a.category == b.category
            assert np.allclose(a.quantity, b.quantity, rtol=1e-12, atol=1e-12)
            assert np.allclose(np.broadcast_to(a.unit_usd, (7,)), b.unit_usd, rtol=1e-12)


def test_cheapest_is_the_smallest_total_of_each_row():
    params = load_params(ROOT / "params" / "scenario_b_steady.yaml")
    rng = np.random.default_rng(4)
    bill = price_many(params, _draw(params, rng, 6))
    stacked = np.vstack([bill.total(n) for n in bill.options])
    assert list(bill.cheapest) == [list(bill.options)[j] for j in stacked.argmin(axis=0)]
    # per request and per 1k tokens are the total over the month's requests and tokens
    name = list(bill.options)[0]
    assert np.allclose(bill.usd_per_request(name) * bill.requests_per_month, bill.total(name))
