"""Widget model ids in executed reports are numbered the same way on every run."""

from __future__ import annotations

import json

from costlib.cli.report import _stable_widget_ids


def _nb(order):
    """A notebook whose saved widget state lists two undisplayed sliders in ``order``."""
    a, b = "a" * 32, "b" * 32
    sliders = {a: {"model_name": "FloatLogSliderModel", "state": {"description": "objects"}},
               b: {"model_name": "FloatLogSliderModel", "state": {"description": "payloads"}}}
    state = {k: sliders[k] for k in order(a, b)}
    return {"cells": [], "metadata": {"widgets": {
        "application/vnd.jupyter.widget-state+json": {"state": state}}}}


def test_undisplayed_models_are_numbered_by_content_not_by_report_order():
    first = _nb(lambda a, b: (a, b))
    second = _nb(lambda a, b: (b, a))
    one = json.loads(_stable_widget_ids(first, json.dumps(first)))
    two = json.loads(_stable_widget_ids(second, json.dumps(second)))
    by_id = [{k: v["state"]["description"] for k, v in nb["metadata"]["widgets"][
        "application/vnd.jupyter.widget-state+json"]["state"].items()} for nb in (one, two)]
    assert by_id[0] == by_id[1]
