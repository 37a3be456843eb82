"""Lesson 10, how the capacity is bought (``notebooks/10_buying.ipynb``).

The same fleet and the same model calls cost very different amounts depending on how they are
bought. The functions the notebook's cells call:

- a self-hosted fleet on demand, committed (a Savings Plan or Reserved Instance, only at a
  discount one states: no rate for a GPU instance is published), on a Capacity Block, on Spot
  with on-demand fallback (:func:`fleet_table`, from :func:`costlib.whatif.buying.
  buying_options`), and the discount a commitment needs to beat the cheapest other way
  (:func:`discount_to_beat`, bisection on the whole bill) with the cost of the best commitment
  across the discounts AWS advertises (:func:`commitment_sweep`);
- a managed API's Bedrock tiers and modes (:func:`tier_table`, from
  :func:`costlib.whatif.tiers.tier_mix`): Standard, Priority, the global cross-Region profile,
  Flex or batch for the requests that can wait, Reserved and provisioned capacity (these two
  only at a price one states: none is published);
- the prompt cache's hit rate from its time to live and the spacing of the requests that share a
  prefix (:func:`cache_hit_frame`, from :func:`costlib.formulas.prompt_cache.prefix_hit_fraction`);
- the same params priced in several regions side by side, naming every price a region lacks
  (:func:`regions_table`, from :func:`costlib.whatif.regions.compare_regions`).
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import Markdown

from costlib.bill.params import Params
from costlib.formulas.prompt_cache import prefix_hit_fraction
from costlib.lessons import Lesson, charts, start
from costlib.bill.estimate import estimate
from costlib.core.errors import CostlibError
from costlib.whatif.buying import fleet_usd_of, with_buying, buying_options, self_hosted_options
from costlib.whatif.regions import compare_regions
from costlib.whatif.tiers import tier_mix

__all__ = ["Lesson", "start", "shown", "SWEEP_DISCOUNTS_PCT", "fleet_table", "fleet_note",
           "discount_to_beat", "commitment_sweep", "commitment_chart", "TOLERANT_SHARE", "REGIONS", "CACHE_TTLS_MIN", "managed_options",
           "tier_table", "tier_note", "tier_chart", "cache_hit_frame", "cache_hit_chart",
           "rate_for_hit_fraction", "cache_note", "regions_table", "regions_note",
           "answer_reserved_breakeven", "answer_cache_rate", "answer_tolerant_share",
           "answer_break_even_share"]

TOLERANT_SHARE = 0.4
"""Share of requests assumed able to wait (seconds for Flex, hours for batch) [-]: the issue's
example ("40 % of requests can wait"), an assumption of the lesson; the exercises move it."""

REGIONS = ("us-east-1", "us-west-2")
"""The regions priced side by side [-]."""

CACHE_TTLS_MIN = (5.0, 60.0)
"""The two times to live a Bedrock cache checkpoint accepts [min] (``5m``, ``1h``)."""


SWEEP_DISCOUNTS_PCT = tuple(float(x) for x in range(0, 67, 3))
"""Discounts of the commitment sweep [%]: 0 to 66, the largest a Compute Savings Plan is
advertised to give (AWS Savings Plans FAQ); a range to read a stated discount against, not a
rate (none for a GPU instance could be sourced)."""


_MEMO: dict = {}
"""The last results per (what, params object, argument): the notebook's note, table and chart
(and report.html's section) read the same tier mixes and buying tables; each is priced once."""


def _memo(what: str, params: Params, arg, make):
    """``make()`` once per ``params`` object (by identity) and argument, then from the memo."""
    key = (what, id(params), arg)
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is params:
        return hit[1]
    if len(_MEMO) > 64:
        _MEMO.clear()
    value = make()
    _MEMO[key] = (params, value)
    return value


def _buying(params: Params, name: str):
    return _memo("buying", params, name, lambda: buying_options(params, name))


def _commitment(discount_pct: float) -> dict:
    return {"kind": "compute_savings_plan", "term_years": 1, "payment": "no_upfront",
            "discount_pct": float(discount_pct), "source": "swept (no published rate)"}


def _committed_fleet(params: Params, option: str, discount_pct: float) -> tuple[float, float]:
    """(fleet USD/month, committed instances) with the best commitment at a discount."""
    res = estimate(with_buying(params, option, {"commitment": _commitment(discount_pct)}))
    return fleet_usd_of(res, option), float(res.option(option).details["buying"]["committed_instances"])


def fleet_table(params: Params) -> pd.DataFrame | str:
    """Every self-hosted option's ways of buying: the fleet's and the option's monthly USD."""
    names = self_hosted_options(params)
    if not names:
        return "(no self-hosted option in this params file)"
    rows = []
    for name in names:
        table = _buying(params, name)
        for r in table.rows:
            rows.append({"option": name, "way of buying": r.label,
                         "fleet usd": None if r.fleet_usd is None else round(r.fleet_usd, 2),
                         "option usd": None if r.option_usd is None else round(r.option_usd, 2),
                         "committed instances": r.committed_instances,
                         "break-even utilisation": (None if r.break_even_utilisation is None
                                                    else round(r.break_even_utilisation, 3))})
    return pd.DataFrame(rows)


def discount_to_beat(params: Params, option: str, target_fleet_usd: float,
                     tol_pct: float = 0.01) -> float | None:
    """The Savings Plan discount above which the best commitment's fleet costs less than
    ``target_fleet_usd`` [%], by bisection on the whole bill; None when even the largest
    advertised discount (66 %) does not get there.

    The fleet's cost with its best commitment falls as the discount grows (a larger discount
    never makes the same commitment dearer, and the best commitment is at least as cheap).
    """
    lo, hi = 0.0, SWEEP_DISCOUNTS_PCT[-1]
    if _committed_fleet(params, option, hi)[0] >= target_fleet_usd:
        return None
    if _committed_fleet(params, option, lo)[0] < target_fleet_usd:
        return 0.0
    while hi - lo > tol_pct:
        mid = 0.5 * (lo + hi)
        if _committed_fleet(params, option, mid)[0] < target_fleet_usd:
            hi = mid
        else:
            lo = mid
    return hi


def fleet_note(params: Params) -> Markdown:
    """Per fleet: on demand, the cheapest way the tables can price, and the discount a
    commitment would need to beat it."""
    names = self_hosted_options(params)
    if not names:
        return Markdown("This params file has no self-hosted fleet, so there is no instance-hour "
                        "to commit to.")
    parts = []
    for name in names:
        table = _buying(params, name)
        od = table.rows[0]
        others = [r for r in table.rows[1:] if r.fleet_usd is not None]
        best = min(others, key=lambda r: r.fleet_usd) if others else None
        text = f"**{name}** costs {od.fleet_usd:,.0f} USD a month in instance-hours on demand"
        if best is not None and best.fleet_usd < od.fleet_usd:
            need = discount_to_beat(params, name, best.fleet_usd)
            text += (f"; the cheapest other way priced here is {best.label}, {best.fleet_usd:,.0f} "
                     "USD")
            text += (f", which a Savings Plan beats only above {need:.1f} % off" if need is not None
                     else ", which no Savings Plan discount AWS advertises (up to 66 %) beats")
        parts.append(text + ".")
    return Markdown(" ".join(parts) + " Spot's fallback share and its discount are the Spot "
                    "Instance Advisor's reading (dated in the table's notes), and a strict latency "
                    "target may not tolerate its interruptions; a Capacity Block row without a rate "
                    "in force on the params' date is priced at the last sourced one and says so.")


def commitment_sweep(params: Params, discounts=SWEEP_DISCOUNTS_PCT) -> pd.DataFrame | str:
    """The best commitment's fleet cost and size across discounts, per self-hosted option.

    Rows: ``option``, ``discount_pct`` [%], ``committed_instances`` [instances], ``fleet_usd``
    and ``on_demand_usd`` [USD/month].
    """
    names = self_hosted_options(params)
    if not names:
        return "(no self-hosted option in this params file)"
    rows = []
    for name in names:
        on_demand = fleet_usd_of(estimate(with_buying(params, name, {})), name)
        for d in discounts:
            usd, committed = _committed_fleet(params, name, d)
            rows.append({"option": name, "discount_pct": float(d), "committed_instances": committed,
                         "fleet_usd": usd, "on_demand_usd": on_demand})
    return pd.DataFrame(rows)


def commitment_chart(sweep: pd.DataFrame | str) -> alt.Chart | None:
    """What does the best commitment cost at each discount, against on demand?"""
    if isinstance(sweep, str):
        return None
    lines = alt.Chart(sweep).mark_line(point=True).encode(
        x=alt.X("discount_pct:Q", title="savings plan discount (%)"),
        y=alt.Y("fleet_usd:Q", title="fleet instance-hours (usd/month)"),
        color=alt.Color("option:N", title="option"),
        tooltip=["option", alt.Tooltip("discount_pct:Q", format=".0f"),
                 alt.Tooltip("committed_instances:Q", format=".0f"),
                 alt.Tooltip("fleet_usd:Q", format=",.0f")])
    rules = alt.Chart(sweep.drop_duplicates("option")).mark_rule(strokeDash=[4, 3]).encode(
        y="on_demand_usd:Q", color=alt.Color("option:N"))
    return (lines + rules).properties(width=charts.WIDTH - 140, height=charts.HEIGHT)


def shown(frame: pd.DataFrame | str) -> pd.DataFrame | str:
    """A table as the notebook shows it: a value that is not priced is blank, not ``NaN``."""
    if isinstance(frame, str):
        return frame
    return frame.astype(object).where(frame.notna(), "")


def managed_options(params: Params) -> list[str]:
    """The ``managed_api`` options of the file (the ones with Bedrock tiers)."""
    return [n for n, o in params.options.items() if o.kind == "managed_api"]


def _mixes(params: Params, tolerant_share: float):
    if not managed_options(params):
        return None
    return _memo("tiers", params, float(tolerant_share),
                 lambda: tier_mix(params, tolerant_share=tolerant_share))


def tier_table(params: Params, tolerant_share: float = TOLERANT_SHARE) -> pd.DataFrame | str:
    """Every managed option under each tier and mode: monthly USD, or why it is not priced."""
    mixes = _mixes(params, tolerant_share)
    if mixes is None:
        return "(no managed_api option in this params file)"
    rows = []
    for name, results in mixes.options.items():
        best = mixes.cheapest(name)
        for m in results:
            rows.append({"option": name, "mix": m.mix,
                         "monthly usd": round(m.monthly_usd, 2) if m.priced else None,
                         "cheapest": "yes" if best is not None and m.mix == best.mix else "",
                         "why not priced": "" if m.priced else m.reason})
    return pd.DataFrame(rows)


def tier_note(params: Params, tolerant_share: float = TOLERANT_SHARE) -> Markdown:
    """The cheapest mix of each managed option against all Standard, in words."""
    mixes = _mixes(params, tolerant_share)
    if mixes is None:
        return Markdown("This params file has no managed API option, so there is no Bedrock tier "
                        "to choose.")
    parts = []
    for name, results in mixes.options.items():
        standard = next(m for m in results if m.mix == "standard")
        best = mixes.cheapest(name)
        unpriced = [m.mix for m in results if not m.priced]
        if best is None or best.mix == "standard" or not standard.priced:
            text = f"**{name}**: Standard is the cheapest priced mix"
        else:
            save = standard.monthly_usd - best.monthly_usd
            text = (f"**{name}**: {best.mix} costs {best.monthly_usd:,.0f} USD a month against "
                    f"{standard.monthly_usd:,.0f} on Standard, {save:,.0f} USD "
                    f"({100 * save / standard.monthly_usd:.1f} %) less")
        if unpriced:
            text += f"; not priced: {', '.join(unpriced)}"
        parts.append(text + ".")
    return Markdown(f"With {tolerant_share:.0%} of requests able to wait: " + " ".join(parts))


def tier_chart(params: Params, tolerant_share: float = TOLERANT_SHARE) -> alt.Chart | None:
    """What does each managed option cost under each tier and mode it can be priced in?"""
    table = tier_table(params, tolerant_share)
    if isinstance(table, str):
        return None
    priced = table.dropna(subset=["monthly usd"])
    return alt.Chart(priced).mark_bar().encode(
        x=alt.X("monthly usd:Q", title="monthly cost (usd/month)"),
        y=alt.Y("mix:N", title=None, sort=None),
        color=alt.Color("cheapest:N", title="cheapest", scale=alt.Scale(
            domain=["yes", ""], range=["#54a24b", "#9ecae9"]), legend=None),
        row=alt.Row("option:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
        tooltip=["option", "mix", alt.Tooltip("monthly usd:Q", format=",.0f")],
    ).properties(width=charts.WIDTH - 240, height=alt.Step(18)).resolve_scale(
        x="independent", y="independent")


# --------------------------------------------------------------------------------------------
# the prompt cache


def cache_hit_frame(ttls=CACHE_TTLS_MIN, rates=None) -> pd.DataFrame:
    """The hit fraction of a prefix cache against the rate of requests sharing the prefix.

    ``rates`` [requests/min per prefix] default: 0.01 to 100, 81 points on a log scale; one row
    per (time to live, rate) with ``hit_fraction`` = 1 - exp(-rate x ttl) [-].
    """
    rates = np.geomspace(0.01, 100.0, 81) if rates is None else np.asarray(rates, dtype=float)
    rows = [pd.DataFrame({"ttl": f"{ttl:g} min", "ttl_min": ttl,
                          "requests_per_min_per_prefix": rates,
                          "hit_fraction": prefix_hit_fraction(rates, ttl)}) for ttl in ttls]
    return pd.concat(rows, ignore_index=True)


def cache_hit_chart(frame: pd.DataFrame | None = None) -> alt.Chart:
    """How often does a request find its prefix cached? Hit fraction against request spacing."""
    frame = cache_hit_frame() if frame is None else frame
    return alt.Chart(frame).mark_line().encode(
        x=alt.X("requests_per_min_per_prefix:Q", scale=alt.Scale(type="log"),
                title="requests sharing one prefix (per minute)"),
        y=alt.Y("hit_fraction:Q", title="share of requests that hit the cache (-)",
                axis=alt.Axis(format="%")),
        color=alt.Color("ttl:N", title="time to live"),
        tooltip=["ttl", alt.Tooltip("requests_per_min_per_prefix:Q", format=".3g"),
                 alt.Tooltip("hit_fraction:Q", format=".1%")],
    ).properties(width=charts.WIDTH - 140, height=charts.HEIGHT)


def rate_for_hit_fraction(hit_fraction: float, ttl_minutes: float) -> float:
    """The rate of requests per prefix at which the cache hits ``hit_fraction`` of them.

    Solves 1 - exp(-lambda x ttl) = h: lambda = -ln(1 - h) / ttl [requests/min].

    >>> round(rate_for_hit_fraction(0.9, 5.0), 4)
    0.4605
    """
    if not 0.0 <= hit_fraction < 1.0 or ttl_minutes <= 0:
        raise ValueError("hit_fraction must be in [0, 1) and ttl_minutes > 0")
    return -math.log1p(-hit_fraction) / ttl_minutes


def cache_note(ttls=CACHE_TTLS_MIN, hit_fraction: float = 0.9) -> Markdown:
    """How many requests a minute must share a prefix for the cache to pay, per time to live."""
    parts = [f"{rate_for_hit_fraction(hit_fraction, t):.3g} a minute (one every "
             f"{60 / rate_for_hit_fraction(hit_fraction, t):.0f} s) with a {t:g}-minute time to live"
             for t in ttls]
    return Markdown(f"For {hit_fraction:.0%} of requests to find their prefix cached, the requests "
                    f"sharing it must arrive at about {' and '.join(parts)}. Below that the cache "
                    "mostly writes, and a write costs more than sending the prefix uncached (1.25x "
                    "the input price for 5 minutes, 2x for an hour): a rarely shared prefix makes "
                    "caching cost more than it saves.")


# --------------------------------------------------------------------------------------------
# regions


def regions_table(params: Params, regions=REGIONS) -> pd.DataFrame:
    """Every option's monthly total in each region; empty where the region lacks a price."""
    return compare_regions(params, list(regions)).totals().round(2)


def regions_note(params: Params, regions=REGIONS) -> Markdown:
    """Which regions price every option, and the rows each other region lacks."""
    comparison = compare_regions(params, list(regions))
    lines = comparison.missing_lines()
    if not lines:
        return Markdown(f"Every option is priced in {', '.join(regions)}.")
    return Markdown("A region without a price the bill needs is not guessed: its cells stay "
                    "empty. " + " ".join(f"{x}." if not x.endswith(".") else x for x in lines))


# --------------------------------------------------------------------------------------------
# exercises


def answer_reserved_breakeven(params: Params) -> Markdown:
    """Answer: the Reserved price per 1K TPM-month below which a fully used reservation beats
    Standard, for each managed option (no Reserved price is published)."""
    mixes = _mixes(params, 0.0)
    if mixes is None:
        return Markdown("No managed API option in this file.")
    parts = []
    for name, results in mixes.options.items():
        r = next(m for m in results if m.mix == "reserved")
        be = r.details.get("breakeven_usd_per_1k_tpm_month")
        if be:
            parts.append(f"{name}: below {be:,.2f} USD per 1K tokens-per-minute a month")
    if not parts:
        return Markdown("No managed option here has Standard rates to compare a reservation with.")
    return Markdown("A reservation used every minute of the month beats Standard when its price is "
                    + "; ".join(parts) + ". That is the Standard price of a token (input and "
                    "output blended by the workload's mix) times the 43,800 minutes of a month, "
                    "per 1,000 tokens a minute; a reservation idle part of the month must be "
                    "cheaper still.")


def answer_cache_rate(hit_fraction: float = 0.9, ttl_minutes: float = 5.0) -> Markdown:
    """Answer: requests a minute sharing a prefix for a given hit fraction (worked formula)."""
    lam = rate_for_hit_fraction(hit_fraction, ttl_minutes)
    return Markdown(f"1 - exp(-lambda x {ttl_minutes:g}) = {hit_fraction:g} gives lambda = "
                    f"-ln(1 - {hit_fraction:g}) / {ttl_minutes:g} = {lam:.4f} requests a minute "
                    f"per prefix, one every {60 / lam:.0f} seconds.")


def answer_tolerant_share(params: Params, shares=(0.0, 0.2, 0.4, 0.6, 0.8)) -> pd.DataFrame | str:
    """Answer: the cheapest mix and its bill of each managed option as the tolerant share grows."""
    if not managed_options(params):
        return "(no managed_api option in this params file)"
    rows = []
    for share in shares:
        mixes = tier_mix(params, tolerant_share=share)
        for name in mixes.options:
            best = mixes.cheapest(name)
            rows.append({"tolerant share": share, "option": name,
                         "cheapest mix": best.mix if best else "",
                         "monthly usd": round(best.monthly_usd, 2) if best else None})
    return pd.DataFrame(rows)


def answer_break_even_share(discount_pct: float) -> Markdown:
    """Answer: the share of hours a committed instance must be needed to pay off at a discount.

    A committed hour costs ``(1 - d) x r_od``, paid whether used or not; an hour bought on demand
    only when needed costs ``r_od``. Committing pays when the instance is needed in more than
    ``(1 - d)`` of the hours (:func:`costlib.formulas.commitments.break_even_utilisation`).
    """
    from costlib.formulas.commitments import break_even_utilisation, committed_usd_per_hour

    share = float(break_even_utilisation(committed_usd_per_hour(1.0, discount_pct), 1.0))
    return Markdown(f"At {discount_pct:g} % off, a committed hour costs {1 - discount_pct / 100:.2f} "
                    f"of an on-demand one, so a committed instance pays off when the fleet needs it "
                    f"in more than {share:.0%} of the hours. A Capacity Block's break-even is its "
                    "rate over the on-demand rate in the same way.")
