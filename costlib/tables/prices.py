"""Price tables with provenance: one loader that checks every table, overrides, look-ups.

Every price the workbook uses is a row with its source and the date that source carries
(``as_of``). The rows come from two places:

* the tables in ``costlib/data/prices/*.csv`` (one file per service family), and
* the Amazon Bedrock per-token prices of the pinned ``genai-prices`` package (pydantic's
  offline price snapshot), mapped to Bedrock model ids and written at refresh time to
  ``costlib/data/prices/imported/bedrock_genai_prices.csv`` (:mod:`costlib.tables.genai`).
  Their as-of dates come from ``costlib/data/prices/meta/genai_prices_asof.csv``.

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

Reading and checking every table takes about 0.3 s, so the checked, merged rows are kept in the
on-disk cache (:mod:`costlib.core.cache`) under a key holding the content of every table file,
the code of this module and the versions of costlib and genai-prices: a changed table is read
and checked again, an unchanged one is not. Rows are plain dicts and the look-ups index them by
(service, name, dimension, region), so pricing a report imports no pandas; :meth:`PriceBook.
table` and :meth:`PriceBook.used` build pandas frames, for the lessons and ``costlib prices``.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, ValidationError, field_validator

from costlib.core import cache
from costlib.core.names import unknown_name_message
from costlib.core.errors import CostlibError
from costlib.core.inputs import TABLE_MAX_BYTES, read_user_text
from costlib.core.schema import Strict
from costlib.core.paths import EMBEDDINGS_CSV, GENAI_BEDROCK_CSV, PRICES_DIR
from costlib.tables.genai import GENAI_PRICES_VERSION, bedrock_table_origin
from costlib.tables.price_schema import (
    KEY,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    ROW_COLUMNS,
    SERIES,
    TABLE_COLUMNS,
    UNITS,
    _frame,
    _parse_date,
    _parse_number,
)

if TYPE_CHECKING:  # pragma: no cover - types only
    import pandas as pd

BOOK_COLUMNS = ROW_COLUMNS + ("overridden", "override", "list_usd", "output_dims")
"""The columns of a row of a price book: a checked row, how it was changed, the list price, and
the output dimensions of a Bedrock embedding model."""

USED_COLUMNS = ("service", "name", "dimension", "region", "unit", "usd", "list_usd", "as_of",
                "source", "overridden", "override")
"""The columns of :meth:`PriceBook.used_records` (a report's provenance of each price)."""

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



def _missing(value) -> bool:
    """A blank cell: None, or NaN / NaT where a pandas frame stands for it."""
    return value is None or value != value


def read_price_rows(path: Path | str, *, origin: str | None = None) -> list[dict]:
    """Read and check one price table into rows (dicts of :data:`ROW_COLUMNS`), without pandas.

    Checks: required columns present, no unknown columns, source and as_of set, as_of an ISO
    date, usd finite and non-negative, unit from :data:`UNITS`, tiers and windows well formed,
    no duplicate keys (see :func:`check_prices`). Every problem is a one-line
    :class:`CostlibError` naming the file and line.
    """
    path = Path(path)
    where = str(origin or path)
    if not path.exists():
        raise CostlibError(f"{where}: not found ({path})" if origin
                           else f"price table {where} not found")
    text = read_user_text(path, "price table", TABLE_MAX_BYTES, where=origin)
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise CostlibError(f"{where}: not a valid CSV file ({exc})") from None
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
        usd = _parse_number(row["usd"], at, "usd", blank=None)
        if usd is None:
            raise CostlibError(f"{at}: usd is empty; every row needs a price")
        row.update(
            usd=usd,
            tier_start=_parse_number(row["tier_start"], at, "tier_start", blank=0.0),
            tier_end=_parse_number(row["tier_end"], at, "tier_end", blank=math.inf),
            as_of=_parse_date(row["as_of"], at, "as_of"),
            effective_from=_parse_date(row["effective_from"], at, "effective_from"),
            effective_to=_parse_date(row["effective_to"], at, "effective_to"),
        )
        rows.append({**{c: row[c] for c in TABLE_COLUMNS}, "origin": where, "line": lineno})
    check_prices(rows)
    return rows


def read_price_csv(path: Path | str, *, origin: str | None = None) -> pd.DataFrame:
    """:func:`read_price_rows` as a pandas frame (columns :data:`ROW_COLUMNS`)."""
    return _frame(read_price_rows(path, origin=origin))


def _window_text(start: date | None, end: date | None) -> str:
    return f"[{start or '...'}, {end or '...'})"


def _win_lo(row: dict) -> date:
    return date.min if _missing(row["effective_from"]) else row["effective_from"]


def _win_hi(row: dict) -> date:
    return date.max if _missing(row["effective_to"]) else row["effective_to"]


def _as_records(rows) -> list[dict]:
    """Rows as a list of dicts, from a list (as is) or a pandas price frame."""
    if isinstance(rows, list):
        return rows
    if hasattr(rows, "to_dict"):
        return [] if rows.empty else rows.to_dict("records")
    return list(rows)


def check_prices(rows) -> None:
    """Check price rows (dicts, or a tidy price frame); raise a one-line error on the first problem.

    Rows need source and as_of; usd finite and >= 0; units known; ``effective_from <
    effective_to``; ``tier_start < tier_end``; rows with the same key (service, name, dimension,
    region, tier_start) must have non-overlapping windows; the tiers of one series in one window
    start at 0, join up and share one unit.
    """
    records = _as_records(rows)
    if not records:
        return
    for row in records:
        _check_row(row)
    by_key: dict[tuple, list[dict]] = {}
    for row in records:
        by_key.setdefault(tuple(row[c] for c in KEY), []).append(row)
    for key, group in by_key.items():
        if len(group) > 1:
            _check_windows(key, group)
    by_series: dict[tuple, list[dict]] = {}
    for row in records:
        by_series.setdefault(tuple(row[c] for c in SERIES) + (_win_lo(row), _win_hi(row)), []).append(row)
    for key, group in by_series.items():
        _check_tiers(key, group)


def _check_row(row: dict) -> None:
    """One row's own checks: provenance, a finite price, a known unit, well-formed bounds."""
    at = f"{row.get('origin')} line {row.get('line')}" if row.get("line") else str(row.get("origin"))
    if not str(row["source"]).strip() or _missing(row["as_of"]):
        raise CostlibError(f"{at}: {row['service']}/{row['name']}/{row['dimension']} has no source or as_of")
    usd = row["usd"]
    if not (isinstance(usd, float | int) and math.isfinite(usd) and usd >= 0):
        raise CostlibError(f"{at}: usd must be finite and non-negative, got {usd!r}")
    if row["unit"] not in UNITS:
        raise CostlibError(unknown_name_message("unit", row["unit"], UNITS, at))
    start, end = row["effective_from"], row["effective_to"]
    if not _missing(start) and not _missing(end) and start and end and not start < end:
        raise CostlibError(f"{at}: effective_from {start} is not before effective_to {end}")
    if not row["tier_start"] < row["tier_end"]:
        raise CostlibError(f"{at}: tier_start {row['tier_start']:g} is not below tier_end {row['tier_end']:g}")


def _check_windows(key: tuple, group: list[dict]) -> None:
    """Rows sharing a key (service, name, dimension, region, tier_start) must not overlap in time."""
    prev = None
    for row in sorted(group, key=_win_lo):
        if prev is not None and _win_lo(row) < _win_hi(prev):
            raise CostlibError(
                f"duplicate price key {'/'.join(str(k) for k in key[:4])} tier {key[4]:g}: "
                f"{prev['origin']} line {prev['line']} {_window_text(prev['effective_from'], prev['effective_to'])} "
                f"overlaps {row['origin']} line {row['line']} {_window_text(row['effective_from'], row['effective_to'])}"
            )
        prev = row


def _check_tiers(key: tuple, group: list[dict]) -> None:
    """The tiers of one series in one window share a unit, start at 0 and join up."""
    units = list(dict.fromkeys(row["unit"] for row in group))
    if len(units) > 1:
        raise CostlibError(f"{'/'.join(key[:4])}: tiers use different units {sorted(units)}")
    if len(group) == 1 and group[0]["tier_start"] == 0:
        return
    group = sorted(group, key=lambda row: row["tier_start"])
    starts = [row["tier_start"] for row in group]
    ends = [row["tier_end"] for row in group]
    if starts[0] != 0 or any(e != s for e, s in zip(ends[:-1], starts[1:], strict=True)):
        raise CostlibError(
            f"{group[0]['origin']}: tiers of {'/'.join(key[:4])} must start at 0 and join up; "
            f"got starts {[f'{s:g}' for s in starts]} ends {[f'{e:g}' for e in ends]}"
        )


def table_files(tables_dir: Path | str | None = None) -> list[Path]:
    """The price table files: every ``*.csv`` directly in the tables directory, sorted."""
    return sorted(Path(tables_dir or PRICES_DIR).glob("*.csv"))


def _stat_signature(paths) -> tuple:
    """(path, mtime, size) of each file: the in-process key (a missing file has no stat)."""
    out = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            out.append((str(p), None, None))
            continue
        out.append((str(Path(p).resolve()), st.st_mtime_ns, st.st_size))
    return tuple(out)


def _origin(path: Path) -> str:
    """How a table's rows name their file: ``costlib/data/prices/ec2.csv`` for a package table."""
    return f"costlib/data/prices/{path.name}" if path.parent == PRICES_DIR else str(path)


@lru_cache(maxsize=8)
def _table_rows_cached(signature: tuple) -> tuple[dict, ...]:
    rows: list[dict] = []
    for path, _, _ in signature:
        path = Path(path)
        rows.extend(read_price_rows(path, origin=_origin(path)))
    check_prices(rows)
    return tuple(rows)


def _table_rows(tables_dir: Path | str | None = None) -> list[dict]:
    """Every checked row of every table (shared dicts: never edit them)."""
    return list(_table_rows_cached(_stat_signature(table_files(tables_dir))))


def load_tables(tables_dir: Path | str | None = None) -> pd.DataFrame:
    """Every row of every table (all windows), checked across files as well, as a pandas frame.

    Cached per (file, modification time, size), so a refreshed table is read again.
    """
    return _frame(_table_rows(tables_dir))


def imported_rows(path: Path = GENAI_BEDROCK_CSV) -> list[dict]:
    """The checked rows of the imported Bedrock table (made by ``costlib prices refresh --bedrock``).

    Their ``origin`` starts ``genai-prices <version>``; a table row with the same (service, name,
    dimension, region) supersedes them in a price book.
    """
    return read_price_rows(path, origin=bedrock_table_origin(path))


# --------------------------------------------------------------------------------------------
# embeddings


_EMBEDDING_COLUMNS = ["model", "default_dims", "supported_dims", "source", "as_of", "notes"]


@lru_cache(maxsize=1)
def _embedding_records() -> tuple[dict, ...]:
    """The rows of ``meta/embedding_models.csv``, checked, as dicts of strings."""
    with open(EMBEDDINGS_CSV, newline="", encoding="utf-8") as f:
        lines = [line for line in csv.reader(f) if any(cell.strip() for cell in line)]
    if not lines or lines[0] != _EMBEDDING_COLUMNS:
        raise CostlibError(f"{EMBEDDINGS_CSV.name}: columns must be {', '.join(_EMBEDDING_COLUMNS)}")
    rows = tuple(dict(zip(_EMBEDDING_COLUMNS, line, strict=False)) for line in lines[1:])
    for row in rows:
        if not row.get("source") or not row.get("as_of"):
            raise CostlibError(f"{EMBEDDINGS_CSV.name}: {row['model']} has no source or as_of")
        date.fromisoformat(row["as_of"])
    return rows


@lru_cache(maxsize=1)
def load_embedding_models() -> pd.DataFrame:
    """Output dimensions of the Bedrock embedding models (``meta/embedding_models.csv``)."""
    import pandas as pd

    return pd.DataFrame(list(_embedding_records()), columns=_EMBEDDING_COLUMNS)


def embedding_dims(model: str) -> dict:
    """Default and supported output dimensions of a Bedrock embedding model."""
    rows = _embedding_records()
    rec = next((r for r in rows if r["model"] == model), None)
    if rec is None:
        raise CostlibError(unknown_name_message("embedding model", model, [r["model"] for r in rows]))
    return {
        "model": model,
        "default_dims": int(rec["default_dims"]),
        "supported_dims": [int(x) for x in rec["supported_dims"].split(";")],
        "source": rec["source"],
        "as_of": date.fromisoformat(rec["as_of"]),
    }


# --------------------------------------------------------------------------------------------
# the checked rows, built once and kept on disk


_CODE = ("costlib.tables.prices", "costlib.tables.price_schema", "costlib.tables.genai",
         "costlib.core.paths", "costlib.core.cache")
"""Modules whose code shapes the checked rows (part of the cache key)."""
_DATES = ("as_of", "effective_from", "effective_to")


def _series_of(row: dict) -> tuple:
    return tuple(row[c] for c in SERIES)


def _supersede(tables: list[dict], imported: list[dict]) -> tuple[list[dict], list[str]]:
    """Drop imported rows whose (service, name, dimension, region) a table row also prices."""
    if not imported:
        return imported, []
    own = {_series_of(r) for r in tables}
    kept, notes = [], set()
    for row in imported:
        series = _series_of(row)
        if series in own:
            notes.add(f"{'/'.join(series)} from {row['origin']} superseded by the price tables")
        else:
            kept.append(row)
    return kept, sorted(notes)


def _build_base_rows(tables_dir, genai_import: bool) -> tuple[list[dict], list[str]]:
    """The tables' rows and the imported Bedrock rows they do not supersede, checked together."""
    tables = _table_rows(tables_dir)
    imported, superseded = _supersede(tables, imported_rows() if genai_import else [])
    rows = tables + imported
    check_prices(rows)
    return rows, superseded


def _encode_rows(rows: list[dict]) -> list[list]:
    """Rows as lists of JSON values in :data:`ROW_COLUMNS` order (dates as ISO text)."""
    return [[(v.isoformat() if isinstance(v, date) else v) for v in (r[c] for c in ROW_COLUMNS)]
            for r in rows]


def _decode_rows(values: list[list]) -> list[dict]:
    """The inverse of :func:`_encode_rows`; a malformed entry raises (and is rebuilt)."""
    rows = []
    for cells in values:
        row = dict(zip(ROW_COLUMNS, cells, strict=True))
        for c in _DATES:
            if row[c] is not None:
                row[c] = date.fromisoformat(row[c])
        if not isinstance(row["usd"], float | int) or not isinstance(row["tier_end"], float | int):
            raise ValueError("not a price row")
        rows.append(row)
    return rows


def _base_rows_from_disk(tables_dir, genai_import: bool, files: list[Path]) -> tuple[tuple, tuple]:
    """The base rows from the on-disk cache, or built, checked and stored there."""
    folder = Path(tables_dir or PRICES_DIR).resolve()
    name = f"prices/rows-{cache.digest([str(folder), genai_import])[:16]}.json"
    key = {"what": "checked price rows", "version": cache.VERSION,
           "genai_prices": GENAI_PRICES_VERSION, "genai_import": genai_import,
           "code": cache.code_signature(*_CODE), "columns": list(ROW_COLUMNS),
           "files": cache.file_signature([p.resolve() for p in files])}
    value = cache.load(name, key)
    if value is not None:
        try:
            return tuple(_decode_rows(value["rows"])), tuple(value["superseded"])
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # a corrupt or foreign entry: rebuild it
    rows, superseded = _build_base_rows(tables_dir, genai_import)
    cache.store(name, key, {"rows": _encode_rows(rows), "superseded": list(superseded)})
    return tuple(rows), tuple(superseded)


_BASE_MEMO: dict[tuple, tuple] = {}


def _base_rows(tables_dir, genai_import: bool = True) -> tuple[tuple[dict, ...], tuple[str, ...]]:
    """Checked rows of the tables (and the imported Bedrock rows), and the superseded notes.

    Memoised in the process by the files' (mtime, size), and across processes by their content
    (:func:`_base_rows_from_disk`). The dicts are shared: never edit them.
    """
    files = table_files(tables_dir) + ([GENAI_BEDROCK_CSV] if genai_import else [])
    memo_key = (_stat_signature(files), genai_import)
    hit = _BASE_MEMO.get(memo_key)
    if hit is None:
        hit = _base_rows_from_disk(tables_dir, genai_import, files)
        if len(_BASE_MEMO) > 16:
            _BASE_MEMO.clear()
        _BASE_MEMO[memo_key] = hit
    return hit


def clear_caches() -> None:
    """Forget the rows this process has read (the on-disk cache stays; its keys check content)."""
    _BASE_MEMO.clear()
    _BOOK_ROWS_CACHE.clear()
    _table_rows_cached.cache_clear()
    _embedding_records.cache_clear()
    load_embedding_models.cache_clear()


# --------------------------------------------------------------------------------------------
# the price book


def _in_force(row: dict, when: date) -> bool:
    start, end = row["effective_from"], row["effective_to"]
    return (_missing(start) or start <= when) and (_missing(end) or when < end)


def _book_frame(rows: list[dict]) -> pd.DataFrame:
    """Book rows (dicts of :data:`BOOK_COLUMNS`) as a pandas frame; imports pandas."""
    import pandas as pd

    return pd.DataFrame(rows, columns=list(BOOK_COLUMNS))


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    cols = list(TABLE_COLUMNS) + ["list_usd", "overridden", "override", "output_dims", "origin"]
    out = df.reindex(columns=cols).copy()
    out["overridden"] = out["overridden"].fillna(False).astype(bool)
    out["override"] = out["override"].fillna("")
    out["output_dims"] = out["output_dims"].fillna("")
    return out.sort_values(["service", "name", "dimension", "region", "tier_start"]).reset_index(drop=True)


def _used_order(row: dict) -> tuple:
    return (row["service"], row["name"], row["dimension"], row["region"], row["tier_start"])


class PriceBook:
    """The prices one report uses: a region, a date, overrides applied, look-ups recorded.

    Build it with :func:`load_price_book`. Every ``usd``, ``row``, ``tiers`` and ``tiered_usd``
    call records the rows it used, so a report can print where each figure came from
    (:meth:`used_records`, :meth:`used`), the oldest as-of date (:meth:`oldest_as_of_used`) and
    warnings for old prices (:meth:`stale_warnings`). Rows are plain dicts, indexed by
    (service, name, dimension, region); only :meth:`table`, :meth:`used` and
    :meth:`overridden_used` import pandas.
    """

    def __init__(self, rows, settings: PriceSettings, *, skipped=(), superseded=()):
        self.settings = settings
        self.region = settings.region
        self.as_of = settings.as_of or date.today()
        self.max_age_days = settings.max_age_days
        self.skipped = list(skipped)
        self.superseded = list(superseded)
        self._rows: list[dict] = _as_records(rows)
        self._force_rows = [r for r in self._rows if _in_force(r, self.as_of)]
        self._index: dict[tuple, list[dict]] = {}
        for row in self._force_rows:
            self._index.setdefault(_series_of(row), []).append(row)
        for series in self._index.values():
            series.sort(key=lambda r: r["tier_start"])
        self._used: dict[tuple, dict] = {}
        self._table = None

    @property
    def _all(self) -> pd.DataFrame:
        """Every row of every window, as a pandas frame (for tests and views)."""
        return _book_frame(self._rows)

    # -- selection -----------------------------------------------------------------------
    def _select(self, service: str, name: str, dimension: str) -> list[dict]:
        """The rows in force for one (service, name, dimension) here, by tier_start."""
        hit = self._index.get((service, name, dimension, self.region))
        if hit:
            return hit
        raise self._not_found(service, name, dimension)

    def _not_found(self, service: str, name: str, dimension: str) -> CostlibError:
        """The one-line error naming what is missing: service, name, dimension, region or date."""
        services = [r["service"] for r in self._rows]
        if service not in set(services):
            return CostlibError(unknown_name_message("service", service, services))
        svc = [r for r in self._rows if r["service"] == service]
        if name not in {r["name"] for r in svc}:
            return CostlibError(unknown_name_message(f"{service} name", name, [r["name"] for r in svc]))
        named = [r for r in svc if r["name"] == name]
        if dimension not in {r["dimension"] for r in named}:
            return CostlibError(unknown_name_message(f"{service} {name} dimension", dimension,
                                                     [r["dimension"] for r in named]))
        series = [r for r in named if r["dimension"] == dimension]
        here = [r for r in series if r["region"] == self.region]
        if not here:
            regions = ", ".join(sorted({r["region"] for r in series}))
            return CostlibError(
                f"no {service} price for {name} {dimension} in region {self.region!r}; regions with it: {regions}"
            )
        windows = ", ".join(_window_text(start, end) for start, end in
                            dict.fromkeys((r["effective_from"], r["effective_to"]) for r in here))
        return CostlibError(
            f"no {service} price for {name} {dimension} ({self.region}) in force on {self.as_of}; "
            f"rows cover {windows}"
        )

    def _record(self, rows: list[dict]) -> list[dict]:
        """Remember the rows a look-up used; returns them."""
        for rec in rows:
            self._used[tuple(rec[k] for k in KEY) + (rec["effective_from"],)] = rec
        return rows

    # -- look-ups --------------------------------------------------------------------------
    def row(self, service: str, name: str, dimension: str) -> dict:
        """The price row in force (usd, unit, source, as_of, overridden ...); records the look-up.

        A tiered price has several rows: use :meth:`tiered_usd` (or :meth:`tiers`).
        """
        rows = self._select(service, name, dimension)
        if len(rows) > 1:
            raise CostlibError(
                f"{service} {name} {dimension} ({self.region}) is tiered ({len(rows)} tiers); use tiered_usd"
            )
        return dict(self._record(rows)[0])

    def usd(self, service: str, name: str, dimension: str) -> float:
        """Price in USD per the row's unit; records the look-up."""
        return float(self.row(service, name, dimension)["usd"])

    def tiers(self, service: str, name: str, dimension: str) -> list[dict]:
        """Every tier in force of a price in this book's region, by ``tier_start``; records the look-up.

        Each is a copy of the row (usd, unit, tier_start, tier_end, source, as_of, overridden
        ...); a price without tiers has one, from 0 to infinity.
        """
        return [dict(r) for r in self._record(self._select(service, name, dimension))]

    def tiered_usd(self, service: str, name: str, dimension: str, quantity_per_month):
        """Total USD for a monthly quantity across graduated tiers (scalar or array-like).

        Each tier's rate applies to the part of the quantity inside that tier. The quantity is in
        the unit's quantity (:data:`UNITS`), e.g. GB for ``usd_per_gb``, millions of requests for
        ``usd_per_1m_requests``. A quantity beyond the last sourced tier is an error. An array
        (or a pandas Series) gives an array (a Series) of totals, one per quantity.
        """
        import numpy as np

        rows = self._select(service, name, dimension)
        self._record(rows)
        q = np.asarray(quantity_per_month, dtype=float)
        if np.any(~np.isfinite(q)) or np.any(q < 0):
            raise CostlibError(f"{service} {name} {dimension}: quantity must be finite and non-negative")
        top = rows[-1]["tier_end"]
        if np.any(q > top):
            raise CostlibError(
                f"{service} {name} {dimension} ({self.region}): quantity {float(np.max(q)):g} exceeds the "
                f"sourced tiers (up to {top:g} {UNITS[rows[0]['unit']]} per month)"
            )
        total = np.zeros_like(q)
        for r in rows:
            total = total + np.clip(q - r["tier_start"], 0.0, r["tier_end"] - r["tier_start"]) * r["usd"]
        pd = sys.modules.get("pandas")  # a Series can only come from a process that loaded pandas
        if pd is not None and isinstance(quantity_per_month, pd.Series):
            return pd.Series(total, index=quantity_per_month.index)
        return float(total) if total.ndim == 0 else total

    def has(self, service: str, name: str, dimension: str) -> bool:
        """Whether a price is in force for this book's region and date (no look-up recorded)."""
        return (service, name, dimension, self.region) in self._index

    def names(self, service: str) -> list[str]:
        """Names with a price in force in this book's region (e.g. every priced instance type)."""
        services = [r["service"] for r in self._rows]
        if service not in set(services):
            raise CostlibError(unknown_name_message("service", service, services))
        return sorted({r["name"] for r in self._force_rows
                       if r["service"] == service and r["region"] == self.region})

    def services(self) -> list[str]:
        return sorted({r["service"] for r in self._rows})

    # -- tables and provenance ---------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        """Every row in force on the book's date, all regions, tidy (a pandas frame)."""
        if self._table is None:
            self._table = _tidy(_book_frame(self._force_rows))
        return self._table.copy()

    def used(self) -> pd.DataFrame:
        """Rows looked up so far, with their overridden flag (a pandas frame)."""
        return _tidy(_book_frame(list(self._used.values())))

    def used_records(self) -> list[dict]:
        """Rows looked up so far, as dicts of :data:`USED_COLUMNS` (``as_of`` a date).

        In the order of :meth:`used`: service, name, dimension, region, tier_start.
        """
        rows = sorted(self._used.values(), key=_used_order)
        return [{c: r[c] for c in USED_COLUMNS} for r in rows]

    def oldest_as_of_used(self) -> date | None:
        """The oldest as-of date of the rows looked up so far, or None before any look-up."""
        return min((r["as_of"] for r in self._used.values()), default=None)

    def stale_warnings(self) -> list[str]:
        """One line per used price whose as-of date is more than ``max_age_days`` old."""
        out, seen = [], set()
        for r in sorted(self._used.values(), key=_used_order):
            series = _series_of(r)
            if series in seen:
                continue
            seen.add(series)
            age = (self.as_of - r["as_of"]).days
            if age > self.max_age_days:
                out.append(
                    f"price {r['service']}/{r['name']}/{r['dimension']} ({r['region']}) is {age} days old "
                    f"(as of {r['as_of']}; limit {self.max_age_days} days); source: {r['source']}"
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
        for r in self.used_records():
            if r["overridden"]:
                lines.append(f"Overridden: {r['service']}/{r['name']}/{r['dimension']} ({r['region']}) = "
                             f"{r['usd']:g} [{r['override']}]")
        lines.extend(f"Warning: {w}" for w in self.stale_warnings())
        return lines


def _apply_overrides(rows: list[dict], path: Path, where: str) -> list[dict]:
    """Replace the rows of every (service, name, dimension, region) an overrides file prices."""
    over = read_price_rows(path, origin=where)
    services = {r["service"] for r in rows}
    for svc in dict.fromkeys(r["service"] for r in over):
        if svc not in services:
            raise CostlibError(unknown_name_message("service", svc, services, where))
    series = {_series_of(r) for r in over}
    keep = [r for r in rows if _series_of(r) not in series]
    replaced = [r for r in rows if _series_of(r) in series]
    # the list price each override replaces is the newest row of that price: the open-ended
    # window first, else the first row (NaN for a name the tables lack)
    listed: dict[tuple, float] = {}
    for r in [r for r in replaced if _missing(r["effective_to"])] + replaced:
        listed.setdefault(_series_of(r), r["usd"])
    label = f"override file {path.name}"
    out = keep + [{**r, "overridden": True, "override": label,
                   "list_usd": listed.get(_series_of(r), float("nan"))} for r in over]
    check_prices(out)
    return out


def _apply_discounts(rows: list[dict], discounts: dict[str, float], where: str) -> list[dict]:
    """Take each service's percent off its rows' usd (on top of an override), marking them."""
    services = {r["service"] for r in rows}
    for svc, pct in discounts.items():
        if svc not in services:
            raise CostlibError(unknown_name_message("service", svc, services, f"{where} prices.discounts_pct"))
        factor = 1 - pct / 100.0
        rows = [{**r, "usd": r["usd"] * factor, "overridden": True,
                 "override": f"{r['override']}; {pct:g}% discount" if r["override"] else f"{pct:g}% discount"}
                if r["service"] == svc else r for r in rows]
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
        Add the imported Bedrock per-token rows (``prices/imported/bedrock_genai_prices.csv``,
        made from the pinned genai-prices package) (default). A fixture table that carries its
        own Bedrock rows passes False.

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
    files = table_files(tables_dir) + ([GENAI_BEDROCK_CSV] if genai_import else [])
    key = (
        _stat_signature(files),
        _file_key(override_path),
        str(settings.overrides_file or ""),
        tuple(sorted(settings.discounts_pct.items())),
        settings.region,
        str(tables_dir or ""),
        genai_import,
    )
    rows, skipped, superseded = _book_rows(key, tables_dir, override_path, settings, genai_import)
    return PriceBook(rows, settings, skipped=skipped, superseded=superseded)


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
    """The rows of a price book, built once per distinct tables/overrides/discounts.

    Sweeps re-price the same params many times, so the result is cached in the process by
    ``key`` (which includes the files' modification times, so an edited table or override file is
    re-read). The rows are shared by the books built from them: never edit them.
    """
    hit = _BOOK_ROWS_CACHE.get(key)
    if hit is None:
        hit = _build_book_rows(tables_dir, override_path, settings, genai_import)
        if len(_BOOK_ROWS_CACHE) > 16:
            _BOOK_ROWS_CACHE.clear()
        _BOOK_ROWS_CACHE[key] = hit
    rows, skipped, superseded = hit
    return rows, list(skipped), list(superseded)


def _build_book_rows(tables_dir, override_path: Path | None, settings: PriceSettings,
                     genai_import: bool = True):
    base, superseded = _base_rows(tables_dir, genai_import)
    rows = [{**r, "overridden": False, "override": "", "list_usd": r["usd"]} for r in base]
    if override_path is not None:
        rows = _apply_overrides(rows, override_path, where=f"overrides file {settings.overrides_file}")
    for r in rows:
        if _missing(r["list_usd"]):
            r["list_usd"] = r["usd"]
    rows = _apply_discounts(rows, settings.discounts_pct, "params")
    dims = {r["model"]: r["supported_dims"] for r in _embedding_records()}
    rows = [{**r, "output_dims": dims.get(r["name"], "") if r["service"] == "bedrock" else ""} for r in rows]
    known_regions = {r["region"] for r in rows}
    if settings.region not in known_regions:
        raise CostlibError("region: " + unknown_name_message("region", settings.region, known_regions))
    return tuple(rows), (), tuple(superseded)
