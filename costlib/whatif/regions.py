"""Regions side by side: the same params priced in several regions, in one table (issue 14).

:func:`compare_regions` prices a params file once per region, each time with that region's
rows only: price look-ups never fall back to another region
(:mod:`costlib.tables.prices`). A region that lacks a price some line item needs is not
priced with another region's number: the missing row (service/name/dimension) is named, and
the cells that depend on it are empty (NaN) -- the option's total, and the category whose line
item needed the row.

How a missing price is found: the region's price book is wrapped so that a look-up of a row the
region does not have is recorded and answered with a placeholder of 0 USD whose ``source`` says
``MISSING``; the pass then runs to the end, so *every* missing row is named, not only the first.
No placeholder figure ever reaches a reported cell: a line item whose source carries the marker
blanks its option's total and its category. A region whose missing look-up left no mark on any
line item (a pricer that does not copy the source) blanks every cell of that region.

Example (``costlib estimate params/default.yaml --regions us-east-1,us-west-2``)::

    >>> from costlib.bill.params import load_params
    >>> from costlib.core.paths import PARAMS_DIR
    >>> cmp = compare_regions(load_params(PARAMS_DIR / "default.yaml"), ["us-east-1"])
    >>> cmp.results[0].priced
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from costlib.bill.estimate import Estimate, estimate
from costlib.bill.params import Params
from costlib.core.errors import CostlibError

if TYPE_CHECKING:  # pragma: no cover - types only
    import pandas as pd

__all__ = ["MISSING_MARK", "MissingPrice", "RegionResult", "RegionComparison", "compare_regions",
           "parse_regions"]

MISSING_MARK = "MISSING"
"""Start of the ``source`` of a placeholder price: the region has no such row."""


@dataclass(frozen=True)
class MissingPrice:
    """A price row a region lacks: (service, name, dimension) in ``region``."""

    region: str
    service: str
    name: str
    dimension: str

    @property
    def label(self) -> str:
        """``service/name/dimension``, as ``costlib prices show`` names a row."""
        return f"{self.service}/{self.name}/{self.dimension}"


class _RecordingPrices:
    """One region's price book; a look-up of a row the region lacks is recorded, not raised.

    It has the methods of :class:`costlib.bill.estimate._PriceBookProxy` that a pricer and
    :func:`costlib.bill.estimate.estimate` use (``row``, ``tiered_usd``, ``tiers``, ``has``,
    ``table``, ``region``, ``book``, ``_book``).
    """

    def __init__(self, book):
        self.book = book
        self._book = book
        self.missing: list[MissingPrice] = []

    @property
    def region(self) -> str:
        return self.book.region

    def _miss(self, service: str, name: str, dimension: str) -> dict:
        miss = MissingPrice(self.book.region, service, name, dimension)
        if miss not in self.missing:
            self.missing.append(miss)
        return {"service": service, "name": name, "dimension": dimension,
                "region": self.book.region, "unit": "", "usd": 0.0, "list_usd": 0.0,
                "tier_start": 0.0, "tier_end": math.inf, "as_of": "", "overridden": False,
                "override": "", "source": f"{MISSING_MARK}: no {miss.label} price in {miss.region}"}

    def has(self, service, name, dimension):
        return self.book.has(service, name, dimension)

    def row(self, service, name, dimension):
        if not self.book.has(service, name, dimension):
            return self._miss(service, name, dimension)
        return self.book.row(service, name, dimension)

    def tiers(self, service, name, dimension):
        if not self.book.has(service, name, dimension):
            return [self._miss(service, name, dimension)]
        return self.book.tiers(service, name, dimension)

    def tiered_usd(self, service, name, dimension, quantity_per_month):
        if not self.book.has(service, name, dimension):
            self._miss(service, name, dimension)
            zero = np.zeros_like(np.asarray(quantity_per_month, dtype=float))
            return float(zero) if zero.ndim == 0 else zero
        return self.book.tiered_usd(service, name, dimension, quantity_per_month)

    def table(self):
        return self.book.table()


@dataclass(frozen=True)
class RegionResult:
    """One region's pass: its estimate, the rows it lacks, or why it could not be priced.

    ``estimate`` holds placeholder zeros where a row is missing: read cells through
    :class:`RegionComparison`, which blanks them, never from it directly.
    """

    region: str
    estimate: Estimate | None
    missing: tuple[MissingPrice, ...] = ()
    error: str | None = None
    blank: dict = field(default_factory=dict)
    """option -> set of categories to blank (``"*"``: every cell of the option)."""

    @property
    def priced(self) -> bool:
        """Every price every option needs was found in this region."""
        return self.error is None and not self.missing

    def cell(self, option: str, category: str | None = None) -> float:
        """Monthly USD of an option (``category`` None: its total), NaN when not priced here."""
        if self.estimate is None:
            return math.nan
        gaps = self.blank.get(option, set())
        if "*" in gaps or (category is None and gaps) or (category in gaps):
            return math.nan
        opt = self.estimate.option(option)
        if category is None:
            return float(opt.monthly_usd)
        return float(sum(li.monthly_usd for li in opt.line_items if li.category == category))

    def missing_by_option(self) -> dict[str, list[str]]:
        """option -> the line items that needed a missing row (their item text)."""
        out: dict[str, list[str]] = {}
        if self.estimate is None:
            return out
        for o in self.estimate.options:
            hits = [li.item for li in o.line_items if MISSING_MARK in li.source]
            if hits:
                out[o.name] = hits
        return out


@dataclass(frozen=True)
class RegionComparison:
    """The params priced in each region: :meth:`table` is the options x regions table."""

    title: str
    regions: tuple[str, ...]
    options: tuple[str, ...]
    results: tuple[RegionResult, ...]

    def result(self, region: str) -> RegionResult:
        for r in self.results:
            if r.region == region:
                return r
        from costlib.core.names import unknown_name_message

        raise CostlibError(unknown_name_message("region", region, self.regions))

    def categories(self) -> list[str]:
        """The categories any region's estimate has, in report order."""
        from costlib.bill.lineitems import CATEGORIES

        seen = {li.category for r in self.results if r.estimate is not None
                for o in r.estimate.options for li in o.line_items}
        return [c for c in CATEGORIES if c in seen]

    def table(self, categories: bool = True) -> pd.DataFrame:
        """One row per option x (total, then each category), one column per region [USD/month].

        A cell is NaN (empty) where its region lacks a price the cell needs.
        """
        import pandas as pd

        rows = []
        for opt in self.options:
            parts = [None] + (self.categories() if categories else [])
            for cat in parts:
                row = {"option": opt, "category": "total" if cat is None else cat}
                for r in self.results:
                    row[r.region] = r.cell(opt, cat)
                rows.append(row)
        return pd.DataFrame(rows, columns=["option", "category", *self.regions])

    def totals(self) -> pd.DataFrame:
        """Monthly totals only: one row per option, one column per region [USD/month]."""
        t = self.table(categories=False)
        return t.drop(columns="category").set_index("option")

    def missing_lines(self) -> list[str]:
        """One line per region not priced: the missing rows, and which options needed them."""
        lines = []
        for r in self.results:
            if r.error is not None:
                lines.append(f"{r.region}: not priced: {r.error}")
                continue
            if not r.missing:
                continue
            rows = ", ".join(m.label for m in r.missing)
            by_opt = r.missing_by_option()
            opts = ", ".join(by_opt) if by_opt else "every option (the look-up left no line item)"
            lines.append(f"{r.region}: no price for {rows}; cells left empty for {opts}")
        return lines

    def to_dict(self) -> dict:
        """The JSON of ``costlib estimate --regions ... --json`` (NaN cells as null)."""
        def clean(x):
            return None if isinstance(x, float) and math.isnan(x) else x

        return {
            "title": self.title,
            "regions": list(self.regions),
            "table": [{k: clean(v) for k, v in row.items()}
                      for row in self.table().to_dict(orient="records")],
            "missing": [{"region": m.region, "service": m.service, "name": m.name,
                         "dimension": m.dimension} for r in self.results for m in r.missing],
            "errors": {r.region: r.error for r in self.results if r.error is not None},
            "priced": {r.region: r.priced for r in self.results},
        }


def parse_regions(text: str) -> list[str]:
    """``"us-east-1,us-west-2"`` -> ``["us-east-1", "us-west-2"]`` (a one-line error when empty)."""
    regions = [r.strip() for r in str(text).split(",") if r.strip()]
    if not regions:
        raise CostlibError(f"--regions {text!r}: give one or more regions, e.g. us-east-1,us-west-2")
    if len(set(regions)) != len(regions):
        raise CostlibError(f"--regions {text!r}: a region is named twice")
    return regions


def _base_dir(params: Params, base_dir: Path | None) -> Path:
    from costlib.core.paths import PARAMS_DIR

    if base_dir is not None:
        return Path(base_dir)
    source = params.source_path
    return source.resolve().parent if source is not None else PARAMS_DIR


def _in_region(params: Params, region: str) -> Params:
    """The params with ``region`` set (and ``prices.region`` when the file set it)."""
    update = {"region": region}
    if "region" in params.prices.model_fields_set:
        update["prices"] = params.prices.model_copy(update={"region": region})
    return params.model_copy(update=update)


def price_region(params: Params, region: str, base_dir: Path | None = None) -> RegionResult:
    """The params priced in one region; missing rows named, never filled from another region."""
    from costlib.tables.prices import load_price_book

    base = _base_dir(params, base_dir)
    p = _in_region(params, region)
    try:
        settings = p.prices.model_copy(update={"region": region})
        book = load_price_book(settings, base_dir=base)
    except CostlibError as exc:  # e.g. a region no table has
        return RegionResult(region, None, error=exc.message)
    prices = _RecordingPrices(book)
    try:
        result = estimate(p, base, prices=prices)
    except CostlibError as exc:
        return RegionResult(region, None, tuple(prices.missing), error=exc.message)
    missing = tuple(prices.missing)
    blank: dict[str, set] = {}
    if missing:
        marked = False
        for o in result.options:
            cats = {li.category for li in o.line_items if MISSING_MARK in li.source}
            if cats:
                blank[o.name] = cats
                marked = True
        if not marked:
            blank = {o.name: {"*"} for o in result.options}
    return RegionResult(region, result, missing, blank=blank)


def compare_regions(params: Params, regions, base_dir: Path | None = None) -> RegionComparison:
    """Price ``params`` in each of ``regions``: one :class:`RegionComparison`.

    Parameters
    ----------
    params : Params
        Validated params; its own ``region`` is replaced by each region in turn.
    regions : list of str
        AWS region codes, e.g. ``["us-east-1", "us-west-2"]``.
    base_dir : Path, optional
        Folder relative paths in the params resolve against (default: the params file's).

    Returns
    -------
    RegionComparison
        Its :meth:`~RegionComparison.table` has one column per region [USD/month]; a region
        that lacks a needed price has empty cells there and its missing rows in
        :meth:`~RegionComparison.missing_lines`.
    """
    regions = list(regions)
    if not regions:
        raise CostlibError("compare_regions: give one or more regions")
    results = tuple(price_region(params, r, base_dir) for r in regions)
    return RegionComparison(params.title, tuple(regions), tuple(params.options), results)
