"""The change of every line item and every total between two estimates, like a plan diff.

:func:`compare` answers *what does this option cost if these keys change?* per option and
category. Reviewing a change to a params file (a pull request that edits ``params/*.yaml``) asks
for more: which line items moved, by how much, and which appeared or went away.
:func:`diff_estimates` answers it line by line, :func:`diff_totals` option by option, and
:func:`diff_to_dict` gives both as lists of records (the ``costlib diff --json`` form).

Notes
-----
Line items are matched by ``(option, category, item, unit)`` and, when one option has several
items with the same key, by their order of occurrence (the first with the first). A matched pair
is ``"same"`` or ``"changed"``; an item only in ``after`` is ``"added"`` (``before_usd = 0``),
one only in ``before`` is ``"removed"`` (``after_usd = 0``). An item whose label carries a number
(``NAT gateways (2, one per AZ)``) is therefore removed and added when that number changes.

For every row ``change_usd = after_usd - before_usd`` [USD/month] and
``change_pct = 100 * change_usd / before_usd`` [%], 0 when both are 0 and NaN (no relative
change) when only ``before_usd`` is 0. Since an option's line items sum to its total, and an
option only on one side counts 0 on the other,
``diff_totals(o).change_usd = sum of diff_estimates(o).change_usd``.
"""

from __future__ import annotations

import math

import pandas as pd

from costlib.bill.estimate import Estimate
from costlib.core.errors import CostlibError

__all__ = ["diff_estimates", "diff_totals", "diff_to_dict", "waterfall_frame", "changed_options",
           "STATUSES", "WATERFALL_TOP", "WATERFALL_KINDS"]

STATUSES = ("changed", "added", "removed", "same")
"""The status of a line item or an option in a diff."""

LINE_COLUMNS = ["option", "category", "item", "unit", "before_usd", "after_usd", "change_usd",
                "change_pct", "status", "before_quantity", "after_quantity", "before_unit_usd",
                "after_unit_usd"]
TOTAL_COLUMNS = ["option", "before_usd", "after_usd", "change_usd", "change_pct", "status"]


def _pct(before: float, after: float) -> float:
    if before:
        return 100.0 * (after - before) / before
    return 0.0 if after == before else math.nan


def _status(before: float, after: float) -> str:
    return "same" if after == before else "changed"


def _option_names(before: Estimate, after: Estimate) -> list[str]:
    """Options of ``before`` in order, then those only in ``after``."""
    return list(dict.fromkeys([*(o.name for o in before.options),
                               *(o.name for o in after.options)]))


def _keyed(line_items) -> dict[tuple, object]:
    """``{(category, item, unit, occurrence): line_item}``, in the items' order."""
    out: dict[tuple, object] = {}
    seen: dict[tuple, int] = {}
    for li in line_items:
        key = (li.category, li.item, li.unit)
        n = seen.get(key, 0)
        seen[key] = n + 1
        out[(*key, n)] = li
    return out


def diff_estimates(before: Estimate, after: Estimate) -> pd.DataFrame:
    """The change of every line item of every option between two estimates.

    Parameters
    ----------
    before, after : Estimate
        From :func:`costlib.bill.estimate.estimate`.

    Returns
    -------
    pandas.DataFrame
        One row per line item: ``option``, ``category``, ``item``, ``unit``, ``before_usd``,
        ``after_usd``, ``change_usd`` [USD/month], ``change_pct`` [%] (NaN for an added item),
        ``status`` (one of :data:`STATUSES`), and ``before_quantity``, ``after_quantity``
        [``unit``/month], ``before_unit_usd``, ``after_unit_usd`` [USD/``unit``] (NaN on the
        side an item is missing from). Options in ``before``'s order, then those only in
        ``after``; within an option, ``before``'s items in order, then the added ones.

    Examples
    --------
    >>> from costlib.core.paths import PARAMS_DIR
    >>> from costlib.bill.params import load_params
    >>> from costlib.bill.estimate import estimate
    >>> e = estimate(load_params(PARAMS_DIR / "default.yaml"))
    >>> set(diff_estimates(e, e)["status"])
    {'same'}
    """
    b_opts = {o.name: o for o in before.options}
    a_opts = {o.name: o for o in after.options}
    nan = math.nan
    rows = []
    for name in _option_names(before, after):
        b = _keyed(b_opts[name].line_items) if name in b_opts else {}
        a = _keyed(a_opts[name].line_items) if name in a_opts else {}
        for key in dict.fromkeys([*b, *a]):
            bl, al = b.get(key), a.get(key)
            bu = float(bl.monthly_usd) if bl is not None else 0.0
            au = float(al.monthly_usd) if al is not None else 0.0
            status = ("added" if bl is None else "removed" if al is None
                      else _status(bu, au))
            rows.append({
                "option": name, "category": key[0], "item": key[1], "unit": key[2],
                "before_usd": bu, "after_usd": au, "change_usd": au - bu,
                "change_pct": _pct(bu, au), "status": status,
                "before_quantity": float(bl.quantity) if bl is not None else nan,
                "after_quantity": float(al.quantity) if al is not None else nan,
                "before_unit_usd": float(bl.unit_usd) if bl is not None else nan,
                "after_unit_usd": float(al.unit_usd) if al is not None else nan,
            })
    return pd.DataFrame(rows, columns=LINE_COLUMNS)


def diff_totals(before: Estimate, after: Estimate) -> pd.DataFrame:
    """The change of every option's monthly total between two estimates.

    Parameters
    ----------
    before, after : Estimate
        From :func:`costlib.bill.estimate.estimate`.

    Returns
    -------
    pandas.DataFrame
        One row per option (``before``'s order, then those only in ``after``): ``option``,
        ``before_usd``, ``after_usd``, ``change_usd`` [USD/month], ``change_pct`` [%] and
        ``status``: ``"added"`` for an option only in ``after`` (``before_usd = 0``),
        ``"removed"`` for one only in ``before`` (``after_usd = 0``), else ``"same"`` or
        ``"changed"``. Options are alternatives, so there is no sum over them.

    Examples
    --------
    >>> from costlib.core.paths import PARAMS_DIR
    >>> from costlib.bill.params import load_params
    >>> from costlib.bill.estimate import estimate
    >>> e = estimate(load_params(PARAMS_DIR / "default.yaml"))
    >>> float(diff_totals(e, e)["change_usd"].abs().max())
    0.0
    """
    b_opts = {o.name: o for o in before.options}
    a_opts = {o.name: o for o in after.options}
    rows = []
    for name in _option_names(before, after):
        bu = float(b_opts[name].monthly_usd) if name in b_opts else 0.0
        au = float(a_opts[name].monthly_usd) if name in a_opts else 0.0
        status = ("added" if name not in b_opts else "removed" if name not in a_opts
                  else _status(bu, au))
        rows.append({"option": name, "before_usd": bu, "after_usd": au, "change_usd": au - bu,
                     "change_pct": _pct(bu, au), "status": status})
    return pd.DataFrame(rows, columns=TOTAL_COLUMNS)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Records with NaN as None, so the dict is valid JSON."""
    out = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return out


def diff_to_dict(before: Estimate, after: Estimate) -> dict:
    """Both diffs as lists of records: ``{"totals": [...], "line_items": [...]}``.

    Every line item is listed, ``"same"`` ones too; NaN (no relative change, a missing side)
    is ``None``.
    """
    return {"totals": _records(diff_totals(before, after)),
            "line_items": _records(diff_estimates(before, after))}


# --------------------------------------------------------------------------------------------
# the waterfall of one option: from its total before, one step per changed item, to its total after

WATERFALL_TOP = 8
"""Changed line items a waterfall shows one by one (largest change first); the rest are summed
into one ``other changes`` step."""

WATERFALL_KINDS = ("total", "increase", "decrease")
"""The kinds of bar of a waterfall: the two totals, and the steps up and down."""

WATERFALL_COLUMNS = ["order", "step", "kind", "category", "start_usd", "end_usd", "change_usd",
                     "items"]


def changed_options(before: Estimate, after: Estimate) -> list[str]:
    """The options whose monthly total changed (or which were added or removed), in order."""
    totals = diff_totals(before, after)
    return list(totals.loc[totals["status"] != "same", "option"])


def waterfall_frame(before: Estimate, after: Estimate, option: str,
                    top: int = WATERFALL_TOP) -> pd.DataFrame:
    """The bars of a waterfall chart of one option's change, from its total before to after.

    Parameters
    ----------
    before, after : Estimate
        From :func:`costlib.bill.estimate.estimate`.
    option : str
        An option of either estimate.
    top : int, default :data:`WATERFALL_TOP`
        Changed line items shown one by one, the largest changes in size first; the others are
        summed into one step ``other changes (N items)``.

    Returns
    -------
    pandas.DataFrame
        One row per bar, in reading order: ``order`` (0, 1, ...), ``step`` (a label, unique),
        ``kind`` (one of :data:`WATERFALL_KINDS`), ``category`` (of the line item; ``""`` for a
        total and ``"several"`` for the summed step), ``start_usd`` and ``end_usd`` (where the
        bar begins and ends [USD/month]), ``change_usd`` = end - start [USD/month] (for a total,
        the total itself) and ``items`` (line items the bar stands for). The first bar runs
        from 0 to the total before, the last from 0 to the total after; each step starts where
        the one above ended, so the steps' changes add up to ``after - before``.

    Notes
    -----
    The ``other changes`` step is the total change minus the steps shown, so the last step ends
    on the total after even when many small items are summed. An option only on one side has a
    total of 0 on the other.

    Examples
    --------
    >>> from costlib.core.paths import PARAMS_DIR
    >>> from costlib.bill.params import load_params, with_overrides
    >>> from costlib.bill.estimate import estimate
    >>> p = load_params(PARAMS_DIR / "default.yaml")
    >>> w = waterfall_frame(estimate(p), estimate(with_overrides(p, {"workload.out_tokens": 400})),
    ...                     "bedrock_llama31_70b")
    >>> list(w["kind"])[0], list(w["kind"])[-1]
    ('total', 'total')
    """
    if option not in _option_names(before, after):
        raise CostlibError(f"waterfall: no option {option!r} (have "
                           f"{', '.join(_option_names(before, after))})")
    if int(top) < 1:
        raise CostlibError("waterfall: top must be at least 1")
    totals = diff_totals(before, after).set_index("option").loc[option]
    items = diff_estimates(before, after)
    items = items[(items["option"] == option) & (items["change_usd"] != 0.0)]
    items = items.reindex(items["change_usd"].abs().sort_values(ascending=False, kind="stable").index)
    shown, rest = items.iloc[:int(top)], items.iloc[int(top):]
    b_total, a_total = float(totals["before_usd"]), float(totals["after_usd"])
    rows = [{"step": "total before", "kind": "total", "category": "", "start_usd": 0.0,
             "end_usd": b_total, "change_usd": b_total, "items": 0}]
    labels: set = {"total before", "total after"}
    level = b_total
    steps = [(f"{r.category}: {r.item}" if r.item else r.category, r.category, float(r.change_usd))
             for r in shown.itertuples()]
    if len(rest):
        other = (a_total - b_total) - math.fsum(c for _, _, c in steps)
        n = len(rest)
        steps.append((f"other changes ({n} item{'s' if n != 1 else ''})", "several", other))
    for label, category, change in steps:
        base, k = label, 2
        while label in labels:  # the same item twice (by order of occurrence): keep labels unique
            label, k = f"{base} ({k})", k + 1
        labels.add(label)
        end = level + change
        rows.append({"step": label, "kind": "increase" if change > 0 else "decrease",
                     "category": category, "start_usd": level, "end_usd": end,
                     "change_usd": change, "items": 1})
        level = end
    if len(rest):
        rows[-1]["items"] = len(rest)
        rows[-1]["end_usd"] = a_total  # the residual step lands on the total by construction
    rows.append({"step": "total after", "kind": "total", "category": "", "start_usd": 0.0,
                 "end_usd": a_total, "change_usd": a_total, "items": 0})
    out = pd.DataFrame(rows)
    out.insert(0, "order", range(len(out)))
    return out[WATERFALL_COLUMNS]
