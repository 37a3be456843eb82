"""One workload, every option, one month: the estimate behind every report.

:func:`estimate` turns validated :class:`~costlib.bill.params.Params` into an :class:`Estimate`: for
each option a list of line items (category, item, quantity, unit, unit price, monthly USD), their
total, and the cost per request and per 1,000 tokens. The same result is available as a dict
(the ``--json`` contract), as readable tables, and as a tidy pandas frame for charts.

Every total splits into its **floor** (``floor_usd``: what the option costs in a month in which
no request arrives, with the capacity the params provision kept as provisioned -- NAT
gateways, load balancer hours, public IPs, the vector store's capacity and corpus, keys, a fixed
fleet, an autoscaled fleet's minimum instances, engineer time) and its **usage** part
(``usage_usd = monthly_usd - floor_usd``), from the ``floor_usd`` each pricer sets on its line
items (:class:`~costlib.bill.lineitems.LineItem`). With a ``work_unit:`` block
(:mod:`costlib.bill.work_unit`) each option also carries ``usd_per_unit`` (usage part / units
per month) and ``usd_per_unit_all_in`` (total / units per month).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from costlib.formulas import worksheet
from costlib.core.errors import CostlibError, WholeFileError
from costlib.bill.context import Context
from costlib.bill.lineitems import LineItem, OptionOutcome, any_nonzero
from costlib.bill.options import PRICERS
from costlib.bill.params import Params
from costlib.bill.plumbing import extra_input_tokens, price_plumbing
from costlib.bill.traffic import workload_family, workload_profile
from costlib.bill.work_unit import work_unit_summary
from costlib.formulas.steps import StepFamily
from costlib.formulas.traffic import TrafficProfile, requests_per_month
from costlib.core.units import TOKENS_PER_1K

__all__ = ["Estimate", "OptionResult", "estimate", "floor_items", "requests_per_month",
           "workload_profile"]

@dataclass(frozen=True)
class OptionResult:
    name: str
    kind: str
    monthly_usd: float
    usd_per_request: float
    usd_per_1k_tokens: float
    line_items: list[LineItem]
    details: dict = field(default_factory=dict)
    floor_usd: float = 0.0
    usd_per_unit: float | None = None
    usd_per_unit_all_in: float | None = None

    @property
    def usage_usd(self) -> float:
        """The part of the total that scales with use: ``monthly_usd - floor_usd`` [USD/month]."""
        return self.monthly_usd - self.floor_usd

    def to_dict(self) -> dict:
        out = {
            "name": self.name,
            "kind": self.kind,
            "monthly_usd": self.monthly_usd,
            "usd_per_request": self.usd_per_request,
            "usd_per_1k_tokens": self.usd_per_1k_tokens,
            "floor_usd": self.floor_usd,
            "usage_usd": self.usage_usd,
            "usd_per_unit": self.usd_per_unit,
            "usd_per_unit_all_in": self.usd_per_unit_all_in,
            "line_items": [li.to_dict() for li in self.line_items],
        }
        out.update(self.details)
        return out


@dataclass(frozen=True)
class Estimate:
    title: str
    region: str
    workload: dict
    options: list[OptionResult]
    prices: dict = field(default_factory=dict)
    profile: TrafficProfile | None = field(default=None, repr=False, compare=False)
    work_unit: dict | None = None

    @property
    def cheapest(self) -> str:
        return min(self.options, key=lambda o: o.monthly_usd).name

    def option(self, name: str) -> OptionResult:
        """The result of one option by name."""
        for o in self.options:
            if o.name == name:
                return o
        from costlib.core.names import unknown_name_message

        raise CostlibError(unknown_name_message("option", name, [o.name for o in self.options]))

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "region": self.region,
            "workload": self.workload,
            "work_unit": self.work_unit,
            "options": [o.to_dict() for o in self.options],
            "cheapest": self.cheapest,
            "prices": self.prices,
        }

    def totals_frame(self):
        """One row per option: monthly total, per request, per 1k tokens, floor and usage
        parts, and with a work unit the cost per unit (a pandas frame)."""
        import pandas as pd

        rows = []
        for o in self.options:
            row = {
                "option": o.name,
                "kind": o.kind,
                "monthly_usd": o.monthly_usd,
                "usd_per_request": o.usd_per_request,
                "usd_per_1k_tokens": o.usd_per_1k_tokens,
                "floor_usd": o.floor_usd,
                "usage_usd": o.usage_usd,
            }
            if self.work_unit is not None:
                row["usd_per_unit"] = o.usd_per_unit
                row["usd_per_unit_all_in"] = o.usd_per_unit_all_in
            rows.append(row)
        return pd.DataFrame(rows)

    def to_frame(self):
        """Tidy: one row per option x line item (a pandas frame)."""
        import pandas as pd

        rows = []
        for o in self.options:
            for li in o.line_items:
                rows.append({"option": o.name, "kind": o.kind, **li.to_dict()})
        return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# monthly volumes


# --------------------------------------------------------------------------------------------
# traffic and prices


class _PriceBookProxy:
    """Opens the price book on first use, so options with all prices given need no tables.

    It has the :class:`~costlib.bill.context.PriceLookup` methods a pricer uses.
    """

    def __init__(self, params: Params, base_dir: Path | None):
        self.params = params
        self.base_dir = base_dir
        self._book = None

    @property
    def book(self):
        if self._book is None:
            from costlib.tables.prices import load_price_book

            settings = self.params.prices.model_copy(update={"region": self.params.region})
            try:
                self._book = load_price_book(settings, base_dir=self.base_dir)
            except CostlibError as exc:  # about the file's prices, not about one option
                raise WholeFileError(exc.message) from None
        return self._book

    @property
    def region(self) -> str:
        return self.book.region

    def row(self, service, name, dimension):
        return self.book.row(service, name, dimension)

    def tiered_usd(self, service, name, dimension, quantity_per_month):
        return self.book.tiered_usd(service, name, dimension, quantity_per_month)

    def tiers(self, service, name, dimension):
        return self.book.tiers(service, name, dimension)

    def has(self, service, name, dimension):
        return self.book.has(service, name, dimension)

    def table(self):
        return self.book.table()


# --------------------------------------------------------------------------------------------
# the estimate


@dataclass
class PricedOptions:
    """What :func:`price_options` returns: each option's outcome, and the workload priced."""

    options: list  # (name, kind, OptionOutcome)
    workload: object
    context_tokens: object


def price_options(params: Params, traffic: StepFamily, prices, base_dir: Path) -> PricedOptions:
    """Every option of ``params`` over ``traffic``: the one pricing pass of the bill.

    Numbers in ``params`` and the traffic's rates may be arrays of N scenarios
    (:func:`costlib.bill.vector.price_many`); the scalar :func:`estimate` is the case N = 1.
    """
    plumbing = params.plumbing
    user_workload = params.workload
    context_tokens = extra_input_tokens(plumbing)
    if any_nonzero(context_tokens):
        # retrieved context is part of every prompt: the model, the network and the logs see it
        params = params.model_copy(update={"workload": user_workload.model_copy(
            update={"in_tokens": user_workload.in_tokens + context_tokens})})

    def evaluate(name: str, share=1.0, _stack: tuple = (),
                 top_level: bool = False) -> OptionOutcome:
        if name not in params.options:
            from costlib.core.names import unknown_name_message

            raise CostlibError(unknown_name_message("option", name, params.options))
        if name in _stack:
            raise CostlibError(f"options.{name}: routes loop back to it ({' -> '.join(_stack + (name,))})")
        opt = params.options[name]
        scaled = traffic if _is_one(share) else traffic.scaled(share)
        ctx = Context(params=params, traffic=scaled, prices=prices, base_dir=base_dir,
                      share=share,
                      evaluate=lambda n, s: evaluate(n, share * s, _stack + (name,)))
        try:
            outcome = PRICERS[opt.kind](name, opt, ctx)
            if top_level:  # plumbing once per option compared, not again for each route
                outcome.line_items.extend(price_plumbing(plumbing, ctx, opt, outcome))
            return outcome
        except WholeFileError:
            raise
        except CostlibError as exc:
            msg = exc.message
            raise CostlibError(msg if msg.startswith("options.") else f"options.{name}: {msg}") from None

    out = [(name, opt.kind, evaluate(name, top_level=True)) for name, opt in params.options.items()]
    return PricedOptions(out, params.workload, context_tokens)


def _is_one(share) -> bool:
    return np.ndim(share) == 0 and float(share) == 1.0


def _one(x) -> float:
    """A value of the N = 1 pass as a float."""
    return float(np.asarray(x, dtype=float).reshape(-1)[0])


def _scalar_item(li: LineItem) -> LineItem:
    q, u = _one(li.quantity), _one(li.unit_usd)
    return dataclasses.replace(li, quantity=q, unit_usd=u, monthly_usd=_one(li.monthly_usd),
                               floor_usd=_one(li.floor_usd))


def floor_items(result: Estimate, option: str) -> list[LineItem]:
    """The line items of ``option`` with a floor part, as items of their floor alone.

    Each returned item keeps its category, label, unit and unit price; its ``monthly_usd`` is
    the item's ``floor_usd`` and its ``quantity`` the floor quantity (``floor_usd /
    unit_usd``). They add up to the option's ``floor_usd``.
    """
    out = []
    for li in result.option(option).line_items:
        if li.floor_usd > 0:
            q = li.floor_usd / li.unit_usd if li.unit_usd else li.quantity
            out.append(dataclasses.replace(li, quantity=q, monthly_usd=li.floor_usd))
    return out


def _scalar_details(d):
    if isinstance(d, dict):
        return {k: _scalar_details(v) for k, v in d.items()}
    if isinstance(d, np.ndarray) and d.size == 1:
        return float(d.reshape(-1)[0])
    if isinstance(d, np.generic):
        return d.item()
    return d


def estimate(params: Params, base_dir: Path | None = None, *, prices=None) -> Estimate:
    """Price every option of ``params`` for one 730-hour month.

    Parameters
    ----------
    params : Params
        Validated params.
    base_dir : Path, optional
        Folder that relative paths in the params (CSV traffic, price overrides, measured
        curves) are resolved against; default the params file's folder.
    prices : object, optional
        The price look-ups (the :class:`~costlib.bill.context.PriceLookup` methods, plus
        ``book`` and ``_book`` like :class:`_PriceBookProxy`); default: the params' price book,
        opened on first use. :func:`costlib.whatif.regions.compare_regions` passes one that
        records the prices a region lacks.

    Raises
    ------
    CostlibError
        When a price, model or instance the params need is not in the tables, or an option
        is inconsistent; the message starts with ``options.<name>``.
    """
    from costlib.core.paths import PARAMS_DIR

    if not isinstance(params, Params):
        raise CostlibError(f"estimate: params must be a Params from load_params(path), got "
                           f"{type(params).__name__}")
    if base_dir is None:
        source = params.source_path
        base_dir = source.resolve().parent if source is not None else PARAMS_DIR
    base_dir = Path(base_dir)
    profile = workload_profile(params.workload, base_dir)
    if prices is None:
        prices = _PriceBookProxy(params, base_dir)
    priced = price_options(params, workload_family(params.workload, base_dir), prices, base_dir)
    w, context_tokens = priced.workload, priced.context_tokens
    reqs = float(profile.requests_per_month)
    unit = None
    if params.work_unit is not None:
        unit = _scalar_details(work_unit_summary(
            params.work_unit, reqs, params.retrieval.enabled, params.workload.in_tokens,
            params.workload.out_tokens))
    results = []
    for name, kind, outcome in priced.options:
        items = [_scalar_item(li) for li in outcome.line_items]
        total = float(sum(li.monthly_usd for li in items))
        floor = float(sum(li.floor_usd for li in items))
        per_unit = {}
        if unit is not None:
            units = unit["units_per_month"]
            per_unit = {"usd_per_unit": (total - floor) / units,
                        "usd_per_unit_all_in": total / units}
        results.append(
            OptionResult(
                name=name,
                kind=kind,
                monthly_usd=total,
                usd_per_request=total / reqs,
                usd_per_1k_tokens=total / (reqs * float(worksheet.tokens_per_request(
                    w.in_tokens, w.out_tokens)) / TOKENS_PER_1K),
                line_items=items,
                details=_scalar_details(outcome.details),
                floor_usd=floor,
                **per_unit,
            )
        )
    price_info = {"region": params.region, "in_force_on": None, "oldest_as_of": None,
                  "warnings": [], "overridden": [], "used": []}
    if prices._book is not None:
        book = prices.book
        oldest = book.oldest_as_of_used()
        cols = ["service", "name", "dimension", "region", "unit", "usd", "list_usd", "as_of",
                "source", "overridden", "override"]
        records = [
            {k: (row.get(k).isoformat() if isinstance(row.get(k), date) else row.get(k))
             for k in cols}
            for row in book.used_records()
        ]
        price_info.update({
            "in_force_on": book.as_of.isoformat(),
            "oldest_as_of": oldest.isoformat() if isinstance(oldest, date) else oldest,
            "warnings": list(book.stale_warnings()),
            "overridden": [r for r in records if r["overridden"]],
            "used": records,
        })
    workload = w.model_dump(exclude={"traffic"})
    workload["retrieved_context_tokens"] = context_tokens
    workload.update({"p95_rps": w.p95_rps if w.p95_rps is not None else profile.p95_rps,
                     "peak_rps": profile.peak_rps, "traffic_shape": profile.shape,
                     "requests_per_month": reqs})
    return Estimate(
        title=params.title,
        region=params.region,
        workload=workload,
        options=results,
        prices=price_info,
        profile=profile,
        work_unit=unit,
    )
