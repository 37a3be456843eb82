"""Controls for the notebooks' "try it" sections.

Widgets are a thin layer over ``params -> costlib -> tables``: every handler rebuilds the params
with :func:`costlib.bill.params.with_overrides` and calls :func:`costlib.bill.estimate.estimate`. Nothing in
a batch report depends on a person touching a control; handlers fire in plain pytest too
(``explorer.controls["workload.avg_rps"].value = 10`` runs the recomputation).
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets

from costlib.core.errors import CostlibError
from costlib.bill.estimate import Estimate, estimate
from costlib.bill.params import Params
from costlib.whatif.compare import Comparison, compare


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


@dataclass
class Explorer:
    """A box of sliders bound to params keys, and the totals they produce."""

    params: Params
    controls: dict
    output: widgets.HTML
    box: widgets.VBox
    result: Estimate
    initial: dict | None = None
    base: Estimate | None = None
    comparison: Comparison | None = None

    @classmethod
    def build(cls, params: Params, controls: dict, result: Estimate | None = None) -> Explorer:
        """Wire controls to a totals table: each change re-prices ``params``.

        Only the controls a person has moved are applied as overrides, so a control whose
        starting value is a display value (a derived batch, a computed p95) never overwrites
        the params it was read from.
        """
        output = widgets.HTML()
        output.add_class("qa-totals")
        result = estimate(params) if result is None else result
        explorer = cls(params, controls, output, widgets.VBox(), result,
                       {key: ctl.value for key, ctl in controls.items()}, base=result)
        output.value = totals_html(result)
        for ctl in controls.values():
            ctl.observe(explorer.recompute, names="value")
        explorer.box = widgets.VBox([*controls.values(), output])
        return explorer

    def _ipython_display_(self):  # pragma: no cover - display hook for notebooks
        from IPython.display import display

        display(self.box)

    def recompute(self, *_):
        initial = self.initial or {}
        overrides = {key: ctl.value for key, ctl in self.controls.items()
                     if key not in initial or ctl.value != initial[key]}
        try:
            self.comparison = compare(self.params, overrides, before=self.base)
            self.result = self.comparison.after
        except CostlibError as exc:
            self.output.value = f"<b>cannot price this:</b> {exc.message}"
            return
        self.output.value = totals_html(self.result)


def worksheet_explorer(params: Params) -> Explorer:
    """Sliders for traffic and, per self-hosted option, the batch it holds.

    Moving ``workload.avg_rps`` or an option's ``batch_size`` re-prices every option. Sliders
    start at the values the estimate used (the p95 computed from the traffic profile, the batch
    derived by the throughput model) and override them only once moved.
    """
    w = params.workload
    result = estimate(params)
    controls: dict[str, widgets.Widget] = {
        "workload.avg_rps": widgets.FloatLogSlider(
            value=w.avg_rps, base=10, min=-1, max=3, step=0.05, description="avg rps",
            continuous_update=False,
        ),
        "workload.p95_rps": widgets.FloatLogSlider(
            value=result.workload["p95_rps"], base=10, min=-1, max=3, step=0.05,
            description="p95 rps", continuous_update=False,
        ),
    }
    for o in result.options:
        if o.kind == "self_hosted":
            controls[f"options.{o.name}.batch_size"] = widgets.FloatSlider(
                value=o.details["batch_size"], min=1, max=max(32, o.details["batch_size"]),
                step=1, description=f"{o.name} batch", continuous_update=False,
                style={"description_width": "initial"},
            )
    return Explorer.build(params, controls, result)


def lever_explorer(params: Params):
    """Controls for the plumbing levers of lesson 04, re-pricing every option on each change.

    A thin layer over :class:`costlib.lessons.widgets.Explorer`: each control is bound to a params key
    (``network.aws_path``, the cross-AZ fractions, ``observability.payload_sample_rate``,
    ``security.objects_per_data_key``, ``failures.retry_policy`` and, with retrieval on,
    ``retrieval.context_kept_fraction``); moving one calls :func:`costlib.bill.estimate.estimate`
    on the overridden params.

    Returns
    -------
    costlib.lessons.widgets.Explorer
        ``.box`` is the widget to display; ``.controls`` maps params keys to controls.
    """
    n, o, s, f = params.network, params.observability, params.security, params.failures
    style = {"description_width": "initial"}
    controls: dict = {
        "network.aws_path": widgets.Dropdown(options=["nat", "privatelink"], value=n.aws_path,
                                             description="aws apis via", style=style),
        "network.model_cross_az_fraction": widgets.FloatSlider(
            value=n.model_cross_az_fraction, min=0, max=1, step=0.05,
            description="model calls crossing an az", continuous_update=False, style=style),
        "network.vector_store_cross_az_fraction": widgets.FloatSlider(
            value=n.vector_store_cross_az_fraction, min=0, max=1, step=0.05,
            description="vector store calls crossing an az", continuous_update=False,
            style=style),
        "observability.payload_sample_rate": widgets.FloatLogSlider(
            value=max(o.payload_sample_rate, 1e-3), base=10, min=-3, max=0, step=0.1,
            description="payloads logged (share)", continuous_update=False, style=style),
        "security.objects_per_data_key": widgets.FloatLogSlider(
            value=s.objects_per_data_key, base=10, min=0, max=3, step=0.25,
            description="objects per kms call", continuous_update=False, style=style),
        "failures.retry_policy": widgets.Dropdown(options=["naive", "budgeted", "none"],
                                                  value=f.retry_policy,
                                                  description="retries", style=style),
    }
    if params.retrieval.enabled:
        controls["retrieval.context_kept_fraction"] = widgets.FloatSlider(
            value=params.retrieval.context_kept_fraction, min=0.05, max=1, step=0.05,
            description="retrieved context kept", continuous_update=False, style=style)
    return Explorer.build(params, controls)
