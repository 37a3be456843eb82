"""The whole bill for N scenarios in one pass: inputs as arrays, outputs as arrays.

:func:`price_many` takes validated params and ``{"dotted.key": array}`` for any numeric key of
the params file (``workload.avg_rps``, ``options.bedrock.prompt_cache.read_fraction``,
``plumbing.observability.log_sample_rate``, ...) and returns, for every option and every line
item, arrays of N monthly quantities, unit prices and costs (:class:`Bill`).

It is the same code as the scalar :func:`~costlib.bill.estimate.estimate`: both run
:func:`~costlib.bill.estimate.price_options`, whose pricers take numbers or arrays alike; the
scalar estimate is the case N = 1. Two kinds of input are treated differently:

- **continuous** inputs (rates, token counts for priced tokens, fractions, prices, volumes)
  flow through the pricers as numpy arrays. The traffic is N profiles of one pattern
  (:class:`~costlib.formulas.steps.StepFamily`), and the fleet simulation runs for all of them
  on the distinct steps of the pattern (:func:`~costlib.formulas.fleet.fleet_family`);
- **structural** inputs (:func:`structural_keys`: the traffic pattern's knobs, fleet policies,
  integer counts, the price settings, retrieval sizing (it sets the prompt), and the inputs of the throughput
  model's latency-bound search when a self-hosted option derives its throughput) change what is
  computed, not only how much. Rows are grouped by their distinct structural values, and each
  group is one pass. The throughput model's SLO search is an iterative solve per
  configuration: it runs once per distinct (prompt, output, latency bounds, ...) tuple, which is
  fast when a few values are swept and slow for thousands of distinct draws.

Checks: every array must hold finite numbers within the key's bounds (the same bounds the
params schema gives one value), and the params models' cross-field rules (prompt-cache shares,
route shares, a ``work_unit``'s calls against the workload's tokens) are checked on all rows at
once.

Every item carries its floor part (``floor_usd``, what is paid without requests), so
:meth:`Bill.floor` and :meth:`Bill.usage` split each total; with a ``work_unit:`` block,
:meth:`Bill.usd_per_unit` and :meth:`Bill.usd_per_unit_all_in` give the cost per unit of work
(:mod:`costlib.bill.work_unit`).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from costlib.core.schema import field_bounds
from costlib.core.errors import CostlibError
from costlib.core.units import SECONDS_PER_MONTH, TOKENS_PER_1K

__all__ = ["Bill", "VectorItem", "numeric_keys", "structural_keys", "price_many"]

STRUCTURAL_PATTERNS = (
    "workload.traffic.*",
    "options.*.fleet.*",
    "options.*.schedule.*",
    "options.*.tensor_parallel",
    "options.*.model_units",
    "retrieval.*",
    "prices.*",
)
"""Keys that change what is computed (grouped, one pass per distinct value).

``workload.traffic.peak_rps`` and ``base_rps`` are rates, not pattern knobs: they are continuous.
"""

CONTINUOUS_TRAFFIC = ("workload.traffic.peak_rps", "workload.traffic.base_rps")

THROUGHPUT_MODEL_INPUTS = ("workload.in_tokens", "workload.out_tokens", "workload.prompt_cv",
                           "workload.max_output_tokens", "workload.latency.*")
"""Inputs of the throughput model's SLO search: structural when an option derives throughput."""


@dataclass(frozen=True)
class VectorItem:
    """One line item over N scenarios: ``monthly_usd = quantity * unit_usd``, each shape (N,).

    ``floor_usd`` (N,) is the part paid without traffic (:attr:`costlib.bill.lineitems.LineItem.floor_usd`).
    """

    category: str
    item: str
    unit: str
    source: str
    quantity: np.ndarray
    unit_usd: np.ndarray
    monthly_usd: np.ndarray
    floor_usd: np.ndarray | None = None


@dataclass
class Bill:
    """Every option's line items and totals for N scenarios.

    Attributes
    ----------
    n : int
        Scenarios N.
    inputs : dict
        The arrays priced, by dotted key, shape (N,).
    options : dict
        ``{option: [VectorItem, ...]}``.
    kinds : dict
        ``{option: kind}``.
    requests_per_month, tokens_per_request : numpy.ndarray
        Per scenario [requests/month], [tokens] (retrieved context included).
    requests_per_unit : numpy.ndarray, optional
        Model requests per unit of work (the params' ``work_unit``) [requests/unit], shape
        (N,); None without a work unit.
    """

    n: int
    inputs: dict
    options: dict
    kinds: dict
    requests_per_month: np.ndarray
    tokens_per_request: np.ndarray
    groups: int = 1
    requests_per_unit: np.ndarray | None = None
    _totals: dict = field(default_factory=dict, repr=False)
    _floors: dict = field(default_factory=dict, repr=False)

    def total(self, option: str) -> np.ndarray:
        """Monthly total of an option [USD/month], shape (N,)."""
        if option not in self._totals:
            items = self.options[option]
            self._totals[option] = (np.sum([i.monthly_usd for i in items], axis=0)
                                    if items else np.zeros(self.n))
        return self._totals[option]

    def floor(self, option: str) -> np.ndarray:
        """What the option costs in a month without requests [USD/month], shape (N,).

        The sum of its items' ``floor_usd`` (see :mod:`costlib.bill.estimate`).
        """
        if option not in self._floors:
            items = self.options[option]
            self._floors[option] = (np.sum([i.floor_usd for i in items], axis=0)
                                    if items else np.zeros(self.n))
        return self._floors[option]

    def usage(self, option: str) -> np.ndarray:
        """The part of the total that scales with use: total - floor [USD/month], shape (N,)."""
        return self.total(option) - self.floor(option)

    @property
    def units_per_month(self) -> np.ndarray | None:
        """Units of work per month: requests per month / requests per unit, shape (N,)."""
        if self.requests_per_unit is None:
            return None
        return self.requests_per_month / self.requests_per_unit

    def usd_per_unit(self, option: str) -> np.ndarray:
        """Usage part per unit of work [USD/unit], shape (N,) (needs a ``work_unit``)."""
        return self.usage(option) / self._units()

    def usd_per_unit_all_in(self, option: str) -> np.ndarray:
        """Whole bill per unit of work [USD/unit], shape (N,) (needs a ``work_unit``)."""
        return self.total(option) / self._units()

    def _units(self) -> np.ndarray:
        if self.requests_per_unit is None:
            raise CostlibError("work_unit: these params describe no unit of work; add a "
                               "work_unit: block (name, turns, calls) to get a cost per unit")
        return self.units_per_month

    @property
    def totals(self) -> dict:
        """``{option: monthly USD array}``."""
        return {name: self.total(name) for name in self.options}

    def usd_per_request(self, option: str) -> np.ndarray:
        """[USD/request], shape (N,)."""
        return self.total(option) / self.requests_per_month

    def usd_per_1k_tokens(self, option: str) -> np.ndarray:
        """[USD per 1,000 tokens], shape (N,)."""
        return self.total(option) / (self.requests_per_month * self.tokens_per_request
                                     / TOKENS_PER_1K)

    def by_category(self, option: str) -> dict:
        """``{category: monthly USD array}`` of an option."""
        out: dict[str, np.ndarray] = {}
        for i in self.options[option]:
            out[i.category] = out.get(i.category, 0.0) + i.monthly_usd
        return out

    @property
    def cheapest(self) -> np.ndarray:
        """Name of the cheapest option per scenario, shape (N,) (first on ties)."""
        names = list(self.options)
        stacked = np.vstack([self.total(n) for n in names])
        return np.asarray(names, dtype=object)[np.argmin(stacked, axis=0)]


# --------------------------------------------------------------------------------------------
# keys


def _numeric_annotation(info) -> bool:
    text = str(info.annotation)
    return ("float" in text or "int" in text) and "bool" not in text.replace("| None", "")


def _walk(model: BaseModel, prefix: str, out: dict) -> None:
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        key = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            _walk(value, key + ".", out)
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, BaseModel):
                    _walk(v, f"{key}.{k}.", out)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                if isinstance(v, BaseModel):
                    _walk(v, f"{key}.{i}.", out)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = {"value": float(value), "integer": isinstance(value, int)
                        and "float" not in str(info.annotation), **field_bounds(info)}
        elif value is None and _numeric_annotation(info):
            out[key] = {"value": None, "integer": "float" not in str(info.annotation),
                        **field_bounds(info)}


def numeric_keys(params) -> dict:
    """Every numeric key of validated params, with its value and bounds.

    Returns
    -------
    dict
        ``{"dotted.key": {"value": float or None, "integer": bool, "ge"/"gt"/"le"/"lt": ...}}``;
        ``value`` None for an optional number the file leaves out (a table price, say).
    """
    out: dict = {}
    _walk(params, "", out)
    return out


def _derives_throughput(params) -> list[str]:
    return [name for name, o in params.options.items() if o.kind == "self_hosted"
            and (o.tokens_per_second_per_instance is None or o.batch_size is None)]


def structural_keys(params, keys) -> list[str]:
    """Which of ``keys`` are structural for these params (see the module notes)."""
    patterns = list(STRUCTURAL_PATTERNS)
    derived = _derives_throughput(params)
    if derived:
        patterns += list(THROUGHPUT_MODEL_INPUTS) + [f"options.{n}.batch_size" for n in derived]
    known = numeric_keys(params)
    out = []
    for k in keys:
        if k in CONTINUOUS_TRAFFIC:
            continue
        if any(fnmatch.fnmatchcase(k, p) for p in patterns) or known.get(k, {}).get("integer"):
            out.append(k)
    return out


# --------------------------------------------------------------------------------------------
# setting values


def _set(node: Any, parts: list[str], value: Any, key: str) -> Any:
    head, rest = parts[0], parts[1:]
    if isinstance(node, BaseModel):
        if head not in type(node).model_fields:
            raise CostlibError(f"inputs: {key}: {head!r} is not a key of this params file")
        child = getattr(node, head)
        new = value if not rest else _set(child, rest, value, key)
        return node.model_copy(update={head: new})
    if isinstance(node, dict):
        if head not in node:
            raise CostlibError(f"inputs: {key}: {head!r} is not in this params file "
                               f"(have {', '.join(map(str, node))})")
        copy = dict(node)
        copy[head] = value if not rest else _set(node[head], rest, value, key)
        return copy
    if isinstance(node, (list, tuple)):
        try:
            i = int(head)
            node[i]
        except (ValueError, IndexError):
            raise CostlibError(f"inputs: {key}: {head!r} is not an index of a list of "
                               f"{len(node)}") from None
        copy = list(node)
        copy[i] = value if not rest else _set(node[i], rest, value, key)
        return type(node)(copy)
    raise CostlibError(f"inputs: {key}: {'.'.join(parts)} is inside a value, not a section")


def set_values(params, values: dict) -> Any:
    """A copy of params with ``{"dotted.key": value}`` set, without re-validation."""
    out = params
    for key, v in values.items():
        out = _set(out, key.split("."), v, key)
    return out


def _check_bounds(key: str, arr: np.ndarray, spec: dict) -> None:
    bad = ~np.isfinite(arr)
    rules = {"ge": (np.less, ">="), "gt": (np.less_equal, ">"), "le": (np.greater, "<="),
             "lt": (np.greater_equal, "<")}
    want = []
    for name, (fails, sign) in rules.items():
        if name in spec:
            bad |= fails(arr, spec[name])
            want.append(f"{sign} {spec[name]:g}")
    if spec.get("integer"):
        bad |= arr != np.round(arr)
        want.append("a whole number")
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        need = " and ".join(want) if want else "finite"
        raise CostlibError(f"inputs: {key}: row {i} is {float(arr[i])!r}; valid: a finite number "
                           f"{need}".replace("number a whole number", "whole number"))


def _after_validators(model: BaseModel, where: str) -> None:
    """Run the models' cross-field checks on a tree holding arrays (all rows at once)."""
    decorators = type(model).__pydantic_decorators__.model_validators
    for dec in decorators.values():
        if dec.info.mode == "after":
            try:
                dec.func(model)
            except ValueError as exc:
                raise CostlibError(f"inputs: {where.rstrip('.') or 'params'}: {exc} (in at least "
                                   f"one row)") from None
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            _after_validators(value, f"{where}{name}.")
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, BaseModel):
                    _after_validators(v, f"{where}{name}.{k}.")
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                if isinstance(v, BaseModel):
                    _after_validators(v, f"{where}{name}.{i}.")


# --------------------------------------------------------------------------------------------
# pricing


def _as_rows(inputs: dict, known: dict) -> tuple[int, dict]:
    arrays = {}
    sizes = set()
    for key, v in inputs.items():
        if key not in known:
            from costlib.core.names import unknown_name_message

            raise CostlibError("inputs: " + unknown_name_message("numeric key", key, known))
        arr = np.atleast_1d(np.asarray(v, dtype=float))
        if arr.ndim != 1:
            raise CostlibError(f"inputs: {key}: give a 1-D array (got shape {arr.shape})")
        _check_bounds(key, arr, known[key])
        arrays[key] = arr
        sizes.add(arr.size)
    n = max(sizes) if sizes else 1
    if sizes - {1, n}:
        raise CostlibError(f"inputs: arrays of different lengths {sorted(sizes)}; give one length "
                           "(or length 1 to broadcast)")
    return n, {k: (np.broadcast_to(a, (n,)) if a.size == 1 else a) for k, a in arrays.items()}


def _scalar_value(x: float, integer: bool):
    return int(round(x)) if integer else float(x)


CHUNK_ROWS = 1_000_000
"""Rows priced per pass. One pass keeps the pricers' arrays as the bill's (no copy); the
formulas that need (rows, distinct steps) arrays chunk those themselves."""


_NUMBER = re.compile(r"varies|\d[\d,]*(?:\.\d+)?")


def _item_key(li) -> tuple:
    """What identifies a line item across passes: its label with the numbers in it blanked.

    A label may quote a setting ("30-day retention"); rows in different passes (groups, chunks)
    may quote different values, or ``varies``, for the same item.
    """
    return (li.category, _NUMBER.sub("#", li.item), li.unit)


def _collect(slots: dict, items, rows, m: int, n: int) -> None:
    """Write one pass's line items into the bill's arrays (rows ``rows`` of N).

    When the pass covers all N rows the pass's arrays become the bill's (constants as
    read-only broadcast views), with no copy.
    """
    seen: dict[tuple, int] = {}
    if m == n and not slots:
        for li in items:
            base_key = _item_key(li)
            seen[base_key] = seen.get(base_key, -1) + 1
            u = np.asarray(li.unit_usd, dtype=float)
            slots[base_key + (seen[base_key],)] = {
                "source": li.source, "label": li.item,
                "quantity": np.broadcast_to(np.asarray(li.quantity, dtype=float), (n,)),
                "monthly_usd": np.broadcast_to(np.asarray(li.monthly_usd, dtype=float), (n,)),
                "floor_usd": np.broadcast_to(np.asarray(li.floor_usd, dtype=float), (n,)),
                "unit_const": float(u) if u.ndim == 0 else None,
                "unit_usd": None if u.ndim == 0 else np.broadcast_to(u, (n,))}
        return
    used: set = set()
    for li in items:
        base_key = _item_key(li)
        seen[base_key] = seen.get(base_key, -1) + 1
        key = base_key + (seen[base_key],)
        if key not in slots:
            # a label whose wording follows a value: the same category and unit, in order
            key = next((k for k in slots if k[0] == li.category and k[2] == li.unit
                        and k not in used and k[1] != base_key[1]), key)
        used.add(key)
        slot = slots.get(key)
        if slot is not None and slot["label"] != li.item:
            slot["label"] = _NUMBER.sub("varies", slot["label"])
        if slot is None:
            slot = slots[key] = {"source": li.source, "label": li.item, "quantity": np.zeros(n),
                                 "monthly_usd": np.zeros(n), "floor_usd": np.zeros(n),
                                 "unit_const": None, "unit_usd": None}
        slot["quantity"][rows] = np.broadcast_to(np.asarray(li.quantity, dtype=float), (m,))
        slot["monthly_usd"][rows] = np.broadcast_to(np.asarray(li.monthly_usd, dtype=float),
                                                    (m,))
        slot["floor_usd"][rows] = np.broadcast_to(np.asarray(li.floor_usd, dtype=float), (m,))
        u = np.asarray(li.unit_usd, dtype=float)
        if slot["unit_usd"] is None and u.ndim == 0 and (
                slot["unit_const"] is None or slot["unit_const"] == float(u)):
            slot["unit_const"] = float(u)  # one price for every row so far: kept as one number
            continue
        if slot["unit_usd"] is None:
            slot["unit_usd"] = np.full(n, slot["unit_const"] if slot["unit_const"] is not None
                                       else 0.0)
        slot["unit_usd"][rows] = np.broadcast_to(u, (m,))


def _unit_prices(slot: dict, n: int) -> np.ndarray:
    if slot["unit_usd"] is not None:
        return slot["unit_usd"]
    return np.broadcast_to(np.float64(slot["unit_const"] or 0.0), (n,))


def price_many(params, inputs: dict | None = None, base_dir: Path | None = None, *,
               chunk_rows: int = CHUNK_ROWS) -> Bill:
    """Price every option of ``params`` for N scenarios at once.

    Parameters
    ----------
    params : costlib.bill.params.Params
        Validated params: every key not in ``inputs`` keeps its value.
    inputs : dict, optional
        ``{"dotted.key": array of N values}`` (length-1 arrays and scalars broadcast).
    base_dir : Path, optional
        As for :func:`~costlib.bill.estimate.estimate`.

    Returns
    -------
    Bill

    Raises
    ------
    CostlibError
        For an unknown key, a value out of the key's bounds (naming the row), arrays of
        different lengths, or any error pricing a row would raise.
    """
    from costlib.bill.estimate import _PriceBookProxy, price_options
    from costlib.bill.params import params_base_dir, with_overrides
    from costlib.bill.traffic import workload_family
    from costlib.bill.work_unit import requests_per_unit
    from costlib.core.paths import PARAMS_DIR
    from costlib.formulas import worksheet

    inputs = dict(inputs or {})
    if base_dir is None:
        source = params.source_path
        base_dir = params_base_dir(source) if source is not None else PARAMS_DIR
    base_dir = Path(base_dir)
    known = numeric_keys(params)
    n, arrays = _as_rows(inputs, known)
    structural = structural_keys(params, list(arrays))
    continuous = [k for k in arrays if k not in structural]
    if structural:
        table = np.column_stack([arrays[k] for k in structural])
        uniq, inverse = np.unique(table, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
    else:
        uniq, inverse = np.zeros((1, 0)), np.zeros(n, dtype=int)

    options: dict[str, dict] = {}
    kinds: dict[str, str] = {}
    reqs = np.empty(n)
    tpr = np.empty(n)
    rpu = np.empty(n) if params.work_unit is not None else None
    for g in range(uniq.shape[0]):
        group_rows = np.flatnonzero(inverse == g) if uniq.shape[0] > 1 else None
        group = params
        if structural:
            over = {k: _scalar_value(uniq[g, j], known[k]["integer"])
                    for j, k in enumerate(structural)}
            group = with_overrides(params, over)
        m_group = n if group_rows is None else group_rows.size
        for lo in range(0, m_group, chunk_rows):
            hi = min(m_group, lo + chunk_rows)
            rows = (slice(lo, hi) if group_rows is None else group_rows[lo:hi])
            m = hi - lo
            part = group
            if continuous:
                part = set_values(group, {k: arrays[k][rows] for k in continuous})
                _after_validators(part, "")
            traffic = workload_family(part.workload, base_dir)
            if traffic.n == 1 and m > 1:
                traffic = dataclasses.replace(traffic, base=np.broadcast_to(traffic.base, (m,)),
                                              amp=np.broadcast_to(traffic.amp, (m,)), _rows={})
            prices = _PriceBookProxy(part, base_dir)
            priced = price_options(part, traffic, prices, base_dir)
            reqs[rows] = np.broadcast_to(traffic.avg_rps * SECONDS_PER_MONTH, (m,))
            w = priced.workload
            tpr[rows] = np.broadcast_to(np.asarray(worksheet.tokens_per_request(
                w.in_tokens, w.out_tokens), dtype=float), (m,))
            if rpu is not None:
                rpu[rows] = np.broadcast_to(requests_per_unit(part.work_unit), (m,))
            for name, kind, outcome in priced.options:
                kinds[name] = kind
                _collect(options.setdefault(name, {}), outcome.line_items, rows, m, n)
    out = {name: [VectorItem(cat, s["label"], unit, s["source"], s["quantity"],
                             _unit_prices(s, n), s["monthly_usd"], s["floor_usd"])
                  for (cat, _, unit, _), s in slots.items()]
           for name, slots in options.items()}
    return Bill(n=n, inputs=arrays, options=out, kinds=kinds, requests_per_month=reqs,
                tokens_per_request=tpr, groups=int(uniq.shape[0]), requests_per_unit=rpu)
