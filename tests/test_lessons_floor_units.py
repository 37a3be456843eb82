"""Lesson 02's floor and cost-per-unit figures, on every params file the reports run.

Oracles: the floor and usage parts are re-added from the line items (``Estimate.to_frame``:
each item's ``monthly_usd`` and ``floor_usd``); units per month are worked out by hand from the
params (average rate x 730 h x 3600 s / requests per unit); the sentences are checked against
the option the table ranks first.
"""

from __future__ import annotations

import math

import pytest

from costlib.core.paths import PARAMS_DIR
from costlib.lessons import inference, start

PARAMS_FILES = sorted(p.name for p in PARAMS_DIR.glob("*.yaml"))


@pytest.fixture(scope="module", params=PARAMS_FILES)
def lesson(request):
    return start(PARAMS_DIR / request.param, "svg")


def _line_item_sums(result):
    items = result.to_frame()
    return (items.groupby("option")["monthly_usd"].sum(),
            items.groupby("option")["floor_usd"].sum())


def test_there_are_params_files_with_and_without_a_work_unit():
    with_unit = [f for f in PARAMS_FILES if start(PARAMS_DIR / f, "svg").params.work_unit]
    assert with_unit and len(with_unit) < len(PARAMS_FILES)


def test_floor_plus_usage_is_the_monthly_bill_for_every_option(lesson):
    params, result = lesson
    monthly, floor = _line_item_sums(result)
    frame = inference.floor_frame(result).set_index("option")
    assert set(frame.index) == set(params.options)
    for name, row in frame.iterrows():
        assert row["floor_usd"] + row["usage_usd"] == pytest.approx(row["monthly_usd"], rel=1e-12)
        # both parts agree with the line items they come from
        assert row["floor_usd"] == pytest.approx(floor[name], rel=1e-12, abs=1e-9)
        assert row["usage_usd"] == pytest.approx(monthly[name] - floor[name], rel=1e-12, abs=1e-9)
        assert 0.0 <= row["floor_share"] <= 1.0


def test_floor_table_adds_up_to_the_cent(lesson):
    _, result = lesson
    table = inference.floor_table(result)
    assert list(table.columns) == ["monthly_usd", "floor_usd", "usage_usd", "floor_pct"]
    for _, row in table.iterrows():
        # three figures each rounded to the cent: the sum is off by at most 1.5 cents
        assert abs(row["floor_usd"] + row["usage_usd"] - row["monthly_usd"]) <= 0.015 + 1e-9
        assert row["floor_pct"] == pytest.approx(100 * row["floor_usd"] / row["monthly_usd"],
                                                 abs=1e-3 + 1e-4)


def test_floor_chart_stacks_floor_then_usage_per_option(lesson):
    _, result = lesson
    spec = inference.floor_chart(result).to_dict()
    assert spec["encoding"]["x"]["title"] == "monthly cost (usd)"
    assert spec["encoding"]["color"]["scale"]["domain"] == ["floor", "usage"]
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == 2 * len(result.options)
    for o in result.options:
        parts = {r["part"]: r["usd"] for r in rows if r["option"] == o.name}
        assert sum(parts.values()) == pytest.approx(o.monthly_usd, rel=1e-12)


def test_floor_note_names_the_option_with_the_largest_floor_share(lesson):
    _, result = lesson
    frame = inference.floor_frame(result)
    largest = frame.loc[frame["floor_share"].idxmax(), "option"]
    note = inference.floor_note(result)
    tied = set(frame.loc[frame["floor_share"] == frame["floor_share"].max(), "option"])
    named = sorted((note.find(n), n) for n in frame["option"] if n in note)
    assert named and named[0][1] in tied, (largest, note)
    # its share is given before any option with a smaller share is named
    pct = f"{100 * frame['floor_share'].max():.3g} %"
    others = [i for i, n in named if n not in tied]
    assert pct in note and (not others or note.find(pct) < min(others))


def test_floor_note_says_a_fixed_fleet_is_mostly_floor():
    # default.yaml: two fixed p5 fleets of the same size, paid whole without requests
    _, result = start(PARAMS_DIR / "default.yaml", "svg")
    note = inference.floor_note(result)
    assert note.startswith("p5_trtllm_llama31_70b and p5_vllm_llama31_70b: ")
    assert "instance-hours (fixed)" in note and "bedrock_llama31_70b has the smallest share" in note


def test_unit_table_times_units_per_month_is_the_usage_part(lesson):
    params, result = lesson
    table = inference.unit_table(result)
    if params.work_unit is None:
        assert table is None
        return
    unit = params.work_unit
    # by hand: every model call is one request; units = requests a month / requests a unit
    requests_per_unit = unit.turns * sum(c.count for c in unit.calls)
    units = params.workload.avg_rps * 730 * 3600 / requests_per_unit
    frame = inference.floor_frame(result).set_index("option")
    assert list(table.columns) == ["usd_per_request", "usd_per_unit", "usd_per_unit_all_in"]
    for name, row in table.iterrows():
        assert row["usd_per_unit"] * units == pytest.approx(frame.loc[name, "usage_usd"], rel=1e-12)
        assert row["usd_per_unit_all_in"] * units == pytest.approx(frame.loc[name, "monthly_usd"],
                                                                   rel=1e-12)
        # all in, a unit is its requests at the cost per request
        assert row["usd_per_unit_all_in"] == pytest.approx(
            requests_per_unit * row["usd_per_request"], rel=1e-12)
        assert row["usd_per_unit"] <= row["usd_per_unit_all_in"]


def test_scenario_c_prices_an_assistant_conversation_of_three_requests():
    # scenario C: 2 requests/s x 730 h x 3600 s = 5,256,000 requests; 3 a conversation
    params, result = start(PARAMS_DIR / "scenario_c_cached_rag.yaml", "svg")
    assert params.workload.avg_rps == 2
    note = inference.unit_note(result)
    assert note.startswith("One assistant conversation is 3 model requests (3 turns of 1 call)")
    assert "1,752,000" in note
    cheapest = min(result.options, key=lambda o: o.usd_per_unit)
    assert f"{cheapest.usd_per_unit:.4g} USD ({cheapest.name})" in note
    assert math.isclose(inference.unit_table(result).loc[cheapest.name, "usd_per_unit"] * 1_752_000,
                        cheapest.usage_usd, rel_tol=1e-12)


def test_a_file_without_a_work_unit_is_told_how_to_add_one(lesson):
    params, result = lesson
    note = inference.unit_note(result)
    if params.work_unit is None:
        assert note == inference.NO_WORK_UNIT
        assert "`work_unit:`" in note and "costlib/bill/work_unit.py" in note
    else:
        assert "work_unit:" not in note and params.work_unit.name in note


def test_floor_share_of_a_zero_bill_is_zero():
    assert float(inference.floor_share(0.0, 0.0)) == 0.0
    assert list(inference.floor_share([1.0, 3.0], [4.0, 4.0])) == [0.25, 0.75]
