"""Charts and lesson tables of the throughput notebook (costlib.lessons.charts / costlib.lessons.throughput)."""

import math

import numpy as np
import pandas as pd
import pytest

from costlib.formulas.throughput import calibration, serving_point

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


def _rows(spec) -> int:
    return sum(len(v) for v in spec.get("datasets", {}).values())


def _marks(layer_chart_spec) -> list[str]:
    return [(l["mark"]["type"] if isinstance(l["mark"], dict) else l["mark"]) for l in layer_chart_spec["layer"]]


def _dataset_of(spec, layer) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


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
    assert (df["limited_by"] == "ttft_p95_ms").all() and df["binding"].str.startswith("p95 time").all()
    assert "sequences per instance" in explain.prompt_cv_note(df)
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
    assert "cost per request" in explain.context_note(df, SETUP.out_tokens)
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


# --------------------------------------------------------------------------------------------
# latency under load

BOTH = explain.LessonSetup(model="llama-3.1-70b", instance="p5.48xlarge", in_tokens=1500, out_tokens=300,
                           bounds={"ttft_p95_ms": 1000, "tpot_p95_ms": 50}, prompt_cv=0.5, usd_per_hour=55.04)


@pytest.fixture(scope="module")
def both_curve():
    return explain.latency_under_load(BOTH)


def test_latency_under_load_matches_serving_point_at_each_concurrency():
    curve = explain.latency_under_load(BOTH, clients=(1, 64, 1000))
    tp = int(curve["tensor_parallel"].iloc[0])
    for n in (1.0, 64.0, 1000.0):  # 1000 is past the knee: clients queue for a KV slot
        sp = serving_point(BOTH.model, **BOTH.serving_kwargs(concurrency=n, tensor_parallel=tp))
        at = curve[curve["clients"] == n].set_index("metric")
        assert at.loc["ttft_ms", "ms"] == pytest.approx(sp.p95_ttft_ms, rel=1e-6)
        assert at.loc["tpot_ms", "ms"] == pytest.approx(sp.p95_tpot_ms, rel=1e-6)
        assert at.loc["ttft_ms", "queued"] == pytest.approx(sp.queued, rel=1e-6, abs=1e-6)
        assert int(curve["max_concurrency_memory"].iloc[0]) == sp.max_concurrency_memory


def test_latency_under_load_knee_is_on_the_grid_and_ttft_jumps_past_it(both_curve):
    knee = int(both_curve["max_concurrency_memory"].iloc[0])
    ttft = both_curve[both_curve["metric"] == "ttft_ms"].set_index("clients")["ms"]
    tpot = both_curve[both_curve["metric"] == "tpot_ms"].set_index("clients")["ms"]
    assert float(knee) in ttft.index and ttft.index.max() >= 2 * knee
    # below the knee a first token comes fast; past it clients wait for a KV slot
    assert ttft.iloc[-1] > 10 * ttft.loc[float(knee)]
    # the time per output token stops growing once the batch is full
    assert tpot.iloc[-1] == pytest.approx(tpot[tpot.index > knee].iloc[0], rel=0.02)
    assert tpot.is_monotonic_increasing


def test_latency_load_chart_has_lines_knee_and_bounds_lowercase(both_curve):
    c = charts.latency_load_chart(both_curve, bounds=BOTH.bounds)
    d = c.to_dict()
    assert len(d["hconcat"]) == 2
    knee = int(both_curve["max_concurrency_memory"].iloc[0])
    for panel in d["hconcat"]:
        marks = _marks(panel)
        assert marks[0] == "line" and marks.count("rule") == 2 and "text" in marks  # bound + knee
        assert panel["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
        knee_rows = [_dataset_of(d, l) for l in panel["layer"]
                     if _marks({"layer": [l]})[0] == "rule" and "x" in l["encoding"]]
        assert knee_rows == [[{"clients": float(knee), "series": "kv cache full",
                               "label": f"kv cache full: {knee:,} sequences"}]]
    assert _rows(d) < 5000
    _assert_lowercase_titles(c)


def test_latency_load_chart_without_bounds_has_no_bound_rule(both_curve):
    d = charts.latency_load_chart(both_curve).to_dict()
    for panel in d["hconcat"]:
        assert _marks(panel).count("rule") == 1  # the knee only


def test_published_curve_predicts_as_the_calibration_table_does():
    curve, points = explain.published_curve("NIMDOC")
    table = calibration.calibration_table()
    nim = table[(table["source_id"] == "NIMDOC") & table["metric"].isin(["ttft_ms", "tpot_ms"])]
    assert set(points["id"]) == set(nim["id"]) and not nim["fitted"].any()
    assert (nim["profile"] == "trtllm").all()
    merged = points.merge(nim[["id", "predicted", "measured"]], on="id", suffixes=("", "_table"))
    assert np.allclose(merged["predicted"], merged["predicted_table"], rtol=1e-6)
    assert np.allclose(merged["ms"], merged["measured"])
    assert (curve["statistic"] == "mean").all()
    assert "predicted with the trtllm profile" in curve["configuration"].iloc[0]
    assert "memory knee" in explain.published_note(curve, points)


def test_published_chart_overlays_points_and_marks_the_knee():
    curve, points = explain.published_curve()
    c = charts.latency_load_chart(curve, points)
    d = c.to_dict()
    for panel in d["hconcat"]:
        assert _marks(panel) == ["line", "point", "rule", "text"]
        assert "mean" in panel["layer"][0]["encoding"]["y"]["title"]
    assert _rows(d) < 5000
    _assert_lowercase_titles(c)


def test_ttft_bound_alone_lets_concurrency_climb_towards_memory():
    table = explain.bounds_table(BOTH).set_index("variant")
    alone = table.loc["p95 time to first token only"]
    both = table.loc["all the stated bounds"]
    assert alone["concurrency"] > 2 * both["concurrency"]
    assert alone["concurrency"] > 0.8 * alone["max_concurrency_memory"]
    assert alone["p95_tpot_ms"] > 2 * BOTH.bounds["tpot_p95_ms"]
    assert both["limited_by"] == "tpot_p95_ms" and both["p95_tpot_ms"] <= 50.0 + 1e-6
    note = explain.ttft_only_note(BOTH, table.reset_index())
    assert f"{alone['concurrency']:,.0f} of the {alone['max_concurrency_memory']:,.0f} KV slots" in note


def test_bounds_table_adds_a_ttft_only_row_when_none_is_stated():
    tpot_only = explain.LessonSetup(model="llama-3.1-8b", instance="p4d.24xlarge", in_tokens=1000, out_tokens=200,
                                    bounds={"tpot_p95_ms": 40}, usd_per_hour=21.957642)
    table = explain.bounds_table(tpot_only)
    assert list(table["variant"]) == ["p95 time per output token only", "p95 time to first token only"]


def test_load_note_states_the_knee_and_the_operating_point(both_curve):
    note = explain.load_note(BOTH, both_curve)
    knee = int(both_curve["max_concurrency_memory"].iloc[0])
    assert f"holds {knee:,} sequences" in note and "Operating point at the bounds" in note
    assert "p95 time per output token crosses 50 ms" in note


def test_bounds_note_names_stated_and_missing_bounds():
    note = explain.bounds_note(BOTH)
    assert "p95 time to first token <= 1,000 ms" in note and "no bound on the end-to-end time" in note


def test_calibration_by_band_puts_fitted_beside_reported():
    calib = explain.calibration_summary()
    table = explain.calibration_by_band(calib)
    assert {"fitted_rows", "fitted_median_error", "reported_rows", "reported_worst_factor"} <= set(table.columns)
    assert ("ttft_ms", ">32") in table.index and ("ttft_ms", "all") in table.index
    bands = [b for m, b in table.index if m == "ttft_ms"]
    assert bands == sorted(bands, key=explain.BAND_ORDER.index)
    assert int(table.loc[("ttft_ms", "all"), "fitted_rows"]) == int(
        (calib["fitted"] & (calib["metric"] == "ttft_ms")).sum())


def test_calibration_misses_lists_every_row_off_by_2x_with_a_reason():
    calib = explain.calibration_summary()
    misses = explain.calibration_misses(calib)
    off = calib[(calib["ratio"] > 2) | (calib["ratio"] < 0.5)]
    listed = {i for ids in misses["ids"] for i in ids.split(", ")}
    assert listed == set(off["id"]) and misses["rows"].sum() == len(off)
    assert not (misses["why"] == "no reason recorded").any()
    assert "NIMDOC" in set(misses["source_id"])
    note = explain.misses_note(calib)
    assert note.startswith(f"{len(off)} of {len(calib)} rows are off by more than a factor of 2")
