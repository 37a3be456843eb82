"""Tests of costlib.formulas.tokens: hand calculations and published figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from costlib.formulas.retries import allowed_rps
from costlib.formulas.tokens import (
    capacity_tokens_per_s,
    context_tokens_per_request,
    input_usd_per_request,
    million_tokens,
    model_units_needed,
    provisioned_capacity_rps,
    throttled_fraction,
    usd_per_request,
)


def test_million_tokens_scalar():
    # 2,628,000 requests x 100 tokens / 1e6 = 262.8 M tokens
    assert million_tokens(2_628_000, 100) == pytest.approx(262.8)


def test_million_tokens_ndarray():
    assert_allclose(million_tokens(np.array([1e6, 2e6]), 500), [500.0, 1000.0])


def test_usd_per_request_scalar():
    # Llama 3.1 8B on Bedrock, 0.22 USD per 1M input and output tokens (genai-prices 0.2.3,
    # us-east-1): (2000 x 0.22 + 500 x 0.22) / 1e6 = 0.00055 USD
    assert usd_per_request(2000, 500, 0.22, 0.22) == pytest.approx(0.00055)


def test_usd_per_request_ndarray():
    # (1000 x 3 + [100, 1000] x 15) / 1e6 = [0.0045, 0.018]
    assert_allclose(usd_per_request(1000, np.array([100, 1000]), 3.0, 15.0), [0.0045, 0.018])


def test_input_usd_per_request_prompt_cache():
    # Claude Sonnet 4.5 in-region prices (genai-prices 0.2.3): input 3.30, cache read 0.33,
    # cache write 4.125 USD/1M. 1,000 tokens, 60 % read, 10 % written:
    # 1000 x (0.3 x 3.30 + 0.6 x 0.33 + 0.1 x 4.125) / 1e6 = 1000 x 1.6005 / 1e6 = 0.0016005
    assert input_usd_per_request(1000, 3.30, 0.33, 4.125, 0.6, 0.1) == pytest.approx(0.0016005)


def test_input_usd_per_request_no_cache_is_plain_input():
    # 2,000 tokens x 3.00 / 1e6 = 0.006
    assert input_usd_per_request(2000, 3.00) == pytest.approx(0.006)


def test_input_usd_per_request_ndarray():
    # read fractions 0, 0.5, 1 at 3.00 / 0.30: 2000 x [3.00, 1.65, 0.30] / 1e6
    out = input_usd_per_request(2000, 3.00, 0.30, 3.75, np.array([0.0, 0.5, 1.0]))
    assert_allclose(out, [0.006, 0.0033, 0.0006])


def test_throttled_fraction_requests_per_minute():
    # two minutes at 2 and 6 rps against 240 requests/min (4 rps): (0 + 2) / (2 + 6) = 0.25
    assert throttled_fraction([2.0, 6.0], 60.0, 100, requests_per_minute=240) == 0.25


def test_throttled_fraction_tokens_per_minute_ndarray():
    # 300,000 tokens/min / 60 / 2,500 tokens = 2 rps allowed; demand [1, 3, 4]:
    # throttled [0, 1, 2] -> 3 / 8 = 0.375
    out = throttled_fraction(np.array([1.0, 3.0, 4.0]), 60.0, 2500, tokens_per_minute=300_000)
    assert out == pytest.approx(0.375)


def test_throttled_fraction_no_quota_or_no_demand():
    assert throttled_fraction(pd.Series([2.0, 6.0]), 60.0, 100) == 0.0
    assert throttled_fraction(np.zeros(3), 60.0, 100, requests_per_minute=240) == 0.0


def test_throttled_fraction_agrees_with_allowed_rps():
    # the share is computed at the rate allowed_rps admits: 2 rps here
    d = np.array([1.0, 3.0, 4.0])
    allowed = allowed_rps(2500, requests_per_minute=600, tokens_per_minute=300_000)
    assert allowed == 2.0
    assert throttled_fraction(d, 60.0, 2500, 600, 300_000) == pytest.approx(
        np.maximum(d - allowed, 0).sum() / d.sum())


def test_model_units_needed_scalar():
    # 100,000 tokens/s = 6,000,000 tokens/min; 2,500,000 per unit: 2.4 -> 3
    assert model_units_needed(100_000, 2_500_000) == 3.0


def test_model_units_needed_ndarray_at_least_one():
    # 0 -> 1 (at least one unit); exactly 2 units' worth (83,333.33 tokens/s) -> 2
    out = model_units_needed(np.array([0.0, 2 * 2_500_000 / 60]), 2_500_000)
    assert_allclose(out, [1.0, 2.0])


def test_provisioned_capacity_rps_scalar_and_ndarray():
    # 3 units x 2,500,000 tokens/min / 60 / 2,500 tokens = 50 rps; [1, 2] units: [16.67, 33.33]
    assert provisioned_capacity_rps(3, 2_500_000, 2500) == pytest.approx(50.0)
    assert_allclose(provisioned_capacity_rps(np.array([1, 2]), 2_500_000, 2500),
                    [50 / 3, 100 / 3])


def test_capacity_tokens_per_s_worksheet():
    # reference article worksheet: 1,117.6 tokens/s per sequence x 16 sequences = 17,881.6
    assert capacity_tokens_per_s(1117.6, 16) == pytest.approx(17881.6)


def test_capacity_tokens_per_s_ndarray():
    assert_allclose(capacity_tokens_per_s(100.0, np.array([1, 8, 32])), [100.0, 800.0, 3200.0])


@pytest.mark.parametrize("kind", ["scalar", "list", "ndarray", "series"])
def test_context_tokens_per_request_kept_fraction(kind):
    # 5 chunks x 400 tokens x 0.5 kept = 1000 (and x 1.0 = 2000)
    kept = {"scalar": 0.5, "list": [0.5, 1.0], "ndarray": np.array([0.5, 1.0]),
            "series": pd.Series([0.5, 1.0])}[kind]
    out = np.atleast_1d(context_tokens_per_request(5, 400, kept))
    assert out[0] == pytest.approx(1000.0)
    if out.size > 1:
        assert out[1] == pytest.approx(2000.0)


def test_context_tokens_per_request_article_figure():
    # reference article: RAG "that adds 2k tokens" -- 5 chunks of 400 tokens, all kept
    assert context_tokens_per_request(5, 400) == 2000.0
