"""Tests of costlib.formulas.network: every oracle is a hand calculation shown beside it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from costlib.formulas.network import (
    alb_lcu,
    cached_answer_bytes,
    cross_az_billed_gb,
    gb_per_month,
    prompt_bytes,
    streamed_response_bytes,
    text_bytes,
    vector_json_bytes,
)

GB = 2**30  # AWS meters a GB as 2**30 bytes


@pytest.mark.parametrize("kind", ["scalar", "list", "ndarray", "series"])
def test_gb_per_month_gib(kind):
    # 2**30 bytes x 3 requests = 3 GB
    x = {"scalar": GB, "list": [GB, GB], "ndarray": np.array([GB, GB]),
         "series": pd.Series([GB, GB])}[kind]
    assert_allclose(gb_per_month(x, 3), 3.0)


def test_gb_per_month_a_month_of_prompts():
    # 9,024-byte prompts at 10 rps for 730 h: 26,280,000 requests x 9024 / 2**30 = 220.864 GB
    assert gb_per_month(9024, 26_280_000) == pytest.approx(26_280_000 * 9024 / 2**30)
    assert gb_per_month(9024, 26_280_000) == pytest.approx(220.864, abs=0.0005)


def test_cross_az_billed_gb_scalar():
    # 100 GB moved, half across AZs, billed out and in: 2 x 100 x 0.5 = 100 GB
    assert cross_az_billed_gb(100.0, 0.5) == 100.0


def test_cross_az_billed_gb_ndarray():
    # 10 GB moved: all across -> 20 GB billed; half -> 10; none -> 0
    assert_allclose(cross_az_billed_gb(10.0, np.array([1.0, 0.5, 0.0])), [20.0, 10.0, 0.0])


def test_alb_lcu_new_connections():
    # 100 rps / 25 new connections per LCU = 4 LCU
    assert alb_lcu(100.0, 0.0, 0.0) == pytest.approx(4.0)


def test_alb_lcu_active_connections():
    # 1 rps x 6000 s open = 6000 concurrent / 3000 per LCU = 2 LCU
    assert alb_lcu(1.0, 0.0, 6000.0) == pytest.approx(2.0)


def test_alb_lcu_processed_bytes():
    # 1 rps x 3600 s x (2**30 / 3600) bytes = 1 GB/h = 1 LCU (more than 1/25 for connections)
    assert alb_lcu(1.0, GB / 3600.0, 0.0) == pytest.approx(1.0)


def test_alb_lcu_ndarray():
    # a profile of 25 and 50 rps, connections only: 1 and 2 LCU
    out = alb_lcu(np.array([25.0, 50.0]), 0.0, 0.0)
    assert isinstance(out, np.ndarray)
    assert_allclose(out, [1.0, 2.0])


def test_alb_lcu_published_example_shape():
    # AWS ELB pricing page, LCU definition: 25 new connections/s, 3,000 active connections,
    # 1 GB/h. 10 rps, 10 s streams, 50,000 bytes: max(0.4, 0.0333, 1.6764) = 1.6764 LCU
    assert alb_lcu(10.0, 50_000, 10.0) == pytest.approx(10 * 3600 * 50_000 / 2**30)


def test_text_bytes_scalar_and_ndarray():
    # 4 bytes per token: 300 -> 1,200; [50, 400] -> [200, 1600]
    assert text_bytes(300) == 1200.0
    assert_allclose(text_bytes(np.array([50, 400])), [200.0, 1600.0])


def test_prompt_bytes_scalar():
    # 2,000 tokens x 4 + 1,024 envelope = 9,024
    assert prompt_bytes(2000, 1024) == 9024.0


def test_prompt_bytes_ndarray():
    # [1000, 3000] tokens x 4 + 0 = [4000, 12000]
    assert_allclose(prompt_bytes(np.array([1000, 3000])), [4000.0, 12000.0])


def test_streamed_response_bytes_scalar():
    # 500 tokens x 100 bytes + 1,024 = 51,024
    assert streamed_response_bytes(500, 100.0, 1024) == 51024.0


def test_streamed_response_bytes_ndarray():
    # [300, 400] tokens x 100 bytes = [30000, 40000]
    assert_allclose(streamed_response_bytes(np.array([300, 400]), 100.0), [30000.0, 40000.0])


def test_vector_json_bytes_scalar_and_ndarray():
    # 1,024 dims x 10 bytes = 10,240; 384 x 10 = 3,840
    assert vector_json_bytes(1024, 10.0) == 10240.0
    assert_allclose(vector_json_bytes(np.array([384, 1024]), 10.0), [3840.0, 10240.0])


def test_cached_answer_bytes_default_from_tokens():
    # 300 output tokens x 4 bytes = 1,200 bytes
    assert cached_answer_bytes(300) == 1200.0


def test_cached_answer_bytes_kb_is_1024_bytes():
    # item_kb 4 = 4 x 1024 = 4,096 bytes (DynamoDB counts KB of 1,024 bytes)
    assert cached_answer_bytes(300, item_kb=4.0) == 4096.0
