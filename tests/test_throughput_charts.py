"""Charts and lesson tables of the throughput notebook (costlib.lessons.charts / costlib.lessons.throughput)."""

import math

import pandas as pd
import pytest

from costlib.lessons import charts
from costlib.lessons import throughput as explain

SETUP = explain.LessonSetup(model="llama-3.1-70b", instance="p4d.24xlarge", in_tokens=2000, out_tokens=500,
                            bounds={"ttft_p95_ms": 1000}, prompt_cv=0.5, usd_per_hour=21.957642)


def _titles(spec) -> list[str]:
    out = []
    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "title" and isinstance(v, str):
                    out.append(v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(spec)
    return out


def _assert_lowercase_titles(chart):
    titles = _titles(chart.to_dict())
    assert titles and all(t == t.lower() for t in titles), titles


def test_memory_breakdown_sums_to_gpu_memory():
    # p4d.24xlarge: 40 GiB per A100; the components partition the device memory
    df = explain.memory_breakdown(SETUP)
    assert df["gib_per_gpu"].sum() == pytest.approx(40.0)
    # vLLM leaves (1 - 0.9) * 40 = 4 GiB outside its budget
    assert df.set_index("component").loc["outside the engine budget", "gib_per_gpu"] == pytest.approx(4.0)
    assert bool(df["fits"].iloc[0])


def test_memory_chart_to_dict():
    c = charts.memory_chart(explain.memory_breakdown(SETUP))
    d = c.to_dict()
    assert d["mark"]["type"] == "bar" and d["encoding"]["x"]["title"] == "memory per gpu (gib)"
    _assert_lowercase_titles(c)


def test_decode_roofline_memory_bound_at_batch_1_and_chart():
    df = explain.decode_roofline(SETUP, batches=(1, 1024))
    t = df.pivot(index="batch", columns="term", values="ms")
    # batch 1: streaming 141 GB of weights dwarfs the 2*70e9 FLOPs -> memory bound
    assert t.loc[1, "memory (weights + kv cache)"] > 10 * t.loc[1, "compute"]
    # compute grows linearly with batch: 1024x the FLOPs (attention included, also linear in batch)
    assert t.loc[1024, "compute"] == pytest.approx(1024 * t.loc[1, "compute"], rel=1e-9)
    c = charts.roofline_chart(df)
    assert c.to_dict()["encoding"]["x"]["scale"]["type"] == "log"
    _assert_lowercase_titles(c)


def test_concurrency_falls_with_prompt_cv_and_chart():
    df = explain.concurrency_vs_prompt_cv(SETUP, prompt_cvs=(0.0, 0.5, 1.0))
    conc = df["concurrency"].tolist()
    assert conc[0] > conc[1] > conc[2] >= 1  # more varied prompts -> smaller feasible batch
    c = charts.prompt_cv_chart(df)
    assert c.to_dict()["encoding"]["y"]["title"] == "feasible concurrency per instance (sequences)"
    _assert_lowercase_titles(c)


def test_context_sweep_direction_and_chart():
    df = explain.context_length_sweep(SETUP, multipliers=(0.5, 1.0))
    assert df["max_concurrency_memory"].iloc[1] < df["max_concurrency_memory"].iloc[0]
    # per request, a longer prompt always costs more (the bill pays per request); per 1k tokens it
    # need not, since prompt tokens are prefilled in bulk far more cheaply than answers are made
    per_request = df["usd_per_1k_tokens"] * (df["in_tokens"] + SETUP.out_tokens) / 1000
    assert per_request.iloc[1] > per_request.iloc[0]
    c = charts.context_chart(df)
    d = c.to_dict()
    assert len(d["hconcat"]) == 2
    _assert_lowercase_titles(c)


def test_levers_table_fp8_cheaper_on_h100_and_chart():
    # On H100 fp8 (W8A8) doubles the dense tensor rate (1978.9 vs 989.4 TFLOPS) and halves the
    # weight bytes, so at the same p95 TTFT target it must cost less per token than bf16.
    h100 = explain.LessonSetup(model="llama-3.1-70b", instance="p5.48xlarge", in_tokens=2000, out_tokens=500,
                               bounds={"ttft_p95_ms": 1000}, prompt_cv=0.5, usd_per_hour=55.04)
    df = explain.levers_table(h100).set_index("variant")
    assert df.loc["fp8 + fp8 KV", "usd_per_1k_tokens"] < df.loc["bf16", "usd_per_1k_tokens"]
    c = charts.levers_chart(df.reset_index())
    assert c.to_dict()["encoding"]["x"]["title"] == "cost per 1k tokens (usd)"
    _assert_lowercase_titles(c)


def test_infeasible_point_becomes_a_row_not_an_error():
    bad = explain.LessonSetup(model="llama-3.1-70b", instance="g5.12xlarge", usd_per_hour=5.672)
    df = explain.concurrency_vs_prompt_cv(bad, prompt_cvs=(0.0,))
    assert df["limited_by"].iloc[0] == "infeasible" and math.isnan(df["concurrency"].iloc[0])
    assert "does not fit" in df["note"].iloc[0]


def test_calibration_chart_to_dict():
    df = explain.calibration_summary()
    assert df["factor_off"].is_monotonic_decreasing
    c = charts.calibration_chart(df)
    d = c.to_dict()
    assert len(d["layer"]) == 2
    assert len(d["datasets"]) >= 1 and sum(len(v) for v in d["datasets"].values()) < 5000
    _assert_lowercase_titles(c)


def test_lesson_setup_falls_back_to_example():
    class _W:
        in_tokens, out_tokens, latency_bounds, prompt_cv = 1000.0, 200.0, {"ttft_p95_ms": 1500.0}, 0.3

    class _P:
        workload = _W()
        options = {}

    class _Book:
        def usd(self, *a):
            return 21.957642

    s = explain.lesson_setup(_P(), price_book=_Book())
    assert (s.model, s.instance, s.origin) == ("llama-3.1-70b", "p4d.24xlarge", "documented example")
    assert s.usd_per_hour == 21.957642
    assert isinstance(explain.describe(s), pd.DataFrame)
