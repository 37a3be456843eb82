"""Lesson 01, prices and where they come from (``notebooks/01_prices.ipynb``).

The functions the notebook's cells call: which prices one estimate used and how old they are,
what a discount or an override file does to it (:func:`costlib.whatif.compare.compare`), and the
lesson's charts and controls. The views that need only the price tables (age, history, changes,
the June 2025 GPU price cut, regions, Bedrock per-token prices, what is not in the tables, a
refresh preview) live in :mod:`costlib.tables.history` and are re-exported here, so the notebook
reads ``lesson.history(...)`` throughout.

Nothing here writes to the package's price tables: :func:`override_effect` writes its override
file into a folder the caller gives.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import altair as alt
import pandas as pd
from IPython.display import Markdown

from costlib.bill.estimate import Estimate, estimate
from costlib.bill.params import Params, load_params
from costlib.core.paths import DEFAULT_PARAMS, TESTS_DIR
from costlib.lessons import Lesson, charts, start, widgets
from costlib.tables.history import (  # noqa: F401  (re-exported: the notebook calls them here)
    BEDROCK_TOKEN_DIMENSIONS,
    CUT_FAMILIES,
    KNOWN_GAPS,
    LESSON_BEDROCK_MODELS,
    KnownGap,
    _table,
    age_days,
    age_summary,
    all_price_rows,
    bedrock_sources,
    bedrock_token_prices,
    bedrock_token_prices_wide,
    change_summary,
    genai_asof_summary,
    gpu_price_cut,
    history,
    not_in_tables,
    pct_change,
    price_changes,
    refresh_error,
    refresh_preview,
    region_comparison,
    rows_by_year,
    table_label,
    write_override_file,
)
from costlib.tables.price_schema import SERIES, TABLE_COLUMNS
from costlib.tables.prices import PriceBook, load_price_book
from costlib.whatif.compare import Comparison, compare

EXAMPLE_OFFER = TESTS_DIR / "fixtures" / "pricelist" / "amazonec2_us-east-1_us-west-2_excerpt.json"
"""The small AWS Price List excerpt committed for the tests, previewed by the lesson."""

BAD_OFFER = TESTS_DIR / "fixtures" / "pricelist" / "bad_offer_non_numeric_price.json"
"""A broken offer file (a non-numeric price), to show the one-line error."""

PIN_DAY = date(2025, 5, 1)
"""The day the override-file example pins prices to: before the June 2025 GPU price cut."""


# --------------------------------------------------------------------------------------------
# the price book of one params file


def book_for(params: Params, **update) -> PriceBook:
    """The price book a params file's estimate uses (its region, date, overrides, discounts).

    Keyword arguments update the ``prices:`` settings, e.g. ``as_of=date(2025, 5, 1)``.
    """
    settings = params.prices.model_copy(update={"region": params.region, **update})
    source = params.source_path
    base_dir = source.resolve().parent if source is not None else None
    return load_price_book(settings, base_dir=base_dir)


# --------------------------------------------------------------------------------------------
# provenance of one estimate


def used_prices(result: Estimate, max_age_days: int) -> pd.DataFrame:
    """The price rows an estimate used, with source, age and whether they are older than the limit.

    Parameters
    ----------
    result : Estimate
        From :func:`costlib.bill.estimate.estimate`.
    max_age_days : int
        The params file's ``prices.max_age_days`` [days].

    Returns
    -------
    pandas.DataFrame
        One row per price row used: service, name, dimension, region, usd, unit, as_of,
        age_days (on the date the prices are in force), older_than_limit, overridden, source;
        oldest first.
    """
    used = pd.DataFrame(result.prices.get("used", []))
    cols = ["service", "name", "dimension", "region", "usd", "unit", "as_of", "age_days",
            "older_than_limit", "overridden", "source"]
    if used.empty:
        return pd.DataFrame(columns=cols)
    on = date.fromisoformat(result.prices["in_force_on"])
    as_of = used["as_of"].map(date.fromisoformat)
    used = used.assign(as_of=as_of, age_days=age_days(list(as_of), on))
    used["older_than_limit"] = used["age_days"] > max_age_days
    return used[cols].sort_values(["as_of", "service", "name", "dimension"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# discounts and overrides


@dataclass(frozen=True)
class PriceEffect:
    """What a change to the ``prices:`` block does to an estimate.

    Attributes
    ----------
    totals : pandas.DataFrame
        Per option: monthly USD before and after, the change in USD and percent.
    overridden : pandas.DataFrame
        The used price rows the change touched: ``list_usd`` (the price the estimate used
        before the change), ``usd`` (the price after) and ``override`` (what changed it).
    comparison : Comparison
        Both estimates (:func:`costlib.whatif.compare.compare`).
    """

    totals: pd.DataFrame
    overridden: pd.DataFrame
    comparison: Comparison | None = None


def before_after(before: Estimate | Comparison, after: Estimate | None = None) -> pd.DataFrame:
    """Monthly totals of two estimates of the same options, side by side.

    Takes a :class:`costlib.whatif.compare.Comparison`, or the two estimates.

    Returns
    -------
    pandas.DataFrame
        option, kind, before_usd_per_month, after_usd_per_month, change_usd_per_month,
        change_pct [%].
    """
    comparison = before if after is None else Comparison(before, after)
    return comparison.totals().rename(columns={
        "before_usd": "before_usd_per_month", "after_usd": "after_usd_per_month",
        "change_usd": "change_usd_per_month"})


def _overridden(after: Estimate, before: Estimate) -> pd.DataFrame:
    """Overridden rows of ``after``; ``list_usd`` is the price the ``before`` estimate used."""
    cols = ["service", "name", "dimension", "region", "list_usd", "usd", "unit", "override", "as_of", "source"]
    rows = pd.DataFrame(after.prices.get("overridden", []))
    if rows.empty:
        return pd.DataFrame(columns=cols)
    used = pd.DataFrame(before.prices.get("used", []))
    if not used.empty:
        ref = used.drop_duplicates(list(SERIES)).set_index(list(SERIES))["usd"]
        rows["list_usd"] = [float(ref.get(tuple(k), rec)) for k, rec in
                            zip(rows[list(SERIES)].itertuples(index=False), rows["list_usd"], strict=True)]
    return rows[cols].reset_index(drop=True)


def example_discounts(result: Estimate, pct: float = 20.0,
                      services=("bedrock", "ec2", "sagemaker")) -> dict[str, float]:  # fmt: skip
    """An illustrative ``prices.discounts_pct``: ``pct`` off each of ``services`` the estimate used.

    The percentage is an input for the lesson, not a rate AWS publishes. When the estimate used
    none of ``services``, the first used service (alphabetically) gets it.
    """
    used = sorted({r["service"] for r in result.prices.get("used", [])})
    chosen = [s for s in services if s in used] or used[:1]
    return {s: float(pct) for s in chosen}


def discount_effect(params: Params, discounts_pct: dict[str, float]) -> PriceEffect:
    """Re-price ``params`` with ``prices.discounts_pct`` set to ``discounts_pct``.

    Parameters
    ----------
    params : Params
    discounts_pct : dict of str to float
        Service -> percent off [%] (an enterprise discount, a savings plan rate, a spot price).

    Returns
    -------
    PriceEffect
    """
    c = compare(params, {"prices.discounts_pct": dict(discounts_pct)})
    return PriceEffect(before_after(c), _overridden(c.after, c.before), c)


def pinned_rows(params: Params, on: date) -> pd.DataFrame:
    """Override rows that put back, for every price this estimate used, the row in force on ``on``.

    Only prices that differ on ``on`` from the params file's own date are returned. The rows keep
    their original source and as-of date; their effective window is cleared (an override row
    applies whatever the date). This is what a team would write to price with a contract signed
    on ``on``, or to reproduce a report from that day for a few prices only.

    Returns
    -------
    pandas.DataFrame
        Rows in the table format (``costlib.tables.prices.TABLE_COLUMNS``), ready for
        :func:`write_override_file`.
    """
    result = estimate(params)
    used = pd.DataFrame(result.prices.get("used", []))
    if used.empty:
        return pd.DataFrame(columns=list(TABLE_COLUMNS))
    then = book_for(params, as_of=on, overrides_file=None, discounts_pct={}).table()
    now = book_for(params, overrides_file=None, discounts_pct={}).table()
    then_key = then[list(SERIES)].apply(tuple, axis=1)
    now_key = now[list(SERIES)].apply(tuple, axis=1)
    picked = []
    for key in sorted(set(map(tuple, used[list(SERIES)].to_numpy()))):
        old, new = then[then_key == key], now[now_key == key]
        if old.empty:  # not priced yet on that day: nothing to pin
            continue
        if sorted(zip(old["tier_start"], old["usd"])) != sorted(zip(new["tier_start"], new["usd"])):
            picked.append(old)
    if not picked:
        return pd.DataFrame(columns=list(TABLE_COLUMNS))
    out = pd.concat(picked, ignore_index=True)
    out["effective_from"] = None
    out["effective_to"] = None
    out["notes"] = [f"price in force on {on.isoformat()}, pinned by an override file; {n}" for n in out["notes"]]
    return out[list(TABLE_COLUMNS)].reset_index(drop=True)


def override_effect(params: Params, rows: pd.DataFrame, workdir: Path | str,
                    filename: str = "overrides.csv") -> PriceEffect:  # fmt: skip
    """Re-price ``params`` with an override file holding ``rows`` (written into ``workdir``).

    Parameters
    ----------
    params : Params
    rows : DataFrame
        Override rows in the table format (e.g. from :func:`pinned_rows`).
    workdir : Path or str
        A folder of the caller's (e.g. a temporary one); never the package's tables.
    filename : str
        Name of the override file; the report shows it on every overridden price.

    Returns
    -------
    PriceEffect
    """
    path = write_override_file(rows, Path(workdir) / filename)
    c = compare(params, {"prices.overrides_file": str(path.resolve())})
    return PriceEffect(before_after(c), _overridden(c.after, c.before), c)


def params_bedrock_models(params: Params) -> list[str]:
    """Bedrock model ids the params file's options name (``model`` of managed and provisioned options)."""
    out = []
    for opt in params.options.values():
        model = getattr(opt, "model", None)
        if isinstance(model, str) and opt.kind in ("managed_api", "provisioned") and model not in out:
            out.append(model)
    return out


def lesson_bedrock_models(params: Params, prices) -> list[str]:
    """The lesson's model families plus the params file's Bedrock models that have per-token rows."""
    t = _table(prices)
    priced = set(t.loc[(t["service"] == "bedrock") & t["dimension"].isin(BEDROCK_TOKEN_DIMENSIONS), "name"])
    out = [m for m in LESSON_BEDROCK_MODELS if m in priced]
    out += [m for m in params_bedrock_models(params) if m in priced and m not in out]
    return out

# --------------------------------------------------------------------------------------------
# what the notebook's cells show


def price_settings(params: Params) -> pd.DataFrame:
    """The ``prices:`` block as the estimate reads it: setting and value, in words."""
    p = params.prices
    return pd.DataFrame({
        "setting": ["region", "as_of", "max_age_days", "overrides_file", "discounts_pct"],
        "value": [params.region,
                  str(p.as_of) if p.as_of else "not pinned: today (this report can change tomorrow)",
                  str(p.max_age_days), str(p.overrides_file or "none"),
                  str(dict(p.discounts_pct) or "none")],
    }).set_index("setting")


def used_prices_note(result: Estimate, used: pd.DataFrame, max_age_days: int) -> str:
    """One line: how many price rows were used, the oldest date, how many exceed the limit."""
    return (f"{len(used)} price rows used; oldest as of {result.prices['oldest_as_of']}; "
            f"{int(used['older_than_limit'].sum())} older than {max_age_days} days")


def region_note(comparison: pd.DataFrame, tolerance_pct: float = 0.001) -> str:
    """One line: how many names cost the same in both regions (within ``tolerance_pct`` [%])."""
    same = comparison["difference_pct"].abs() < tolerance_pct
    return (f"{int(same.sum())} of {len(comparison)} instances cost the same in both regions "
            f"(within {tolerance_pct:g} %)")


def pin_example(params: Params, on: date = PIN_DAY) -> tuple[Params, pd.DataFrame, str]:
    """The override-file example: ``(params, pinned rows, note)``.

    The rows pin, for each price the estimate used, the row in force on ``on``. When none of
    this estimate's prices differ on that day, the example uses ``params/default.yaml`` and the
    note says so.
    """
    pinned = pinned_rows(params, on)
    if not pinned.empty:
        return params, pinned, ""
    fallback = load_params(DEFAULT_PARAMS)
    return (fallback, pinned_rows(fallback, on),
            f"None of this estimate's prices differ on {on}; the example uses "
            "params/default.yaml instead.")


def override_example(params: Params, pinned: pd.DataFrame,
                     on: date = PIN_DAY) -> tuple[PriceEffect | None, str]:
    """Re-price with an override file of ``pinned`` rows, written to a temporary folder.

    Returns ``(effect, note)``; ``effect`` is ``None`` when there is nothing to override.
    """
    if pinned.empty:
        return None, f"No price of the example estimate differs on {on}: nothing to override."
    with tempfile.TemporaryDirectory() as folder:
        effect = override_effect(params, pinned, folder)
    note = "overridden: " + ", ".join(
        f"{r.service}/{r.name}/{r.dimension} {r.list_usd:g} -> {r.usd:g} ({r.override})"
        for r in effect.overridden.itertuples())
    return effect, note


def lesson_bedrock_prices(params: Params, book: PriceBook) -> pd.DataFrame:
    """Bedrock per-token prices of the lesson's models and the params file's (tidy)."""
    return bedrock_token_prices(book, lesson_bedrock_models(params, book))


def refresh_note(summary: dict) -> str:
    """One line summarising a refresh preview (:func:`refresh_preview`)."""
    return (f"offer published {summary['publication_date']}: {summary['matched']} table rows "
            f"matched, {summary['changed']} would change, {summary['confirmed']} confirmed; "
            f"{summary['unmatched_skus']} SKU(s) not mapped; would rewrite "
            f"{', '.join(summary['files'])}")


# --------------------------------------------------------------------------------------------
# charts and controls


def age_chart(book: PriceBook) -> alt.Chart:
    """How old are the tables? Rows in force per as-of year of their source, per table."""
    return charts.age_chart(rows_by_year(book))


def price_cut_chart(cut: pd.DataFrame) -> alt.Chart:
    """How much cheaper did the P4 and P5 instances get? (from :func:`gpu_price_cut`)."""
    return charts.price_cut_chart(cut)


def region_chart(comparison: pd.DataFrame, regions=("us-east-1", "us-west-2")) -> alt.Chart:
    """Do the GPU instances cost the same in both regions? (from :func:`region_comparison`)."""
    return charts.region_chart(comparison, regions)


def discount_chart(effect: PriceEffect) -> alt.Chart:
    """What does a discount do to each option's bill? Before and after, per option."""
    return charts.before_after_chart(effect.comparison.totals())


def bedrock_prices_chart(long: pd.DataFrame) -> alt.Chart:
    """What does Bedrock charge per million tokens, in and out, per model?"""
    return charts.bedrock_prices_chart(long)


def price_explorer(params: Params) -> widgets.PriceExplorer:
    """The "try it" controls: a discount per service and the day prices are in force."""
    return widgets.price_explorer(params)


# --------------------------------------------------------------------------------------------
# exercises


def answer_oldest_price(result: Estimate, used: pd.DataFrame) -> Markdown:
    """Exercise: the oldest price row the estimate used, its source and its age [days].

    ``used`` is :func:`used_prices` (oldest first); the age is ``prices.as_of - as_of``, counted
    on the day the prices are in force (``result.prices["in_force_on"]``).
    """
    if used.empty:
        return Markdown("This estimate used no price row.")
    first = used.iloc[0]
    same = used[used["as_of"] == first["as_of"]]
    others = (f" {len(same) - 1} other row(s) carry the same date." if len(same) > 1 else "")
    return Markdown(
        f"The oldest is **{first['service']} / {first['name']} / {first['dimension']}** "
        f"({first['usd']:g} {first['unit']}), as of **{first['as_of']}**: "
        f"{result.prices['in_force_on']} − {first['as_of']} = {int(first['age_days']):,} days old on "
        f"the day the prices are in force. Its source: {first['source']}.{others}")


def days_to_age_limit(used: pd.DataFrame, max_age_days: int) -> float:
    """Days until the next used price passes the age limit [days] (NaN when none is left).

    ``min(max_age_days - age_days)`` over the rows not yet older than the limit; the report's age
    warning then gains a line without anything in the repository changing, unless
    ``prices.as_of`` is pinned.
    """
    young = used[~used["older_than_limit"].astype(bool)]
    if young.empty:
        return float("nan")
    return float((max_age_days - young["age_days"]).min())


def answer_age_limit(used: pd.DataFrame, max_age_days: int) -> Markdown:
    """Exercise: how many used prices are past the age limit, and how soon the next one is."""
    old = int(used["older_than_limit"].sum())
    days = days_to_age_limit(used, max_age_days)
    text = f"{old} of the {len(used)} price rows used are older than {max_age_days} days."
    if days != days:
        return Markdown(text + " Every one is past the limit already.")
    young = used[~used["older_than_limit"].astype(bool)]
    nxt = young.loc[(max_age_days - young["age_days"]).idxmin()]
    return Markdown(
        text + f" The next to pass it is {nxt['service']} / {nxt['name']} / {nxt['dimension']} "
        f"(as of {nxt['as_of']}, {int(nxt['age_days']):,} days old): {max_age_days} − "
        f"{int(nxt['age_days']):,} = **{days:,.0f} days** after the day the prices are in force.")


def instance_services(params: Params) -> dict[str, str]:
    """The price-table service of each self-hosted option's instance (``ec2``, or ``sagemaker``
    for ``ml.`` instances), keyed by option name."""
    from costlib.bill.params import SelfHostedOption

    return {n: ("sagemaker" if o.instance.startswith("ml.") else "ec2")
            for n, o in params.options.items() if isinstance(o, SelfHostedOption)}


def answer_instance_discount(params: Params, result: Estimate, pct: float = 20.0) -> Markdown:
    """Exercise: ``pct`` off the instance prices only, and what it does to each option's total.

    Re-prices with ``prices.discounts_pct`` on the instances' services alone
    (:func:`instance_services`); the hand check is ``pct / 100 x`` the line items priced from
    those services (the instance-hours), since nothing else moves.
    """
    services = sorted(set(instance_services(params).values()))
    if not services:
        return Markdown("This params file has no self-hosted option: no instance to discount, "
                        "and no total changes.")
    effect = discount_effect(params, {s: float(pct) for s in services})
    t = effect.totals.set_index("option")
    lines = [f"With {pct:g} % off every {' and '.join(services)} price (the instance-hours):"]
    for o in result.options:
        if o.kind != "self_hosted":
            continue
        r = t.loc[o.name]
        hours = sum(li.monthly_usd for li in o.line_items if "instance-hours" in li.item)
        lines.append(
            f"- {o.name}: {r['before_usd_per_month']:,.0f} → **{r['after_usd_per_month']:,.0f} USD a "
            f"month**, {-r['change_usd_per_month']:,.0f} USD less ({r['change_pct']:+.1f} %): {pct:g} % of its "
            f"{hours:,.0f} USD of instance-hours.")
    after = effect.comparison.after.cheapest
    lines.append(f"\nThe cheapest option {'is still' if after == result.cheapest else 'becomes'} "
                 f"**{after}**" + ("." if after == result.cheapest else f" (it was {result.cheapest})."))
    return Markdown("\n".join(lines))


__all__ = [
    "Lesson", "start", "EXAMPLE_OFFER", "BAD_OFFER", "PIN_DAY", "book_for", "used_prices",
    "PriceEffect", "before_after", "example_discounts", "discount_effect", "pinned_rows",
    "override_effect", "params_bedrock_models", "lesson_bedrock_models", "price_settings",
    "used_prices_note", "region_note", "pin_example", "override_example",
    "lesson_bedrock_prices", "refresh_note", "age_chart", "price_cut_chart", "region_chart",
    "discount_chart", "bedrock_prices_chart", "price_explorer",
    "answer_oldest_price", "days_to_age_limit", "answer_age_limit", "instance_services",
    "answer_instance_discount",
    # views of the price tables, from costlib.tables.history
    "BEDROCK_TOKEN_DIMENSIONS", "CUT_FAMILIES", "KNOWN_GAPS", "LESSON_BEDROCK_MODELS",
    "KnownGap", "age_days", "age_summary", "all_price_rows", "bedrock_sources",
    "bedrock_token_prices", "bedrock_token_prices_wide", "change_summary", "genai_asof_summary",
    "gpu_price_cut", "history", "not_in_tables", "pct_change", "price_changes", "refresh_error",
    "refresh_preview", "region_comparison", "rows_by_year", "table_label", "write_override_file",
]
