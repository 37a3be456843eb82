"""Tests of costlib.formulas.vectorstores: hand calculations and published figures."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from costlib.formulas.vectorstores import (
    aurora_acus,
    aurora_write_ios,
    chunk_record_bytes,
    chunk_text_bytes,
    dynamodb_read_units,
    dynamodb_write_units,
    hnsw_index_gib,
    inprocess_index_gb_per_task,
    opensearch_serverless_ocus,
    stored_gb,
    vector_bytes,
)

GB = 2**30


def test_vector_bytes_float32():
    # float32: 4 bytes a component; 1,024 dims = 4,096 bytes
    assert vector_bytes(1024) == 4096.0


def test_vector_bytes_ndarray():
    assert_allclose(vector_bytes(np.array([384, 768, 1024])), [1536.0, 3072.0, 4096.0])


def test_chunk_text_bytes_scalar_and_ndarray():
    # 400 tokens x 4 + 200 metadata = 1,800; 200 tokens: 800 + 200 = 1,000
    assert chunk_text_bytes(400, 200) == 1800.0
    assert_allclose(chunk_text_bytes(np.array([200, 400]), 200), [1000.0, 1800.0])


def test_chunk_record_bytes_scalar():
    # 4 x 1024 + 400 x 4 + 200 = 4096 + 1600 + 200 = 5,896
    assert chunk_record_bytes(1024, 400, 200) == 5896.0


def test_chunk_record_bytes_ndarray_dims_lever():
    # 384 against 1,024 dims, 400-token chunks, no metadata: 1536 + 1600 = 3136, 4096 + 1600 = 5696
    assert_allclose(chunk_record_bytes(np.array([384, 1024]), 400), [3136.0, 5696.0])


def test_stored_gb_scalar_and_ndarray():
    # 100,000 chunks x 5,896 bytes / 2**30 = 0.54910 GB; 2**20 x 1024 bytes = 1 GB
    assert stored_gb(100_000, 5896) == pytest.approx(589_600_000 / GB)
    assert_allclose(stored_gb(np.array([2**20, 2**21]), 1024), [1.0, 2.0])


def test_hnsw_index_gib_opensearch_published_example():
    # OpenSearch k-NN docs, "Memory estimation": 1 M vectors, 256 dims, M = 16:
    # 1.1 * (4 * 256 + 8 * 16) * 1,000,000 ~= 1.267 GB (decimal GB there; ours is GiB)
    assert hnsw_index_gib(1_000_000, 256, 16) * GB / 1e9 == pytest.approx(1.267, abs=5e-4)


def test_hnsw_index_gib_ndarray():
    # 1 M vectors, m = 16: 1.1 * (4 * d + 128) * 1e6 / 2**30 for d = 384 and 1024
    expected = [1.1 * (4 * d + 128) * 1e6 / GB for d in (384, 1024)]
    assert_allclose(hnsw_index_gib(1e6, np.array([384, 1024])), expected)
    # the dims lever: 1664 / 4224 of the memory
    ratio = hnsw_index_gib(1e6, 384) / hnsw_index_gib(1e6, 1024)
    assert ratio == pytest.approx(1664 / 4224)


def test_opensearch_serverless_ocus_floor():
    # AWS docs (serverless-scaling): minimum 2 OCUs with redundancy, 1 without
    assert opensearch_serverless_ocus(0.01) == 2.0
    assert opensearch_serverless_ocus(0.01, redundancy=False) == 1.0


def test_opensearch_serverless_ocus_growth():
    # 10 GiB index, 2 replicas, 3 GiB usable per OCU: 20 / 3 = 6.67 -> 7 search + 1 indexing = 8
    assert opensearch_serverless_ocus(10.0) == 8.0
    # no redundancy: 10 / 3 = 3.33 -> 3.5 search + 0.5 indexing = 4
    assert opensearch_serverless_ocus(10.0, redundancy=False) == 4.0


def test_opensearch_serverless_ocus_ndarray():
    # 0.1 GiB -> floor 2; 4.327 GiB: 8.654 / 3 = 2.88 -> 3 + 1 = 4; 10 GiB -> 8
    out = opensearch_serverless_ocus(np.array([0.1, 4.327, 10.0]))
    assert isinstance(out, np.ndarray)
    assert_allclose(out, [2.0, 4.0, 8.0])


def test_aurora_acus_scalar():
    # 4.327 GiB / (2 GiB per ACU x 0.5) = 4.327 -> 4.5 ACU
    assert aurora_acus(4.327) == 4.5


def test_aurora_acus_ndarray_half_steps():
    # 3 GiB -> 3 ACU; 3.1 -> 3.5; tiny -> the 0.5 floor
    assert_allclose(aurora_acus(np.array([3.0, 3.1, 0.01])), [3.0, 3.5, 0.5])


def test_aurora_write_ios_scalar_and_ndarray():
    # 4 KB I/O units: 5,896 bytes -> 2; 4,096 -> 1; 100 -> 1; 8,193 -> 3
    assert aurora_write_ios(5896) == 2.0
    assert_allclose(aurora_write_ios(np.array([4096, 100, 8193])), [1.0, 1.0, 3.0])


def test_dynamodb_read_units_published_examples():
    # DynamoDB developer guide: "reading a 3,500-byte item consumes the same throughput as
    # reading a 4 KB item" (1 unit strongly consistent, half eventually consistent);
    # on-demand pricing page: an 8 KB item takes 2 units strongly consistent, 1 eventually.
    assert dynamodb_read_units(3500, strongly_consistent=True) == 1.0
    assert dynamodb_read_units(3500) == 0.5
    assert dynamodb_read_units(8 * 1024, strongly_consistent=True) == 2.0
    assert dynamodb_read_units(8 * 1024) == 1.0


def test_dynamodb_read_units_near_4_kb():
    # 4 KB = 4,096 bytes (1 KB = 1,024): 4,096 bytes is 1 unit, 4,097 is 2
    assert dynamodb_read_units(4096, strongly_consistent=True) == 1.0
    assert dynamodb_read_units(4097, strongly_consistent=True) == 2.0
    # 4,050 bytes is under 4 KB: 1 unit (a KB of 1,000 bytes would have made it 2)
    assert dynamodb_read_units(4050, strongly_consistent=True) == 1.0


def test_dynamodb_read_units_ndarray():
    # developer guide: 10 KB rounds up to 12 KB -> 3 units strongly consistent, 1.5 eventually
    out = dynamodb_read_units(np.array([1800, 10 * 1024]))
    assert_allclose(out, [0.5, 1.5])


def test_dynamodb_write_units_scalar():
    # 1 KB per write unit: 1,024 bytes -> 1; 1,025 -> 2; 1,200 -> 2
    assert dynamodb_write_units(1024) == 1.0
    assert dynamodb_write_units(1025) == 2.0
    assert dynamodb_write_units(1200) == 2.0


def test_dynamodb_write_units_ndarray():
    # 1,800 bytes -> 2; 5,896 -> 5.76 -> 6; 3,500 -> 3.42 -> 4
    assert_allclose(dynamodb_write_units(np.array([1800, 5896, 3500])), [2.0, 6.0, 4.0])


def test_inprocess_index_gb_per_task_scalar_and_ndarray():
    # 1.5 GiB index at half of the task's memory: 3 GB; at 0.75: 2 GB
    assert inprocess_index_gb_per_task(1.5, 0.5) == 3.0
    assert_allclose(inprocess_index_gb_per_task(np.array([1.5, 3.0]), 0.75), [2.0, 4.0])
