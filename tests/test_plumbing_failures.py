"""Tests of costlib.bill.plumbing.failures: throttling, retries, Spot, OOM, cache stampede."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from costlib.bill.options import OptionOutcome, line_item
from costlib.bill.context import Context
from costlib.bill.params import Params
from costlib.bill.plumbing.failures import FailureSettings, price_failures, retry_accounting
from costlib.tables.prices import load_price_book
from costlib.formulas.traffic import TrafficProfile, TrafficShape, build_profile

FIXTURE_PRICES = Path(__file__).parent / "fixtures" / "prices"
BOOK = load_price_book(tables_dir=FIXTURE_PRICES, genai_import=False)  # tests/fixtures/prices
MONTH_S = 730 * 3600  # 2,628,000 s

# One hour in minutes: 50 minutes at 2 rps, then a 10-minute peak at 10 rps.
PEAK = TrafficProfile(rps=np.array([2.0] * 50 + [10.0] * 10), step_s=60.0, shape="csv")
# Quota 300 requests/minute = 5 rps: each peak minute throttles 10 - 5 = 5 rps.
# Throttled: 10 x 5 / 60 = 0.8333 rps -> x 2,628,000 = 2,190,000 requests/month.
# Traffic: (50 x 2 + 10 x 10) / 60 = 3.3333 rps -> 8,760,000 requests/month.
THROTTLED = 2_190_000.0
TRAFFIC = 8_760_000.0


def params(options, rps=1.0, in_tokens=2000, out_tokens=500):
    return Params.model_validate({"workload": {"in_tokens": in_tokens, "out_tokens": out_tokens,
                                               "avg_rps": rps, "p95_latency_ms": 1000},
                                  "options": options})


def ctx_with(p, profile):
    return Context(params=p, profile=profile, prices=BOOK, base_dir=Path("."))


MANAGED = {"m": {"kind": "managed_api", "model": "meta.llama3-1-8b-instruct-v1:0",
                 "quota": {"requests_per_minute": 300}}}


def test_naive_retries_cost_at_least_the_throttled_tokens_again():
    # Inputs (stated): the PEAK profile above, Bedrock quota 300 requests/min, Llama 3.1 8B,
    # 2,000 in + 500 out tokens; overload shows as client timeouts after generation, so a
    # failed attempt is billed (billed_share_of_throttled_attempts = 1); 3 attempts.
    # Naive: every throttled request retries twice in the same minute and fails again:
    # extra billed = 2 x 2,190,000 = 4,380,000 requests >= 2,190,000 (the throttled traffic).
    s = FailureSettings(retry_policy="naive", max_attempts=3,
                        billed_share_of_throttled_attempts=1.0)
    acc = retry_accounting(s, PEAK.rps, 5.0)
    assert acc["throttled"] == pytest.approx(THROTTLED)
    assert acc["extra_billed"] == pytest.approx(2 * THROTTLED)
    assert acc["extra_billed"] >= acc["throttled"]
    assert acc["unserved"] == pytest.approx(THROTTLED)  # nothing recovered
    # priced: 4,380,000 x (2000 + 500) x 0.22 / 1e6 = 2,409.00 USD
    p = params(MANAGED, rps=PEAK.avg_rps)
    items = price_failures(s, ctx_with(p, PEAK), p.options["m"], None)
    assert items[0].monthly_usd == pytest.approx(4_380_000 * 2500 * 0.22 / 1e6)


def test_retry_budget_bounds_the_extra():
    # Budget 10 %: each peak minute retries min(5, 0.1 x 10) = 1 rps ->
    # 10 x 1 / 60 x 2,628,000 = 438,000 retries <= 0.1 x 8,760,000 = 876,000 (budget x traffic).
    s = FailureSettings(retry_policy="budgeted", retry_budget_fraction=0.1,
                        billed_share_of_throttled_attempts=1.0)
    acc = retry_accounting(s, PEAK.rps, 5.0)
    assert acc["retries"] == pytest.approx(438_000.0)
    assert acc["extra_billed"] <= 0.1 * TRAFFIC
    # retries of peak minute k land in minute k + 1, still a peak minute, except the last:
    # 1 rps recovered in one minute -> unserved (50 - 1) / 60 x 2,628,000 = 2,146,200
    assert acc["unserved"] == pytest.approx(2_146_200.0)
    # property: the bound holds for any budget
    for b in (0.0, 0.05, 0.2, 0.5, 1.0):
        acc = retry_accounting(FailureSettings(retry_budget_fraction=b,
                                               billed_share_of_throttled_attempts=1.0),
                              PEAK.rps, 5.0)
        assert acc["extra_billed"] <= b * TRAFFIC + 1e-6


def test_429_before_inference_costs_attempts_not_tokens():
    # Bedrock rejects a throttled request before inference (billed share 0, the default):
    # naive retries triple the attempts (2 x 2,190,000 retries) but bill no extra tokens.
    acc = retry_accounting(FailureSettings(retry_policy="naive"), PEAK.rps, 5.0)
    assert acc["retries"] == pytest.approx(2 * THROTTLED)
    assert acc["extra_billed"] == 0.0


def test_discarded_after_processing_billed_again():
    # No throttling (no quota), 2 % of attempts discarded after generation (dropped streams)
    # and retried: 0.02 x 2,628,000 = 52,560 requests billed again, any policy but none.
    steady = build_profile(TrafficShape(shape="steady"), avg_rps=1.0)
    for policy in ("naive", "budgeted"):
        acc = retry_accounting(FailureSettings(retry_policy=policy,
                                               discarded_after_processing_fraction=0.02),
                               steady.rps, np.inf)
        assert acc["extra_billed"] == pytest.approx(52_560.0)
    acc = retry_accounting(FailureSettings(retry_policy="none",
                                           discarded_after_processing_fraction=0.02),
                          steady.rps, np.inf)
    assert acc["extra_billed"] == 0.0


def _fleet_outcome():
    # A fake self-hosted outcome: 1,460 g5.xlarge instance-hours at 1.006 USD, 10 % unserved,
    # 100 tokens/s per sequence x batch 4 = 400 tokens/s per instance.
    return OptionOutcome([line_item("inference", "g5.xlarge instance-hours", 1460.0,
                                    "instance-hour", 1.006, "ec2 table")],
                         {"unserved_fraction": 0.1, "tokens_per_second_per_instance": 100.0,
                          "batch_size": 4.0})


@pytest.mark.parametrize("policy,usd", [("autoscaled", 1.006), ("fixed", 0.0)])
def test_self_hosted_retries_capacity_equivalent(policy, usd):
    # 1 rps steady, 10 % unserved = 262,800 requests; naive, 3 attempts, billed share 1:
    # 525,600 recomputed x 2,500 tokens / (400 tokens/s x 3,600) = 912.5 instance-hours,
    # priced only when the fleet autoscales.
    fleet = {"policy": policy, "spot": {"interruptions_per_instance_month": 2,
                                        "in_flight_requests_per_instance": 4}}
    p = params({"f": {"kind": "self_hosted", "instance": "g5.xlarge", "fleet": fleet,
                      "tokens_per_second_per_instance": 100, "batch_size": 4,
                      "spot_discount_pct": 60}})
    steady = build_profile(TrafficShape(shape="steady"), avg_rps=1.0)
    s = FailureSettings(retry_policy="naive", billed_share_of_throttled_attempts=1.0,
                        oom_restarts_per_instance_month=3)
    items = price_failures(s, ctx_with(p, steady), p.options["f"], _fleet_outcome())
    retried = next(li for li in items if "retried" in li.item)
    assert retried.quantity == pytest.approx(912.5)
    assert retried.unit_usd == usd
    # spot: 2 instance-months x 2 = 4 interruptions x 4 in flight = 16 requests
    # -> 16 x 2500 / 1,440,000 = 0.027778 instance-hours
    spot = next(li for li in items if "spot" in li.item)
    assert spot.quantity == pytest.approx(16 * 2500 / 1_440_000)
    # OOM: 3 x 2 instance-months = 6 restarts x 10 min = 1 instance-hour lost (already billed)
    lost = next(li for li in items if "capacity lost" in li.item)
    assert lost.quantity == pytest.approx(1.0) and lost.monthly_usd == 0.0


def test_cache_stampede_and_prewarm_hand():
    # Router: 80 % hits, misses to a Bedrock option; 2 rps = 5,256,000 requests, 1,051,200
    # misses; the routes cost 1,000 USD -> 1,000 / 1,051,200 USD per miss.
    # 8 deploys x 0.8 x 2 rps x 1,800 s = 23,040 extra misses; pre-warming 75 %: 5,760
    p = params({"a": {"kind": "managed_api", "model": "meta.llama3-1-8b-instruct-v1:0"},
                "r": {"kind": "router", "cache": {"hit_fraction": 0.8},
                      "routes": [{"to": "a", "share": 1.0}]}}, rps=2.0)
    steady = build_profile(TrafficShape(shape="steady"), avg_rps=2.0)
    routes = {"a": {"share_of_requests": 0.2, "monthly_usd": 1000.0}}
    outcome = OptionOutcome([], {"routes": routes})
    per_miss = 1000.0 / 1_051_200
    for prewarm, extra in ((0.0, 23_040.0), (0.75, 5_760.0)):
        s = FailureSettings(deploys_per_month=8, prewarm_fraction=prewarm)
        items = price_failures(s, ctx_with(p, steady), p.options["r"], outcome)
        stampede = next(li for li in items if "stampede" in li.item)
        assert stampede.quantity == pytest.approx(extra)
        assert stampede.monthly_usd == pytest.approx(extra * per_miss)
