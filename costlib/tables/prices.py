"""Price tables with provenance: one loader that checks every table, overrides, look-ups.

Every price the workbook uses is a row with its source and the date that source carries
(``as_of``). The rows come from two places:

* the tables in ``costlib/data/prices/*.csv`` (one file per service family), and
* the Amazon Bedrock per-token prices of the pinned ``genai-prices`` package (pydantic's
  offline price snapshot), imported at load time and mapped to Bedrock model ids. Their as-of
  dates come from ``costlib/data/prices/meta/genai_prices_asof.csv`` (see its notes).

A row of a table has the columns ``service, name, dimension, region, unit, usd, source, as_of,
notes`` and optionally ``tier_start, tier_end`` (graduated monthly tiers, in the quantity the unit
is priced per: GB for ``usd_per_gb``, millions of requests for ``usd_per_1m_requests`` ...; blank
means 0 / open) and ``effective_from, effective_to`` (the window in which a price is in force,
``effective_to`` exclusive; blank means open). A price that changed keeps its old row with a
closed window. The key of a row is (service, name, dimension, region, tier_start); two rows with
the same key must have windows that do not overlap.

A table row supersedes an imported genai-prices row for the same (service, name, dimension,
region): that is how a sourced correction (or a price genai-prices lacks) enters.

Look-ups never fall back to another region: an unknown service, name, dimension or region is a
:class:`~costlib.core.errors.CostlibError` naming the closest valid names.
"""

from __future__ import annotations

import csv
import math
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, field_validator

from costlib.core.names import unknown_name_message
from costlib.core.errors import CostlibError
from costlib.core.schema import Strict
from costlib.core.paths import EMBEDDINGS_CSV, PRICES_DIR
from costlib.tables.genai import _genai_cached
from costlib.tables.price_schema import (
    KEY,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SERIES,
    TABLE_COLUMNS,
    UNITS,
    _frame,
    _parse_date,
    _parse_number,
)

class PriceSettings(Strict):
    """The ``prices:`` block of a params file.

    Parameters
    ----------
    region : str
        AWS region every look-up uses; there is no fallback to another region.
    max_age_days : int
        A used price whose as-of date is more than this many days before ``as_of`` (default
        today) gets a warning line. 400 days: AWS list prices for these services move rarely
        (the last large move, the June 2025 P4/P5 cut, was the first GPU list-price change in
        years), so a price somewhat over a year old is worth a second look, not an alarm.
    overrides_file : str or None
        CSV of rows in the table format, relative to the params file; they replace the rows
        with the same (service, name, dimension, region), or add new names to a known service.
    discounts_pct : dict of str to float
        Percent off per service (enterprise discount, savings plan, spot), 0..100.
    as_of : date or None
        Which prices are in force (effective window); default today.
    """

    region: str = "us-east-1"
    max_age_days: int = Field(400, ge=0)
    overrides_file: str | None = None
    discounts_pct: dict[str, float] = Field(default_factory=dict)
    as_of: date | None = None

    @field_validator("discounts_pct")
    @classmethod
    def _pct_range(cls, value: dict[str, float]) -> dict[str, float]:
        for service, pct in value.items():
            if not (isinstance(pct, int | float) and math.isfinite(pct) and 0 <= pct <= 100):
                raise ValueError(f"discount for {service!r} must be a percentage 0..100, got {pct!r}")
        return value


def price_settings(block: dict | None, where: str = "params") -> PriceSettings:
    """Validate a params file's ``prices:`` block; a problem is a one-line :class:`CostlibError`."""
    try:
        return PriceSettings(**(block or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "prices"
        if err["type"] == "extra_forbidden":
            valid = ", ".join(PriceSettings.model_fields)
            raise CostlibError(f"{where}: unknown key prices.{loc}; valid keys: {valid}") from None
        raise CostlibError(f"{where}: prices.{loc}: {err['msg']}") from None


# --------------------------------------------------------------------------------------------
# reading and checking tables


def read_price_csv(path: Path | str, *, origin: str | None = None) -> pd.DataFrame:
    """Read and check one price table; every problem is a one-line :class:`CostlibError`.

    Checks: required columns present, no unknown columns, source and as_of set, as_of an ISO
    date, usd finite and non-negative, unit from :data:`UNITS`, tiers and windows well formed,
    no duplicate keys (see :func:`check_prices`).
    """
    path = Path(path)
    where = str(origin or path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            lines = list(csv.reader(f))
    except FileNotFoundError:
        raise CostlibError(f"price table {where} not found") from None
    header = [h.strip() for h in lines[0]] if lines else []
    records = [dict(zip(header, line, strict=False)) | ({None: line[len(header):]} if len(line) > len(header) else {})
               for line in lines[1:] if any(cell.strip() for cell in line)]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CostlibError(f"{where}: missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED_COLUMNS)}")
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise CostlibError(
            f"{where}: unknown column(s) {', '.join(unknown)}; valid: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
        )
    rows = []
    for lineno, rec in enumerate(records, start=2):
        at = f"{where} line {lineno}"
        if None in rec or len(rec) < len(header):
            raise CostlibError(f"{at}: wrong number of fields (header has {len(header)})")
        row = {c: (rec.get(c) or "").strip() for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}
        for c in ("service", "name", "dimension", "region", "unit", "source", "as_of"):
            if not row[c]:
                raise CostlibError(f"{at}: {c} is empty; every price needs a {c}")
        if row["unit"] not in UNITS:
            raise CostlibError(unknown_name_message("unit", row["unit"], UNITS, at))
        rows.append(
            {
                **row,
                "usd": _parse_number(row["usd"], at, "usd", blank=None),
                "tier_start": _parse_number(row["tier_start"], at, "tier_start", blank=0.0),
                "tier_end": _parse_number(row["tier_end"], at, "tier_end", blank=math.inf),
                "as_of": _parse_date(row["as_of"], at, "as_of"),
                "effective_from": _parse_date(row["effective_from"], at, "effective_from"),
                "effective_to": _parse_date(row["effective_to"], at, "effective_to"),
                "origin": where,
                "line": lineno,
            }
        )
        if rows[-1]["usd"] is None:
            raise CostlibError(f"{at}: usd is empty; every row needs a price")
    df = _frame(rows)
    check_prices(df)
    return df


def _window_text(start: date | None, end: date | None) -> str:
    return f"[{start or '...'}, {end or '...'})"


def check_prices(df: pd.DataFrame) -> None:
    """Check a tidy price frame; raise a one-line :class:`CostlibError` on the first problem.

    Rows need source and as_of; usd finite and >= 0; units known; ``effective_from <
    effective_to``; ``tier_start < tier_end``; rows with the same key (service, name, dimension,
    region, tier_start) must have non-overlapping windows; the tiers of one series in one window
    start at 0, join up and share one unit.
    """
    if df.empty:
        return
    for row in df.itertuples(index=False):
        at = f"{row.origin} line {row.line}" if row.line else str(row.origin)
        if not str(row.source).strip() or row.as_of is None or pd.isna(row.as_of):
            raise CostlibError(f"{at}: {row.service}/{row.name}/{row.dimension} has no source or as_of")
        if not (isinstance(row.usd, float | int) and math.isfinite(row.usd) and row.usd >= 0):
            raise CostlibError(f"{at}: usd must be finite and non-negative, got {row.usd!r}")
        if row.unit not in UNITS:
            raise CostlibError(unknown_name_message("unit", row.unit, UNITS, at))
        if row.effective_from and row.effective_to and not row.effective_from < row.effective_to:
            raise CostlibError(f"{at}: effective_from {row.effective_from} is not before effective_to {row.effective_to}")
        if not row.tier_start < row.tier_end:
            raise CostlibError(f"{at}: tier_start {row.tier_start:g} is not below tier_end {row.tier_end:g}")
    lo = df["effective_from"].map(lambda d: d or date.min)
    hi = df["effective_to"].map(lambda d: d or date.max)
    work = df.assign(win_lo=lo, win_hi=hi)
    for key, group in work.groupby(list(KEY), sort=False):
        if len(group) < 2:
            continue
        group = group.sort_values("win_lo")
        prev = None
        for row in group.itertuples(index=False):
            if prev is not None and row.win_lo < prev.win_hi:
                raise CostlibError(
                    f"duplicate price key {'/'.join(str(k) for k in key[:4])} tier {key[4]:g}: "
                    f"{prev.origin} line {prev.line} {_window_text(prev.effective_from, prev.effective_to)} "
                    f"overlaps {row.origin} line {row.line} {_window_text(row.effective_from, row.effective_to)}"
                )
            prev = row
    for key, group in work.groupby(list(SERIES) + ["win_lo", "win_hi"], sort=False):
        if len(group["unit"].unique()) > 1:
            raise CostlibError(f"{'/'.join(key[:4])}: tiers use different units {sorted(group['unit'].unique())}")
        if len(group) == 1 and group["tier_start"].iloc[0] == 0:
            continue
        group = group.sort_values("tier_start")
        starts, ends = group["tier_start"].to_numpy(), group["tier_end"].to_numpy()
        if starts[0] != 0 or np.any(ends[:-1] != starts[1:]):
            first = group.iloc[0]
            raise CostlibError(
                f"{first['origin']}: tiers of {'/'.join(key[:4])} must start at 0 and join up; "
                f"got starts {[f'{s:g}' for s in starts]} ends {[f'{e:g}' for e in ends]}"
            )


def table_files(tables_dir: Path | str | None = None) -> list[Path]:
    """The price table files: every ``*.csv`` directly in the tables directory, sorted."""
    return sorted(Path(tables_dir or PRICES_DIR).glob("*.csv"))


@lru_cache(maxsize=8)
def _load_tables_cached(signature: tuple) -> pd.DataFrame:
    frames = []
    for path, _, _ in signature:
        path = Path(path)
        origin = f"costlib/data/prices/{path.name}" if path.parent == PRICES_DIR else str(path)
        frames.append(read_price_csv(path, origin=origin))
    df = pd.concat(frames, ignore_index=True) if frames else _frame([])
    check_prices(df)
    return df


def load_tables(tables_dir: Path | str | None = None) -> pd.DataFrame:
    """Every row of every table (all windows), checked across files as well.

    Cached per (file, modification time, size), so a refreshed table is read again.
    """
    signature = tuple((str(p.resolve()), p.stat().st_mtime_ns, p.stat().st_size) for p in table_files(tables_dir))
    return _load_tables_cached(signature).copy()


# --------------------------------------------------------------------------------------------
# embeddings and instances


@lru_cache(maxsize=1)
def load_embedding_models() -> pd.DataFrame:
    """Output dimensions of the Bedrock embedding models (``meta/embedding_models.csv``)."""
    df = pd.read_csv(EMBEDDINGS_CSV, dtype=str, keep_default_na=False)
    need = ["model", "default_dims", "supported_dims", "source", "as_of", "notes"]
    if list(df.columns) != need:
        raise CostlibError(f"{EMBEDDINGS_CSV.name}: columns must be {', '.join(need)}")
    for row in df.itertuples(index=False):
        if not row.source or not row.as_of:
            raise CostlibError(f"{EMBEDDINGS_CSV.name}: {row.model} has no source or as_of")
        date.fromisoformat(row.as_of)
    return df


# --------------------------------------------------------------------------------------------
# the price book


def _in_force(df: pd.DataFrame, when: date) -> pd.Series:
    lo = df["effective_from"].map(lambda d: d is None or pd.isna(d) or d <= when)
    hi = df["effective_to"].map(lambda d: d is None or pd.isna(d) or when < d)
    return lo & hi


def _supersede(tables: pd.DataFrame, imported: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop imported rows whose (service, name, dimension, region) a table row also prices."""
    if imported.empty:
        return imported, []
    own = set(map(tuple, tables[list(SERIES)].to_numpy()))
    hit = imported[list(SERIES)].apply(tuple, axis=1).isin(own)
    notes = [f"{'/'.join(s)} from {o} superseded by the price tables" for s, o in
             zip(imported.loc[hit, list(SERIES)].apply(tuple, axis=1), imported.loc[hit, "origin"], strict=True)]
    return imported[~hit], sorted(set(notes))


def _apply_overrides(rows: pd.DataFrame, path: Path, where: str) -> pd.DataFrame:
    over = read_price_csv(path, origin=where)
    services = set(rows["service"])
    for svc in over["service"].unique():
        if svc not in services:
            raise CostlibError(unknown_name_message("service", svc, services, where))
    series = set(map(tuple, over[list(SERIES)].to_numpy()))
    keep = ~rows[list(SERIES)].apply(tuple, axis=1).isin(series)
    over = over.assign(overridden=True, override=f"override file {path.name}")
    # remember the list price each override replaces (NaN for a name the tables lack)
    replaced = rows[~keep]
    # the list price is the newest row of each replaced price (the open-ended window first)
    replaced = replaced.assign(_open=replaced["effective_to"].isna()).sort_values(
        "_open", ascending=False, kind="stable")
    listed = replaced.drop_duplicates(list(SERIES)).set_index(list(SERIES))["usd"]
    over["list_usd"] = [listed.get(tuple(k), float("nan"))
                        for k in over[list(SERIES)].itertuples(index=False)]
    out = pd.concat([rows[keep], over], ignore_index=True)
    check_prices(out)
    return out


class PriceBook:
    """The prices one report uses: a region, a date, overrides applied, look-ups recorded.

    Build it with :func:`load_price_book`. Every ``usd``, ``row`` and ``tiered_usd`` call records
    the rows it used, so a report can print where each figure came from (:meth:`used`), the
    oldest as-of date (:meth:`oldest_as_of_used`) and warnings for old prices
    (:meth:`stale_warnings`).
    """

    def __init__(self, rows: pd.DataFrame, settings: PriceSettings, *, skipped=(), superseded=(),
                 groups: dict | None = None):
        self.settings = settings
        self.region = settings.region
        self.as_of = settings.as_of or date.today()
        self.max_age_days = settings.max_age_days
        self.skipped = list(skipped)
        self.superseded = list(superseded)
        self._all = rows.reset_index(drop=True)
        self._force = self._all[_in_force(self._all, self.as_of)].reset_index(drop=True)
        self._used: dict[tuple, dict] = {}
        self._memo: dict[tuple, pd.DataFrame] = {}
        self._records: dict[int, list[dict]] = {}  # id of a memoised frame -> its rows as dicts
        self._groups = groups  # (service, name, dimension) -> rows, shared by cached books

    # -- selection -----------------------------------------------------------------------
    def _series(self, service: str, name: str, dimension: str) -> pd.DataFrame:
        """The rows in force for one (service, name, dimension) here; memoised per book."""
        key = (service, name, dimension)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._select(service, name, dimension)
        return hit

    def _select(self, service: str, name: str, dimension: str) -> pd.DataFrame:
        series = None if self._groups is None else self._groups.get((service, name, dimension))
        if series is not None:
            here = series[series["region"] == self.region]
            now = here[_in_force(here, self.as_of)] if not here.empty else here
            if not now.empty:
                return now.sort_values("tier_start")
        return self._select_slow(service, name, dimension)

    def _select_slow(self, service: str, name: str, dimension: str) -> pd.DataFrame:
        """The full search, with the one-line errors that name what is missing."""
        allrows = self._all
        if service not in set(allrows["service"]):
            raise CostlibError(unknown_name_message("service", service, allrows["service"]))
        svc = allrows[allrows["service"] == service]
        if name not in set(svc["name"]):
            raise CostlibError(unknown_name_message(f"{service} name", name, svc["name"]))
        named = svc[svc["name"] == name]
        if dimension not in set(named["dimension"]):
            raise CostlibError(unknown_name_message(f"{service} {name} dimension", dimension, named["dimension"]))
        series = named[named["dimension"] == dimension]
        here = series[series["region"] == self.region]
        if here.empty:
            regions = ", ".join(sorted(series["region"].unique()))
            raise CostlibError(
                f"no {service} price for {name} {dimension} in region {self.region!r}; regions with it: {regions}"
            )
        now = here[_in_force(here, self.as_of)]
        if now.empty:
            windows = ", ".join(
                _window_text(r.effective_from, r.effective_to) for r in here.drop_duplicates(
                    ["effective_from", "effective_to"]).itertuples()
            )
            raise CostlibError(
                f"no {service} price for {name} {dimension} ({self.region}) in force on {self.as_of}; "
                f"rows cover {windows}"
            )
        return now.sort_values("tier_start")

    def _record(self, rows: pd.DataFrame) -> list[dict]:
        """Remember the rows a look-up used; returns them as dicts (memoised per frame)."""
        records = self._records.get(id(rows))
        if records is None:
            records = self._records[id(rows)] = rows.to_dict("records")
        for rec in records:
            key = tuple(rec[k] for k in KEY) + (rec["effective_from"],)
            self._used[key] = rec
        return records

    # -- look-ups --------------------------------------------------------------------------
    def row(self, service: str, name: str, dimension: str) -> dict:
        """The price row in force (usd, unit, source, as_of, overridden ...); records the look-up.

        A tiered price has several rows: use :meth:`tiered_usd`.
        """
        rows = self._series(service, name, dimension)
        if len(rows) > 1:
            raise CostlibError(
                f"{service} {name} {dimension} ({self.region}) is tiered ({len(rows)} tiers); use tiered_usd"
            )
        return dict(self._record(rows)[0])

    def usd(self, service: str, name: str, dimension: str) -> float:
        """Price in USD per the row's unit; records the look-up."""
        return float(self.row(service, name, dimension)["usd"])

    def tiered_usd(self, service: str, name: str, dimension: str, quantity_per_month):
        """Total USD for a monthly quantity across graduated tiers (scalar or array-like).

        Each tier's rate applies to the part of the quantity inside that tier. The quantity is in
        the unit's quantity (:data:`UNITS`), e.g. GB for ``usd_per_gb``, millions of requests for
        ``usd_per_1m_requests``. A quantity beyond the last sourced tier is an error.
        """
        rows = self._series(service, name, dimension)
        self._record(rows)
        q = np.asarray(quantity_per_month, dtype=float)
        if np.any(~np.isfinite(q)) or np.any(q < 0):
            raise CostlibError(f"{service} {name} {dimension}: quantity must be finite and non-negative")
        top = rows["tier_end"].iloc[-1]
        if np.any(q > top):
            raise CostlibError(
                f"{service} {name} {dimension} ({self.region}): quantity {float(np.max(q)):g} exceeds the "
                f"sourced tiers (up to {top:g} {UNITS[rows['unit'].iloc[0]]} per month)"
            )
        total = np.zeros_like(q)
        for r in rows.itertuples(index=False):
            total = total + np.clip(q - r.tier_start, 0.0, r.tier_end - r.tier_start) * r.usd
        if isinstance(quantity_per_month, pd.Series):
            return pd.Series(total, index=quantity_per_month.index)
        return float(total) if total.ndim == 0 else total

    def has(self, service: str, name: str, dimension: str) -> bool:
        """Whether a price is in force for this book's region and date (no look-up recorded)."""
        f = self._force
        return bool(((f["service"] == service) & (f["name"] == name) & (f["dimension"] == dimension)
                     & (f["region"] == self.region)).any())  # fmt: skip

    def names(self, service: str) -> list[str]:
        """Names with a price in force in this book's region (e.g. every priced instance type)."""
        if service not in set(self._all["service"]):
            raise CostlibError(unknown_name_message("service", service, self._all["service"]))
        f = self._force
        return sorted(f.loc[(f["service"] == service) & (f["region"] == self.region), "name"].unique())

    def services(self) -> list[str]:
        return sorted(self._all["service"].unique())

    # -- tables and provenance ---------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        """Every row in force on the book's date, all regions, tidy."""
        return _tidy(self._force)

    def used(self) -> pd.DataFrame:
        """Rows looked up so far, with their overridden flag."""
        return _tidy(pd.DataFrame(list(self._used.values()), columns=self._all.columns))

    def oldest_as_of_used(self) -> date | None:
        used = self.used()
        return None if used.empty else min(used["as_of"])

    def stale_warnings(self) -> list[str]:
        """One line per used price whose as-of date is more than ``max_age_days`` old."""
        out = []
        used = self.used().drop_duplicates(["service", "name", "dimension", "region"])
        for r in used.itertuples(index=False):
            age = (self.as_of - r.as_of).days
            if age > self.max_age_days:
                out.append(
                    f"price {r.service}/{r.name}/{r.dimension} ({r.region}) is {age} days old "
                    f"(as of {r.as_of}; limit {self.max_age_days} days); source: {r.source}"
                )
        return out

    def overridden_used(self) -> pd.DataFrame:
        used = self.used()
        return used[used["overridden"]]

    def summary_lines(self) -> list[str]:
        """Provenance lines for a report: region, date, oldest as-of, overrides, warnings."""
        lines = [f"Prices: region {self.region}, in force on {self.as_of}."]
        oldest = self.oldest_as_of_used()
        if oldest is not None:
            lines.append(f"Oldest price used is as of {oldest} ({len(self._used)} price rows used).")
        for r in self.overridden_used().itertuples(index=False):
            lines.append(f"Overridden: {r.service}/{r.name}/{r.dimension} ({r.region}) = {r.usd:g} [{r.override}]")
        lines.extend(f"Warning: {w}" for w in self.stale_warnings())
        return lines


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    cols = list(TABLE_COLUMNS) + ["list_usd", "overridden", "override", "output_dims", "origin"]
    out = df.reindex(columns=cols).copy()
    out["overridden"] = out["overridden"].fillna(False).astype(bool)
    out["override"] = out["override"].fillna("")
    out["output_dims"] = out["output_dims"].fillna("")
    return out.sort_values(["service", "name", "dimension", "region", "tier_start"]).reset_index(drop=True)


def _apply_discounts(rows: pd.DataFrame, discounts: dict[str, float], where: str) -> pd.DataFrame:
    services = set(rows["service"])
    rows = rows.copy()
    for svc, pct in discounts.items():
        if svc not in services:
            raise CostlibError(unknown_name_message("service", svc, services, f"{where} prices.discounts_pct"))
        hit = rows["service"] == svc
        rows.loc[hit, "usd"] = rows.loc[hit, "usd"] * (1 - pct / 100.0)  # on top of an override
        rows.loc[hit, "overridden"] = True
        rows.loc[hit, "override"] = rows.loc[hit, "override"].map(
            lambda o, p=pct: f"{o}; {p:g}% discount" if o else f"{p:g}% discount"
        )
    return rows


def load_price_book(settings: PriceSettings | None = None, *, base_dir: Path | None = None,
                    tables_dir: Path | None = None, genai_import: bool = True) -> PriceBook:  # fmt: skip
    """Load, check and combine every price the workbook can use.

    Parameters
    ----------
    settings : PriceSettings, optional
        The params file's ``prices:`` block (defaults: us-east-1, today, no overrides).
    base_dir : Path, optional
        Folder of the params file; ``overrides_file`` is relative to it (default: cwd).
    tables_dir : Path, optional
        Folder of the price tables (default ``costlib/data/prices``); tests use a copy.
    genai_import : bool
        Add the Bedrock per-token rows of the installed genai-prices package (default). A
        fixture table that carries its own Bedrock rows passes False.

    Returns
    -------
    PriceBook
    """
    settings = settings or PriceSettings()
    override_path = None
    if settings.overrides_file:
        override_path = Path(settings.overrides_file)
        if not override_path.is_absolute():
            override_path = Path(base_dir or Path.cwd()) / override_path
    key = (
        tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in table_files(tables_dir)),
        _file_key(override_path),
        str(settings.overrides_file or ""),
        tuple(sorted(settings.discounts_pct.items())),
        settings.region,
        str(tables_dir or ""),
        genai_import,
    )
    rows, skipped, superseded, groups = _book_rows(key, tables_dir, override_path, settings,
                                                   genai_import)
    return PriceBook(rows, settings, skipped=skipped, superseded=superseded, groups=groups)


def _file_key(path: Path | None) -> tuple:
    """Identity of an overrides file for the cache: path, and mtime and size when it exists."""
    if path is None:
        return ()
    try:
        st = path.stat()
    except OSError:
        return (str(path), None)
    return (str(path), st.st_mtime_ns, st.st_size)


_BOOK_ROWS_CACHE: dict[tuple, tuple] = {}


def _book_rows(key: tuple, tables_dir, override_path: Path | None, settings: PriceSettings,
               genai_import: bool = True):
    """The validated rows of a price book, built once per distinct tables/overrides/discounts.

    Building them (importing genai-prices rows, overrides, discounts, checks) takes ~0.1 s;
    sweeps re-price the same params many times, so the result is cached by ``key`` (which
    includes the files' modification times, so an edited table or override file is re-read).
    """
    hit = _BOOK_ROWS_CACHE.get(key)
    if hit is None:
        rows, skipped, superseded = _build_book_rows(tables_dir, override_path, settings,
                                                     genai_import)
        rows = rows.reset_index(drop=True)
        groups = {k: g for k, g in rows.groupby(["service", "name", "dimension"], sort=False)}
        hit = (rows, skipped, superseded, groups)
        if len(_BOOK_ROWS_CACHE) > 16:
            _BOOK_ROWS_CACHE.clear()
        _BOOK_ROWS_CACHE[key] = hit
    rows, skipped, superseded, groups = hit
    return rows, list(skipped), list(superseded), groups


def _build_book_rows(tables_dir, override_path: Path | None, settings: PriceSettings,
                     genai_import: bool = True):
    tables = load_tables(tables_dir)
    imported, skipped = _genai_cached() if genai_import else (tables.iloc[0:0], ())
    imported, superseded = _supersede(tables, imported)
    rows = pd.concat([tables, imported], ignore_index=True) if not imported.empty else tables
    check_prices(rows)
    rows = rows.assign(overridden=False, override="", list_usd=rows["usd"])
    where = "params"
    if override_path is not None:
        rows = _apply_overrides(rows, override_path,
                                where=f"overrides file {settings.overrides_file}")
    rows["list_usd"] = rows["list_usd"].fillna(rows["usd"])
    rows = _apply_discounts(rows, settings.discounts_pct, where)
    emb = load_embedding_models()
    dims = dict(zip(emb["model"], emb["supported_dims"], strict=True))
    rows["output_dims"] = [dims.get(n, "") if s == "bedrock" else "" for s, n in zip(rows["service"], rows["name"], strict=True)]
    known_regions = set(rows["region"])
    if settings.region not in known_regions:
        raise CostlibError(unknown_name_message("region", settings.region, known_regions, "prices.region"))
    return rows, tuple(skipped), tuple(superseded)


def embedding_dims(model: str) -> dict:
    """Default and supported output dimensions of a Bedrock embedding model."""
    df = load_embedding_models()
    hit = df[df["model"] == model]
    if hit.empty:
        raise CostlibError(unknown_name_message("embedding model", model, df["model"]))
    rec = hit.iloc[0].to_dict()
    return {
        "model": model,
        "default_dims": int(rec["default_dims"]),
        "supported_dims": [int(x) for x in rec["supported_dims"].split(";")],
        "source": rec["source"],
        "as_of": date.fromisoformat(rec["as_of"]),
    }

