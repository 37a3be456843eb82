"""Amazon Bedrock per-token prices from the pinned ``genai-prices`` package.

The package (pydantic's offline price snapshot) is read at load time and its Bedrock rows are
mapped to Bedrock model ids; the as-of date of each price comes from
``costlib/data/prices/meta/genai_prices_asof.csv`` (see its notes). A row of a price table
supersedes an imported row with the same key.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import pandas as pd

from costlib.core.paths import GENAI_ASOF_CSV
from costlib.tables.price_schema import _frame, decimal_text

#: Pinned genai-prices version whose Bedrock prices the as-of table describes.
GENAI_PRICES_VERSION = "0.2.3"

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


def genai_bedrock_rows(report: ImportReport | None = None) -> pd.DataFrame:
    """Bedrock per-token rows from the installed genai-prices snapshot, us-east-1, with as-of dates.

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
    return _frame(rows)


@lru_cache(maxsize=1)
def _genai_cached() -> tuple[pd.DataFrame, tuple[str, ...]]:
    report = ImportReport()
    return genai_bedrock_rows(report), tuple(report.skipped)


