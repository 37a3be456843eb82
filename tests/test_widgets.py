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
    assert set(explorer.controls) == {"workload.avg_rps", "workload.p95_rps",
                                      "options.fleet.batch_size"}


def test_moving_the_batch_slider_reprices_the_fleet(explorer):
    before = totals(explorer)
    explorer.controls["options.fleet.batch_size"].value = 4  # 300 / 400 -> 1 instance, not 2
    after = totals(explorer)
    assert after["fleet"] == pytest.approx(before["fleet"] / 2)
    assert after["api"] == before["api"]
    assert "fleet" in explorer.output.value


def test_an_impossible_setting_shows_a_message_not_a_traceback(explorer):
    explorer.controls["workload.avg_rps"].value = 100  # above p95_rps = 2
    assert "cannot price this" in explorer.output.value


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
    expected = estimate(with_overrides(params, {"workload.avg_rps": 2}))
    assert totals(explorer) == {o.name: o.monthly_usd for o in expected.options}
