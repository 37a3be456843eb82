"""Views of the price tables for the lesson on prices and provenance (notebooks/01_prices.ipynb).

Each function returns a small tidy table answering one question a reader asks before believing
a report: *which prices did this estimate use, where do they come from and how old are they; how
old are the tables; which prices changed (the June 2025 P4/P5 cut); what differs between regions;
what a discount or an override file does; what Bedrock charges per token; what is not in the
tables at all.* The chart builders below turn those tables into Altair charts (lowercase axis
titles with units, a few dozen rows each).

Nothing here writes to the package's price tables: :func:`override_effect` writes its override
file into a folder the caller gives, and :func:`refresh_preview` runs the AWS Price List refresh
with ``dry_run=True``.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from costlib.core.names import unknown_name_message
from costlib.core.errors import CostlibError
from costlib.bill.estimate import Estimate, estimate
from costlib.bill.params import Params
from costlib.whatif.compare import Comparison, compare
from costlib.core.paths import PROJ_ROOT
from costlib.tables.prices import (
    GENAI_ASOF_CSV,
    SERIES,
    TABLE_COLUMNS,
    PriceBook,
    decimal_text,
    genai_bedrock_rows,
    load_instances,
    load_price_book,
    load_tables,
)

#: The instance families of the June 2025 EC2 P4/P5 on-demand price cut.
CUT_FAMILIES = ("p4d", "p4de", "p5", "p5en")

#: Bedrock per-token dimensions shown side by side, in this order.
BEDROCK_TOKEN_DIMENSIONS = ("input", "output", "cache_read", "cache_write", "batch_input", "batch_output")

#: A few model families, side by side in the lesson (Bedrock model ids).
LESSON_BEDROCK_MODELS = (
    "meta.llama3-1-8b-instruct-v1:0",
    "meta.llama3-1-70b-instruct-v1:0",
    "meta.llama3-1-405b-instruct-v1:0",
    "amazon.nova-micro-v1:0",
    "amazon.nova-lite-v1:0",
    "amazon.nova-pro-v1:0",
    "anthropic.claude-haiku-4-5-20251001-v1:0",
    "anthropic.claude-sonnet-4-5-20250929-v1:0",
)

_W, _H = 480, 260


# --------------------------------------------------------------------------------------------
# formulas


def age_days(as_of, on):
    """Age of a price on a given day.

    Parameters
    ----------
    as_of : date or array-like of date
        The date the price's source carries [date].
    on : date
        The day the prices are in force for (a report's ``prices.as_of``) [date].

    Returns
    -------
    int or numpy.ndarray
        Age [days].

    Notes
    -----
    ``age_days = on - as_of`` in whole days; negative when the source is dated after ``on``.

    References
    ----------
    The age warning of :meth:`costlib.tables.prices.PriceBook.stale_warnings`.

    Examples
    --------
    >>> age_days(date(2025, 4, 28), date(2026, 11, 27))
    578
    >>> age_days([date(2026, 11, 26), date(2024, 7, 1)], date(2026, 11, 27)).tolist()
    [1, 879]
    """
    days = (pd.Timestamp(on) - pd.to_datetime(pd.Series(np.atleast_1d(np.asarray(as_of, dtype=object))))).dt.days
    out = days.to_numpy(dtype=int)
    return int(out[0]) if np.ndim(as_of) == 0 else out


def pct_change(before, after):
    """Relative change of a price, in percent.

    Parameters
    ----------
    before : float or array-like
        Price before [USD per unit].
    after : float or array-like
        Price after, in the same unit [USD per unit].

    Returns
    -------
    float or numpy.ndarray
        Change [%]; negative for a cut.

    Notes
    -----
    ``pct_change = (after - before) / before * 100``.

    References
    ----------
    p5.48xlarge us-east-1 on demand, Karpenter price tables generated 2025-04-28 (98.32 USD/h)
    and 2025-06-23 (55.04 USD/h): ``(55.04 - 98.32) / 98.32 = -44.02 %``.

    Examples
    --------
    >>> round(pct_change(98.32, 55.04), 2)
    -44.02
    >>> pct_change(np.array([10.0, 4.0]), np.array([5.0, 5.0])).tolist()
    [-50.0, 25.0]
    """
    before = np.asarray(before, dtype=float)
    after = np.asarray(after, dtype=float)
    out = (after - before) / before * 100.0
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------------------------
# helpers


def _table(prices) -> pd.DataFrame:
    """The rows in force of a PriceBook, or a frame already in the table format."""
    if isinstance(prices, PriceBook):
        return prices.table()
    if isinstance(prices, pd.DataFrame):
        return prices
    raise TypeError(f"expected a PriceBook or a price table frame, got {type(prices).__name__}")


def table_label(origin: str) -> str:
    """Short name of where a row comes from: ``'ec2'`` for ``costlib/data/prices/ec2.csv``.

    >>> table_label("costlib/data/prices/network.csv"), table_label("genai-prices 0.2.3")
    ('network', 'bedrock (genai-prices)')
    """
    origin = str(origin)
    if origin.startswith("genai-prices"):
        return "bedrock (genai-prices)"
    if origin.startswith("overrides file"):
        return "override file"
    if origin.endswith(".csv"):
        return Path(origin).stem
    return origin


def book_for(params: Params, **update) -> PriceBook:
    """The price book a params file's estimate uses (its region, date, overrides, discounts).

    Keyword arguments update the ``prices:`` settings, e.g. ``as_of=date(2025, 5, 1)``.
    """
    settings = params.prices.model_copy(update={"region": params.region, **update})
    source = params.source_path
    base_dir = source.resolve().parent if source is not None else None
    return load_price_book(settings, base_dir=base_dir)


def all_price_rows(tables_dir: Path | None = None) -> pd.DataFrame:
    """Every row of every window: the tables plus the genai-prices import, before any date.

    A table row supersedes an imported row of the same (service, name, dimension, region), as in
    :func:`costlib.tables.prices.load_price_book`.
    """
    tables = load_tables(tables_dir)
    imported = genai_bedrock_rows()
    own = set(map(tuple, tables[list(SERIES)].to_numpy()))
    keep = ~imported[list(SERIES)].apply(tuple, axis=1).isin(own) if not imported.empty else []
    return pd.concat([tables, imported[keep]], ignore_index=True) if len(imported) else tables


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
# how old are the tables


def rows_by_year(prices) -> pd.DataFrame:
    """How many rows in force carry an as-of date in each year, per table.

    Parameters
    ----------
    prices : PriceBook or DataFrame
        A price book (its rows in force are counted) or a frame in the table format with an
        ``origin`` column.

    Returns
    -------
    pandas.DataFrame
        Columns ``table`` (``ec2``, ``network``, ``bedrock (genai-prices)`` ...), ``as_of_year``
        and ``rows``; tidy, sorted.
    """
    t = _table(prices)
    out = pd.DataFrame({
        "table": t["origin"].map(table_label),
        "as_of_year": [d.year for d in t["as_of"]],
    })
    out = out.groupby(["table", "as_of_year"], as_index=False).size().rename(columns={"size": "rows"})
    return out.sort_values(["as_of_year", "table"]).reset_index(drop=True)


def age_summary(prices, on: date, max_age_days: int) -> pd.DataFrame:
    """Per table: rows in force, oldest and newest as-of date, and how many are older than the limit.

    Parameters
    ----------
    prices : PriceBook or DataFrame
        The rows in force (see :func:`rows_by_year`).
    on : date
        The day the prices are in force for.
    max_age_days : int
        The age limit of the warning [days].

    Returns
    -------
    pandas.DataFrame
        Columns table, rows, oldest_as_of, newest_as_of, median_age_days, older_than_limit
        (rows), share_older_pct [%].
    """
    t = _table(prices)
    frame = pd.DataFrame({
        "table": t["origin"].map(table_label),
        "as_of": t["as_of"],
        "age_days": age_days(list(t["as_of"]), on),
    })
    frame["old"] = frame["age_days"] > max_age_days
    g = frame.groupby("table")
    out = pd.DataFrame({
        "rows": g.size(),
        "oldest_as_of": g["as_of"].min(),
        "newest_as_of": g["as_of"].max(),
        "median_age_days": g["age_days"].median(),
        "older_than_limit": g["old"].sum().astype(int),
    })
    out["share_older_pct"] = out["older_than_limit"] / out["rows"] * 100.0
    return out.reset_index().sort_values("oldest_as_of").reset_index(drop=True)


def genai_asof_summary() -> pd.DataFrame:
    """Where the as-of dates of the imported Bedrock prices come from (``meta/genai_prices_asof.csv``).

    Returns
    -------
    pandas.DataFrame
        Columns basis, prices, earliest_as_of, latest_as_of, source (the distinct sources).
    """
    df = pd.read_csv(GENAI_ASOF_CSV, dtype=str, keep_default_na=False)
    df["as_of"] = df["as_of"].map(date.fromisoformat)
    g = df.groupby("basis")
    out = pd.DataFrame({
        "prices": g.size(),
        "earliest_as_of": g["as_of"].min(),
        "latest_as_of": g["as_of"].max(),
        "source": g["source"].agg(lambda s: " ; ".join(sorted(set(s)))),
    })
    return out.reset_index().sort_values("earliest_as_of").reset_index(drop=True)


def bedrock_sources(prices) -> pd.DataFrame:
    """Bedrock rows in force by where they come from: the genai-prices import or ``bedrock.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns table, models, rows, dimensions (the distinct dimensions, comma-separated).
    """
    t = _table(prices)
    b = t[t["service"] == "bedrock"].assign(table=lambda d: d["origin"].map(table_label))
    g = b.groupby("table")
    out = pd.DataFrame({
        "models": g["name"].nunique(),
        "rows": g.size(),
        "dimensions": g["dimension"].agg(lambda s: ", ".join(sorted(set(s)))),
    })
    return out.reset_index()


# --------------------------------------------------------------------------------------------
# prices that changed


def price_changes(rows: pd.DataFrame | None = None, *, service: str | None = None,
                  region: str | None = None) -> pd.DataFrame:  # fmt: skip
    """Every price that changed: a row whose window closes where the next row of its series opens.

    Parameters
    ----------
    rows : DataFrame, optional
        Rows of every window in the table format (default :func:`all_price_rows`).
    service, region : str, optional
        Keep only this service / region.

    Returns
    -------
    pandas.DataFrame
        One row per change: service, name, dimension, region, unit, before_usd, before_as_of,
        changed_on (the ``effective_from`` of the new row), after_usd, after_as_of,
        change_pct [%] (negative for a cut), before_source, after_source.
    """
    rows = all_price_rows() if rows is None else rows
    if service is not None:
        rows = rows[rows["service"] == service]
    if region is not None:
        rows = rows[rows["region"] == region]
    key = list(SERIES) + ["tier_start"]
    r = rows.assign(_from=rows["effective_from"].map(lambda d: d or date.min))
    r = r.sort_values(key + ["_from"]).reset_index(drop=True)
    nxt = r.groupby(key, sort=False).shift(-1)
    hit = r["effective_to"].notna() & (nxt["effective_from"] == r["effective_to"])
    before, after = r[hit], nxt[hit]
    out = pd.DataFrame({
        "service": before["service"], "name": before["name"], "dimension": before["dimension"],
        "region": before["region"], "unit": before["unit"],
        "before_usd": before["usd"].astype(float), "before_as_of": before["as_of"],
        "changed_on": after["effective_from"],
        "after_usd": after["usd"].astype(float), "after_as_of": after["as_of"],
        "before_source": before["source"], "after_source": after["source"],
    })
    out.insert(9, "change_pct", pct_change(out["before_usd"].to_numpy(), out["after_usd"].to_numpy())
               if len(out) else pd.Series(dtype=float))
    return out.sort_values(["changed_on", "service", "name", "dimension"]).reset_index(drop=True)


def change_summary(changes: pd.DataFrame) -> pd.DataFrame:
    """One line per name and day from :func:`price_changes`: how many dimensions changed, by how much.

    Returns
    -------
    pandas.DataFrame
        service, name, region, changed_on, dimensions (count), min_change_pct, max_change_pct [%].
    """
    g = changes.groupby(["service", "name", "region", "changed_on"], sort=False)
    out = pd.DataFrame({
        "dimensions": g.size(),
        "min_change_pct": g["change_pct"].min(),
        "max_change_pct": g["change_pct"].max(),
    })
    return out.reset_index().sort_values(["changed_on", "service", "name"]).reset_index(drop=True)


def history(service: str, name: str, dimension: str, region: str | None = None,
            rows: pd.DataFrame | None = None) -> pd.DataFrame:  # fmt: skip
    """Every row (every window) of one price, oldest first: how the tables record a change.

    An unknown service, name or dimension is a :class:`CostlibError` naming the closest.
    """
    rows = all_price_rows() if rows is None else rows
    for what, col, value, pool in (("service", "service", service, rows),
                                   ("name", "name", name, rows[rows["service"] == service]),
                                   ("dimension", "dimension", dimension,
                                    rows[(rows["service"] == service) & (rows["name"] == name)])):
        if value not in set(pool[col]):
            raise CostlibError(unknown_name_message(what, value, pool[col]))
    sel = rows[(rows["service"] == service) & (rows["name"] == name) & (rows["dimension"] == dimension)]
    if region is not None:
        sel = sel[sel["region"] == region]
    cols = ["service", "name", "dimension", "region", "unit", "usd", "effective_from", "effective_to",
            "as_of", "source"]
    sel = sel.assign(_from=sel["effective_from"].map(lambda d: d or date.min))
    return sel.sort_values(["region", "tier_start", "_from"])[cols].reset_index(drop=True)


def gpu_price_cut(rows: pd.DataFrame | None = None, region: str = "us-east-1",
                  families=CUT_FAMILIES) -> pd.DataFrame:  # fmt: skip
    """The June 2025 EC2 P4/P5 on-demand price cut: before and after, both dates, percent cut.

    Parameters
    ----------
    rows : DataFrame, optional
        Rows of every window (default: the price tables, :func:`costlib.tables.prices.load_tables`).
    region : str
        The region whose EC2 on-demand rows are compared.
    families : tuple of str
        Instance families to keep (``p4d.24xlarge`` is family ``p4d``).

    Returns
    -------
    pandas.DataFrame
        instance, before_usd_per_hour, before_as_of, changed_on, after_usd_per_hour, after_as_of,
        cut_pct [%] (positive: how much cheaper), before_source, after_source.

    Notes
    -----
    ``cut_pct = (before - after) / before * 100 = -pct_change(before, after)``.

    References
    ----------
    Karpenter's generated EC2 price tables (``pkg/providers/pricing/zz_generated.pricing_aws.go``),
    as cited row by row in ``costlib/data/prices/ec2.csv``.
    """
    rows = load_tables() if rows is None else rows
    ch = price_changes(rows, service="ec2", region=region)
    ch = ch[(ch["dimension"] == "on_demand") & ch["name"].str.split(".").str[0].isin(list(families))]
    out = pd.DataFrame({
        "instance": ch["name"],
        "before_usd_per_hour": ch["before_usd"], "before_as_of": ch["before_as_of"],
        "changed_on": ch["changed_on"],
        "after_usd_per_hour": ch["after_usd"], "after_as_of": ch["after_as_of"],
        "cut_pct": -ch["change_pct"],
        "before_source": ch["before_source"], "after_source": ch["after_source"],
    })
    return out.sort_values("instance").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# regions


def region_comparison(prices, regions=("us-east-1", "us-west-2"), service: str = "ec2",
                      dimension: str = "on_demand") -> pd.DataFrame:  # fmt: skip
    """Prices of the names priced in every one of ``regions``, side by side.

    Parameters
    ----------
    prices : PriceBook or DataFrame
        Rows in force (all regions: :meth:`costlib.tables.prices.PriceBook.table`).
    regions : sequence of str
        Two or more regions; the first is the reference.
    service, dimension : str
        What to compare (default EC2 on-demand per hour).

    Returns
    -------
    pandas.DataFrame
        name, unit, then ``usd_<region>`` and ``as_of_<region>`` per region, and
        ``difference_pct`` [%] of the second region against the first.
    """
    t = _table(prices)
    regions = list(regions)
    known = set(t["region"])
    for r in regions:
        if r not in known:
            raise CostlibError(unknown_name_message("region", r, known))
    sel = t[(t["service"] == service) & (t["dimension"] == dimension) & (t["tier_start"] == 0)
            & t["region"].isin(regions)]  # fmt: skip
    usd = sel.pivot(index="name", columns="region", values="usd")
    as_of = sel.pivot(index="name", columns="region", values="as_of")
    both = usd.dropna().index.intersection(as_of.dropna().index) if set(regions) <= set(usd.columns) else []
    units = sel.drop_duplicates("name").set_index("name")["unit"]
    out = pd.DataFrame({"name": list(both)})
    out["unit"] = [units[n] for n in out["name"]]
    for r in regions:
        out[f"usd_{r}"] = [float(usd.loc[n, r]) for n in out["name"]]
        out[f"as_of_{r}"] = [as_of.loc[n, r] for n in out["name"]]
    if len(regions) >= 2 and len(out):
        out["difference_pct"] = pct_change(out[f"usd_{regions[0]}"].to_numpy(), out[f"usd_{regions[1]}"].to_numpy())
    else:
        out["difference_pct"] = pd.Series(dtype=float)
    return out.sort_values(f"usd_{regions[0]}").reset_index(drop=True)


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
    """

    totals: pd.DataFrame
    overridden: pd.DataFrame


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
    return PriceEffect(before_after(c), _overridden(c.after, c.before))


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


def write_override_file(rows: pd.DataFrame, path: Path | str) -> Path:
    """Write override rows (table format) to a CSV an override file can point at.

    Blank ``tier_start`` means 0 and blank ``tier_end`` means open, as in the tables.
    """
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(TABLE_COLUMNS)
        for rec in rows[list(TABLE_COLUMNS)].to_dict("records"):
            cells = []
            for c in TABLE_COLUMNS:
                v = rec[c]
                if c == "tier_start" and (v is None or v == 0):
                    v = ""
                elif c == "tier_end" and (v is None or (isinstance(v, float) and math.isinf(v))):
                    v = ""
                elif c in ("usd", "tier_start", "tier_end"):
                    v = decimal_text(v)
                elif isinstance(v, date):
                    v = v.isoformat()
                elif v is None or (isinstance(v, float) and math.isnan(v)):
                    v = ""
                cells.append(v)
            w.writerow(cells)
    return path


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
    return PriceEffect(before_after(c), _overridden(c.after, c.before))


# --------------------------------------------------------------------------------------------
# Bedrock per-token prices


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


def bedrock_token_prices(prices, models=LESSON_BEDROCK_MODELS, region: str = "us-east-1") -> pd.DataFrame:
    """Bedrock per-token prices of some models, tidy: one price per row with source and as-of.

    Parameters
    ----------
    prices : PriceBook or DataFrame
        Rows in force.
    models : sequence of str
        Bedrock model ids; an unknown one is a :class:`CostlibError` naming the closest.
    region : str

    Returns
    -------
    pandas.DataFrame
        model, dimension (one of :data:`BEDROCK_TOKEN_DIMENSIONS`), usd_per_1m_tokens, as_of,
        table, source.
    """
    t = _table(prices)
    b = t[(t["service"] == "bedrock") & (t["region"] == region) & (t["tier_start"] == 0)]
    names = set(b["name"])
    for m in models:
        if m not in names:
            raise CostlibError(unknown_name_message(f"Bedrock model (region {region})", m, names))
    sel = b[b["name"].isin(list(models)) & b["dimension"].isin(BEDROCK_TOKEN_DIMENSIONS)]
    out = pd.DataFrame({
        "model": sel["name"], "dimension": sel["dimension"], "usd_per_1m_tokens": sel["usd"].astype(float),
        "as_of": sel["as_of"], "table": sel["origin"].map(table_label), "source": sel["source"],
    })
    order = {m: i for i, m in enumerate(models)}
    dims = {d: i for i, d in enumerate(BEDROCK_TOKEN_DIMENSIONS)}
    out = out.assign(_m=out["model"].map(order), _d=out["dimension"].map(dims))
    return out.sort_values(["_m", "_d"]).drop(columns=["_m", "_d"]).reset_index(drop=True)


def bedrock_token_prices_wide(long: pd.DataFrame, missing=None) -> pd.DataFrame:
    """One row per model, one column per dimension [USD per 1M tokens], and the oldest as-of date.

    ``missing`` replaces the cells with no sourced price (default NaN).
    """
    models = list(dict.fromkeys(long["model"]))
    wide = long.pivot(index="model", columns="dimension", values="usd_per_1m_tokens")
    wide = wide.reindex(index=models, columns=list(BEDROCK_TOKEN_DIMENSIONS))
    wide.columns.name = None
    wide["oldest_as_of"] = long.groupby("model")["as_of"].min().reindex(models)
    if missing is not None:
        wide = wide.astype(object).where(wide.notna(), missing)
    return wide.reset_index()


# --------------------------------------------------------------------------------------------
# what is not in the tables


@dataclass(frozen=True)
class KnownGap:
    """A figure looked for and not found in a dated source.

    ``probe`` is (service, name regex, dimension regex): once a row in force matches it, the gap
    is closed and no longer listed. ``None`` is a gap no table row can close.
    """

    item: str
    why: str
    probe: tuple[str, str, str] | None = None


#: Figures the prices engineer looked for and did not find (their notes and the CSV notes).
KNOWN_GAPS = (
    KnownGap("Bedrock provisioned throughput for current models (Claude 3.5 and later, Llama 3.x, Nova)",
             "AWS gives model-unit prices in the console or through the account team; stored copies of "
             "the pricing page carry no numbers (only legacy Titan, Claude v2 / Instant rows are sourced)",
             ("bedrock", r"^(anthropic\.claude-(3-5|3-7|sonnet|haiku|opus)|meta\.llama3|amazon\.nova)", r"^pt_")),
    KnownGap("SageMaker hosting for ml.g6.xlarge and ml.g6e sizes",
             "only unattributed third-party figures were found", ("sagemaker", r"^ml\.(g6e\.|g6\.xlarge$)", r"^on_demand$")),
    KnownGap("Bedrock batch prices for the Claude 4.5 models",
             "no dated source gives them (Sonnet 4.6 batch is sourced)",
             ("bedrock", r"claude-(sonnet|haiku|opus)-4-5", r"^batch_")),
    KnownGap("Nova prompt-cache write prices", "the dated transcription gives cache reads only",
             ("bedrock", r"^amazon\.nova", r"^cache_write")),
    KnownGap("OpenSearch Serverless NextGen OCU-hour (GA 2026-05-28)", "launch posts give no price",
             ("opensearch_serverless", r"next", r".")),
    KnownGap("GPU-specific Savings Plan and Reserved Instance rates",
             "only undated 'up to 66% / 72%' headlines; put your own rate in prices.discounts_pct"),
    KnownGap("The exact effective date of the June 2025 P4/P5 cut",
             "the AWS announcement was not found; the tables date the new prices from the first "
             "Karpenter price table that shows them"),
)


def not_in_tables(book: PriceBook, *, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """What a report cannot price, and why: computed gaps first, then the known unsourced figures.

    Computed from the tables: instances whose hardware is known (``instances.csv``) but that have
    no EC2 on-demand price in force in the book's region; series whose every row ended before the
    book's date (a price known to have changed, with no sourced new price). Then the
    :data:`KNOWN_GAPS` no row in force has closed yet.

    Parameters
    ----------
    book : PriceBook
    rows : DataFrame, optional
        Rows of every window (default :func:`all_price_rows`).

    Returns
    -------
    pandas.DataFrame
        Columns item, region, why, found_by.
    """
    t = book.table()
    rows = all_price_rows() if rows is None else rows
    out = []
    ec2_here = set(t.loc[(t["service"] == "ec2") & (t["dimension"] == "on_demand") & (t["region"] == book.region), "name"])
    for inst in load_instances()["instance"]:
        if inst not in ec2_here:
            out.append({"item": f"EC2 {inst} on demand", "region": book.region,
                        "why": "hardware is known, no on-demand price in a dated source",
                        "found_by": "instances.csv without an ec2 row"})
    in_force = set(map(tuple, t[list(SERIES)].to_numpy()))
    ended = rows[~rows[list(SERIES)].apply(tuple, axis=1).isin(in_force)]
    ended = ended[ended["effective_to"].notna()]
    if not ended.empty:
        last = ended.groupby(list(SERIES), as_index=False)["effective_to"].max()
        for r in last.itertuples(index=False):
            if r.effective_to <= book.as_of:
                out.append({"item": f"{r.service} {r.name} {r.dimension}", "region": r.region,
                            "why": f"the sourced price ended on {r.effective_to.isoformat()} "
                                   f"(a price change); no newer price was sourced",
                            "found_by": "rows whose window closed"})
    for gap in KNOWN_GAPS:
        if gap.probe is not None:
            svc, name_re, dim_re = gap.probe
            hit = t[(t["service"] == svc) & t["name"].map(lambda n, p=name_re: re.search(p, n) is not None)
                    & t["dimension"].map(lambda d, p=dim_re: re.search(p, d) is not None)]  # fmt: skip
            if not hit.empty:
                continue
        out.append({"item": gap.item, "region": "", "why": gap.why, "found_by": "prices engineer's notes"})
    return pd.DataFrame(out, columns=["item", "region", "why", "found_by"])


# --------------------------------------------------------------------------------------------
# refresh from an AWS Price List offer file, without writing


def _relative(text: str) -> str:
    return str(text).replace(str(PROJ_ROOT) + "/", "")


def refresh_preview(offer) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """What ``costlib prices refresh --offer FILE --dry-run`` would do, as tables; writes nothing.

    Parameters
    ----------
    offer : str, Path or dict
        An AWS Price List bulk offer file (a committed fixture in the lesson).

    Returns
    -------
    parsed : pandas.DataFrame
        The offer's prices in our format: service, name, dimension, region, unit, usd, as_of.
    changes : pandas.DataFrame
        One line per matched table row: ``change``.
    summary : dict
        publication_date, matched, changed, confirmed, not_in_tables, unmatched_skus, files
        (table file names that a real refresh would rewrite).
    """
    from costlib.tables.pricelist import parse_offer, refresh

    parsed = parse_offer(offer)
    summary = refresh(offer, dry_run=True)
    summary = {**summary, "files": [Path(f).name for f in summary["files"]]}
    changes = pd.DataFrame({"change": summary.pop("changes")})
    cols = ["service", "name", "dimension", "region", "unit", "usd", "as_of"]
    return parsed[cols].reset_index(drop=True), changes, summary


def refresh_error(offer) -> str:
    """The one-line error a bad offer file gives (paths shown relative to the project)."""
    try:
        refresh_preview(offer)
    except CostlibError as exc:
        return _relative(exc.message)
    return ""


# --------------------------------------------------------------------------------------------
# charts


def age_chart(by_year: pd.DataFrame) -> alt.Chart:
    """Stacked bars: rows in force per as-of year, split by table (from :func:`rows_by_year`)."""
    return (
        alt.Chart(by_year)
        .mark_bar()
        .encode(
            x=alt.X("as_of_year:O", title="as-of year of the source"),
            y=alt.Y("sum(rows):Q", title="price rows (count)"),
            color=alt.Color("table:N", title="table"),
            tooltip=["table", "as_of_year", "rows"],
        )
        .properties(width=_W, height=_H)
    )


def price_cut_chart(cut: pd.DataFrame) -> alt.Chart:
    """Bars: on-demand USD per hour before and after the cut, per instance (from :func:`gpu_price_cut`)."""
    data = pd.concat([
        pd.DataFrame({"instance": cut["instance"], "period": "before the cut",
                      "usd_per_hour": cut["before_usd_per_hour"], "cut_pct": cut["cut_pct"]}),
        pd.DataFrame({"instance": cut["instance"], "period": "after the cut",
                      "usd_per_hour": cut["after_usd_per_hour"], "cut_pct": cut["cut_pct"]}),
    ], ignore_index=True)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("instance:N", title=None, sort=list(cut["instance"])),
            yOffset=alt.YOffset("period:N", sort=["before the cut", "after the cut"]),
            x=alt.X("usd_per_hour:Q", title="on-demand price (usd per instance-hour)"),
            color=alt.Color("period:N", title="period", sort=["before the cut", "after the cut"]),
            tooltip=["instance", "period", alt.Tooltip("usd_per_hour:Q", format=",.4f"),
                     alt.Tooltip("cut_pct:Q", format=".2f", title="cut (%)")],
        )
        .properties(width=_W, height=max(120, 44 * len(cut)))
    )


def region_chart(comparison: pd.DataFrame, regions=("us-east-1", "us-west-2")) -> alt.Chart:
    """Points: the price of each name in each region, one row per region (from :func:`region_comparison`)."""
    data = pd.concat(
        [pd.DataFrame({"name": comparison["name"], "region": r, "usd": comparison[f"usd_{r}"]}) for r in regions],
        ignore_index=True,
    )
    return (
        alt.Chart(data)
        .mark_point(filled=True, size=70)
        .encode(
            y=alt.Y("name:N", title=None, sort=list(comparison["name"])),
            yOffset=alt.YOffset("region:N", sort=list(regions)),
            x=alt.X("usd:Q", title="on-demand price (usd per instance-hour, log scale)",
                    scale=alt.Scale(type="log")),
            color=alt.Color("region:N", title="region", sort=list(regions)),
            tooltip=["name", "region", alt.Tooltip("usd:Q", format=",.5f")],
        )
        .properties(width=_W, height=max(120, 24 * len(comparison)))
    )


def before_after_chart(totals: pd.DataFrame) -> alt.Chart:
    """Bars: monthly USD of each option before and after a price change (from :func:`before_after`)."""
    data = pd.concat([
        pd.DataFrame({"option": totals["option"], "case": "before", "usd_per_month": totals["before_usd_per_month"]}),
        pd.DataFrame({"option": totals["option"], "case": "after", "usd_per_month": totals["after_usd_per_month"]}),
    ], ignore_index=True)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("option:N", title=None),
            yOffset=alt.YOffset("case:N", sort=["before", "after"]),
            x=alt.X("usd_per_month:Q", title="monthly cost (usd)"),
            color=alt.Color("case:N", title="prices", sort=["before", "after"]),
            tooltip=["option", "case", alt.Tooltip("usd_per_month:Q", format=",.0f")],
        )
        .properties(width=_W, height=max(100, 44 * len(totals)))
    )


def bedrock_prices_chart(long: pd.DataFrame, dimensions=("input", "output")) -> alt.Chart:
    """Points: USD per 1M tokens per model and dimension, log scale (from :func:`bedrock_token_prices`)."""
    data = long[long["dimension"].isin(list(dimensions))]
    data = data.assign(as_of=data["as_of"].map(str))[["model", "dimension", "usd_per_1m_tokens", "as_of"]]
    return (
        alt.Chart(data)
        .mark_point(filled=True, size=80)
        .encode(
            y=alt.Y("model:N", title=None, sort=list(dict.fromkeys(long["model"])), axis=alt.Axis(labelLimit=320)),
            yOffset=alt.YOffset("dimension:N", sort=list(dimensions)),
            x=alt.X("usd_per_1m_tokens:Q", title="price (usd per 1m tokens, log scale)",
                    scale=alt.Scale(type="log")),
            color=alt.Color("dimension:N", title="tokens", sort=list(dimensions)),
            tooltip=["model", "dimension", alt.Tooltip("usd_per_1m_tokens:Q", format=",.4f"), "as_of"],
        )
        .properties(width=_W, height=max(120, 30 * data["model"].nunique()))
    )


# --------------------------------------------------------------------------------------------
# try it


@dataclass
class PriceExplorer:
    """Discount sliders and a date choice bound to one params file, and the totals they give."""

    params: Params
    controls: dict
    output: object
    box: object
    totals: pd.DataFrame
    base: Estimate | None = None

    def recompute(self, *_):
        discounts = {svc: float(ctl.value) for svc, ctl in self.controls.items() if svc != "as_of"}
        overrides = {"prices.discounts_pct": {k: v for k, v in discounts.items() if v > 0}}
        if "as_of" in self.controls:
            overrides["prices.as_of"] = self.controls["as_of"].value
        try:
            c = compare(self.params, overrides, before=self.base)
        except CostlibError as exc:
            self.output.value = f"<b>cannot price this:</b> {exc.message}"
            return
        self.base = c.before
        self.totals = before_after(c)
        self.output.value = _totals_html(self.totals)


def _totals_html(totals: pd.DataFrame) -> str:
    body = "".join(
        f"<tr><td>{r.option}</td><td style='text-align:right'>{r.before_usd_per_month:,.0f}</td>"
        f"<td style='text-align:right'>{r.after_usd_per_month:,.0f}</td>"
        f"<td style='text-align:right'>{r.change_pct:+.1f}</td></tr>"
        for r in totals.itertuples(index=False)
    )
    return ("<table><thead><tr><th>option</th><th>usd per month, list</th><th>usd per month, yours</th>"
            f"<th>change (%)</th></tr></thead><tbody>{body}</tbody></table>")


def price_explorer(params: Params, services=("bedrock", "ec2", "sagemaker")) -> PriceExplorer:
    """A discount slider per service the estimate uses (of ``services``) and a price-date choice.

    The date choice offers the params file's date and the days a used price changed; every
    change re-prices all options with :func:`costlib.bill.estimate.estimate`.
    """
    import ipywidgets as widgets

    result = estimate(params)
    used = pd.DataFrame(result.prices.get("used", []))
    used_services = sorted(set(used["service"])) if not used.empty else []
    chosen = [s for s in services if s in used_services] or used_services[:3]
    controls: dict = {
        svc: widgets.FloatSlider(value=0.0, min=0.0, max=90.0, step=5.0, description=f"{svc} % off",
                                 continuous_update=False, style={"description_width": "initial"})
        for svc in chosen
    }
    on = date.fromisoformat(result.prices["in_force_on"]) if result.prices.get("in_force_on") else None
    if on is not None and not used.empty:
        keys = set(map(tuple, used[list(SERIES)].to_numpy()))
        ch = price_changes()
        ch = ch[ch[list(SERIES)].apply(tuple, axis=1).isin(keys)]
        days = sorted({d for d in ch["changed_on"] if d <= on})
        # the day before each change shows the old price; the change day the new one
        options = sorted({on, *days, *[d - timedelta(days=1) for d in days]})
        controls["as_of"] = widgets.SelectionSlider(
            options=[(d.isoformat(), d) for d in options], value=on, description="prices on",
            continuous_update=False, style={"description_width": "initial"})
    output = widgets.HTML()
    explorer = PriceExplorer(params, controls, output, widgets.VBox(), before_after(result, result), result)
    output.value = _totals_html(explorer.totals)
    for ctl in controls.values():
        ctl.observe(explorer.recompute, names="value")
    explorer.box = widgets.VBox([*controls.values(), output])
    return explorer
