"""Lesson 08, the levers (``notebooks/08_levers.ipynb``).

The functions the notebook's cells call: each of the article's levers before and after on the
params file in force (:func:`costlib.whatif.levers.lever_report`), which apply and why the others
do not, and a sensitivity table that answers "which inputs move the total most": every option's
bill priced at a low and a high value of each main input (:data:`SENSITIVITY_INPUTS`) with
:func:`costlib.bill.vector.price_many`, and the swing between the two ranked per option.

The levers are decisions (pull one and the bill changes by a stated amount); the sensitivity
inputs are uncertainties (how much the bill moves if the workload is not what the params file
says). The two rankings answer different questions and need not agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import Markdown

from costlib.bill.estimate import Estimate, estimate
from costlib.bill.params import Params
from costlib.bill.vector import numeric_keys
from costlib.lessons import Lesson, charts, start, widgets
from costlib.lessons.widgets import traffic_scale_overrides
from costlib.whatif.compare import compare
from costlib.whatif.levers import LEVERS, catalog_frame, lever_report

LOW, HIGH = 0.5, 1.5
"""Multipliers of a sensitivity input's params value: its low and high values [-]."""


@dataclass(frozen=True)
class Input:
    """One input of the sensitivity table.

    Attributes
    ----------
    label : str
        What the reader sees (``"traffic (avg rps, profile scaled)"``).
    key : str
        The params key (``"traffic"`` stands for every rate of the profile at once).
    fraction : bool
        A share in [0, 1]: its low and high values are clipped to that range.
    when : str
        ``""`` (always), ``"retrieval"`` (only with retrieval on) or ``"payloads"`` (only with
        payload logging on): an input that cannot move the file's bill is left out.
    """

    label: str
    key: str
    fraction: bool = False
    when: str = ""


SENSITIVITY_INPUTS = (
    Input("traffic (avg rps, profile scaled)", "traffic"),
    Input("prompt tokens (in_tokens)", "workload.in_tokens"),
    Input("answer tokens (out_tokens)", "workload.out_tokens"),
    Input("p95 time to first token bound", "workload.latency.ttft_p95_ms"),
    Input("p95 time per output token bound", "workload.latency.tpot_p95_ms"),
    Input("model calls crossing an AZ", "network.model_cross_az_fraction", fraction=True),
    Input("retrieved context kept", "retrieval.context_kept_fraction", fraction=True,
          when="retrieval"),
    Input("payloads logged (sample rate)", "observability.payload_sample_rate", fraction=True,
          when="payloads"),
)
"""The main inputs of the sensitivity table, each priced at :data:`LOW` and :data:`HIGH` times
its value (a fraction clipped to [0, 1]); per self-hosted option the batch it holds is added
(``options.X.batch_size``, from the estimate's batch), which moves that option only. A batch
above the one the throughput model picked breaks a latency bound: it is priced as if held."""


def lever_catalog() -> pd.DataFrame:
    """The article's levers: name, reason, the params keys each sets, always cheaper or not."""
    return catalog_frame()


def lever_status(report: pd.DataFrame) -> pd.DataFrame:
    """One row per lever: whether it applies, its best saving, on which option, and why.

    Columns: ``lever``, ``applies``, ``best_option`` (the targeted option it cuts most),
    ``change_usd`` [USD/month] and ``change_pct`` [%] there (negative is cheaper), and ``why``
    (what was assumed, or why the lever does not apply to this file).
    """
    rows = []
    for lever, group in report.groupby("lever", sort=False):
        aimed = group[group["applies"] & group["targeted"]].dropna(subset=["change_usd"])
        if aimed.empty:
            first = group.iloc[0]
            rows.append({"lever": lever, "applies": bool(first["applies"]), "best_option": "",
                         "change_usd": np.nan, "change_pct": np.nan,
                         "why": first["why"].split(". ", 1)[-1]})
            continue
        best = aimed.loc[aimed["change_usd"].idxmin()]
        rows.append({"lever": lever, "applies": True, "best_option": best["option"],
                     "change_usd": best["change_usd"], "change_pct": best["change_pct"],
                     "why": best["why"].split(". ", 1)[-1]})
    return pd.DataFrame(rows).round({"change_usd": 2, "change_pct": 2})


def levers_before_after(report: pd.DataFrame) -> pd.DataFrame:
    """The levers that apply, per option they target: before, after, change, keys set."""
    shown = report[report["applies"] & report["targeted"]]
    return shown[["lever", "option", "before_usd", "after_usd", "change_usd", "change_pct",
                  "overrides"]].round({"before_usd": 2, "after_usd": 2, "change_usd": 2,
                                       "change_pct": 2}).reset_index(drop=True)


def lever_changes_chart(report: pd.DataFrame) -> alt.Chart:
    """Which levers move this bill, and by how much? One bar per lever and targeted option."""
    return charts.lever_changes(report)


def lever_note(report: pd.DataFrame, result: Estimate) -> Markdown:
    """How many levers apply, and which takes most off the cheapest option, in words."""
    status = lever_status(report)
    applies = status[status["applies"]]
    cheapest = result.cheapest
    mine = report[(report["option"] == cheapest) & report["applies"] & report["targeted"]]
    mine = mine.dropna(subset=["change_usd"]).sort_values("change_usd")
    text = (f"{len(applies)} of the {len(status)} levers apply to this params file; "
            f"{len(status) - len(applies)} do not (the table says why).")
    if not mine.empty and mine.iloc[0]["change_usd"] < 0:
        top = mine.iloc[0]
        text += (f" On the cheapest option, **{cheapest}**, the largest saving is "
                 f"**{top['lever']}**: {top['before_usd']:,.0f} -> {top['after_usd']:,.0f} USD "
                 f"a month ({top['change_pct']:+.1f} %).")
        raised = mine[mine["change_usd"] > 0]
        if not raised.empty:
            text += (" Some levers raise its bill here: "
                     + ", ".join(f"{r.lever} ({r.change_pct:+.1f} %)" for r in raised.itertuples())
                     + ".")
    else:
        text += f" None of them lowers the cheapest option's bill ({cheapest})."
    return Markdown(text)


# --------------------------------------------------------------------------------------------
# one lever, line by line: a waterfall of the largest saving on the cheapest option


@dataclass(frozen=True)
class LeverChange:
    """The largest lever on the cheapest option, pulled alone, before and after.

    Attributes
    ----------
    lever : str
        The lever's name.
    option : str
        The option it is drawn for (the file's cheapest).
    overrides : dict
        The params keys the lever sets.
    before, after : Estimate
        The estimate of the params file, and with the lever pulled.
    """

    lever: str
    option: str
    overrides: dict
    before: Estimate
    after: Estimate


def largest_lever(params: Params, report: pd.DataFrame, result: Estimate) -> LeverChange | None:
    """The lever that takes most off the cheapest option's bill, pulled alone (None if none).

    From :func:`costlib.whatif.levers.lever_report`'s rows for the cheapest option (a lever that
    applies and is aimed at it, with a negative change); the after estimate is the file with the
    lever's overrides, priced again (:func:`costlib.whatif.compare.compare`'s way).
    """
    from costlib.bill.params import with_overrides

    cheapest = result.cheapest
    mine = report[(report["option"] == cheapest) & report["applies"] & report["targeted"]]
    mine = mine.dropna(subset=["change_usd"])
    mine = mine[mine["change_usd"] < 0].sort_values("change_usd", kind="stable")
    if mine.empty:
        return None
    name = str(mine.iloc[0]["lever"])
    lever = next(lv for lv in LEVERS if lv.name == name)
    overrides = lever.overrides(params, result)
    return LeverChange(name, cheapest, overrides, result,
                       estimate(with_overrides(params, overrides)))


def lever_waterfall_frame(change: LeverChange, top: int = 8) -> pd.DataFrame:
    """The waterfall's bars (:func:`costlib.whatif.diff.waterfall_frame`) for the lever's option."""
    from costlib.whatif.diff import waterfall_frame

    return waterfall_frame(change.before, change.after, change.option, top=top)


def lever_waterfall_chart(change: LeverChange | None) -> alt.LayerChart | None:
    """Where does the largest lever's saving come from? Its option's bill, line by line."""
    return None if change is None else charts.waterfall_chart(lever_waterfall_frame(change))


def lever_waterfall_note(change: LeverChange | None) -> Markdown:
    """The waterfall in words: the lever, the totals, and the line item that moves most."""
    if change is None:
        return Markdown("No lever lowers the cheapest option's bill on this file, so there is no "
                        "saving to take apart.")
    frame = lever_waterfall_frame(change)
    steps = frame[frame["kind"] != "total"]
    b, a = float(frame["end_usd"].iloc[0]), float(frame["end_usd"].iloc[-1])
    top = steps.iloc[0]
    ups = steps[steps["kind"] == "increase"]
    text = (f"Pulling **{change.lever}** alone takes {change.option} from {b:,.0f} to {a:,.0f} "
            f"USD a month ({a - b:+,.0f} USD). The largest step is **{top['step']}** "
            f"({top['change_usd']:+,.0f} USD); {len(steps)} step{'s' if len(steps) != 1 else ''} "
            "in all.")
    if not ups.empty:
        text += (" Some line items rise: " + ", ".join(f"{r.step} ({r.change_usd:+,.0f} USD)"
                                                    for r in ups.itertuples()) + ".")
    return Markdown(text)


# --------------------------------------------------------------------------------------------
# which inputs move the total most


def _inputs(params: Params, result: Estimate) -> list[tuple[str, str, bool]]:
    out = []
    for inp in SENSITIVITY_INPUTS:
        if inp.when == "retrieval" and not params.retrieval.enabled:
            continue
        if inp.when == "payloads" and not params.observability.log_payloads:
            continue
        out.append((inp.label, inp.key, inp.fraction))
    for o in result.options:
        if o.kind == "self_hosted":
            out.append((f"batch held by {o.name}", f"options.{o.name}.batch_size", False))
    return out


def _base_value(params: Params, result: Estimate, key: str) -> float:
    if key == "traffic":
        return params.workload.avg_rps
    if key.endswith(".batch_size"):
        name = key.split(".")[1]
        return float(next(o for o in result.options if o.name == name).details["batch_size"])
    return float(numeric_keys(params)[key]["value"])


def input_overrides(params: Params, key: str, value: float) -> dict:
    """The overrides that set one sensitivity input (``"traffic"`` scales the whole profile)."""
    if key == "traffic":
        return traffic_scale_overrides(params, value)
    return {key: value}


def sensitivity(params: Params, result: Estimate | None = None) -> pd.DataFrame:
    """Every option's bill at the low and high value of each main input, and the swing.

    The ranges are this lesson's: :data:`LOW` and :data:`HIGH` times each input's value (a
    fraction clipped to [0, 1]), the same factor for every input so their swings compare like
    for like. The pricing is :func:`costlib.whatif.sensitivity.tornado`'s (each end on the whole
    bill, every other input at its point value), with only these ranges. Rows: one per input x
    option, with ``input``, ``key``, ``base_value``, ``low_value``, ``high_value``, ``option``,
    ``base_usd``, ``low_usd``, ``high_usd`` [USD/month], ``swing_usd`` = high - low
    [USD/month], ``swing_pct`` = swing over the base bill [%] and ``rank`` (1 = the input whose
    swing is largest in size for that option).
    """
    from costlib.bill.params import at_points
    from costlib.whatif.sensitivity import tornado

    result = estimate(params) if result is None else result
    ranges, labels = {}, {}
    for label, key, fraction in _inputs(params, result):
        value = _base_value(params, result, key)
        low, high = value * LOW, value * HIGH
        if fraction:
            low, high = min(max(low, 0.0), 1.0), min(max(high, 0.0), 1.0)
        if low == high:
            continue
        ranges[key] = (low, high, f"x{LOW:g} to x{HIGH:g} of the file's value")
        labels[key] = label
    t = tornado(at_points(params), ranges=ranges, include_defaults=False).frame
    frame = pd.DataFrame({
        "input": t["key"].map(labels), "key": t["key"], "base_value": t["base_value"],
        "low_value": t["low"], "high_value": t["high"], "option": t["option"],
        "base_usd": t["base_usd"], "low_usd": t["low_usd"], "high_usd": t["high_usd"],
        "swing_usd": t["high_usd"] - t["low_usd"],
        "swing_pct": 100.0 * (t["high_usd"] - t["low_usd"]) / t["base_usd"], "rank": t["rank"]})
    return frame.sort_values(["option", "rank"]).reset_index(drop=True)


def sensitivity_ranges(table: pd.DataFrame) -> pd.DataFrame:
    """The inputs and the ranges used: one row per input, its value, low and high."""
    return (table.drop_duplicates("input")[["input", "key", "base_value", "low_value",
                                            "high_value"]]
            .round(3).reset_index(drop=True))


def sensitivity_table(table: pd.DataFrame, option: str) -> pd.DataFrame:
    """One option's inputs ranked by swing: bill at low and high, swing in USD and percent."""
    t = table[table["option"] == option]
    return (t[["rank", "input", "low_value", "high_value", "low_usd", "high_usd", "swing_usd",
               "swing_pct"]].set_index("rank")
            .round({"low_value": 3, "high_value": 3, "low_usd": 0, "high_usd": 0,
                    "swing_usd": 0, "swing_pct": 1}))


def sensitivity_ranks(table: pd.DataFrame) -> pd.DataFrame:
    """The swing of every input for every option [% of that option's bill], inputs as rows."""
    return (table.pivot(index="input", columns="option", values="swing_pct").fillna(0.0).round(1)
            .sort_values(table.loc[table["base_usd"].idxmin(), "option"], key=abs,
                         ascending=False))


def sensitivity_chart(table: pd.DataFrame) -> alt.FacetChart:
    """Which inputs move the total most? Change from today's bill at each input's low and high.

    One panel per option (inputs in the order of that option's ranking would differ between
    panels, so the cheapest option's order is used for all); bars in the low/high palette.
    """
    long = pd.concat([
        table.assign(case="low", change_pct=100 * (table["low_usd"] / table["base_usd"] - 1)),
        table.assign(case="high", change_pct=100 * (table["high_usd"] / table["base_usd"] - 1)),
    ], ignore_index=True)[["option", "input", "case", "change_pct", "rank"]]
    cheapest = table.loc[table.groupby("option")["base_usd"].transform("min") == table["base_usd"]]
    order = list(cheapest.sort_values("rank")["input"].drop_duplicates())
    n = len(order)
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("change_pct:Q", title="change in monthly cost (%)"),
        y=alt.Y("input:N", title=None, sort=order),
        yOffset=alt.YOffset("case:N", sort=["low", "high"]),
        color=charts.case_color("case", labels=("low", "high"), title="input at"),
        tooltip=["option", "input", "case", alt.Tooltip("change_pct:Q", format="+.1f")],
    ).properties(width=charts.WIDTH - 200, height=n * 24 + 10).facet(
        row=alt.Row("option:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")))


def sensitivity_note(table: pd.DataFrame, result: Estimate, top: int = 3) -> Markdown:
    """The inputs that move the cheapest option's total most, in words, with their swings."""
    cheapest = result.cheapest
    t = table[table["option"] == cheapest].sort_values("rank").head(top)
    items = "; ".join(f"**{r.input}** ({r.low_value:,.4g} -> {r.high_value:,.4g}): "
                      f"{r.low_usd:,.0f} -> {r.high_usd:,.0f} USD a month, a swing of "
                      f"{r.swing_usd:+,.0f} USD ({r.swing_pct:+.1f} % of today's bill)"
                      for r in t.itertuples())
    return Markdown(f"For the cheapest option, **{cheapest}**, the {len(t)} inputs that move the "
                    f"total most are: {items}.")


# --------------------------------------------------------------------------------------------
# exercises


def _disjoint(a: dict, b: dict) -> bool:
    return not any(x == y or x.startswith(y + ".") or y.startswith(x + ".") for x in a for y in b)


def exercise_two_levers(params: Params, report: pd.DataFrame, result: Estimate) -> Markdown:
    """Answer: the two largest savings on the cheapest option, pulled together, against their sum.

    The two levers must set different keys (a lever that wraps options in a router and another
    that sets the same option's keys cannot be pulled at once as stated).
    """
    cheapest = result.cheapest
    mine = report[(report["option"] == cheapest) & report["targeted"]].dropna(subset=["change_usd"])
    mine = mine[mine["change_usd"] < 0].sort_values("change_usd")
    plans = {lv.name: lv.overrides(params, result) for lv in LEVERS}
    chosen: list[str] = []
    for name in mine["lever"]:
        if all(_disjoint(plans[name], plans[c]) for c in chosen):
            chosen.append(name)
        if len(chosen) == 2:
            break
    if len(chosen) < 2:
        return Markdown(f"Fewer than two levers lower {cheapest}'s bill on this file: nothing to "
                        "combine.")
    overrides = {**plans[chosen[0]], **plans[chosen[1]]}
    after = compare(params, overrides, before=result).totals().set_index("option")
    together = after.loc[cheapest, "change_usd"]
    apart = mine.set_index("lever").loc[chosen, "change_usd"].sum()
    return Markdown(f"Pulled one at a time, **{chosen[0]}** and **{chosen[1]}** change "
                    f"{cheapest}'s bill by {apart:+,.0f} USD a month in sum; pulled together, by "
                    f"{together:+,.0f} USD. "
                    + ("The two add up: they act on different line items."
                       if abs(together - apart) <= 0.005 * abs(apart) + 0.5 else
                       "They do not quite add up: the second lever acts on quantities the first "
                       "has already shrunk (fewer tokens are also fewer bytes and log lines), so "
                       "together they save less than the sum."))


def exercise_token_prices(table: pd.DataFrame, result: Estimate) -> Markdown:
    """Answer: on the cheapest option, what one more prompt token and one more answer token
    per request add to the month, from the sensitivity swings [USD/month per token/request]."""
    cheapest = result.cheapest
    t = table[table["option"] == cheapest].set_index("key")
    per = {k: t.loc[k, "swing_usd"] / (t.loc[k, "high_value"] - t.loc[k, "low_value"])
           for k in ("workload.in_tokens", "workload.out_tokens") if k in t.index}
    i, o = per["workload.in_tokens"], per["workload.out_tokens"]
    if o / i >= 1.5:
        verdict = ("so an output cap saves more per token cut than a shorter prompt, though the "
                   "prompt, being longer, may still hold more tokens to cut.")
    else:
        verdict = ("about the same: this model prices input and output tokens alike (the rest is "
                   "bytes on the network and in the logs), so what counts is how many tokens "
                   "each lever can cut, and prompts are the longer of the two.")
    return Markdown(f"On {cheapest}, one more prompt token per request adds {i:,.2f} USD a "
                    f"month and one more answer token {o:,.2f} USD: an answer token costs "
                    f"{o / i:,.2f} times a prompt token, {verdict}")


def exercise_quantization(report: pd.DataFrame) -> Markdown:
    """Answer: which options FP8 quantization applies to on this file, and why not the others."""
    q = report[report["lever"] == "quantization"]
    hit = q[q["applies"] & q["targeted"]]
    if hit.empty:
        why = q.iloc[0]["why"].split("Does not apply: ", 1)[-1]
        why = why[len("does not apply: "):] if why.startswith("does not apply: ") else why
        return Markdown(f"Quantization applies to no option of this file: {why}.")
    parts = [f"{r.option} ({r.before_usd:,.0f} -> {r.after_usd:,.0f} USD a month, "
             f"{r.change_pct:+.1f} %)" for r in hit.itertuples()]
    note = hit.iloc[0]["why"].split(". ", 1)[-1]
    return Markdown(f"FP8 applies to {', '.join(parts)}. What the lever says: {note}.")


def lever_explorer(params: Params) -> widgets.Explorer:
    """The "try it" controls: network path, AZ placement, log sampling, KMS, retries, context."""
    return widgets.lever_explorer(params)


__all__ = ["Lesson", "start", "LOW", "HIGH", "Input", "SENSITIVITY_INPUTS", "lever_catalog",
           "lever_report", "lever_status", "levers_before_after", "lever_changes_chart",
           "lever_note", "LeverChange", "largest_lever", "lever_waterfall_frame",
           "lever_waterfall_chart", "lever_waterfall_note", "input_overrides", "sensitivity", "sensitivity_ranges",
           "sensitivity_table", "sensitivity_ranks", "sensitivity_chart", "sensitivity_note", "exercise_two_levers",
           "exercise_token_prices", "exercise_quantization", "lever_explorer"]
