"""What every priced thing returns: line items, grouped in categories, and an option's outcome."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from pydantic import Field, model_validator

from costlib.core.schema import Strict
from costlib.core.units import SECONDS_PER_MONTH

CATEGORIES = (
    "inference",
    "retrieval",
    "network",
    "observability",
    "security",
    "failures",
    "operations",
)
"""Line-item categories, in the order reports show them."""


@dataclass(frozen=True)
class LineItem:
    """One priced quantity of one month: ``monthly_usd = quantity * unit_usd``.

    Attributes
    ----------
    category : str
        One of :data:`CATEGORIES`.
    item : str
        What is bought, in words.
    quantity : float
        How much of it in a month [``unit``].
    unit : str
        The unit of ``quantity`` (``instance-hour``, ``1M tokens``, ``GB-month``...).
    unit_usd : float
        Price of one ``unit`` [USD].
    monthly_usd : float
        ``quantity * unit_usd`` [USD/month].
    source : str
        Where ``unit_usd`` comes from (price-table source URL, or ``params file``).
    floor_usd : float
        The part of ``monthly_usd`` paid in a month in which no request arrives, with the
        capacity the params provision kept as provisioned [USD/month]: hourly resources, key-
        and secret-months, a vector store's minimum capacity and its corpus, a fixed fleet, an
        autoscaled fleet's minimum instances, engineer time. 0 (the default) for an item that
        scales with use; ``monthly_usd - floor_usd`` is its usage part (see :func:`line_item`).
    """

    category: str
    item: str
    quantity: float
    unit: str
    unit_usd: float
    monthly_usd: float
    source: str = ""
    floor_usd: float = 0.0

    def __post_init__(self):
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown line-item category {self.category!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def num(x):
    """A quantity as a float, or as a float array when it varies by scenario (N > 1 rows).

    The bill's formulas take scalars or arrays alike (:func:`costlib.bill.vector.price_many`
    prices N scenarios in one pass); ``num`` is the one place a number is made concrete.
    """
    if isinstance(x, np.ndarray) and x.ndim:
        return x.astype(float, copy=False)
    return float(x)


def any_nonzero(x) -> bool:
    """Whether a setting is non-zero in any scenario (an item is priced when it is)."""
    return bool(np.any(np.asarray(x) != 0))


def fmt(x, spec: str = "g") -> str:
    """``format(x, spec)`` for a label; ``varies`` when scenarios disagree on the value."""
    a = np.asarray(x, dtype=float).reshape(-1)
    if a.size == 0:
        return ""
    if a.size > 1 and not np.all(a == a[0]):
        return "varies"
    return format(float(a[0]), spec)


def line_item(category: str, item: str, quantity, unit: str, unit_usd, source: str = "", *,
              fixed: bool = False, floor_quantity=None) -> LineItem:
    """A line item whose monthly cost is ``quantity * unit_usd`` [USD/month].

    ``quantity`` and ``unit_usd`` may be arrays of N scenarios (then so is the cost).

    Parameters
    ----------
    fixed : bool
        The whole item is paid without traffic (``floor_usd = monthly_usd``): an hourly
        resource, a key-month, capacity the params provision.
    floor_quantity : float or numpy.ndarray, optional
        The part of ``quantity`` paid without traffic [``unit``] (an autoscaled fleet's
        minimum instances x 730 h, say): ``floor_usd = floor_quantity * unit_usd``. Neither
        given: the item scales with use (``floor_usd = 0``).
    """
    quantity = num(quantity)
    unit_usd = num(unit_usd)
    monthly = num(quantity * unit_usd)
    if fixed:
        floor = monthly
    elif floor_quantity is not None:
        floor = num(np.minimum(num(floor_quantity) * unit_usd, monthly))
    else:
        floor = 0.0
    return LineItem(category, item, quantity, unit, unit_usd, monthly, source, floor)


class Operations(Strict):
    """The article's "team to keep it up": engineer time an option needs each month.

    Attributes
    ----------
    engineer_hours_per_month : float
        Hours of on-call, upgrades, tuning and quota requests per month [h/month].
    usd_per_engineer_hour : float
        Loaded cost of an engineer-hour [USD/h]; your own figure (not a published price).
    """

    engineer_hours_per_month: float = Field(0.0, ge=0)
    usd_per_engineer_hour: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _rate_when_hours(self):
        if np.any(np.asarray(self.engineer_hours_per_month) > 0) and self.usd_per_engineer_hour is None:
            raise ValueError("engineer_hours_per_month is set: give usd_per_engineer_hour too")
        return self


def operations_items(ops: Operations) -> list[LineItem]:
    """The engineer-time line item (quantity 0 when no hours are given)."""
    rate = 0.0 if ops.usd_per_engineer_hour is None else ops.usd_per_engineer_hour
    return [line_item("operations", "engineer time to keep it up", ops.engineer_hours_per_month,
                      "engineer-hour", rate, "params file", fixed=True)]


@dataclass
class OptionOutcome:
    """What pricing one option produced: its line items and option-specific figures."""

    line_items: list[LineItem]
    details: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def monthly_usd(self):
        """Sum of the items [USD/month]; an array when the items vary by scenario."""
        return num(sum((li.monthly_usd for li in self.line_items), 0.0))

    @property
    def floor_usd(self):
        """Sum of the items' floor parts [USD/month] (see :attr:`LineItem.floor_usd`)."""
        return num(sum((li.floor_usd for li in self.line_items), 0.0))


def per_step_to_month(values_per_step, step_s: float):
    """Scale a sum over one window's steps to a 730-hour month.

    ``sum(values) * SECONDS_PER_MONTH / (n_steps * step_s)``: the window repeats to fill the
    month.
    """
    values = np.asarray(values_per_step, dtype=float)
    return float(values.sum()) * SECONDS_PER_MONTH / (values.size * step_s)


def steps_to_month(values_per_step, weights, step_s: float):
    """:func:`per_step_to_month` over distinct steps: values (N, K) with step counts (K,)."""
    w = np.asarray(weights, dtype=float)
    return num((np.asarray(values_per_step, dtype=float) @ w) * SECONDS_PER_MONTH
               / (w.sum() * step_s))
