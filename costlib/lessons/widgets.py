"""Every control of the notebooks' "try it" sections, built here with ``observe`` handlers.

Widgets are a thin layer over ``params -> costlib -> tables``: every handler re-prices the params
with :func:`costlib.whatif.compare.compare` (the overrides a person set, against the estimate the
controls started from), or, for the throughput lesson, calls
:func:`costlib.formulas.throughput.serving_point`. Nothing in a batch report depends on a person
touching a control; handlers fire in plain pytest too
(``explorer.controls["workload.avg_rps"].value = 10`` runs the recomputation).

Each explorer has ``.box`` (the widget to display), ``.controls`` (params key -> control),
``.output`` (an HTML widget with the numbers, with a stable CSS class for browser tests) and a
chart redrawn on every change: ``.chart`` (the Altair chart last drawn), ``.chart_spec`` (its
Vega-Lite dict) and ``.chart_output`` (an :class:`ipywidgets.Output`, CSS class ``qa-chart``,
holding the chart as the active Altair renderer displays it: inline SVG in reports, which the
saved widget state carries to a static page; Vega-Lite in a live notebook).

Every control offers only positions that price: ranges are derived from the params (the traffic
slider scales the whole profile, :func:`traffic_scale_overrides`) or linked to the other controls
(the point explorer's latency bounds start at what one request at a time gives), and a control
that would change nothing for this params file is not offered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import altair as alt
import ipywidgets as widgets
import pandas as pd

from costlib.bill.estimate import Estimate, estimate
from costlib.bill.params import Params
from costlib.core.errors import CostlibError
from costlib.lessons import charts
from costlib.tables.history import price_changes
from costlib.tables.price_schema import SERIES
from costlib.whatif.compare import Comparison, compare

_TRACK = "22rem"
"""Length of every slider's track and readout, whatever its label [CSS]."""


def _fit_labels(controls) -> None:
    """One label column per panel, as wide as its longest label, so no label squeezes a track.

    ``description_width: initial`` lets each label take what it needs out of the control's
    fixed width, so a long label ("vector store calls crossing an az") leaves a stub of a track.
    Here every label gets the same column (in ``ch``, the width of a digit, with a margin for
    proportional fonts) and every control that column plus :data:`_TRACK`.
    """
    ctls = list(controls)
    if not ctls:
        return
    label = f"{max(len(c.description) for c in ctls) + 2}ch"
    for c in ctls:
        c.style.description_width = label
        c.layout.width = f"calc({label} + {_TRACK})"


def _chart_output() -> widgets.Output:
    out = widgets.Output()
    out.add_class("qa-chart")
    return out


def draw(output: widgets.Output, chart, validate: bool = False) -> dict:
    """Show ``chart`` in ``output`` (replacing what it held) and return its Vega-Lite dict.

    The chart is turned into a dict once (``validate=False`` on redraws: every panel's chart comes
    from one builder of :mod:`costlib.lessons.charts`, checked against the schema when the panel
    is built and in the chart tests), and that dict goes straight to the active Altair renderer,
    which would otherwise convert (and validate) the chart a second time. The renderer's output
    is set as the widget's ``outputs``, so it is the same in a kernel, in plain Python and in
    the saved widget state of an executed notebook: SVG under ``use_renderer("svg")``, which a
    static page shows, and the live renderer's output in JupyterLab.
    """
    spec = chart.to_dict(validate=validate)
    bundle = alt.renderers.get()(spec)
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
    output.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata or {}},)
    return spec


def _cannot(message: str) -> str:
    return f"<b>cannot price this:</b> {message}"


def _bill_chart(result: Estimate):
    """The panels' default chart: monthly cost of each option by category."""
    return charts.monthly_cost_by_option(result.to_frame())


def totals_html(result: Estimate) -> str:
    """The monthly total per option as a small HTML table (cheapest first)."""
    rows = sorted(result.options, key=lambda o: o.monthly_usd)
    body = "".join(
        f"<tr><td>{o.name}</td><td>{o.kind}</td>"
        f"<td style='text-align:right'>{o.monthly_usd:,.0f}</td>"
        f"<td style='text-align:right'>{o.usd_per_1k_tokens:.5f}</td></tr>"
        for o in rows
    )
    return (
        "<table><thead><tr><th>option</th><th>kind</th><th>usd per month</th>"
        f"<th>usd per 1k tokens</th></tr></thead><tbody>{body}</tbody></table>"
    )


def before_after_html(totals: pd.DataFrame) -> str:
    """Before/after totals (:meth:`Comparison.totals`) as a small HTML table."""
    body = "".join(
        f"<tr><td>{r.option}</td><td style='text-align:right'>{r.before_usd:,.0f}</td>"
        f"<td style='text-align:right'>{r.after_usd:,.0f}</td>"
        f"<td style='text-align:right'>{r.change_pct:+.1f}</td></tr>"
        for r in totals.itertuples(index=False)
    )
    return ("<table><thead><tr><th>option</th><th>usd per month, list</th>"
            "<th>usd per month, yours</th>"
            f"<th>change (%)</th></tr></thead><tbody>{body}</tbody></table>")


# --------------------------------------------------------------------------------------------
# controls bound to params keys


@dataclass
class Explorer:
    """A box of controls bound to params keys, and the totals they produce.

    Attributes
    ----------
    params : Params
        The "before".
    controls : dict
        Params key (``"workload.avg_rps"``) -> control.
    output : ipywidgets.HTML
        The totals table (CSS class ``qa-totals``).
    box : ipywidgets.VBox
        Controls, chart and totals, to display.
    result : Estimate
        The estimate with the controls as they are now.
    initial : dict
        The controls' starting values.
    base : Estimate
        The estimate the controls started from.
    comparison : Comparison or None
        ``base`` against ``result``, after the last change.
    chart, chart_spec, chart_output
        The chart of ``result`` last drawn (``chart_builder(result)``), its Vega-Lite dict, and
        the Output widget showing it (CSS class ``qa-chart``); ``None`` after an error.
    """

    params: Params
    controls: dict
    output: widgets.HTML
    box: widgets.VBox
    result: Estimate
    initial: dict | None = None
    base: Estimate | None = None
    comparison: Comparison | None = None
    links: dict = field(default_factory=dict)
    """Params key -> ``f(value) -> {key: value}``: what else moving that control sets."""
    chart_builder: object = _bill_chart
    chart_output: widgets.Output | None = None
    chart: object = None
    chart_spec: dict | None = None

    @classmethod
    def build(cls, params: Params, controls: dict, result: Estimate | None = None,
              links: dict | None = None, chart=None) -> Explorer:
        """Wire controls to a chart and a totals table: each change re-prices ``params``.

        Only the controls a person has moved are applied as overrides, so a control whose
        starting value is a display value (a derived batch, a computed p95) never overwrites
        the params it was read from. ``chart`` builds the panel's chart from an estimate
        (default: :func:`costlib.lessons.charts.monthly_cost_by_option` of its frame).
        """
        output = widgets.HTML()
        output.add_class("qa-totals")
        result = estimate(params) if result is None else result
        explorer = cls(params, controls, output, widgets.VBox(), result,
                       {key: ctl.value for key, ctl in controls.items()}, base=result,
                       links=dict(links or {}), chart_builder=chart or _bill_chart,
                       chart_output=_chart_output())
        output.value = totals_html(result)
        explorer.redraw(validate=True)
        for ctl in controls.values():
            ctl.observe(explorer.recompute, names="value")
        _fit_labels(controls.values())
        explorer.box = widgets.VBox([*controls.values(), explorer.chart_output, output])
        return explorer

    def redraw(self, validate: bool = False) -> None:
        """Rebuild the chart of ``result`` and show it."""
        self.chart = self.chart_builder(self.result)
        self.chart_spec = draw(self.chart_output, self.chart, validate)

    def _ipython_display_(self):  # pragma: no cover - display hook for notebooks
        from IPython.display import display

        display(self.box)

    def overrides(self) -> dict:
        """The ``{"dotted.key": value}`` of the controls a person moved."""
        initial = self.initial or {}
        moved = {key: ctl.value for key, ctl in self.controls.items()
                 if key not in initial or ctl.value != initial[key]}
        out = {}
        for key, value in moved.items():
            out.update(self.links[key](value) if key in self.links else {})
        out.update(moved)
        return out

    def recompute(self, *_):
        try:
            self.comparison = compare(self.params, self.overrides(), before=self.base)
            self.result = self.comparison.after
        except CostlibError as exc:
            self.output.value = _cannot(exc.message)
            self.chart = self.chart_spec = None
            self.chart_output.outputs = ()
            return
        self.output.value = totals_html(self.result)
        self.redraw()


def traffic_scale_overrides(params: Params, avg_rps: float) -> dict:
    """Overrides that scale a workload's whole traffic profile to ``avg_rps``, its shape kept.

    Every rate the params file states (``workload.p95_rps``, the shape's ``peak_rps`` and
    ``base_rps``) is multiplied by ``avg_rps / workload.avg_rps``, so any average is valid for the
    shape (a profile scaled by k has every statistic scaled by k); moving the average alone
    against a fixed p95 or peak is what made most positions of the old slider infeasible.

    >>> from costlib.core.paths import PARAMS_DIR
    >>> from costlib.bill.params import load_params
    >>> traffic_scale_overrides(load_params(PARAMS_DIR / "default.yaml"), 20.0)
    {'workload.avg_rps': 20.0, 'workload.p95_rps': 50.0}
    """
    w = params.workload
    k = float(avg_rps) / w.avg_rps
    out = {"workload.avg_rps": float(avg_rps)}
    if w.p95_rps is not None:
        out["workload.p95_rps"] = w.p95_rps * k
    if w.traffic is not None:
        for knob in ("peak_rps", "base_rps"):
            value = getattr(w.traffic, knob)
            if value is not None:
                out[f"workload.traffic.{knob}"] = value * k
    return out


def worksheet_explorer(params: Params) -> Explorer:
    """A traffic slider and, per self-hosted option, the batch it holds.

    The traffic slider sets the average request rate from a tenth to ten times the params file's
    and scales the whole profile with it (:func:`traffic_scale_overrides`), so every position is
    a valid workload. Batch sliders start at the batch the estimate used (the throughput model's
    when it derived one) and range from 1 to twice that (at least 32); a batch beyond what memory
    holds queues and costs accordingly. A control overrides its params value only once moved.
    """
    w = params.workload
    result = estimate(params)
    controls: dict[str, widgets.Widget] = {
        "workload.avg_rps": widgets.FloatLogSlider(
            value=w.avg_rps, base=10, min=math.log10(w.avg_rps) - 1, max=math.log10(w.avg_rps) + 1,
            step=0.05, description="traffic: avg rps (shape kept)", continuous_update=False,
        ),
    }
    for o in result.options:
        if o.kind == "self_hosted":
            b = float(o.details["batch_size"])
            controls[f"options.{o.name}.batch_size"] = widgets.FloatSlider(
                value=b, min=1, max=max(32.0, 2.0 * b), step=1, description=f"{o.name} batch",
                continuous_update=False, readout_format=".0f",
            )
    links = {"workload.avg_rps": lambda v: traffic_scale_overrides(params, v)}
    return Explorer.build(params, controls, result, links=links)


def _probe_positions(ctl) -> list:
    """The extreme positions of a control (every option of a choice) other than its value."""
    if isinstance(ctl, (widgets.Dropdown, widgets.SelectionSlider)):
        values = [o[1] if isinstance(o, tuple) else o for o in ctl.options]
    elif isinstance(ctl, widgets.FloatLogSlider):
        values = [ctl.base ** ctl.min, ctl.base ** ctl.max]
    else:
        values = [ctl.min, ctl.max]
    return [v for v in values if v != ctl.value]


def _moves_the_bill(params: Params, base: Estimate, key: str, ctl) -> bool:
    """Whether any extreme position of ``ctl`` (bound to ``key``) changes an option's total."""
    before = [o.monthly_usd for o in base.options]
    for value in _probe_positions(ctl):
        after = compare(params, {key: value}, before=base).after
        if [o.monthly_usd for o in after.options] != before:
            return True
    return False


def lever_explorer(params: Params) -> Explorer:
    """Controls for the plumbing levers of lesson 04, re-pricing every option on each change.

    Each control is bound to a params key (``network.aws_path``, the cross-AZ fractions,
    ``observability.payload_sample_rate``, ``security.objects_per_data_key``,
    ``failures.retry_policy`` and, with retrieval on, ``retrieval.context_kept_fraction``).
    A control is offered only when one of its extreme positions changes this file's bill: a
    lever on a part of the bill that is off changes nothing (payload sampling with payloads not
    logged, objects per KMS call with nothing encrypted per request, the retry policy when
    nothing is throttled, vector-store traffic without a vector store in the VPC), and a
    control that changes nothing reads as a bug. Every range is valid for every file (fractions
    and shares in [0, 1], at least one object per data key), so no position shows an error.
    """
    n, o, s, f = params.network, params.observability, params.security, params.failures
    candidates: dict = {
        "network.aws_path": widgets.Dropdown(options=["nat", "privatelink"], value=n.aws_path,
                                             description="aws apis via"),
        "network.model_cross_az_fraction": widgets.FloatSlider(
            value=n.model_cross_az_fraction, min=0, max=1, step=0.05,
            description="model calls crossing an az", continuous_update=False),
        "network.vector_store_cross_az_fraction": widgets.FloatSlider(
            value=n.vector_store_cross_az_fraction, min=0, max=1, step=0.05,
            description="vector store calls crossing an az", continuous_update=False),
        "observability.payload_sample_rate": widgets.FloatLogSlider(
            value=max(o.payload_sample_rate, 1e-3), base=10, min=-3, max=0, step=0.1,
            description="payloads logged (share)", continuous_update=False),
        "security.objects_per_data_key": widgets.FloatLogSlider(
            value=s.objects_per_data_key, base=10, min=0, max=3, step=0.25,
            description="objects per kms call", continuous_update=False),
        "failures.retry_policy": widgets.Dropdown(options=["naive", "budgeted", "none"],
                                                  value=f.retry_policy, description="retries"),
    }
    if params.retrieval.enabled:
        candidates["retrieval.context_kept_fraction"] = widgets.FloatSlider(
            value=params.retrieval.context_kept_fraction, min=0.05, max=1, step=0.05,
            description="retrieved context kept", continuous_update=False)
    result = estimate(params)
    controls = {key: ctl for key, ctl in candidates.items()
                if _moves_the_bill(params, result, key, ctl)}
    for key, ctl in candidates.items():
        if key not in controls:
            # closed now, not whenever the garbage collector runs: a dropped control left open
            # stays in the notebook's saved widget state, in an order that varies between runs
            ctl.close()
    return Explorer.build(params, controls, result)


# --------------------------------------------------------------------------------------------
# prices: discounts and the day prices are in force (lesson 01)


@dataclass
class PriceExplorer:
    """Discount sliders and a date choice bound to one params file, and the totals they give.

    ``controls`` maps a service (``"bedrock"``) to its discount slider [% off], and ``"as_of"``
    to the date choice; ``totals`` is :meth:`Comparison.totals` of the last change, drawn as
    :func:`costlib.lessons.charts.before_after_chart` (``chart``, ``chart_spec``,
    ``chart_output``: list prices against the controls' prices, per option).
    """

    params: Params
    controls: dict
    output: widgets.HTML
    box: widgets.VBox
    totals: pd.DataFrame
    base: Estimate | None = None
    comparison: Comparison | None = None
    chart_output: widgets.Output | None = None
    chart: object = None
    chart_spec: dict | None = None

    def _ipython_display_(self):  # pragma: no cover - display hook for notebooks
        from IPython.display import display

        display(self.box)

    def overrides(self) -> dict:
        """The ``prices.discounts_pct`` (and ``prices.as_of``) the controls set."""
        discounts = {svc: float(ctl.value) for svc, ctl in self.controls.items() if svc != "as_of"}
        overrides = {"prices.discounts_pct": {k: v for k, v in discounts.items() if v > 0}}
        if "as_of" in self.controls:
            overrides["prices.as_of"] = self.controls["as_of"].value
        return overrides

    def redraw(self, validate: bool = False) -> None:
        """Rebuild the before/after chart of ``totals`` and show it."""
        self.chart = charts.before_after_chart(self.totals)
        self.chart_spec = draw(self.chart_output, self.chart, validate)

    def recompute(self, *_):
        try:
            self.comparison = compare(self.params, self.overrides(), before=self.base)
        except CostlibError as exc:
            self.output.value = _cannot(exc.message)
            self.chart = self.chart_spec = None
            self.chart_output.outputs = ()
            return
        self.base = self.comparison.before
        self.totals = self.comparison.totals()
        self.output.value = before_after_html(self.totals)
        self.redraw()


def price_explorer(params: Params, services=("bedrock", "ec2", "sagemaker")) -> PriceExplorer:
    """A discount slider per service the estimate uses (of ``services``) and a price-date choice.

    Discounts run from 0 to 90 % off (any is valid). The date choice offers the params file's
    date and the days a used price changed (and the day before each, which shows the old price);
    it is left out when the used prices never changed (one date only: a control that cannot
    move). Every change re-prices all options and redraws the before/after chart.
    """
    result = estimate(params)
    used = pd.DataFrame(result.prices.get("used", []))
    used_services = sorted(set(used["service"])) if not used.empty else []
    chosen = [s for s in services if s in used_services] or used_services[:3]
    controls: dict = {
        svc: widgets.FloatSlider(value=0.0, min=0.0, max=90.0, step=5.0,
                                 description=f"{svc} % off", continuous_update=False)
        for svc in chosen
    }
    on = (date.fromisoformat(result.prices["in_force_on"])
          if result.prices.get("in_force_on") else None)
    if on is not None and not used.empty:
        keys = set(map(tuple, used[list(SERIES)].to_numpy()))
        ch = price_changes()
        ch = ch[ch[list(SERIES)].apply(tuple, axis=1).isin(keys)]
        days = sorted({d for d in ch["changed_on"] if d <= on})
        options = sorted({on, *days, *[d - timedelta(days=1) for d in days]})
        if len(options) > 1:
            controls["as_of"] = widgets.SelectionSlider(
                options=[(d.isoformat(), d) for d in options], value=on, description="prices on",
                continuous_update=False)
    output = widgets.HTML()
    output.add_class("qa-totals")
    start = Comparison(result, result)
    explorer = PriceExplorer(params, controls, output, widgets.VBox(), start.totals(), result,
                             start, chart_output=_chart_output())
    output.value = before_after_html(explorer.totals)
    explorer.redraw(validate=True)
    for ctl in controls.values():
        ctl.observe(explorer.recompute, names="value")
    _fit_labels(controls.values())
    explorer.box = widgets.VBox([*controls.values(), explorer.chart_output, output])
    return explorer


# --------------------------------------------------------------------------------------------
# one operating point of the throughput model (lesson 03)

IDLE_RATE_RPS = 1e-6
"""The open-loop rate at which the point explorer reads a setting's latency floors [requests/s]:
what one request at a time gives, the smallest p95 bounds the setting can meet."""

PRECISIONS = ("bf16", "fp8", "int8", "int4")


def _round_up(x: float, step: float) -> float:
    return math.ceil(x / step - 1e-9) * step


@dataclass
class PointExplorer:
    """Controls over one serving setup and the operating point the throughput model gives.

    ``setup`` is any object with ``model`` and ``serving_kwargs(**override)`` (a
    :class:`costlib.lessons.throughput.LessonSetup`); ``point`` is the last
    :class:`~costlib.formulas.throughput.ServingPoint`, ``None`` when infeasible. The chart
    (``chart``, ``chart_spec``, ``chart_output``) is the setting's closed-loop latency against
    load (:func:`costlib.lessons.charts.latency_load_chart`) with the bounds as dotted lines and
    the operating point marked on both panels.

    The two bound sliders are linked to the other controls: their lower end is the p95 that one
    request at a time gives for the prompt length, spread and precision chosen (read at
    :data:`IDLE_RATE_RPS`, rounded up to the slider's step), so no bound a slider offers is
    unmeetable. Moving a prompt control can therefore raise a bound with it.
    """

    setup: object
    controls: dict
    output: widgets.HTML
    box: widgets.VBox
    point: object = None
    message: str = field(default="")
    chart_output: widgets.Output | None = None
    chart: object = None
    chart_spec: dict | None = None
    ceilings: dict = field(default_factory=dict)
    """Bound control -> the upper end it was built with [ms]; raised when the floor nears it."""
    load_curve: object = None
    """``f(setup, tensor_parallel=..) -> frame``: the closed-loop curve the chart draws."""
    _curves: dict = field(default_factory=dict, repr=False)
    _linking: bool = field(default=False, repr=False)

    def _ipython_display_(self):  # pragma: no cover - display hook for notebooks
        from IPython.display import display

        display(self.box)

    def _setting(self) -> dict:
        c = self.controls
        return {"prompt_cv": float(c["prompt_cv"].value), "in_tokens": float(c["in_tokens"].value),
                "precision": c["precision"].value}

    def floors(self, **setting) -> dict:
        """The p95 latencies of one request at a time [ms], for the setting (default: the controls')."""
        from costlib.formulas.throughput import serving_point

        kw = {**self._setting(), **setting}
        sp = serving_point(self.setup.model, **self.setup.serving_kwargs(
            **kw, rate=IDLE_RATE_RPS, kv_precision=None))
        return {"ttft_p95_ms": sp.p95_ttft_ms, "tpot_p95_ms": sp.p95_tpot_ms}

    def link(self) -> None:
        """Move each bound slider's range to start at what the setting can meet."""
        floors = self.floors()
        self._linking = True
        try:
            for key, floor in floors.items():
                ctl = self.controls[key]
                lo = int(_round_up(floor, ctl.step))
                hi = int(max(self.ceilings[key], _round_up(4 * lo, ctl.step)))
                if lo > ctl.max:
                    ctl.max, ctl.min = hi, lo
                else:
                    ctl.min, ctl.max = lo, hi
        finally:
            self._linking = False

    def _curve(self, tensor_parallel: int):
        from dataclasses import replace

        setting = self._setting()
        key = (*setting.values(), tensor_parallel)
        if key not in self._curves:
            self._curves[key] = self.load_curve(
                replace(self.setup, **setting, kv_precision=None), tensor_parallel=tensor_parallel)
        return self._curves[key]

    def recompute(self, change=None):
        from costlib.formulas.throughput import serving_point

        if self._linking:
            return
        c = self.controls
        if change is None or change.get("owner") not in (c["ttft_p95_ms"], c["tpot_p95_ms"]):
            self.link()
        bounds = {"ttft_p95_ms": float(c["ttft_p95_ms"].value),
                  "tpot_p95_ms": float(c["tpot_p95_ms"].value)}
        try:
            self.point = serving_point(self.setup.model, **self.setup.serving_kwargs(
                **self._setting(), bounds=bounds, kv_precision=None))
        except CostlibError as exc:  # an infeasible setting
            self.point, self.message = None, exc.message
            self.output.value = f"<b>cannot serve this:</b> {exc.message}"
            self.chart = self.chart_spec = None
            self.chart_output.outputs = ()
            return
        sp = self.point
        self.message = ""
        self.output.value = (
            f"{sp.concurrency:,.0f} sequences in flight, limited by {sp.binding}; "
            f"TP {sp.tensor_parallel} x {sp.replicas}<br>"
            f"total tokens/s {sp.total_tokens_per_s:,.0f}; p95 time to first token {sp.p95_ttft_ms:,.0f} ms; "
            f"p95 time per output token {sp.p95_tpot_ms:.1f} ms")
        self.redraw(bounds, validate=change is None)

    def redraw(self, bounds: dict, validate: bool = False) -> None:
        """Rebuild the latency-against-load chart with the bounds and the point, and show it."""
        sp = self.point
        self.chart = charts.latency_load_chart(
            self._curve(sp.tensor_parallel), bounds=bounds,
            point={"clients": sp.concurrency, "ttft_ms": sp.p95_ttft_ms, "tpot_ms": sp.p95_tpot_ms})
        self.chart_spec = draw(self.chart_output, self.chart, validate)


def point_explorer(setup, load_curve) -> PointExplorer:
    """Sliders for prompt spread, prompt length and the two p95 targets, and a precision choice.

    ``setup`` is a :class:`costlib.lessons.throughput.LessonSetup` and ``load_curve`` that
    lesson's :func:`~costlib.lessons.throughput.latency_under_load` (passed in: the lesson module
    builds on this one, so this one cannot import it).

    Each change calls :func:`costlib.formulas.throughput.serving_point` for the setup's model
    and instance, shows the operating point and redraws latency against load with the point
    marked. Ranges: prompt cv 0 to 2; prompt length 100 tokens up to 16,000 (halved until one
    sequence of it fits in memory at every precision offered, at the largest spread); the
    precisions the setup's hardware serves at the setup's prompt length; the bounds from the
    setting's floor (see :class:`PointExplorer`) to at least 10 s and 200 ms.
    """
    from costlib.formulas.throughput import serving_point

    def fits(precision, in_tokens, cv):
        try:
            serving_point(setup.model, **setup.serving_kwargs(
                precision=precision, in_tokens=float(in_tokens), prompt_cv=cv,
                rate=IDLE_RATE_RPS, kv_precision=None))
        except CostlibError:
            return False
        return True

    precisions = [p for p in PRECISIONS if p == setup.precision
                  or fits(p, setup.in_tokens, setup.prompt_cv)]
    top = 16000
    while top > 100 and not all(fits(p, top, 2.0) for p in precisions):
        top //= 2
    top = max(100, top // 100 * 100)
    controls = {
        "prompt_cv": widgets.FloatSlider(value=setup.prompt_cv, min=0.0, max=2.0, step=0.25,
                                         description="prompt cv", continuous_update=False),
        "in_tokens": widgets.IntSlider(value=min(int(setup.in_tokens), top), min=100, max=top,
                                       step=100, description="in tokens",
                                       continuous_update=False),
        "ttft_p95_ms": widgets.IntSlider(value=int(setup.bounds.get("ttft_p95_ms", 1000)),
                                         min=100, max=10000, step=100,
                                         description="p95 ttft ms", continuous_update=False),
        "tpot_p95_ms": widgets.IntSlider(value=int(setup.bounds.get("tpot_p95_ms", 150)), min=5,
                                         max=200, step=5, description="p95 ms/token",
                                         continuous_update=False),
        "precision": widgets.Dropdown(options=precisions, value=setup.precision,
                                      description="precision"),
    }
    output = widgets.HTML()
    output.add_class("qa-point")
    explorer = PointExplorer(setup, controls, output, widgets.VBox(),
                             chart_output=_chart_output(),
                             ceilings={"ttft_p95_ms": 10000, "tpot_p95_ms": 200},
                             load_curve=load_curve)
    explorer.recompute()
    for ctl in controls.values():
        ctl.observe(explorer.recompute, names="value")
    _fit_labels(controls.values())
    explorer.box = widgets.VBox([*controls.values(), explorer.chart_output, output])
    return explorer


__all__ = ["Explorer", "PriceExplorer", "PointExplorer", "totals_html", "before_after_html",
           "draw", "worksheet_explorer", "lever_explorer", "price_explorer", "point_explorer",
           "traffic_scale_overrides", "IDLE_RATE_RPS"]
