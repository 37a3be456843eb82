"""Tests of costlib.formulas.kms: every oracle is a hand calculation shown beside it."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from costlib.formulas.kms import kms_requests_per_month


def test_kms_requests_per_month_no_caching():
    # 10 M requests writing 2 objects each, one KMS call per object: 20 M KMS requests
    assert kms_requests_per_month(10e6, 2) == 20e6


def test_kms_requests_per_month_data_key_caching_ndarray():
    # 1,000 requests x 3 objects = 3,000 KMS calls; one data key per 100 objects: 30
    assert_allclose(kms_requests_per_month(1000, 3, np.array([1, 100])), [3000.0, 30.0])


def test_kms_requests_per_month_ndarray_traffic():
    # [1e6, 2e6] requests x 1 object / 10 objects per data key = [1e5, 2e5]
    assert_allclose(kms_requests_per_month(np.array([1e6, 2e6]), 1, 10), [1e5, 2e5])
