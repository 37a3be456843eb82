"""The context an option is priced in: its params, its traffic, and the price book.

Every pricer (``costlib.bill.options`` and ``costlib.bill.plumbing``) receives a
:class:`Context` and asks it for prices; nothing below the bill layer sees a price.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from costlib.core.errors import CostlibError
from costlib.core.units import SECONDS_PER_MONTH
from costlib.bill.lineitems import fmt, num
from costlib.formulas import worksheet
from costlib.formulas.steps import StepFamily, family_of
from costlib.formulas.traffic import TrafficProfile

if TYPE_CHECKING:  # pragma: no cover - types only
    from costlib.bill.lineitems import OptionOutcome
    from costlib.bill.params import Params


class PriceLookup(Protocol):
    """What a pricer needs of a price book (:class:`costlib.tables.prices.PriceBook` has it)."""

    region: str

    def row(self, service: str, name: str, dimension: str) -> dict: ...

    def tiered_usd(self, service: str, name: str, dimension: str, quantity_per_month): ...

    def table(self): ...


@dataclass(frozen=True)
class Price:
    """A unit price and where it comes from (``usd`` an array when a params price varies)."""

    usd: float
    source: str
    as_of: str = ""


@dataclass
class Context:
    """Everything an option needs to price itself for one month.

    ``traffic`` is the traffic this option receives: the workload's profiles (N of them when
    the bill prices N scenarios at once), or a share of them when a router sends part of the
    traffic elsewhere (``share``). Numbers read from ``params`` may be arrays of N scenarios.
    """

    params: Params
    traffic: StepFamily | None = None
    prices: PriceLookup | None = None
    base_dir: Path = Path(".")
    share: float = 1.0
    evaluate: Callable[[str, float], OptionOutcome] | None = None
    """Prices another option of the params at a share of this one's traffic (routers)."""
    profile: TrafficProfile | None = None
    """One profile instead of ``traffic`` (a family of N = 1 is made of it)."""
    _tpr: object = field(default=None, repr=False, compare=False)
    _reqs: object = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.traffic is None:
            if self.profile is None:
                raise TypeError("Context needs traffic (a StepFamily) or profile")
            self.traffic = family_of(self.profile)

    def option(self, name: str):
        """The settings of option ``name`` of the params file."""
        return self.params.options[name]

    @property
    def workload(self):
        return self.params.workload

    @property
    def tokens_per_request(self):
        if self._tpr is None:
            w = self.workload
            self._tpr = num(worksheet.tokens_per_request(w.in_tokens, w.out_tokens))
        return self._tpr

    @property
    def requests_per_month(self):
        """Requests this option serves in a 730-hour month [requests/month], shape (N,)."""
        if self._reqs is None:
            self._reqs = num(self.traffic.avg_rps * SECONDS_PER_MONTH)
        return self._reqs

    def price(self, service: str, name: str, dimension: str, explicit: float | None = None) -> Price:
        """A unit price: ``explicit`` when the params file gives one, else the price table."""
        if explicit is not None:
            return Price(num(explicit), "params file")
        row = self.prices.row(service, name, dimension)
        get = row.get if isinstance(row, dict) else lambda k, d=None: getattr(row, k, d)
        source = str(get("source", ""))
        if get("overridden", False) and get("override", ""):
            source = f"{source} ({get('override')})"
        return Price(float(get("usd")), source, str(get("as_of", "")))


# --------------------------------------------------------------------------------------------
# price look-ups shared by every pricer


def price_book(ctx: Context) -> PriceLookup:
    """The price book of a context."""
    return ctx.prices


def price_or_error(ctx: Context, service: str, name: str, dimension: str,
                   explicit: float | None = None, key: str = "") -> Price:
    """``ctx.price`` that, when the tables lack the price, names the params key to set."""
    try:
        return ctx.price(service, name, dimension, explicit)
    except CostlibError as exc:
        hint = f"; or give it as {key} in the params file" if key else ""
        raise CostlibError(f"{exc.message}{hint}") from None


def tiered_price(ctx: Context, service: str, name: str, dimension: str, quantity: float) -> Price:
    """Blended unit price of ``quantity`` across graduated tiers [USD per unit].

    ``total(quantity) / quantity``; the first tier's rate when ``quantity`` is 0.
    """
    book = price_book(ctx)
    q = num(quantity)
    total = num(book.tiered_usd(service, name, dimension, q))
    if hasattr(book, "tiers"):
        rows = book.tiers(service, name, dimension)
    else:  # a price book without the pandas-free reader
        table = book.table()
        sel = table[(table["service"] == service) & (table["name"] == name)
                    & (table["dimension"] == dimension) & (table["region"] == book.region)]
        rows = sel.sort_values("tier_start").to_dict(orient="records")
    sources = "; ".join(dict.fromkeys(str(r["source"]) for r in rows))
    first = float(rows[0]["usd"]) if rows else 0.0
    qa = np.asarray(q, dtype=float)
    if np.all(qa > 0):
        shown = fmt(qa) if qa.size > 1 else f"{float(qa.reshape(-1)[0]):g}"
        return Price(num(total / q), f"tiered, blended over {shown}: {sources}")
    if np.all(qa == 0):
        return Price(first, sources)
    with np.errstate(invalid="ignore", divide="ignore"):
        blended = np.where(qa > 0, total / np.where(qa > 0, qa, 1.0), first)
    return Price(num(blended), f"tiered, blended over varies: {sources}")


def leaf_shares(ctx: Context, option, _depth: int = 0) -> list[tuple[str | None, object, float]]:
    """The serving options behind an option, with the share of its requests each receives.

    A router's cache hits reach no model; its misses split by route shares (recursively).
    Returns ``[(route name or None, option model, share)]``.
    """
    if getattr(option, "kind", None) != "router":
        return [(None, option, 1.0)]
    if _depth > 8:
        raise CostlibError("router routes nest more than 8 deep")
    hit = option.cache.hit_fraction if option.cache is not None else 0.0
    out = []
    for route in option.routes:
        sub = ctx.option(route.to)
        for name, leaf, share in leaf_shares(ctx, sub, _depth + 1):
            out.append((name or route.to, leaf, (1.0 - hit) * route.share * share))
    return out
