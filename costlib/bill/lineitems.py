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
    """

    category: str
    item: str
    quantity: float
    unit: str
    unit_usd: float
    monthly_usd: float
    source: str = ""

    def __post_init__(self):
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown line-item category {self.category!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def line_item(category: str, item: str, quantity, unit: str, unit_usd, source: str = "") -> LineItem:
    """A line item whose monthly cost is ``quantity * unit_usd`` [USD/month]."""
    quantity = float(quantity)
    unit_usd = float(unit_usd)
    return LineItem(category, item, quantity, unit, unit_usd, quantity * unit_usd, source)


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
        if self.engineer_hours_per_month > 0 and self.usd_per_engineer_hour is None:
            raise ValueError("engineer_hours_per_month is set: give usd_per_engineer_hour too")
        return self


def operations_items(ops: Operations) -> list[LineItem]:
    """The engineer-time line item (quantity 0 when no hours are given)."""
    return [line_item("operations", "engineer time to keep it up", ops.engineer_hours_per_month,
                      "engineer-hour", ops.usd_per_engineer_hour or 0.0, "params file")]


@dataclass
class OptionOutcome:
    """What pricing one option produced: its line items and option-specific figures."""

    line_items: list[LineItem]
    details: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def monthly_usd(self) -> float:
        return float(sum(li.monthly_usd for li in self.line_items))


def per_step_to_month(values_per_step, step_s: float):
    """Scale a sum over one window's steps to a 730-hour month.

    ``sum(values) * SECONDS_PER_MONTH / (n_steps * step_s)``: the window repeats to fill the
    month.
    """
    values = np.asarray(values_per_step, dtype=float)
    return float(values.sum()) * SECONDS_PER_MONTH / (values.size * step_s)
