"""Amazon Bedrock per-token prices from the pinned ``genai-prices`` package.

The package (pydantic's offline price snapshot) is read by a refresh step,
:func:`write_bedrock_table` (``costlib prices refresh --bedrock``), whose Bedrock rows, mapped to
Bedrock model ids, are written to ``costlib/data/prices/imported/bedrock_genai_prices.csv`` in
the price-table format. The price book reads that table (:func:`costlib.tables.prices.
load_price_book`), so no costlib process imports genai-prices (and its HTTP client stack) just to
price a report; a test keeps the committed table equal to what the pinned package gives.

The as-of date of each price comes from ``costlib/data/prices/meta/genai_prices_asof.csv`` (see
its notes). A row of a price table supersedes an imported row with the same key.
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from costlib.core.errors import CostlibError
from costlib.core.paths import GENAI_ASOF_CSV, GENAI_BEDROCK_CSV
from costlib.tables.price_schema import TABLE_COLUMNS, _frame, decimal_text

if TYPE_CHECKING:  # pragma: no cover - types only
    import pandas as pd

#: Pinned genai-prices version whose Bedrock prices the as-of table describes.
GENAI_PRICES_VERSION = "0.2.3"

IMPORT_ORIGIN = f"genai-prices {GENAI_PRICES_VERSION}"
"""The ``origin`` of an imported row (what :func:`costlib.tables.history.table_label` reads)."""

#: genai-prices price key -> our Bedrock dimension.
GENAI_DIMENSIONS = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write",
    "cache_write_1h_mtok": "cache_write_1h",
    "input_audio_mtok": "input_audio",
    "output_audio_mtok": "output_audio",
}

def _genai_windows(model) -> list[tuple[date | None, date | None, object]]:
    """(effective_from, effective_to, ModelPrice) of a genai-prices model, oldest first."""
    from genai_prices import types as gt

    if isinstance(model.prices, gt.ModelPrice):
        return [(None, None, model.prices)]
    starts = []
    for cond in model.prices:
        if cond.constraint is None:
            starts.append((None, cond.prices))
        elif isinstance(cond.constraint, gt.StartDateConstraint):
            starts.append((cond.constraint.start_date, cond.prices))
        else:  # a time-of-day price has no place in a monthly cost model
            raise ValueError(f"genai-prices model {model.id}: unsupported constraint {cond.constraint!r}")
    starts.sort(key=lambda s: s[0] or date.min)
    starts[0] = (None, starts[0][1])  # genai-prices uses the first price when none is active yet
    return [(s, starts[i + 1][0] if i + 1 < len(starts) else None, p) for i, (s, p) in enumerate(starts)]


def _genai_flat_prices() -> Iterator[tuple[str, str, str, date | None, date | None]]:
    """(model id, price key, price text, effective_from, effective_to) of every AWS Bedrock price.

    A context-length tier of genai-prices (``TieredPrices``: above N input tokens the tier rate
    applies to every token of the request) yields an extra key ``<key>@<N>``.
    """
    from genai_prices import types as gt
    from genai_prices.data import providers

    aws = next(p for p in providers if p.id == "aws")
    for model in aws.models:
        for start, end, mp in _genai_windows(model):
            for key, value in mp.__dict__.items():
                if key.startswith("_") or value is None:
                    continue
                if isinstance(value, gt.TieredPrices):
                    yield model.id, key, decimal_text(value.base), start, end
                    for tier in value.tiers:
                        yield model.id, f"{key}@{tier.start}", decimal_text(tier.price), start, end
                else:
                    yield model.id, key, decimal_text(value), start, end


def bedrock_model_id(genai_id: str) -> str:
    """The Bedrock model id users pass for a genai-prices AWS model id.

    genai-prices keys in-region / geo (``us.``, ``eu.`` ...) prices as ``regional.<modelId>``;
    we strip that prefix, so ``anthropic.claude-sonnet-4-5-20250929-v1:0`` carries the in-region
    price. ``global.<modelId>`` is the real id of the global cross-region inference profile and
    stays as it is.
    """
    return genai_id.removeprefix("regional.")


@dataclass
class ImportReport:
    """What the genai-prices import did not take, and why."""

    skipped: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)


def genai_bedrock_records(report: ImportReport | None = None) -> list[dict]:
    """Bedrock per-token rows from the installed genai-prices snapshot, us-east-1, with as-of dates.

    Imports genai-prices: the refresh step and its test call it, the price book does not.

    A price whose (model, key, value) is not in the as-of table (e.g. after upgrading
    genai-prices without regenerating the table) is left out and listed in ``report.skipped``:
    no row enters without an as-of date.
    """
    from importlib.metadata import version

    report = report if report is not None else ImportReport()
    installed = version("genai_prices")
    asof = {}
    with open(GENAI_ASOF_CSV, newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            asof[(rec["model_id"], rec["price_key"], rec["usd"])] = rec
    rows, names = [], {}
    for model_id, key, value, start, end in _genai_flat_prices():
        base_key, _, threshold = key.partition("@")
        dim = GENAI_DIMENSIONS.get(base_key)
        if dim is None:
            report.skipped.append(f"genai-prices {model_id} {key}: no dimension for this price key")
            continue
        prov = asof.get((model_id, key, value))
        if prov is None:
            report.skipped.append(
                f"genai-prices {installed} {model_id} {key}={value}: not in {GENAI_ASOF_CSV.name} "
                f"(made for genai-prices {GENAI_PRICES_VERSION}); left out, no as-of date"
            )
            continue
        name = bedrock_model_id(model_id)
        if names.setdefault(name, model_id) != model_id:
            raise ValueError(f"genai-prices models {names[name]} and {model_id} both map to {name}")
        notes = [f"genai-prices {installed} model {model_id} key {key}; as_of basis: {prov['basis']}"]
        if model_id.startswith("regional."):
            notes.append("in-region / geo (us., eu. ...) endpoint price")
        elif model_id.startswith("global."):
            notes.append("global cross-region inference profile price")
        if threshold:
            dim = f"{dim}_over_{int(threshold) // 1000}k_context"
            notes.append(f"applies to every token of a request whose input exceeds {int(threshold):,} tokens")
        rows.append(
            {
                "service": "bedrock", "name": name, "dimension": dim, "region": "us-east-1",
                "unit": "usd_per_1m_tokens", "usd": float(value), "tier_start": 0.0, "tier_end": math.inf,
                "effective_from": start, "effective_to": end, "source": prov["source"],
                "as_of": date.fromisoformat(prov["as_of"]), "notes": "; ".join(notes),
                "origin": f"genai-prices {installed}", "line": 0,
            }
        )  # fmt: skip
    return rows


def genai_bedrock_rows(report: ImportReport | None = None) -> pd.DataFrame:
    """:func:`genai_bedrock_records` as a price frame (imports genai-prices and pandas)."""
    return _frame(genai_bedrock_records(report))


# --------------------------------------------------------------------------------------------
# the table made at refresh


def _cell(column: str, value) -> str:
    """One CSV cell in the tables' format: blank for tier 0 / open tier end / open window."""
    if column == "tier_start":
        return "" if value == 0 else decimal_text(value)
    if column == "tier_end":
        return "" if math.isinf(value) else decimal_text(value)
    if column == "usd":
        return decimal_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def bedrock_table_text(records: list[dict]) -> str:
    """The CSV text of the imported Bedrock table: a header of :data:`TABLE_COLUMNS`, one row each."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(TABLE_COLUMNS)
    for rec in records:
        writer.writerow([_cell(c, rec[c]) for c in TABLE_COLUMNS])
    return buf.getvalue()


def write_bedrock_table(path: Path | str | None = None, *, dry_run: bool = False) -> dict:
    """Write the Bedrock rows of the installed genai-prices into the imported price table.

    The step behind ``costlib prices refresh --bedrock``: run it after upgrading genai-prices
    (and regenerating ``meta/genai_prices_asof.csv`` and :data:`GENAI_PRICES_VERSION` for the new
    version). The table is written to a temporary file and renamed into place.

    Parameters
    ----------
    path : Path, optional
        Where to write (default ``costlib/data/prices/imported/bedrock_genai_prices.csv``).
    dry_run : bool
        Report whether the table would change; write nothing.

    Returns
    -------
    dict
        ``path``, ``rows`` (written), ``changed`` (the text differs from the file's) and
        ``skipped`` (prices left out, one line each: no dimension, or no as-of date).

    Raises
    ------
    CostlibError
        When the installed genai-prices is not the pinned :data:`GENAI_PRICES_VERSION` (the
        as-of table describes that version only).
    """
    from importlib.metadata import version

    installed = version("genai_prices")
    if installed != GENAI_PRICES_VERSION:
        raise CostlibError(
            f"genai-prices {installed} is installed but {GENAI_ASOF_CSV.name} describes "
            f"{GENAI_PRICES_VERSION}; install genai-prices=={GENAI_PRICES_VERSION}, or regenerate the "
            f"as-of table and GENAI_PRICES_VERSION for {installed}"
        )
    path = Path(path or GENAI_BEDROCK_CSV)
    report = ImportReport()
    text = bedrock_table_text(genai_bedrock_records(report))
    try:
        old = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        old = None
    summary = {"path": str(path), "rows": text.count("\n") - 1, "changed": old != text,
               "skipped": list(report.skipped)}
    if dry_run or not summary["changed"]:
        return summary
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return summary


def bedrock_table_origin(path: Path | str | None = None) -> str:
    """``origin`` of the imported table's rows: ``genai-prices 0.2.3 (costlib/data/...csv)``."""
    path = Path(path or GENAI_BEDROCK_CSV)
    shown = "costlib/data/prices/imported/" + path.name if path == GENAI_BEDROCK_CSV else str(path)
    return f"{IMPORT_ORIGIN} ({shown})"




_CONTEXT_WINDOWS: dict[str, int] | None = None


def bedrock_context_window(model: str) -> int | None:
    """The context window of a Bedrock model [tokens], or None when the tables do not know it.

    Read from ``prices/meta/bedrock_context_windows.csv`` (made from genai-prices' ``aws.yml``,
    the source of the imported Bedrock prices). A cross-region profile prefix (``us.``, ``eu.``,
    ``apac.``, ``global.``) is stripped; a model the table lacks gives None, and nothing is checked
    for it (no window is invented).
    """
    global _CONTEXT_WINDOWS
    if _CONTEXT_WINDOWS is None:
        from costlib.core.paths import BEDROCK_CONTEXT_CSV

        with open(BEDROCK_CONTEXT_CSV, newline="", encoding="utf-8") as f:
            _CONTEXT_WINDOWS = {r["model"]: int(r["context_window_tokens"]) for r in csv.DictReader(f)}
    name = str(model)
    for cand in (name, name.split(".", 1)[-1], "regional." + name, "regional." + name.split(".", 1)[-1]):
        if cand in _CONTEXT_WINDOWS:
            return _CONTEXT_WINDOWS[cand]
    return None
