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
from costlib.bill.params import Params, with_overrides


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
                       {key: ctl.value for key, ctl in controls.items()})
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
            self.result = estimate(with_overrides(self.params, overrides))
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
