"""The course's lessons: one module per notebook, and the charts and controls they share.

``notebooks/NN_name.ipynb`` calls only ``costlib.lessons.<lesson>``: :mod:`~costlib.lessons.worksheet`
(00), :mod:`~costlib.lessons.prices` (01), :mod:`~costlib.lessons.inference` (02),
:mod:`~costlib.lessons.throughput` (03), :mod:`~costlib.lessons.retrieval` (04),
:mod:`~costlib.lessons.network` (05), :mod:`~costlib.lessons.observability` (06),
:mod:`~costlib.lessons.failures` (07), :mod:`~costlib.lessons.levers` (08),
:mod:`~costlib.lessons.verdict` (09) and :mod:`~costlib.lessons.buying` (10); :mod:`~costlib.lessons.plumbing` keeps the plumbing tables and
lever functions later lessons share. Each holds the functions its notebook's cells call; the
notebooks hold the prose. Every chart uses the sizes and palette of :mod:`~costlib.lessons.charts`
(shared charts live there, a lesson's own in its module), every control is in
:mod:`~costlib.lessons.widgets`.
"""

from __future__ import annotations

from typing import NamedTuple

from costlib.bill.estimate import Estimate, estimate
from costlib.bill.params import Params, load_params
from costlib.core.paths import resolve_params_path


class Lesson(NamedTuple):
    """What every lesson starts from: the params file and its estimate (immutable)."""

    params: Params
    result: Estimate


def start(params_path, chart_renderer: str = "svg") -> Lesson:
    """Load the notebook's params file, price it, and choose how charts render.

    Parameters
    ----------
    params_path : str or Path
        The notebook's ``params_path`` parameter; relative paths are relative to the project.
    chart_renderer : str
        ``"svg"`` (reports, offline) or ``"interactive"`` (a live notebook).
    """
    from costlib.lessons.charts import use_renderer

    use_renderer(chart_renderer)
    params = load_params(resolve_params_path(params_path))
    return Lesson(params, estimate(params))
