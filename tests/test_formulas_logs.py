"""Tests of costlib.formulas.logs: every oracle is a hand calculation shown beside it."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from costlib.formulas.logs import insights_gb_scanned, log_bytes_per_request, log_storage_gb_months

DAYS = 730 / 24  # a 730-hour month is 30.4167 days


def test_log_bytes_per_request_metadata_only():
    # the 1,024-byte metadata line, nothing else
    assert log_bytes_per_request(2000, 500) == 1024.0


def test_log_bytes_per_request_payloads():
    # 1024 + (2000 + 500) x 4 = 11,024; two copies (app and Bedrock invocation logging):
    # 1024 + 2 x 10,000 = 21,024
    assert log_bytes_per_request(2000, 500, log_payloads=True) == 11024.0
    assert log_bytes_per_request(2000, 500, log_payloads=True, payload_copies=2) == 21024.0


def test_log_bytes_per_request_token_traces():
    # 500 token events x 150 bytes = 75,000 + 1024 = 76,024
    assert log_bytes_per_request(2000, 500, token_level_traces=True) == 76024.0


def test_log_bytes_per_request_sampling():
    # metadata on 10 % of requests: 102.4; payloads + traces sampled at 1 %, half kept after
    # redaction: 1024 + 0.01 x 0.5 x (10,000 + 75,000) = 1024 + 425 = 1,449
    assert log_bytes_per_request(2000, 500, log_sample_rate=0.1) == pytest.approx(102.4)
    assert log_bytes_per_request(2000, 500, log_payloads=True, token_level_traces=True,
                                 payload_sample_rate=0.01,
                                 payload_kept_fraction=0.5) == pytest.approx(1449.0)


def test_log_bytes_per_request_ndarray():
    # payloads over prompt sizes 1000 and 3000: 1024 + 1500 x 4 = 7,024; 1024 + 3500 x 4 = 15,024
    assert_allclose(log_bytes_per_request(np.array([1000, 3000]), 500, log_payloads=True),
                    [7024.0, 15024.0])


def test_log_storage_gb_months_scalar():
    # 10 GB a day (304.17 GB a month) kept 7 days: 70 GB-month; compressed to 20 %: 14
    per_month = 10 * DAYS
    assert log_storage_gb_months(per_month, 7) == pytest.approx(70.0)
    assert log_storage_gb_months(per_month, 7, 0.2) == pytest.approx(14.0)


def test_log_storage_gb_months_ndarray():
    # 100 GB a month kept 30 and 90 days: 100 / 30.4167 x [30, 90] = [98.63, 295.89]
    assert_allclose(log_storage_gb_months(100.0, np.array([30, 90])),
                    [100 / DAYS * 30, 100 / DAYS * 90])
    assert log_storage_gb_months(100.0, 30) == pytest.approx(98.63, abs=0.005)


def test_insights_gb_scanned_scalar():
    # 4 queries a day each scanning one day of 10 GB: 4 x 10 x 30.4167 = 1,216.67 GB a month
    per_month = 10 * DAYS
    assert insights_gb_scanned(per_month, 4, 1) == pytest.approx(4 * per_month)
    assert insights_gb_scanned(per_month, 4, 1) == pytest.approx(1216.67, abs=0.005)


def test_insights_gb_scanned_ndarray():
    # 100 GB a month, 10 queries a day, scanning 1 or 7 days: 1,000 and 7,000 GB
    assert_allclose(insights_gb_scanned(100.0, 10, np.array([1, 7])), [1000.0, 7000.0])
