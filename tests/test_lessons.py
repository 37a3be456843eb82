"""The lesson modules: one per notebook, one chart style, one category palette.

Every function a notebook calls is run here on two params files (the default and the RAG one),
so a lesson that breaks fails in pytest before it fails in a report.
"""

from __future__ import annotations

import ast
from pathlib import Path

import altair as alt
import pandas as pd
import pytest

from costlib.bill.lineitems import CATEGORIES
from costlib.core.paths import PARAMS_DIR
from costlib.lessons import charts, inference, plumbing, prices, start, throughput, worksheet

LESSONS = Path(charts.__file__).parent
LESSON_MODULES = ("worksheet", "prices", "inference", "throughput", "plumbing", "retrieval",
                  "network")
SHARED = ("charts", "widgets")


@pytest.fixture(scope="module", params=["default.yaml", "rag_plumbing.yaml"])
def lesson(request):
    return start(PARAMS_DIR / request.param, "svg")


def _spec_color(chart: alt.Chart) -> dict:
    return chart.to_dict()["encoding"]["color"]


def test_one_colour_per_category_in_order():
    assert tuple(charts.CATEGORY_COLORS) == tuple(CATEGORIES)
    assert len(set(charts.CATEGORY_COLORS.values())) == len(CATEGORIES)


def test_lessons_02_and_04_colour_categories_alike(lesson):
    params, result = lesson
    bill = _spec_color(inference.cost_by_option_chart(result))
    share = _spec_color(plumbing.plumbing_share_chart(result))
    sheet = _spec_color(worksheet.cost_by_option_chart(result))
    assert bill["scale"] == share["scale"] == sheet["scale"]
    assert bill["scale"]["domain"] == list(CATEGORIES)
    assert bill["scale"]["range"] == list(charts.CATEGORY_COLORS.values())


def test_lesson_modules_import_only_the_shared_modules():
    # a lesson module may use charts, widgets and the package's start(), never another lesson
    for name in LESSON_MODULES:
        tree = ast.parse((LESSONS / f"{name}.py").read_text())
        used = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "costlib.lessons":
                    used |= {a.name for a in node.names}
                elif node.module.startswith("costlib.lessons."):
                    used.add(node.module.rsplit(".", 1)[1])
        assert used <= {*SHARED, "Lesson", "start"}, (name, used)


def _is_chart(x) -> bool:
    return isinstance(x, (alt.Chart, alt.LayerChart, alt.HConcatChart))


def test_worksheet_lesson_runs(lesson):
    params, result = lesson
    assert "avg_rps" in worksheet.workload_table(params).index
    table = worksheet.worksheet_table(params, result)
    assert isinstance(table, (pd.DataFrame, str))
    assert len(worksheet.totals_table(result)) == len(result.options)
    curve = worksheet.batch_curve_frame(params)
    chart = worksheet.batch_curve_chart(curve)
    assert chart is None if curve.empty else _is_chart(chart)
    assert worksheet.worksheet_explorer(params).controls


def test_inference_lesson_runs(lesson):
    params, result = lesson
    assert list(inference.traffic_summary(result).index)[0] == "average"
    assert _is_chart(inference.traffic_chart(result))
    assert len(inference.line_items_table(result)) == len(result.to_frame())
    sweeps = inference.breakeven_sweeps(params, batches=(2, 8))
    table = inference.breakeven_table(result, sweeps)
    assert isinstance(table, (pd.DataFrame, str))
    chart = inference.breakeven_chart(result, sweeps)
    assert chart is None or _is_chart(chart)
    assert "prices in force on" in inference.prices_note(result)
    assert "source" in inference.used_prices_table(result).columns


def test_inference_sizing_table_shows_instances_concurrency_and_binding(lesson):
    params, result = lesson
    table = inference.sizing_table(result, params)
    hosted = [o for o in result.options if o.kind == "self_hosted"]
    assert list(table.index) == [o.name for o in hosted]
    assert {"instance", "instances_p95", "avg_instances", "peak_instances", "concurrency_per_instance",
            "binding"} <= set(table.columns)
    for o in hosted:
        row = table.loc[o.name]
        assert row["instances_p95"] == o.details["instances_p95"]
        assert row["concurrency_per_instance"] == round(o.details["batch_size"], 1)
        assert row["binding"] == o.details["binding"] and len(row["binding"]) > 10
    assert inference.sizing_note(result, params).startswith("Two options cost the same when they round up")


def test_sizing_note_names_options_that_round_up_to_the_same_fleet():
    # default.yaml: the TensorRT-LLM option (16 sequences per instance, worksheet inputs) and the
    # vLLM option (the throughput model's batch) both need 3 p5.48xlarge at the p95 rate
    params, result = start(PARAMS_DIR / "default.yaml", "svg")
    a, b = (o for o in result.options if o.kind == "self_hosted")
    assert a.details["instances_p95"] == b.details["instances_p95"]
    assert a.monthly_usd == pytest.approx(b.monthly_usd)
    note = inference.sizing_note(result, params)
    assert f"{a.name} and {b.name} tie at {a.monthly_usd:,.2f} USD a month" in note
    assert f"both round up to {a.details['instances_p95']:,.0f} p5.48xlarge" in note


def test_sizing_note_says_when_no_two_options_tie():
    params, result = start(PARAMS_DIR / "scenario_b_steady.yaml", "svg")
    assert "so none tie" in inference.sizing_note(result, params)


def test_prices_lesson_runs(lesson):
    params, result = lesson
    book = prices.book_for(params)
    assert set(prices.price_settings(params).index) >= {"region", "as_of"}
    used = prices.used_prices(result, params.prices.max_age_days)
    assert "price rows used" in prices.used_prices_note(result, used, params.prices.max_age_days)
    comparison = prices.region_comparison(book)
    assert "instances cost the same" in prices.region_note(comparison)
    example, pinned, _ = prices.pin_example(params)
    effect, note = prices.override_example(example, pinned)
    assert effect is None or note.startswith("overridden: ")
    _, _, summary = prices.refresh_preview(prices.EXAMPLE_OFFER)
    assert prices.refresh_note(summary).startswith("offer published")
    assert prices.refresh_error(prices.BAD_OFFER)
    assert not prices.lesson_bedrock_prices(params, book).empty


def test_throughput_lesson_runs(lesson):
    params, _ = lesson
    setup = throughput.lesson_setup(params)
    assert setup.model in throughput.setup_note(setup)
    memory = throughput.memory_breakdown(setup)
    assert "sequences of" in throughput.memory_note(setup, memory)
    assert _is_chart(throughput.memory_chart(memory))
    calib = throughput.calibration_summary()
    assert "median |error|" in throughput.calibration_note(calib)
    assert "workload.latency" in throughput.bounds_note(setup)
    curve = throughput.latency_under_load(setup)
    assert "Memory knee" in throughput.load_note(setup, curve)
    assert _is_chart(throughput.latency_load_chart(curve, bounds=setup.bounds))
    bounds = throughput.bounds_table(setup)
    assert "p95 time to first token only" in set(bounds["variant"])
    assert isinstance(throughput.ttft_only_note(setup, bounds), str)
    assert not throughput.calibration_by_band(calib).empty
    assert "factor of 2" in throughput.misses_note(calib)


def test_plumbing_lesson_runs(lesson):
    params, result = lesson
    assert isinstance(plumbing.retrieval_note(params), str)
    assert len(plumbing.plumbing_settings(params)) > 5
    table = plumbing.category_table(result)
    assert list(table.index) == sorted(CATEGORIES)
    assert plumbing.context_note(result).startswith("retrieved context")
    for category in plumbing.PLUMBING_CATEGORIES:
        assert _is_chart(plumbing.category_items_chart(result, category))
    assert "retry policy" in plumbing.retry_note(params)
    assert len(plumbing.failures_table(result)) == len(result.options)
    assert {"lever", "keys"} <= set(plumbing.lever_catalog().columns)


def test_plumbing_lever_tables_from_a_report():
    report = pd.DataFrame([
        {"lever": "a", "option": "x", "applies": True, "targeted": True, "before_usd": 100.0,
         "after_usd": 80.0, "change_pct": -20.0, "overrides": "k=v", "why": "r. n"},
        {"lever": "b", "option": "x", "applies": False, "targeted": False, "before_usd": 100.0,
         "after_usd": 100.0, "change_pct": 0.0, "overrides": "",
         "why": "r. Does not apply: no router"},
    ])
    assert list(plumbing.levers_shown(report)["lever"]) == ["a"]
    assert plumbing.levers_skipped(report) == "b: no router"


NOTEBOOK_LESSON = {"00": "worksheet", "01": "prices", "02": "inference", "03": "throughput",
                   "04": "retrieval", "05": "network", "06": "observability", "07": "failures",
                   "08": "levers", "09": "verdict", "10": "buying"}


def test_every_notebook_has_its_lesson_module_in_the_map():
    from costlib.core.paths import NOTEBOOKS_DIR

    numbers = sorted(p.name[:2] for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    assert numbers == sorted(NOTEBOOK_LESSON)
NOT_IN_A_CELL = ("altair", "ipywidgets", "numpy", "costlib.formulas", "costlib.bill",
                 "costlib.whatif", "costlib.tables", "costlib.lessons.charts",
                 "costlib.lessons.widgets")


def _code_cells(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"
            and "parameters" not in c.metadata.get("tags", [])]


@pytest.mark.parametrize("number", sorted(NOTEBOOK_LESSON))
def test_notebook_cells_call_only_their_lesson_module(number):
    from costlib.core.paths import NOTEBOOKS_DIR

    (path,) = NOTEBOOKS_DIR.glob(f"{number}_*.ipynb")
    imported, defined = set(), []
    for source in _code_cells(path):
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported |= {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Lambda)):
                defined.append(getattr(node, "name", "lambda"))
    lesson_module = f"costlib.lessons.{NOTEBOOK_LESSON[number]}"
    assert f"costlib.lessons.{NOTEBOOK_LESSON[number]}" in imported, (path.name, imported)
    bad = [m for m in imported if any(m == b or m.startswith(b + ".") for b in NOT_IN_A_CELL)]
    assert bad == [], f"{path.name} builds in a cell what {lesson_module} should: {bad}"
    assert defined == [], f"{path.name} defines {defined} in a cell"
