"""Every control of the notebooks' "try it" sections, built here with ``observe`` handlers.

Widgets are a thin layer over ``params -> costlib -> tables``: every handler re-prices the params
with :func:`costlib.whatif.compare.compare` (the overrides a person set, against the estimate the
controls started from), or, for the throughput lesson, calls
:func:`costlib.formulas.throughput.serving_point`. Nothing in a batch report depends on a person
touching a control; handlers fire in plain pytest too
(``explorer.controls["workload.avg_rps"].value = 10`` runs the recomputation).

Each explorer has ``.box`` (the widget to display), ``.controls`` (params key -> control) and
``.output`` (an HTML widget with a stable CSS class for browser tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import ipywidgets as widgets
import pandas as pd

from costlib.bill.estimate import Estimate, estimate
from costlib.bill.params import Params
from costlib.core.errors import CostlibError
from costlib.tables.history import price_changes
from costlib.tables.price_schema import SERIES
from costlib.whatif.compare import Comparison, compare

_STYLE = {"description_width": "initial"}


def _cannot(message: str) -> str:
    return f"<b>cannot price this:</b> {message}"


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
        Controls and output, to display.
    result : Estimate
        The estimate with the controls as they are now.
    initial : dict
        The controls' starting values.
    base : Estimate
        The estimate the controls started from.
    comparison : Comparison or None
        ``base`` against ``result``, after the last change.
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

    @classmethod
    def build(cls, params: Params, controls: dict, result: Estimate | None = None,
              links: dict | None = None) -> Explorer:
        """Wire controls to a totals table: each change re-prices ``params``.

        Only the controls a person has moved are applied as overrides, so a control whose
        starting value is a display value (a derived batch, a computed p95) never overwrites
        the params it was read from.
        """
        output = widgets.HTML()
        output.add_class("qa-totals")
        result = estimate(params) if result is None else result
        explorer = cls(params, controls, output, widgets.VBox(), result,
                       {key: ctl.value for key, ctl in controls.items()}, base=result,
                       links=dict(links or {}))
        output.value = totals_html(result)
        for ctl in controls.values():
            ctl.observe(explorer.recompute, names="value")
        explorer.box = widgets.VBox([*controls.values(), output])
        return explorer

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
            return
        self.output.value = totals_html(self.result)


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
            style=_STYLE, layout=widgets.Layout(width="34rem"),
        ),
    }
    for o in result.options:
        if o.kind == "self_hosted":
            b = float(o.details["batch_size"])
            controls[f"options.{o.name}.batch_size"] = widgets.FloatSlider(
                value=b, min=1, max=max(32.0, 2.0 * b), step=1, description=f"{o.name} batch",
                continuous_update=False, style=_STYLE, layout=widgets.Layout(width="34rem"),
            )
    links = {"workload.avg_rps": lambda v: traffic_scale_overrides(params, v)}
    return Explorer.build(params, controls, result, links=links)


def lever_explorer(params: Params) -> Explorer:
    """Controls for the plumbing levers of lesson 04, re-pricing every option on each change.

    Each control is bound to a params key (``network.aws_path``, the cross-AZ fractions,
    ``observability.payload_sample_rate``, ``security.objects_per_data_key``,
    ``failures.retry_policy`` and, with retrieval on, ``retrieval.context_kept_fraction``).
    """
    n, o, s, f = params.network, params.observability, params.security, params.failures
    controls: dict = {
        "network.aws_path": widgets.Dropdown(options=["nat", "privatelink"], value=n.aws_path,
                                             description="aws apis via", style=_STYLE),
        "network.model_cross_az_fraction": widgets.FloatSlider(
            value=n.model_cross_az_fraction, min=0, max=1, step=0.05,
            description="model calls crossing an az", continuous_update=False, style=_STYLE),
        "network.vector_store_cross_az_fraction": widgets.FloatSlider(
            value=n.vector_store_cross_az_fraction, min=0, max=1, step=0.05,
            description="vector store calls crossing an az", continuous_update=False,
            style=_STYLE),
        "observability.payload_sample_rate": widgets.FloatLogSlider(
            value=max(o.payload_sample_rate, 1e-3), base=10, min=-3, max=0, step=0.1,
            description="payloads logged (share)", continuous_update=False, style=_STYLE),
        "security.objects_per_data_key": widgets.FloatLogSlider(
            value=s.objects_per_data_key, base=10, min=0, max=3, step=0.25,
            description="objects per kms call", continuous_update=False, style=_STYLE),
        "failures.retry_policy": widgets.Dropdown(options=["naive", "budgeted", "none"],
                                                  value=f.retry_policy,
                                                  description="retries", style=_STYLE),
    }
    if params.retrieval.enabled:
        controls["retrieval.context_kept_fraction"] = widgets.FloatSlider(
            value=params.retrieval.context_kept_fraction, min=0.05, max=1, step=0.05,
            description="retrieved context kept", continuous_update=False, style=_STYLE)
    return Explorer.build(params, controls)


# --------------------------------------------------------------------------------------------
# prices: discounts and the day prices are in force (lesson 01)


@dataclass
class PriceExplorer:
    """Discount sliders and a date choice bound to one params file, and the totals they give.

    ``controls`` maps a service (``"bedrock"``) to its discount slider [% off], and ``"as_of"``
    to the date choice; ``totals`` is :meth:`Comparison.totals` of the last change.
    """

    params: Params
    controls: dict
    output: widgets.HTML
    box: widgets.VBox
    totals: pd.DataFrame
    base: Estimate | None = None
    comparison: Comparison | None = None

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

    def recompute(self, *_):
        try:
            self.comparison = compare(self.params, self.overrides(), before=self.base)
        except CostlibError as exc:
            self.output.value = _cannot(exc.message)
            return
        self.base = self.comparison.before
        self.totals = self.comparison.totals()
        self.output.value = before_after_html(self.totals)


def price_explorer(params: Params, services=("bedrock", "ec2", "sagemaker")) -> PriceExplorer:
    """A discount slider per service the estimate uses (of ``services``) and a price-date choice.

    The date choice offers the params file's date and the days a used price changed (and the
    day before each, which shows the old price); every change re-prices all options.
    """
    result = estimate(params)
    used = pd.DataFrame(result.prices.get("used", []))
    used_services = sorted(set(used["service"])) if not used.empty else []
    chosen = [s for s in services if s in used_services] or used_services[:3]
    controls: dict = {
        svc: widgets.FloatSlider(value=0.0, min=0.0, max=90.0, step=5.0,
                                 description=f"{svc} % off", continuous_update=False,
                                 style=_STYLE)
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
        controls["as_of"] = widgets.SelectionSlider(
            options=[(d.isoformat(), d) for d in options], value=on, description="prices on",
            continuous_update=False, style=_STYLE)
    output = widgets.HTML()
    output.add_class("qa-totals")
    start = Comparison(result, result)
    explorer = PriceExplorer(params, controls, output, widgets.VBox(), start.totals(), result,
                             start)
    output.value = before_after_html(explorer.totals)
    for ctl in controls.values():
        ctl.observe(explorer.recompute, names="value")
    explorer.box = widgets.VBox([*controls.values(), output])
    return explorer


# --------------------------------------------------------------------------------------------
# one operating point of the throughput model (lesson 03)


@dataclass
class PointExplorer:
    """Controls over one serving setup and the operating point the throughput model gives.

    ``setup`` is any object with ``model`` and ``serving_kwargs(**override)`` (a
    :class:`costlib.lessons.throughput.LessonSetup`); ``point`` is the last
    :class:`~costlib.formulas.throughput.ServingPoint`, ``None`` when infeasible.
    """

    setup: object
    controls: dict
    output: widgets.HTML
    box: widgets.VBox
    point: object = None
    message: str = field(default="")

    def _ipython_display_(self):  # pragma: no cover - display hook for notebooks
        from IPython.display import display

        display(self.box)

    def recompute(self, *_):
        from costlib.formulas.throughput import serving_point

        c = self.controls
        try:
            self.point = serving_point(self.setup.model, **self.setup.serving_kwargs(
                prompt_cv=float(c["prompt_cv"].value), in_tokens=float(c["in_tokens"].value),
                bounds={"ttft_p95_ms": float(c["ttft_p95_ms"].value),
                        "tpot_p95_ms": float(c["tpot_p95_ms"].value)},
                precision=c["precision"].value, kv_precision=None))
        except CostlibError as exc:  # an infeasible setting
            self.point, self.message = None, exc.message
            self.output.value = f"<b>cannot serve this:</b> {exc.message}"
            return
        sp = self.point
        self.message = ""
        self.output.value = (
            f"{sp.concurrency:,.0f} sequences in flight, limited by {sp.binding}; "
            f"TP {sp.tensor_parallel} x {sp.replicas}<br>"
            f"total tokens/s {sp.total_tokens_per_s:,.0f}; p95 time to first token {sp.p95_ttft_ms:,.0f} ms; "
            f"p95 time per output token {sp.p95_tpot_ms:.1f} ms")


def point_explorer(setup) -> PointExplorer:
    """Sliders for prompt spread, prompt length and the two p95 targets, and a precision choice.

    Each change calls :func:`costlib.formulas.throughput.serving_point` for the setup's model
    and instance and shows the operating point.
    """
    controls = {
        "prompt_cv": widgets.FloatSlider(value=setup.prompt_cv, min=0.0, max=2.0, step=0.25,
                                         description="prompt cv", continuous_update=False),
        "in_tokens": widgets.IntSlider(value=int(setup.in_tokens), min=100, max=16000, step=100,
                                       description="in tokens", continuous_update=False),
        "ttft_p95_ms": widgets.IntSlider(value=int(setup.bounds.get("ttft_p95_ms", 1000)), min=200,
                                         max=10000, step=100, description="p95 ttft ms",
                                         continuous_update=False),
        "tpot_p95_ms": widgets.IntSlider(value=int(setup.bounds.get("tpot_p95_ms", 150)), min=10,
                                         max=200, step=5, description="p95 ms/token",
                                         continuous_update=False),
        "precision": widgets.Dropdown(options=["bf16", "fp8", "int8", "int4"],
                                      value=setup.precision, description="precision"),
    }
    output = widgets.HTML()
    output.add_class("qa-point")
    explorer = PointExplorer(setup, controls, output, widgets.VBox())
    explorer.recompute()
    for ctl in controls.values():
        ctl.observe(explorer.recompute, names="value")
    explorer.box = widgets.VBox([*controls.values(), output])
    return explorer


__all__ = ["Explorer", "PriceExplorer", "PointExplorer", "totals_html", "before_after_html",
           "worksheet_explorer", "lever_explorer", "price_explorer", "point_explorer"]
