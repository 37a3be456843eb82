"""Before and after: one params file priced as it is and with some keys changed.

Every what-if question of the course is the same question: *what does the bill become if these
params keys take these values?* :func:`compare` answers it once. It prices the params ("before"),
applies ``{"dotted.key": value}`` overrides with :func:`costlib.bill.params.with_overrides`
(validated like ``--set``), prices them again ("after") and returns a :class:`Comparison`:
both estimates, the change per option and per option and cost category, and a tidy frame for
charts.

Sweeps (:mod:`costlib.whatif.sweeps`), the article's levers (:mod:`costlib.whatif.levers`), the
price lesson's discounts and override files, and the notebooks' controls are all built on it.

Notes
-----
For one option ``o`` and category ``c`` with line items ``i``:

``change_usd(o, c) = sum_i after_usd(o, c, i) - sum_i before_usd(o, c, i)`` [USD/month], and,
since an option's line items sum to its total,
``change_usd(o) = sum_c change_usd(o, c)``;
``change_pct(o) = 100 * change_usd(o) / before_usd(o)`` [%] (0 when the option cost nothing
before). Options are those of the "before"; an option the overrides add (a lever that moves
``X`` to ``X__uncached`` behind a router) is priced but not compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from costlib.bill.estimate import Estimate, estimate
from costlib.bill.lineitems import CATEGORIES
from costlib.bill.params import Params, with_overrides

__all__ = ["Comparison", "compare", "change_pct"]

OPTION_COLUMNS = ["option", "kind", "before_usd", "after_usd", "change_usd", "change_pct"]
CATEGORY_COLUMNS = ["option", "kind", "category", "before_usd", "after_usd", "change_usd"]
FRAME_COLUMNS = ["option", "kind", "category", "case", "monthly_usd"]


def change_pct(before, after) -> float:
    """Relative change of a monthly total [%]; 0 when ``before`` is 0.

    Parameters
    ----------
    before : float
        Total before [USD/month].
    after : float
        Total after [USD/month].

    Returns
    -------
    float
        ``100 * (after - before) / before`` [%]; negative = cheaper.

    Examples
    --------
    >>> change_pct(200.0, 150.0)
    -25.0
    >>> change_pct(0.0, 10.0)
    0.0
    """
    return 100.0 * (after - before) / before if before else 0.0


@dataclass(frozen=True)
class Comparison:
    """One params file priced twice: as it is (``before``) and with ``overrides`` (``after``).

    Attributes
    ----------
    before, after : Estimate
        From :func:`costlib.bill.estimate.estimate`.
    overrides : dict
        The ``{"dotted.key": value}`` that turned ``before`` into ``after``.
    """

    before: Estimate
    after: Estimate
    overrides: dict[str, Any] = field(default_factory=dict)

    def _after(self) -> dict:
        return {o.name: o for o in self.after.options}

    def totals(self) -> pd.DataFrame:
        """One row per option of ``before``: monthly USD before and after, and the change.

        Returns
        -------
        pandas.DataFrame
            ``option``, ``kind``, ``before_usd``, ``after_usd``, ``change_usd`` [USD/month],
            ``change_pct`` [%] (negative = cheaper).
        """
        after = self._after()
        rows = []
        for o in self.before.options:
            a = after[o.name].monthly_usd if o.name in after else float("nan")
            rows.append({"option": o.name, "kind": o.kind, "before_usd": o.monthly_usd,
                         "after_usd": a, "change_usd": a - o.monthly_usd,
                         "change_pct": change_pct(o.monthly_usd, a)})
        return pd.DataFrame(rows, columns=OPTION_COLUMNS)

    def change(self, option: str) -> float:
        """The change of one option's monthly total [USD/month] (negative = cheaper)."""
        row = self.totals().set_index("option").loc[option]
        return float(row["change_usd"])

    def by_category(self) -> pd.DataFrame:
        """One row per option of ``before`` x cost category: before, after and the change.

        Every category of :data:`costlib.bill.lineitems.CATEGORIES` is listed for every option
        (zero when it has no line item), so the ``change_usd`` of an option's rows sum to its
        total's change.

        Returns
        -------
        pandas.DataFrame
            ``option``, ``kind``, ``category``, ``before_usd``, ``after_usd``, ``change_usd``
            [USD/month].
        """
        after = self._after()
        rows = []
        for o in self.before.options:
            b = _category_sums(o.line_items)
            a = _category_sums(after[o.name].line_items) if o.name in after else {}
            extra = [c for c in dict.fromkeys([*b, *a]) if c not in CATEGORIES]
            for cat in (*CATEGORIES, *extra):
                bu, au = b.get(cat, 0.0), a.get(cat, 0.0)
                rows.append({"option": o.name, "kind": o.kind, "category": cat,
                             "before_usd": bu, "after_usd": au, "change_usd": au - bu})
        return pd.DataFrame(rows, columns=CATEGORY_COLUMNS)

    def to_frame(self) -> pd.DataFrame:
        """Tidy, for charts: one row per option x category x case (``before`` / ``after``).

        Returns
        -------
        pandas.DataFrame
            ``option``, ``kind``, ``category``, ``case``, ``monthly_usd`` [USD/month].
        """
        wide = self.by_category()
        long = wide.melt(id_vars=["option", "kind", "category"],
                         value_vars=["before_usd", "after_usd"], var_name="case",
                         value_name="monthly_usd")
        long["case"] = long["case"].str.removesuffix("_usd")
        return long[FRAME_COLUMNS]


def _category_sums(line_items) -> dict[str, float]:
    out: dict[str, float] = {}
    for li in line_items:
        out[li.category] = out.get(li.category, 0.0) + li.monthly_usd
    return out


def _only(params: Params, options: Iterable[str] | None) -> Params:
    """``params`` with only the named options (the others are not priced)."""
    if options is None:
        return params
    names = list(options)
    out = params.model_copy(update={"options": {n: params.options[n] for n in names}})
    out._source_path = params.source_path
    return out


def compare(params: Params, overrides: Mapping[str, Any] | None = None, *,
            before: Estimate | None = None,
            options: Iterable[str] | None = None) -> Comparison:
    """Price ``params`` before and after ``{"dotted.key": value}`` overrides.

    Parameters
    ----------
    params : Params
        The "before", validated (:func:`costlib.bill.params.load_params`).
    overrides : mapping, optional
        ``{"dotted.key": value}``, as ``--set`` takes them; applied with
        :func:`costlib.bill.params.with_overrides`, so a misspelt key or a bad value is a
        one-line :class:`~costlib.core.errors.CostlibError`. Default: none (after = before).
    before : Estimate, optional
        The estimate of ``params`` when the caller has it already (a sweep or a control that
        compares many "afters" with one "before"); it is not checked against ``params``.
    options : iterable of str, optional
        Price only these options (before and after), e.g. the one option a sweep is about.

    Returns
    -------
    Comparison

    Raises
    ------
    CostlibError
        When the overrides are invalid or the changed params cannot be priced (e.g. a batch
        that does not fit in memory).

    Examples
    --------
    >>> from costlib.core.paths import PARAMS_DIR
    >>> from costlib.bill.params import load_params
    >>> c = compare(load_params(PARAMS_DIR / "default.yaml"))
    >>> float(c.totals()["change_usd"].abs().max())
    0.0
    """
    overrides = dict(overrides or {})
    if before is None:
        before = estimate(_only(params, options))
    after = estimate(_only(with_overrides(params, overrides), options))
    return Comparison(before=before, after=after, overrides=overrides)
