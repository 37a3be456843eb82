"""The report runner: papermill per params file, atomic replacement, byte-stable output."""

import json

import nbformat
import pytest

from costlib.cli import report
from costlib.core.errors import CostlibError
from costlib.core.paths import PARAMS_DIR


def tiny_notebook(path, body="print(params_path)"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('params_path = "x"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def notebooks(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    return folder


def test_report_writes_executed_notebook_and_html(tmp_path, notebooks):
    nb = tiny_notebook(notebooks / "00_a.ipynb")
    folder = report.build_report(PARAMS_DIR / "default.yaml", tmp_path / "out", [nb])
    assert folder == tmp_path / "out" / "default"
    executed = json.loads((folder / "00_a.ipynb").read_text())
    outputs = executed["cells"][-1]["outputs"]
    assert "".join(outputs[0]["text"]) == "params/default.yaml\n"
    assert (folder / "00_a.html").read_text().startswith("<!DOCTYPE html>")


def test_report_is_byte_identical_when_rebuilt(tmp_path, notebooks):
    nb = tiny_notebook(notebooks / "00_a.ipynb")
    first = report.build_report(PARAMS_DIR / "default.yaml", tmp_path / "a", [nb])
    second = report.build_report(PARAMS_DIR / "default.yaml", tmp_path / "b", [nb])
    assert (first / "00_a.ipynb").read_bytes() == (second / "00_a.ipynb").read_bytes()


def test_failing_notebook_keeps_the_previous_report(tmp_path, notebooks):
    good = tiny_notebook(notebooks / "00_a.ipynb")
    out = tmp_path / "out"
    folder = report.build_report(PARAMS_DIR / "default.yaml", out, [good])
    before = (folder / "00_a.ipynb").read_bytes()
    bad = tiny_notebook(notebooks / "01_b.ipynb", body="raise ValueError('boom')")
    with pytest.raises(CostlibError, match=r"01_b.ipynb.*ValueError: boom"):
        report.build_report(PARAMS_DIR / "default.yaml", out, [good, bad])
    assert (folder / "00_a.ipynb").read_bytes() == before
    assert not (folder / "01_b.ipynb").exists()
    assert [p.name for p in out.iterdir()] == ["default"]  # no staging folders left behind


def test_invalid_params_runs_nothing(tmp_path, notebooks):
    nb = tiny_notebook(notebooks / "00_a.ipynb")
    bad = tmp_path / "bad.yaml"
    bad.write_text("workload: {in_tokens: 1}\noptions: {}\n")
    with pytest.raises(CostlibError, match="bad.yaml"):
        report.build_report(bad, tmp_path / "out", [nb])
    assert not (tmp_path / "out" / "bad").exists()


def test_scrub_removes_timestamps(tmp_path):
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "metadata": {
            "papermill": {"start_time": "t", "end_time": "t", "duration": 1.0, "status": "ok"},
            "execution": {"iopub.status.busy": "t"}}, "source": "", "outputs": []}],
        "metadata": {"papermill": {"start_time": "t", "end_time": "t", "duration": 2.0,
                                   "parameters": {"a": 1}}},
        "nbformat": 4, "nbformat_minor": 5}))
    report.scrub_notebook(path)
    nb = json.loads(path.read_text())
    assert nb["metadata"]["papermill"] == {"parameters": {"a": 1}}
    assert nb["cells"][0]["metadata"] == {"papermill": {}}


def test_widget_ids_are_numbered_so_rebuilds_are_identical(tmp_path, notebooks):
    nb = tiny_notebook(notebooks / "00_a.ipynb",
                       body="import ipywidgets as w\nw.VBox([w.IntSlider(3), w.HTML('x')])")
    first = report.build_report(PARAMS_DIR / "default.yaml", tmp_path / "a", [nb])
    second = report.build_report(PARAMS_DIR / "default.yaml", tmp_path / "b", [nb])
    text = (first / "00_a.ipynb").read_text()
    assert '"model_id": "00000000000000000000000000000000"' in text
    assert text == (second / "00_a.ipynb").read_text()
    assert (first / "00_a.html").read_bytes() == (second / "00_a.html").read_bytes()
