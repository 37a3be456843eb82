"""Lesson 00, the sizing worksheet (``notebooks/00_worksheet.ipynb``).

The functions the notebook's cells call. The four formulas are
:mod:`costlib.formulas.worksheet`'s; this module only lays their answers out as tables, for the
inputs the estimate resolved (from the params file, a measured curve or the throughput model),
and builds the lesson's charts and controls.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from costlib.bill.estimate import Estimate
from costlib.bill.params import Params, SelfHostedOption
from costlib.formulas import worksheet
from costlib.lessons import Lesson, charts, start, widgets
from costlib.whatif.sweeps import sweep

BATCHES = (1, 2, 4, 8, 16, 32)
"""Batch sizes the lesson's cost curve tries [sequences per instance]."""

NO_SELF_HOSTED = "This params file has no self-hosted option."


def workload_table(params: Params) -> pd.DataFrame:
    """The workload block of the params file, one row per setting."""
    return pd.DataFrame([params.workload.model_dump()]).T.rename(columns={0: "value"})


def worksheet_table(params: Params, result: Estimate) -> pd.DataFrame | str:
    """The four formulas for each self-hosted option, one column per option.

    The fleet is sized for the p95 rate; the price per 1k tokens is given at the p95 rate (the
    fleet fully used, the best case) and at the month's average rate (what the bill works out
    to). The worksheet inputs are those the estimate resolved; ``throughput from`` says where
    they came from. A params file without a self-hosted option gives a sentence.
    """
    w = params.workload
    rows = []
    for o in result.options:
        if o.kind != "self_hosted":
            continue
        tps_seq = o.details["tokens_per_second_per_instance"]
        batch = o.details["batch_size"]
        tpr = worksheet.tokens_per_request(w.in_tokens, w.out_tokens)
        p95_tps = worksheet.tokens_per_second_at_p95(result.workload["p95_rps"], w.in_tokens,
                                                     w.out_tokens)
        need = worksheet.required_instances(p95_tps, tps_seq, batch)
        n = worksheet.instances_to_provision(need)
        hourly = o.line_items[0].unit_usd
        avg_tps = worksheet.tokens_per_second_at_p95(w.avg_rps, w.in_tokens, w.out_tokens)
        rows.append({
            "option": o.name,
            "throughput from": o.details["throughput_source"],
            "tokens/s per sequence": round(tps_seq, 2),
            "batch held": batch,
            "tokens per request": tpr,
            "tokens/s at p95": p95_tps,
            "required instances": round(need, 3),
            "instances run": int(n),
            "usd per instance-hour": hourly,
            "usd per 1k tokens at p95": round(
                worksheet.usd_per_1k_tokens_self_hosted(hourly, n, p95_tps), 6),
            "usd per 1k tokens at average": round(
                worksheet.usd_per_1k_tokens_self_hosted(hourly, n, avg_tps), 6),
        })
    return pd.DataFrame(rows).set_index("option").T if rows else NO_SELF_HOSTED


def totals_table(result: Estimate) -> pd.DataFrame:
    """Monthly total, per request and per 1k tokens of each option (rounded for reading)."""
    return result.totals_frame().round({"monthly_usd": 2, "usd_per_request": 6,
                                        "usd_per_1k_tokens": 6})


def cost_by_option_chart(result: Estimate) -> alt.Chart:
    """Which option costs least per month, and what is its bill made of?"""
    return charts.monthly_cost_by_option(result.to_frame())


def batch_curve_frame(params: Params, batches=BATCHES) -> pd.DataFrame:
    """Cost per 1k tokens of every option at each batch, with the worksheet's simplification.

    Only self-hosted options whose params give ``tokens_per_second_per_instance`` are swept
    (each sequence keeps its tokens/s whatever the batch); other options appear once per
    batch, flat. Empty when no option qualifies.
    """
    self_hosted = [n for n, o in params.options.items()
                   if isinstance(o, SelfHostedOption)
                   and o.tokens_per_second_per_instance is not None]
    frames = []
    for name in self_hosted:
        s = sweep(params, f"options.{name}.batch_size", list(batches))
        frames.append(s[(s.kind != "self_hosted") | (s.option == name)])
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames).drop_duplicates(["option", "batch_size"])


def batch_curve_chart(curve: pd.DataFrame) -> alt.Chart | None:
    """How fast does the self-hosted price per token fall as the batch grows? (None if empty)."""
    if curve.empty:
        return None
    return charts.cost_per_1k_tokens_curve(curve, "batch_size",
                                           "batch held per instance (sequences)")


def worksheet_explorer(params: Params) -> widgets.Explorer:
    """The "try it" controls: traffic and each self-hosted option's batch."""
    return widgets.worksheet_explorer(params)


__all__ = ["Lesson", "start", "BATCHES", "workload_table", "worksheet_table", "totals_table",
           "cost_by_option_chart", "batch_curve_frame", "batch_curve_chart",
           "worksheet_explorer"]
