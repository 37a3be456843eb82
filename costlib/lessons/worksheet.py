"""Lesson 00, the sizing worksheet (``notebooks/00_worksheet.ipynb``).

The functions the notebook's cells call. The four formulas are
:mod:`costlib.formulas.worksheet`'s; this module only lays their answers out as tables, for the
inputs the estimate resolved (from the params file, a measured curve or the throughput model),
and builds the lesson's charts and controls.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import Markdown

from costlib.bill.estimate import Estimate
from costlib.bill.params import Params, SelfHostedOption
from costlib.core.units import HOURS_PER_MONTH
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


# --------------------------------------------------------------------------------------------
# exercises


def _self_hosted_rows(params: Params, result: Estimate) -> list[dict]:
    """The worksheet inputs of each self-hosted option, as :func:`worksheet_table` reads them."""
    w = params.workload
    tpr = worksheet.tokens_per_request(w.in_tokens, w.out_tokens)
    p95_tps = worksheet.tokens_per_second_at_p95(result.workload["p95_rps"], w.in_tokens,
                                                 w.out_tokens)
    rows = []
    for o in result.options:
        if o.kind != "self_hosted":
            continue
        tps_seq = float(o.details["tokens_per_second_per_instance"])
        batch = float(o.details["batch_size"])
        n = worksheet.instances_to_provision(worksheet.required_instances(p95_tps, tps_seq, batch))
        rows.append({"option": o.name, "tps_seq": tps_seq, "batch": batch, "tpr": tpr,
                     "p95_tps": p95_tps, "instances": n, "hourly": o.line_items[0].unit_usd})
    return rows


def managed_usd_per_1k_tokens(result: Estimate) -> dict[str, float]:
    """Each managed option's inference bill per 1k model tokens [USD per 1k tokens].

    The inference line items only (the tokens the model bills, after caching or batch
    discounts), over the month's tokens: ``inference USD / (requests per month x (in + out)
    tokens / 1000)``. The plumbing around the model is left out, as the worksheet leaves it out.
    """
    tokens_k = result.workload["requests_per_month"] * (
        result.workload["in_tokens"] + result.workload["out_tokens"]) / 1000.0
    return {o.name: sum(li.monthly_usd for li in o.line_items if li.category == "inference")
            / tokens_k for o in result.options if o.kind == "managed_api"}


def batch_at_managed_price(usd_per_hour, tokens_per_second_per_sequence, managed_usd_per_1k):
    """The batch at which one busy instance's tokens cost what the managed API charges [sequences].

    With the worksheet's simplification (each sequence keeps its tokens/s whatever the batch)
    and the fleet fully used, formula 4 gives ``usd_per_hour / (tps x batch x 3600 / 1000)``
    per 1k tokens; setting it equal to the managed price and solving for the batch:

        batch = usd_per_hour / (3.6 x tokens_per_second_per_sequence x managed_usd_per_1k)

    Parameters
    ----------
    usd_per_hour : float
        Instance price [USD per instance-hour].
    tokens_per_second_per_sequence : float
        Worksheet throughput of one sequence [tokens/s].
    managed_usd_per_1k : float
        The managed option's price [USD per 1k tokens].

    Returns
    -------
    float
        Batch held per instance [sequences]; a fleet holding a larger batch at the p95 rate
        undercuts the managed price per token there.

    References
    ----------
    The sizing worksheet of *The real cost breakdown of running LLM apps on AWS*, formula 4.

    Examples
    --------
    >>> round(batch_at_managed_price(55.04, 1117.6, 0.00072), 2)
    19.0
    """
    return worksheet._out(np.divide(usd_per_hour, 3.6 * np.multiply(
        tokens_per_second_per_sequence, managed_usd_per_1k, dtype=float), dtype=float))


def answer_managed_batch(params: Params, result: Estimate) -> Markdown:
    """Exercise: the batch at which each self-hosted option's worksheet price matches each
    managed option's (:func:`batch_at_managed_price`), against the batch it holds."""
    rows = _self_hosted_rows(params, result)
    managed = managed_usd_per_1k_tokens(result)
    if not rows:
        return Markdown(NO_SELF_HOSTED + " There is no fleet to compare with the managed price.")
    if not managed:
        return Markdown("This params file has no managed option to compare with.")
    lines = []
    for m, price in managed.items():
        lines.append(f"{m} bills {price:.6f} USD per 1k tokens of inference.")
        for r in rows:
            b = batch_at_managed_price(r["hourly"], r["tps_seq"], price)
            side = ("more, so at p95 its tokens cost less than the managed ones" if r["batch"] > b
                    else "fewer, so at p95 the managed tokens cost less")
            lines.append(
                f"- {r['option']}: {r['hourly']:,.3f} / (3.6 × {r['tps_seq']:,.1f} × {price:.6f}) = "
                f"**a batch of {b:,.1f}** sequences per instance; it holds {r['batch']:,.1f}, "
                f"{side}.")
    lines.append("\nThis keeps the worksheet's simplification (tokens/s per sequence fixed whatever "
                 "the batch) and a fleet fully used at p95; lesson 02 repeats the question with the "
                 "throughput model and the month's real traffic.")
    return Markdown("\n".join(lines))


def answer_one_more_instance(params: Params, result: Estimate) -> Markdown:
    """Exercise: the p95 rate one more instance lets each self-hosted fleet carry [requests/s].

    One instance carries ``tps_seq x batch / tokens per request`` requests/s (formula 3
    inverted); the fleet the worksheet provisions, plus one, carries ``(n + 1)`` times that.
    """
    rows = _self_hosted_rows(params, result)
    if not rows:
        return Markdown(NO_SELF_HOSTED + " There is no fleet to add an instance to.")
    p95 = result.workload["p95_rps"]
    lines = [f"This file's p95 rate is {p95:,.2f} requests/s."]
    for r in rows:
        per = r["tps_seq"] * r["batch"] / r["tpr"]
        n = int(r["instances"])
        lines.append(
            f"- {r['option']}: one instance carries {r['tps_seq']:,.1f} × {r['batch']:,.1f} / "
            f"{r['tpr']:,.0f} = **{per:,.2f} requests/s**; {n + 1} instances instead of the worksheet's "
            f"{n} carry "
            f"a p95 of {(n + 1) * per:,.2f} requests/s ({(n + 1) * per / p95:,.1f} × this file's), "
            f"for {r['hourly'] * HOURS_PER_MONTH:,.0f} USD a month more.")
    return Markdown("\n".join(lines))


def answer_average_premium(params: Params, result: Estimate) -> Markdown:
    """Exercise: how much dearer a token is at the month's average rate than at p95 [ratio].

    Formula 4 with the same fleet: the price scales as 1 / tokens served, so the ratio is
    ``p95 rate / average rate`` whatever the option.
    """
    rows = _self_hosted_rows(params, result)
    if not rows:
        return Markdown(NO_SELF_HOSTED + " A managed price per token does not depend on the rate.")
    w = params.workload
    ratio = result.workload["p95_rps"] / w.avg_rps
    r = rows[0]
    avg_tps = worksheet.tokens_per_second_at_p95(w.avg_rps, w.in_tokens, w.out_tokens)
    at_p95 = worksheet.usd_per_1k_tokens_self_hosted(r["hourly"], r["instances"], r["p95_tps"])
    at_avg = worksheet.usd_per_1k_tokens_self_hosted(r["hourly"], r["instances"], avg_tps)
    return Markdown(
        f"The fleet is the same, so a token costs p95 rate / average rate = "
        f"{result.workload['p95_rps']:,.2f} / {w.avg_rps:,.2f} = **{ratio:,.2f} ×** as much at the "
        f"average rate (for {r['option']}: {at_avg:.6f} against {at_p95:.6f} USD per 1k tokens)."
        + (" Below 1, the fleet is busier on average than at the p95 minute: a bursty profile whose "
           "spikes sit above the 95th percentile." if ratio < 1 else ""))


__all__ = ["Lesson", "start", "BATCHES", "workload_table", "worksheet_table", "totals_table",
           "cost_by_option_chart", "batch_curve_frame", "batch_curve_chart",
           "worksheet_explorer", "managed_usd_per_1k_tokens", "batch_at_managed_price",
           "answer_managed_batch", "answer_one_more_instance", "answer_average_premium"]
