"""Tests of costlib.formulas.serverless: every oracle is a hand calculation shown beside it."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from costlib.formulas.serverless import lambda_gb_seconds


def test_lambda_gb_seconds_scalar():
    # 2,628,000 invocations (1 rps for 730 h) x 1 GB x 0.2 s = 525,600 GB-s
    assert lambda_gb_seconds(2_628_000, 1.0, 200) == 525_600.0


def test_lambda_gb_seconds_ndarray():
    # 1 M invocations of 100 ms at [0.5, 2] GB: 1e6 x [0.5, 2] x 0.1 = [50,000, 200,000] GB-s
    assert_allclose(lambda_gb_seconds(1e6, np.array([0.5, 2.0]), 100), [50_000.0, 200_000.0])
