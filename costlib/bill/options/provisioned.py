"""Bedrock provisioned throughput: model units rented by the hour, not tokens.

A model unit (MU) delivers a fixed token throughput for one model; AWS shows each model's MU
throughput in the console and quotes it through the account team, so the params file gives it
(``tokens_per_minute_per_model_unit``). Units are sized for the peak (or p95) of the traffic
they take. With no commitment the units may run on a schedule (business hours, say); traffic
outside the schedule, and above the units' capacity, spills to on-demand prices of the same
model. A 1- or 6-month commitment bills every hour of the month, so it cannot be scheduled.
Model units and their request capacity come from :mod:`costlib.formulas.tokens`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from costlib.bill.context import Context
from costlib.bill.fleet import FleetSchedule
from costlib.bill.lineitems import (
    Operations,
    OptionOutcome,
    line_item,
    num,
    operations_items,
    steps_to_month,
)
from costlib.core.schema import Strict
from costlib.core.units import HOURS_PER_MONTH
from costlib.formulas.fleet import schedule_mask
from costlib.formulas.tokens import million_tokens, model_units_needed, provisioned_capacity_rps

TERM_DIMENSIONS = {"no_commit": "pt_no_commit", "1_month": "pt_1_month", "6_month": "pt_6_month"}


class ProvisionedOption(Strict):
    """Bedrock provisioned throughput, optionally on a schedule, spilling to on demand.

    Attributes
    ----------
    model : str
        Bedrock model id.
    term : {"no_commit", "1_month", "6_month"}
        Commitment term; only ``no_commit`` may be scheduled.
    tokens_per_minute_per_model_unit : float
        Throughput of one model unit for this model [tokens/min] (input + output), as AWS
        quotes it for your model.
    model_units : int, optional
        Units to buy; default: enough for ``size_for`` of the traffic while on.
    usd_per_model_unit_hour : float, optional
        Your quoted price [USD per MU-hour]; default: the price table.
    size_for : {"peak", "p95"}
        Statistic of the on-hours traffic the units are sized for.
    schedule : FleetSchedule, optional
        When the units run (UTC hours and weekdays); default: always.
    spill_model : str, optional
        On-demand model for spilled traffic (default: ``model``).
    operations : Operations
        Engineer time per month.
    """

    kind: Literal["provisioned"]
    model: str
    term: Literal["no_commit", "1_month", "6_month"] = "no_commit"
    tokens_per_minute_per_model_unit: float = Field(gt=0)
    model_units: int | None = Field(None, ge=1)
    usd_per_model_unit_hour: float | None = Field(None, ge=0)
    size_for: Literal["peak", "p95"] = "peak"
    schedule: FleetSchedule | None = None
    spill_model: str | None = None
    operations: Operations = Operations()

    @model_validator(mode="after")
    def _commitments_run_all_month(self):
        if self.schedule is not None and self.term != "no_commit":
            raise ValueError(f"a {self.term} commitment bills every hour; only term no_commit "
                             "can have a schedule")
        return self


def price_provisioned(name: str, opt: ProvisionedOption, ctx: Context) -> OptionOutcome:
    """Line items of a provisioned-throughput option for one month."""
    from costlib.bill.options.managed import _check_context_window

    w = ctx.workload
    _check_context_window(name, opt.model, w)
    traffic = ctx.traffic
    tpr = ctx.tokens_per_request
    if opt.schedule is not None:
        on = schedule_mask(traffic.n_steps, traffic.step_s, opt.schedule, traffic.start_s_of_week)
    else:
        on = np.ones(traffic.n_steps, dtype=bool)
    values, weights = traffic.distinct(traffic.u, on.astype(float))
    rps = traffic.rates(values[0])  # (N, K) distinct steps
    on_k = values[1] > 0
    tpr_col = np.reshape(np.asarray(tpr, dtype=float), (-1, 1))
    if opt.model_units is not None:
        units = num(np.asarray(opt.model_units, dtype=float))
    elif on.any():
        if opt.size_for == "peak":
            top = float(traffic.u[on].max())
            stat = (traffic.base + traffic.amp * top) * tpr_col[:, 0]
        else:
            stat = traffic.percentile(95.0, mask=on) * tpr_col[:, 0]
        units = num(model_units_needed(stat, opt.tokens_per_minute_per_model_unit))
    else:
        units = 0.0
    capacity_rps = num(provisioned_capacity_rps(units, opt.tokens_per_minute_per_model_unit, tpr))
    cap_col = np.reshape(np.asarray(capacity_rps, dtype=float), (-1, 1))
    served_rps = np.where(on_k[None, :], np.minimum(rps, cap_col), 0.0)
    spilled_rps = rps - served_rps
    on_hours = float(on.sum()) / on.size * HOURS_PER_MONTH
    billed_hours = on_hours if opt.term == "no_commit" else HOURS_PER_MONTH
    price = ctx.price("bedrock", opt.model, TERM_DIMENSIONS[opt.term], opt.usd_per_model_unit_hour)
    items = [line_item("inference", f"{opt.model} provisioned throughput ({opt.term})",
                       num(np.asarray(units) * billed_hours), "model-unit-hour", price.usd,
                       price.source, fixed=True)]  # units rented by the hour, used or not
    spilled_requests = steps_to_month(spilled_rps, weights, traffic.step_s) * traffic.step_s
    if np.any(np.asarray(spilled_requests) > 0):
        spill = opt.spill_model or opt.model
        p_in = ctx.price("bedrock", spill, "input")
        p_out = ctx.price("bedrock", spill, "output")
        items.append(line_item("inference", f"{spill} on-demand input tokens (spill)",
                               num(million_tokens(spilled_requests, w.in_tokens)), "1M tokens",
                               p_in.usd, p_in.source))
        items.append(line_item("inference", f"{spill} on-demand output tokens (spill)",
                               num(million_tokens(spilled_requests, w.out_tokens)), "1M tokens",
                               p_out.usd, p_out.source))
    items.extend(operations_items(opt.operations))
    total = rps @ weights
    served = served_rps @ weights
    units_arr = np.asarray(units, dtype=float)
    on_steps = float(on.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        spilled_fraction = np.where(total > 0, spilled_rps @ weights / np.where(total > 0, total, 1.0), 0.0)
        util = np.where((units_arr > 0) & (on_steps > 0),
                        served / np.where(cap_col[:, 0] * on_steps > 0, cap_col[:, 0] * on_steps, 1.0), 0.0)
    details = {
        "model_units": units,
        "provisioned_hours_per_month": billed_hours,
        "spilled_fraction": num(spilled_fraction),
        "utilisation": num(util),
    }
    return OptionOutcome(items, details)


__all__ = ["TERM_DIMENSIONS", "ProvisionedOption", "price_provisioned"]
