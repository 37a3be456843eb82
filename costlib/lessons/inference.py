"""Lesson 02, the inference bill over real traffic (``notebooks/02_inference_bill.ipynb``).

The functions the notebook's cells call: the week of traffic, each option's monthly bill, how
busy the self-hosted fleets are, where self-hosting breaks even
(:func:`costlib.whatif.sweeps.batch_sweep`), and the prices used.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from costlib.bill.estimate import Estimate
from costlib.bill.params import Params, SelfHostedOption
from costlib.lessons import Lesson, charts, start, widgets
from costlib.whatif.sweeps import batch_sweep, breakeven_batch

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
"""Batch sizes the break-even test forces on each self-hosted option [sequences]."""

FLEET_COLUMNS = ("instances_p95", "avg_instances", "peak_instances", "utilisation",
                 "unserved_fraction", "cold_starts_per_month", "batch_size", "batch_source",
                 "tokens_per_second_per_instance", "throughput_source", "p95_ttft_ms")
"""What the fleet table shows of each self-hosted option's details."""

NO_BREAKEVEN = ("Break-even needs at least one self-hosted and one managed option in the params "
                "file.")


def traffic_summary(result: Estimate) -> pd.DataFrame:
    """The three numbers that summarise the traffic: average, p95 over time, peak minute."""
    p = result.profile
    return pd.DataFrame({
        "statistic": ["average", "95th percentile over time", "peak minute"],
        "requests per second": [round(p.avg_rps, 4), round(p.p95_rps, 4), round(p.peak_rps, 4)],
    }).set_index("statistic")


def traffic_chart(result: Estimate) -> alt.Chart:
    """What does a week of this workload's traffic look like? Hourly mean and peak minute."""
    return charts.traffic_profile(result.profile)


def totals_table(result: Estimate) -> pd.DataFrame:
    """Each option's cost per month, per request and per 1,000 tokens."""
    return result.totals_frame().set_index("option").round(
        {"monthly_usd": 2, "usd_per_request": 6, "usd_per_1k_tokens": 6})


def cost_by_option_chart(result: Estimate) -> alt.Chart:
    """Which option is cheapest, and what is each bill made of? Bars split by category."""
    return charts.monthly_cost_by_option(result.to_frame())


def line_items_table(result: Estimate) -> pd.DataFrame:
    """Every line item, with the quantity, the unit price and the monthly cost."""
    items = result.to_frame()[["option", "category", "item", "quantity", "unit", "unit_usd",
                               "monthly_usd"]]
    return items.round({"quantity": 2, "monthly_usd": 2})


def fleets_table(result: Estimate) -> pd.DataFrame | str:
    """How busy are the self-hosted fleets? One row per self-hosted option (or a sentence)."""
    fleets = pd.DataFrame([{"option": o.name, **{k: o.details.get(k) for k in FLEET_COLUMNS}}
                           for o in result.options if o.kind == "self_hosted"])
    if fleets.empty:
        return "This params file has no self-hosted option."
    return fleets.set_index("option").round(3)


def breakeven_sweeps(params: Params, batches=BATCHES) -> pd.DataFrame:
    """Every self-hosted option re-priced at each batch (:func:`batch_sweep`), with ``option``."""
    hosted = [n for n, o in params.options.items() if isinstance(o, SelfHostedOption)]
    if not hosted:
        return pd.DataFrame()
    return pd.concat([batch_sweep(params, n, list(batches)).assign(option=n) for n in hosted],
                     ignore_index=True)


def _managed(result: Estimate) -> list:
    return [o for o in result.options if o.kind == "managed_api"]


def breakeven_table(result: Estimate, sweeps: pd.DataFrame) -> pd.DataFrame | str:
    """At what batch does each self-hosted fleet cost less than each managed option?

    ``none that fits`` when no batch the hardware can hold breaks even.
    """
    managed = _managed(result)
    if sweeps.empty or not managed:
        return NO_BREAKEVEN
    feasible = sweeps[sweeps["feasible"]]

    def describe(batch):
        return "none that fits" if batch is None else str(batch)

    hosted = list(dict.fromkeys(sweeps["option"]))
    return pd.DataFrame(
        [{"self-hosted option": n, "managed option": m.name,
          "break-even batch": describe(breakeven_batch(feasible[feasible.option == n],
                                                       m.monthly_usd))}
         for n in hosted for m in managed])


def breakeven_chart(result: Estimate, sweeps: pd.DataFrame) -> alt.LayerChart | None:
    """Self-hosted monthly cost against batch, managed bills as dashed lines (None if n/a)."""
    managed = _managed(result)
    if sweeps.empty or not managed:
        return None
    feasible = sweeps[sweeps["feasible"]]
    refs = pd.DataFrame([{"option": m.name, "monthly_usd": m.monthly_usd} for m in managed])
    return charts.breakeven(feasible[["option", "batch_size", "monthly_usd"]], refs)


def prices_note(result: Estimate) -> str:
    """When the prices are in force, the oldest used, warnings, and what was overridden."""
    p = result.prices
    lines = [f"prices in force on {p['in_force_on']}; oldest price used is as of "
             f"{p['oldest_as_of']}"]
    lines += [f"warning: {w}" for w in p["warnings"]]
    used = pd.DataFrame(p["used"])
    if not used.empty and used["overridden"].any():
        lines.append("prices overridden by this params file (override file or discount):")
        lines.append(used[used["overridden"]][["service", "name", "dimension", "list_usd", "usd",
                                               "override"]].to_string(index=False))
    return "\n".join(lines)


def used_prices_table(result: Estimate) -> pd.DataFrame:
    """The price rows this report used, with their source and as-of date."""
    used = pd.DataFrame(result.prices["used"])
    if used.empty:
        return used
    return used[["service", "name", "dimension", "usd", "unit", "as_of", "overridden", "source"]]


def worksheet_explorer(params: Params) -> widgets.Explorer:
    """The "try it" controls: traffic and each self-hosted option's batch."""
    return widgets.worksheet_explorer(params)


__all__ = ["Lesson", "start", "BATCHES", "FLEET_COLUMNS", "traffic_summary", "traffic_chart",
           "totals_table", "cost_by_option_chart", "line_items_table", "fleets_table",
           "breakeven_sweeps", "breakeven_table", "breakeven_chart", "prices_note",
           "used_prices_table", "worksheet_explorer"]
