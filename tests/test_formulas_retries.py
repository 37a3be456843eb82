"""Tests of costlib.formulas.retries: every oracle is a hand calculation shown beside it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from costlib.formulas.retries import (
    allowed_rps,
    budgeted_retry_rps,
    capacity_lost_hours,
    extra_billed_requests,
    naive_retry_rps,
    oom_restarts,
    recompute_instance_hours,
    recovered_rps,
    retry_accounting,
    stampede_extra_misses,
    throttled_rps,
)

MONTH_S = 730 * 3600  # 2,628,000 s


def test_allowed_rps_requests_per_minute():
    # 240 requests a minute = 4 rps
    assert allowed_rps(2500, requests_per_minute=240) == 4.0


def test_allowed_rps_tokens_per_minute():
    # 600,000 tokens a minute / 60 / 2,500 tokens per request = 4 rps
    assert allowed_rps(2500, tokens_per_minute=600_000) == 4.0


def test_allowed_rps_tighter_of_the_two():
    # 240 rpm = 4 rps; 300,000 tpm / 60 / 2500 = 2 rps: 2
    assert allowed_rps(2500, requests_per_minute=240, tokens_per_minute=300_000) == 2.0


def test_allowed_rps_no_quota_is_unlimited():
    assert math.isinf(allowed_rps(2500))


def test_throttled_rps_scalar():
    # 6 rps against 4: 2 throttled; 3 against 4: 0
    assert throttled_rps(6.0, 4.0) == 2.0
    assert throttled_rps(3.0, 4.0) == 0.0


@pytest.mark.parametrize("kind", ["list", "ndarray", "series"])
def test_throttled_rps_ndarray(kind):
    d = {"list": [2.0, 6.0], "ndarray": np.array([2.0, 6.0]), "series": pd.Series([2.0, 6.0])}[kind]
    assert_allclose(throttled_rps(d, 4.0), [0.0, 2.0])


def test_naive_retry_rps_scalar():
    # 6 rps against 4, 3 attempts: 2 throttled x 2 retries = 4 retries/s
    assert naive_retry_rps(6.0, 4.0, 3) == 4.0


def test_naive_retry_rps_ndarray():
    # 5 attempts: [0, 2] throttled x 4 = [0, 8]
    assert_allclose(naive_retry_rps(np.array([2.0, 6.0]), 4.0, 5), [0.0, 8.0])


def test_budgeted_retry_rps_scalar():
    # 6 rps against 4, 10 % budget: min(2, 0.6) = 0.6; 50 % budget: min(2, 3) = 2
    assert budgeted_retry_rps(6.0, 4.0, 0.1) == pytest.approx(0.6)
    assert budgeted_retry_rps(6.0, 4.0, 0.5) == pytest.approx(2.0)


def test_budgeted_retry_rps_ndarray():
    assert_allclose(budgeted_retry_rps(np.array([2.0, 6.0]), 4.0, 0.1), [0.0, 0.6])
    # one attempt in all: nothing retried
    assert_allclose(budgeted_retry_rps(np.array([2.0, 6.0]), 4.0, 0.1, max_attempts=1),
                    [0.0, 0.0])


def test_recovered_rps_ndarray():
    # 0.6 retries/s after the 6-rps minute land in the next (2-rps) minute, 2 spare: 0.6
    assert_allclose(recovered_rps([0.0, 0.6], np.array([2.0, 6.0]), 4.0), [0.0, 0.6])


def test_recovered_rps_limited_by_spare_quota():
    # 3 retries/s, the next minute at 3.5 rps against 4 allowed: only 0.5 spare
    assert_allclose(recovered_rps(np.array([3.0, 0.0]), np.array([7.0, 3.5]), 4.0), [0.5, 0.0])


def test_extra_billed_requests_scalar():
    # 100 retries x 0.5 billed + 10 discarded = 60
    assert extra_billed_requests(100.0, 0.5, 10.0) == pytest.approx(60.0)


def test_extra_billed_requests_ndarray():
    # 1,000 retries billed at 0 or 1, no discards: [0, 1000]
    assert_allclose(extra_billed_requests(1000.0, np.array([0.0, 1.0])), [0.0, 1000.0])


def test_stampede_extra_misses_scalar():
    # 8 deploys x 0.8 hits x 2 rps x 1,800 s cold x (1 - 0.75 pre-warmed) = 5,760
    assert stampede_extra_misses(8, 0.8, 2.0, 30, 0.75) == pytest.approx(5760.0)


def test_stampede_extra_misses_ndarray():
    # 8 x 0.8 x 2 x 60 x [30, 60] = [23,040, 46,080]
    assert_allclose(stampede_extra_misses(8, 0.8, 2.0, np.array([30, 60])), [23040.0, 46080.0])


def test_retry_accounting_none():
    # 6 rps against 4: 2 rps throttled and unserved, nothing retried: 2 x 2,628,000 = 5,256,000
    acc = retry_accounting([6.0], 4.0, "none")
    assert acc == {"throttled": 2 * MONTH_S, "retries": 0.0, "extra_billed": 0.0,
                   "unserved": 2 * MONTH_S}


def test_retry_accounting_naive_billed_share():
    # 3 attempts: 4 retries/s; half of each throttled attempt billed: 2 rps extra billed
    acc = retry_accounting([6.0], 4.0, "naive", 3, billed_share=0.5)
    assert acc["retries"] == pytest.approx(4 * MONTH_S)
    assert acc["extra_billed"] == pytest.approx(2 * MONTH_S)
    assert acc["unserved"] == pytest.approx(2 * MONTH_S)


def test_retry_accounting_budgeted_recovers_next_minute():
    # minutes at 2 and 6 rps, 4 allowed, 10 % budget: 0.6 retries/s in the 6-rps minute, all
    # served in the next (periodic) 2-rps minute; mean over the 2 steps x 2,628,000 s:
    # throttled 2 / 2 = 1 rps -> 2,628,000; retries 0.3 rps -> 788,400; unserved (2 - 0.6) / 2
    # = 0.7 rps -> 1,839,600; not billed (billed_share 0)
    acc = retry_accounting(np.array([2.0, 6.0]), 4.0, "budgeted", 3, 0.1)
    assert acc["throttled"] == pytest.approx(MONTH_S)
    assert acc["retries"] == pytest.approx(0.3 * MONTH_S)
    assert acc["extra_billed"] == pytest.approx(0.0)
    assert acc["unserved"] == pytest.approx(0.7 * MONTH_S)


def test_retry_accounting_discarded_billed_again():
    # no quota: 5 % of 2 rps discarded after processing and retried, billed in full:
    # 0.1 rps x 2,628,000 = 262,800
    acc = retry_accounting([2.0], math.inf, "budgeted", 3, 0.1, discarded_fraction=0.05)
    assert acc["extra_billed"] == pytest.approx(0.1 * MONTH_S)
    assert acc["unserved"] == 0.0


def test_recompute_instance_hours_scalar():
    # 36,000 requests x 1,000 tokens / (10,000 tokens/s x 3600) = 1 instance-hour
    assert recompute_instance_hours(36_000, 1_000, 10_000) == 1.0
    assert recompute_instance_hours(36_000, 1_000, 0.0) == 0.0


def test_recompute_instance_hours_ndarray():
    assert_allclose(recompute_instance_hours(np.array([36_000, 72_000]), 1_000, 10_000),
                    [1.0, 2.0])
    assert_allclose(recompute_instance_hours(np.array([36_000, 72_000]), 1_000, 0.0), [0.0, 0.0])


def test_oom_restarts_scalar_and_ndarray():
    # 2 restarts per instance-month x 1,460 instance-hours / 730 = 4
    assert oom_restarts(2.0, 1460.0) == 4.0
    assert_allclose(oom_restarts(np.array([1.0, 2.0]), 730.0), [1.0, 2.0])


def test_capacity_lost_hours_scalar_and_ndarray():
    # 4 restarts x 15 min / 60 = 1 instance-hour; [6, 12] x 10 / 60 = [1, 2]
    assert capacity_lost_hours(4, 15) == 1.0
    assert_allclose(capacity_lost_hours(np.array([6, 12]), 10), [1.0, 2.0])
