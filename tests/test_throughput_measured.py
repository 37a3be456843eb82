"""Importing measured throughput curves (vLLM --save-result JSON, GenAI-Perf / AIPerf exports)."""

from pathlib import Path

import pytest

from costlib.core.errors import CostlibError
from costlib.tables import measured

FIX = Path(__file__).parent / "fixtures" / "benchmarks"
VLLM = [FIX / f"vllm-c{c}.json" for c in (16, 4, 8)]


def test_parse_vllm_fields():
    p = measured.parse_vllm(FIX / "vllm-c8.json")
    assert p.concurrency == 8 and p.output_tokens_per_s == 520.0 and p.total_tokens_per_s == 4680.0
    assert (p.p95_ttft_ms, p.percentile_used) == (210.0, 95)
    # worksheet rate: 4680 tok/s / 8 sequences = 585
    assert p.tokens_per_second_per_instance == pytest.approx(585.0)


def test_parse_vllm_p99_fallback():
    p = measured.parse_vllm(FIX / "vllm-c16.json")
    assert (p.p95_ttft_ms, p.percentile_used) == (700.0, 99)


def test_load_curve_sorted():
    assert [p.concurrency for p in measured.load_curve(VLLM, "vllm")] == [4, 8, 16]


def test_best_point_slo():
    curve = measured.load_curve(VLLM, "vllm")
    assert measured.best_point(curve, {"ttft_p95_ms": 250.0}).concurrency == 8   # c16 p99 700 ms fails
    assert measured.best_point(curve, {"ttft_p95_ms": 1000.0}).concurrency == 16
    assert measured.best_point(curve).concurrency == 16             # highest throughput
    with pytest.raises(CostlibError, match="no measured concurrency meets"):
        measured.best_point(curve, {"ttft_p95_ms": 50.0})


def test_parse_genai_perf():
    p = measured.parse_genai_perf(FIX / "profile_export_genai_perf.json")
    assert p.concurrency == 8 and p.percentile_used == 95 and p.p95_ttft_ms == 240.0
    # total = 409.6 * (512 + 128) / 128 = 2048
    assert p.total_tokens_per_s == pytest.approx(2048.0)


def test_parse_aiperf_loadgen_concurrency_p99():
    p = measured.parse_genai_perf(FIX / "profile_export_aiperf.json")
    assert (p.concurrency, p.percentile_used, p.p95_ttft_ms) == (16, 99, 610.0)


def test_parse_errors(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"max_concurrency": null}')
    with pytest.raises(CostlibError, match="max_concurrency is null"):
        measured.parse_vllm(bad)
    bad.write_text("{not json")
    with pytest.raises(CostlibError, match="not valid JSON"):
        measured.parse_vllm(bad)
    with pytest.raises(CostlibError, match="format"):
        measured.load_curve(VLLM, "llmperf")


