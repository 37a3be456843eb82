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
    from costlib.lessons.throughput import LessonSetup
    from costlib.lessons.widgets import point_explorer

    setup = LessonSetup(model="llama-3.1-70b", instance="p4d.24xlarge", in_tokens=2000,
                        out_tokens=500, bounds={"ttft_p95_ms": 1000}, prompt_cv=0.5)
    ex = point_explorer(setup)
    first = ex.point.concurrency
    assert "sequences in flight" in ex.output.value
    ex.controls["prompt_cv"].value = 1.5  # more varied prompts -> a smaller feasible batch
    expected = serving_point(setup.model, **setup.serving_kwargs(prompt_cv=1.5, kv_precision=None))
    assert ex.point.concurrency == expected.concurrency < first


def test_point_explorer_infeasible_setting_is_a_message():
    from costlib.lessons.throughput import LessonSetup
    from costlib.lessons.widgets import point_explorer

    ex = point_explorer(LessonSetup(model="llama-3.1-70b", instance="p4d.24xlarge"))
    ex.controls["ttft_p95_ms"].value = 200
    ex.controls["in_tokens"].value = 16000
    assert ex.point is None and "cannot serve this" in ex.output.value


def test_explorer_keeps_its_comparison(explorer):
    explorer.controls["options.fleet.batch_size"].value = 4
    c = explorer.comparison
    assert c.overrides == {"options.fleet.batch_size": 4}
    assert c.totals().set_index("option").loc["fleet", "change_pct"] == pytest.approx(-50.0)
