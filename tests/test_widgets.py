"""The notebook controls call costlib: moving a slider re-prices every option."""

import pytest

from costlib.bill.params import load_params
from costlib.lessons.widgets import worksheet_explorer
from test_estimate import EXPLICIT


@pytest.fixture
def explorer(tmp_path, no_plumbing):
    path = tmp_path / "explicit.yaml"
    path.write_text(EXPLICIT)
    return worksheet_explorer(load_params(path))


def totals(explorer):
    return {o.name: o.monthly_usd for o in explorer.result.options}


def test_explorer_has_a_batch_slider_per_self_hosted_option(explorer):
    assert set(explorer.controls) == {"workload.avg_rps", "options.fleet.batch_size"}


def test_moving_the_batch_slider_reprices_the_fleet(explorer):
    before = totals(explorer)
    explorer.controls["options.fleet.batch_size"].value = 4  # 300 / 400 -> 1 instance, not 2
    after = totals(explorer)
    assert after["fleet"] == pytest.approx(before["fleet"] / 2)
    assert after["api"] == before["api"]
    assert "fleet" in explorer.output.value


def test_the_traffic_slider_scales_the_whole_profile(explorer):
    # EXPLICIT: avg 1, p95 2; moving the average to 10 moves p95 to 20 with it (shape kept)
    explorer.controls["workload.avg_rps"].value = 10
    assert explorer.overrides() == {"workload.avg_rps": 10, "workload.p95_rps": 20.0}
    assert "cannot price this" not in explorer.output.value


def test_moving_one_slider_keeps_derived_batches_and_p95():
    # Scenario A's self-hosted batches come from the throughput model and its p95 from the
    # bursty profile; neither has a params value. Moving the traffic slider must price exactly
    # what --set workload.avg_rps would.
    from costlib.bill.estimate import estimate
    from costlib.bill.params import with_overrides
    from costlib.core.paths import PARAMS_DIR

    params = load_params(PARAMS_DIR / "scenario_a_bursty.yaml")
    explorer = worksheet_explorer(params)
    assert explorer.controls["options.g5_llama31_8b_autoscaled.batch_size"].value > 1
    explorer.controls["workload.avg_rps"].value = 2
    # the bursty profile keeps its shape: spikes scale from 60 to 60 x 2/3 = 40 rps
    expected = estimate(with_overrides(params, {"workload.avg_rps": 2,
                                                "workload.traffic.peak_rps": 60 * 2 / 3}))
    assert totals(explorer) == pytest.approx({o.name: o.monthly_usd for o in expected.options})


@pytest.mark.parametrize("stem", ["default", "rag_plumbing", "scenario_a_bursty", "scenario_b_steady",
                                  "scenario_c_cached_rag"])
def test_no_position_of_the_traffic_slider_shows_an_error(stem):
    from costlib.core.paths import PARAMS_DIR

    explorer = worksheet_explorer(load_params(PARAMS_DIR / f"{stem}.yaml"))
    slider = explorer.controls["workload.avg_rps"]
    seen = set()
    for exponent in (slider.min, slider.min + 0.5, slider.max - 0.5, slider.max):
        slider.value = 10 ** exponent
        assert "cannot price this" not in explorer.output.value, (stem, slider.value, explorer.output.value)
        seen.add(round(sum(o.monthly_usd for o in explorer.result.options), 6))
    assert len(seen) > 1  # the totals move with the traffic


def test_point_explorer_recomputes_the_operating_point():
    # lesson 03's control: each change calls serving_point for the setup's model and instance
    from costlib.formulas.throughput import serving_point
    from costlib.lessons.throughput import LessonSetup, latency_under_load
    from costlib.lessons.widgets import point_explorer

    setup = LessonSetup(model="llama-3.1-70b", instance="p4d.24xlarge", in_tokens=2000,
                        out_tokens=500, bounds={"ttft_p95_ms": 1000}, prompt_cv=0.5)
    ex = point_explorer(setup, latency_under_load)
    first = ex.point.concurrency
    assert "sequences in flight" in ex.output.value
    ex.controls["prompt_cv"].value = 1.5  # more varied prompts -> a smaller feasible batch
    expected = serving_point(setup.model, **setup.serving_kwargs(prompt_cv=1.5, kv_precision=None))
    assert ex.point.concurrency == expected.concurrency < first


def test_point_explorer_bounds_start_at_what_one_request_meets():
    # a 16,000-token prompt cannot get a first token in 200 ms: the bound sliders are linked to
    # the prompt controls, so the time-to-first-token bound rises with the prompt instead of the
    # panel showing "cannot serve this"
    from costlib.lessons.throughput import LessonSetup, latency_under_load
    from costlib.lessons.widgets import point_explorer

    ex = point_explorer(LessonSetup(model="llama-3.1-70b", instance="p4d.24xlarge"),
                        latency_under_load)
    ttft = ex.controls["ttft_p95_ms"]
    ttft.value = 200
    assert ttft.value == ttft.min >= ex.floors()["ttft_p95_ms"]
    ex.controls["in_tokens"].value = ex.controls["in_tokens"].max
    assert ttft.min >= ex.floors()["ttft_p95_ms"] > 1000 and ttft.value >= ttft.min
    assert ex.point is not None and "cannot serve this" not in ex.output.value
    assert ex.point.p95_ttft_ms <= ttft.value


def test_explorer_keeps_its_comparison(explorer):
    explorer.controls["options.fleet.batch_size"].value = 4
    c = explorer.comparison
    assert c.overrides == {"options.fleet.batch_size": 4}
    assert c.totals().set_index("option").loc["fleet", "change_pct"] == pytest.approx(-50.0)


# --------------------------------------------------------------------------------------------
# every control of every panel, across its whole range, for every params file

import json

import altair as alt
import ipywidgets as widgets

from costlib.core.paths import PARAMS_DIR

STEMS = sorted(p.stem for p in PARAMS_DIR.glob("*.yaml"))


@pytest.fixture(autouse=True)
def _cheap_renderer():
    # the panels hand their chart to the active Altair renderer; another test may have left the
    # SVG one on (vl-convert, ~60 ms a chart): these tests read chart_spec, not the drawing
    with alt.renderers.enable("default"):
        yield


def positions(ctl, between=3):
    """Every option of a choice; a slider's min, max and ``between`` steps inside."""
    if isinstance(ctl, (widgets.Dropdown, widgets.SelectionSlider)):
        return [o[1] if isinstance(o, tuple) else o for o in ctl.options]
    lo, hi = ctl.min, ctl.max
    xs = [lo + (hi - lo) * i / (between + 1) for i in range(between + 2)]
    if isinstance(ctl, widgets.FloatLogSlider):
        return [ctl.base ** x for x in xs]
    if isinstance(ctl, widgets.IntSlider):
        return [int(round(x)) for x in xs]
    return xs


def state(ex):
    """What a person sees change: the totals (or the operating point) and the chart."""
    if hasattr(ex, "point"):
        numbers = None if ex.point is None else (ex.point.concurrency, ex.point.p95_ttft_ms)
    elif hasattr(ex, "totals") and not hasattr(ex, "result"):
        numbers = tuple(ex.totals["after_usd"].round(6))
    else:
        numbers = tuple(round(o.monthly_usd, 6) for o in ex.result.options)
    return numbers, json.dumps(ex.chart_spec, sort_keys=True, default=str)


def sweep_every_control(ex, label, between=3):
    """Move each control over its range (then back); no position errs, each moves something."""
    initial = state(ex)
    assert ex.chart_spec is not None, label
    for key, ctl in ex.controls.items():
        start, moved = ctl.value, False
        for value in positions(ctl, between):
            ctl.value = value
            text = ex.output.value
            assert "cannot" not in text, (label, key, value, text)
            assert ex.chart_spec is not None and ex.chart_output.outputs, (label, key, value)
            moved |= state(ex) != initial
        assert moved, f"{label}: {key} changes neither the totals nor the chart"
        ctl.value = start


@pytest.mark.parametrize("stem", STEMS)
@pytest.mark.parametrize("panel", ["worksheet_explorer", "lever_explorer", "price_explorer"])
def test_every_position_of_every_bill_panel_prices(stem, panel):
    from costlib.lessons import widgets as w

    ex = getattr(w, panel)(load_params(PARAMS_DIR / f"{stem}.yaml"))
    assert ex.controls, (stem, panel)
    sweep_every_control(ex, f"{stem} {panel}")


def _point_setups():
    # lesson 03's panel is built from the params file's setup; files that share a setup (same
    # model, instance, prompt and bounds) give the same panel and are swept once
    from costlib.lessons.throughput import lesson_setup

    seen = {}
    for stem in STEMS:
        setup = lesson_setup(load_params(PARAMS_DIR / f"{stem}.yaml"))
        key = (setup.model, setup.instance, setup.precision, setup.kv_precision, setup.engine,
               setup.tensor_parallel, float(setup.in_tokens), float(setup.out_tokens),
               float(setup.prompt_cv), tuple(sorted((k, float(v)) for k, v in setup.bounds.items())))
        seen.setdefault(key, (stem, setup))
    return list(seen.values())


@pytest.mark.parametrize("stem, setup", _point_setups(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_position_of_the_point_explorer_serves(stem, setup):
    from costlib.lessons.throughput import latency_under_load
    from costlib.lessons.widgets import point_explorer

    ex = point_explorer(setup, latency_under_load)
    sweep_every_control(ex, f"{stem} point_explorer", between=1)


def test_panels_draw_their_chart():
    from costlib.lessons import widgets as w
    from costlib.lessons.throughput import latency_under_load, lesson_setup

    params = load_params(PARAMS_DIR / "default.yaml")
    ex = w.worksheet_explorer(params)
    first = ex.chart_spec
    assert first == ex.chart.to_dict() and "qa-chart" in ex.chart_output._dom_classes
    ex.controls["workload.avg_rps"].value = 10 * params.workload.avg_rps
    assert ex.chart_spec != first and ex.chart_spec["mark"]["type"] == "bar"
    price = w.price_explorer(params)
    assert {"before", "after"} <= {r["case"] for r in price.chart_spec["datasets"][
        next(iter(price.chart_spec["datasets"]))]}
    point = w.point_explorer(lesson_setup(params), latency_under_load)
    layers = [layer for panel in point.chart_spec["hconcat"] for layer in panel["layer"]]
    assert sum(layer["mark"]["type"] == "point" and layer["mark"].get("shape") == "diamond"
               for layer in layers) == 2  # the operating point, on both panels


def test_labels_leave_every_track_its_length():
    from costlib.lessons.widgets import _TRACK, lever_explorer

    ex = lever_explorer(load_params(PARAMS_DIR / "rag_plumbing.yaml"))
    widths = {c.style.description_width for c in ex.controls.values()}
    assert len(widths) == 1
    longest = max(len(c.description) for c in ex.controls.values())
    assert widths == {f"{longest + 2}ch"}
    assert all(c.layout.width == f"calc({longest + 2}ch + {_TRACK})" for c in ex.controls.values())
