"""Pure views over the price tables: how old they are, what changed, how regions compare.

Each function answers one question a reader asks before believing a report, from the price
tables alone (no params file, no estimate): *how old are the tables; which prices changed (the
June 2025 P4/P5 cut) and when; what differs between regions; what Bedrock charges per token; what
is not in the tables at all; what a refresh from an AWS Price List offer file would change.* They
return small tidy tables; the lesson on prices (:mod:`costlib.lessons.prices`, notebook 01)
charts them.

Nothing here writes to the package's price tables: :func:`write_override_file` writes where the
caller says, and :func:`refresh_preview` runs the AWS Price List refresh with ``dry_run=True``.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from costlib.core.errors import CostlibError
from costlib.core.names import unknown_name_message
from costlib.core.paths import GENAI_ASOF_CSV, PROJ_ROOT
from costlib.tables.hardware import load_instances
from costlib.tables.price_schema import SERIES, TABLE_COLUMNS, _frame, decimal_text
from costlib.tables.prices import PriceBook, imported_rows, load_tables

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


def all_price_rows(tables_dir: Path | None = None) -> pd.DataFrame:
    """Every row of every window: the tables plus the imported genai-prices rows, before any date.

    A table row supersedes an imported row of the same (service, name, dimension, region), as in
    :func:`costlib.tables.prices.load_price_book`.
    """
    tables = load_tables(tables_dir)
    imported = _frame(imported_rows())
    own = set(map(tuple, tables[list(SERIES)].to_numpy()))
    keep = ~imported[list(SERIES)].apply(tuple, axis=1).isin(own) if not imported.empty else []
    return pd.concat([tables, imported[keep]], ignore_index=True) if len(imported) else tables


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
# override files


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


# --------------------------------------------------------------------------------------------
# Bedrock per-token prices


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


__all__ = [
    "CUT_FAMILIES", "BEDROCK_TOKEN_DIMENSIONS", "LESSON_BEDROCK_MODELS", "KNOWN_GAPS", "KnownGap",
    "age_days", "pct_change", "table_label", "all_price_rows", "rows_by_year", "age_summary",
    "genai_asof_summary", "bedrock_sources", "price_changes", "change_summary", "history",
    "gpu_price_cut", "region_comparison", "write_override_file", "bedrock_token_prices",
    "bedrock_token_prices_wide", "not_in_tables", "refresh_preview", "refresh_error",
]
