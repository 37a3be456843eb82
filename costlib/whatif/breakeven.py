"""Break-even: the value of one input at which two options cost the same, on the real bill.

:func:`breakeven` prices the whole bill with :func:`costlib.bill.vector.price_many` at a grid of
values of one numeric key (``grid`` points in ``[lo, hi]``, log-spaced when ``lo > 0``), finds
where ``total(option_a) - total(option_b)`` changes sign between two grid points, and narrows each
such bracket by bisection to a relative width of :data:`REL_TOLERANCE` on the key, each step one
``price_many`` row (the same code as the scalar estimate, N = 1).

Notes
-----
The difference of two bills is continuous in most inputs (a price, a token count, a fraction):
there the bracket closes on a root, where both options cost the same. A self-hosted fleet is
billed per whole instance, so in the traffic (or anything that sizes the fleet) the difference
jumps where an instance is added, and may jump across zero without a root: bisection closes on
the jump all the same, and the crossing is reported as ``kind="jump"``, the value at which the
cheaper option changes, with the size of the jump. A bracket is a jump when the difference still
changes by more than :data:`JUMP_FRACTION` of the larger bill across its last width.

The special key ``traffic`` (alias of ``workload.avg_rps``) scales the whole traffic profile with
the average, as :func:`costlib.lessons.widgets.traffic_scale_overrides` does (``workload.p95_rps``
and the shape's ``peak_rps`` and ``base_rps`` by the same factor), so every value of the grid is a
valid workload with the shape kept.

>>> from costlib.core.paths import PARAMS_DIR
>>> from costlib.bill.params import load_params
>>> b = breakeven(load_params(PARAMS_DIR / "scenario_b_steady.yaml"),
...               "options.bedrock_llama31_70b.usd_per_1m_input_tokens",
...               "bedrock_llama31_70b", "p5_vllm_llama31_70b")
>>> round(b.crossings[0].value, 4), b.crossings[0].kind
(0.9665, 'root')
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field

import numpy as np

from costlib.bill.params import Params
from costlib.bill.vector import numeric_keys, price_many
from costlib.core.errors import CostlibError

__all__ = ["Breakeven", "Crossing", "breakeven", "TRAFFIC", "REL_TOLERANCE", "JUMP_FRACTION",
           "DEFAULT_FACTOR"]

TRAFFIC = "traffic"
"""The special key that scales the whole traffic profile (alias ``workload.avg_rps``)."""

REL_TOLERANCE = 1e-9
"""Relative width on the key at which bisection stops [-]."""

MAX_BISECTIONS = 200
"""Upper bound on bisection steps (about 30 reach the tolerance from a grid bracket)."""

JUMP_FRACTION = 1e-6
"""A closed bracket whose difference still changes by more than this share of the larger bill is
a step of the bill (a jump), not a root [-]."""

DEFAULT_FACTOR = 10.0
"""Default range: from the current value over this factor to the current value times it [-]."""

_TRAFFIC_KNOBS = ("workload.p95_rps", "workload.traffic.peak_rps", "workload.traffic.base_rps")


@dataclass(frozen=True)
class Crossing:
    """One value of the key at which the cheaper of the two options changes.

    Attributes
    ----------
    value : float
        The key's value at the crossing [unit of the key].
    kind : str
        ``"root"`` (both options cost the same there) or ``"jump"`` (a step of the bill carries
        the difference across zero: the value at which the cheaper option changes).
    cost_a_usd, cost_b_usd : float
        Both options' monthly bills at ``value`` [USD/month]; equal to within the tolerance for a
        root, either side of the step for a jump.
    jump_usd : float
        How much the difference ``a - b`` changes across the closed bracket [USD/month]; about 0
        for a root.
    bracket : tuple of float
        The grid points between which the sign changed.
    cheaper_below, cheaper_above : str
        The cheaper option just below and just above ``value``.
    """

    value: float
    kind: str
    cost_a_usd: float
    cost_b_usd: float
    jump_usd: float
    bracket: tuple
    cheaper_below: str
    cheaper_above: str

    @property
    def cost_usd(self) -> float:
        """The bill at the crossing [USD/month] (the mean of both; they agree at a root)."""
        return 0.5 * (self.cost_a_usd + self.cost_b_usd)

    def to_dict(self) -> dict:
        return {"value": self.value, "kind": self.kind, "cost_usd": self.cost_usd,
                "cost_a_usd": self.cost_a_usd, "cost_b_usd": self.cost_b_usd,
                "jump_usd": self.jump_usd, "bracket": list(self.bracket),
                "cheaper_below": self.cheaper_below, "cheaper_above": self.cheaper_above}


@dataclass(frozen=True)
class Breakeven:
    """The result of :func:`breakeven`.

    Attributes
    ----------
    key : str
        The key solved for (``"traffic"`` when the whole profile was scaled).
    options : tuple of str
        ``(option_a, option_b)``.
    current : float or None
        The key's value in the params (for a price the file leaves to the table, the price the
        estimate used) [unit of the key].
    lo, hi : float
        The range searched [unit of the key].
    crossings : tuple of Crossing
        Every crossing found, in increasing value; empty when none in the range.
    cheaper_at_lo, cheaper_at_hi : str
        The cheaper option at each end of the range.
    grid : dict
        ``{"values": array, option_a: array, option_b: array}``: the grid and both monthly bills
        on it [USD/month], for a chart.
    note : str
        One sentence: the answer in words.
    """

    key: str
    options: tuple
    current: float | None
    lo: float
    hi: float
    crossings: tuple
    cheaper_at_lo: str
    cheaper_at_hi: str
    grid: dict = field(repr=False)
    note: str = ""

    @property
    def found(self) -> bool:
        """Whether any crossing lies in the range."""
        return bool(self.crossings)

    def to_dict(self) -> dict:
        return {"key": self.key, "options": list(self.options), "current": self.current,
                "lo": self.lo, "hi": self.hi, "found": self.found,
                "crossings": [c.to_dict() for c in self.crossings],
                "cheaper_at_lo": self.cheaper_at_lo, "cheaper_at_hi": self.cheaper_at_hi,
                "note": self.note,
                "grid": {k: [float(x) for x in v] for k, v in self.grid.items()}}


# --------------------------------------------------------------------------------------------
# the key: its current value and its range


def _check_key(params: Params, key: str) -> tuple[str, dict]:
    """``(dotted key priced, its numeric_keys entry)``; one-line error for an unknown key."""
    known = numeric_keys(params)
    dotted = "workload.avg_rps" if key == TRAFFIC else key
    if dotted not in known:
        close = difflib.get_close_matches(key, [TRAFFIC, *known], n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else (
            f"; use {TRAFFIC!r} or a numeric key of this params file, e.g. workload.in_tokens")
        raise CostlibError(f"breakeven: {key!r} is not a numeric key of this params file{hint}")
    spec = known[dotted]
    if spec.get("integer"):
        raise CostlibError(f"breakeven: {key} is a whole number, which has no break-even between "
                           "two of its values; sweep it with costlib.whatif.sweep")
    return dotted, spec


def _price_in_use(params: Params, key: str) -> float | None:
    """The price the estimate used for an option's price key the file leaves to the tables."""
    parts = key.split(".")
    if len(parts) != 3 or parts[0] != "options":
        return None
    option, name = parts[1], parts[2]
    match = {"usd_per_1m_input_tokens": ("input tokens", "1M tokens"),
             "usd_per_1m_output_tokens": ("output tokens", "1M tokens"),
             "usd_per_instance_hour": ("instance-hours", "instance-hour")}.get(name)
    if match is None:
        return None
    bill = price_many(params)
    for item in bill.options.get(option, []):
        if match[0] in item.item and item.unit == match[1] and item.category == "inference":
            return float(np.asarray(item.unit_usd).ravel()[0])
    return None


def _range(spec: dict, current: float | None, lo, hi, key: str) -> tuple[float, float]:
    floor = spec.get("ge", spec.get("gt"))
    ceiling = spec.get("le", spec.get("lt"))
    fraction = floor == 0.0 and ceiling == 1.0
    if lo is None:
        if fraction:
            lo = 0.0
        elif current is None or current <= 0:
            raise CostlibError(f"breakeven: {key} has no current value to range around; give "
                               "--lo and --hi")
        else:
            lo = current / DEFAULT_FACTOR
    if hi is None:
        if fraction:
            hi = 1.0
        elif current is None or current <= 0:
            raise CostlibError(f"breakeven: {key} has no current value to range around; give "
                               "--lo and --hi")
        else:
            hi = current * DEFAULT_FACTOR
    lo, hi = float(lo), float(hi)
    if "ge" in spec:
        lo = max(lo, spec["ge"])
    if "gt" in spec and lo <= spec["gt"]:
        lo = spec["gt"] + max(abs(spec["gt"]), 1.0) * 1e-9
    if "le" in spec:
        hi = min(hi, spec["le"])
    if "lt" in spec and hi >= spec["lt"]:
        hi = spec["lt"] - max(abs(spec["lt"]), 1.0) * 1e-9
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise CostlibError(f"breakeven: {key}: empty range [{lo:g}, {hi:g}] (within the key's "
                           "bounds)")
    return lo, hi


# --------------------------------------------------------------------------------------------
# pricing at given values


def _inputs(params: Params, key: str, dotted: str, values: np.ndarray) -> dict:
    if key != TRAFFIC:
        return {dotted: values}
    known = numeric_keys(params)
    k = values / params.workload.avg_rps
    out = {"workload.avg_rps": values}
    for knob in _TRAFFIC_KNOBS:
        base = known.get(knob, {}).get("value")
        if base is not None:
            out[knob] = base * k
    return out


def _totals(params, key, dotted, values, a, b) -> tuple[np.ndarray, np.ndarray]:
    bill = price_many(params, _inputs(params, key, dotted, np.asarray(values, dtype=float)))
    return bill.total(a), bill.total(b)


def _refine(params, key, dotted, a, b, lo, hi, d_lo, d_hi) -> Crossing:
    """Bisect a sign change of ``a - b`` in ``[lo, hi]`` to :data:`REL_TOLERANCE`."""
    bracket = (float(lo), float(hi))
    scale = max(abs(lo), abs(hi))
    for _ in range(MAX_BISECTIONS):
        if hi - lo <= REL_TOLERANCE * scale:
            break
        mid = 0.5 * (lo + hi)
        ta, tb = _totals(params, key, dotted, [mid], a, b)
        d = float(ta[0] - tb[0])
        if d == 0.0:
            lo = hi = mid
            d_lo = d_hi = 0.0
            break
        if math.copysign(1.0, d) == math.copysign(1.0, d_lo):
            lo, d_lo = mid, d
        else:
            hi, d_hi = mid, d
    ta, tb = _totals(params, key, dotted, [lo, hi], a, b)
    big = max(abs(ta).max(), abs(tb).max(), 1e-12)
    jump = float(d_hi - d_lo)
    is_jump = abs(jump) > JUMP_FRACTION * big
    if is_jump or d_hi == d_lo:
        value = 0.5 * (lo + hi)
    else:  # the secant's zero: exact for an affine difference
        value = lo - d_lo * (hi - lo) / (d_hi - d_lo)
    va, vb = _totals(params, key, dotted, [value], a, b)
    below = a if d_lo < 0 else b
    above = a if d_hi < 0 else b
    return Crossing(float(value), "jump" if is_jump else "root", float(va[0]), float(vb[0]),
                    jump if is_jump else 0.0, bracket, below, above)


# --------------------------------------------------------------------------------------------
# the solver


def breakeven(params: Params, key: str, option_a: str, option_b: str, lo: float | None = None,
              hi: float | None = None, grid: int = 64) -> Breakeven:
    """The value of one input at which two options cost the same.

    Parameters
    ----------
    params : costlib.bill.params.Params
        Validated params; every other key keeps its value.
    key : str
        A dotted numeric key (``"options.bedrock.usd_per_1m_input_tokens"``,
        ``"workload.in_tokens"``, ...) or ``"traffic"`` (the whole profile scaled, see the module
        notes).
    option_a, option_b : str
        The two options compared.
    lo, hi : float, optional
        The range searched [unit of the key]. Default: the current value over ten to ten times
        it, or 0 to 1 for a fraction; always clipped to the key's schema bounds.
    grid : int, default 64
        Grid points of the first sweep (at least 2).

    Returns
    -------
    Breakeven

    Raises
    ------
    CostlibError
        For an unknown key or option, a whole-number key, an empty range, or a key with no value
        to range around and no ``lo`` and ``hi``.
    """
    for name in (option_a, option_b):
        if name not in params.options:
            raise CostlibError(f"breakeven: no option {name!r} (have {', '.join(params.options)})")
    if option_a == option_b:
        raise CostlibError("breakeven: the two options must differ")
    if int(grid) < 2:
        raise CostlibError("breakeven: grid must hold at least 2 points")
    dotted, spec = _check_key(params, key)
    current = spec.get("value")
    if current is None:
        current = _price_in_use(params, dotted)
    lo, hi = _range(spec, current, lo, hi, key)
    values = np.geomspace(lo, hi, int(grid)) if lo > 0 else np.linspace(lo, hi, int(grid))
    values[0], values[-1] = lo, hi
    ta, tb = _totals(params, key, dotted, values, option_a, option_b)
    diff = ta - tb
    crossings = []
    for i in range(len(values) - 1):
        if diff[i] == 0.0 and (i == 0 or diff[i - 1] != 0.0):
            v = float(values[i])
            below = option_a if (i > 0 and diff[i - 1] < 0) else option_b
            above = option_a if diff[i + 1] < 0 else option_b
            crossings.append(Crossing(v, "root", float(ta[i]), float(tb[i]), 0.0, (v, v),
                                      below, above))
        elif diff[i] * diff[i + 1] < 0:
            crossings.append(_refine(params, key, dotted, option_a, option_b, float(values[i]),
                                     float(values[i + 1]), float(diff[i]), float(diff[i + 1])))
    at_lo = option_a if diff[0] <= 0 else option_b
    at_hi = option_a if diff[-1] <= 0 else option_b
    result_grid = {"values": values, option_a: ta, option_b: tb}
    return Breakeven(key, (option_a, option_b), current, lo, hi, tuple(crossings), at_lo, at_hi,
                     result_grid, _note(key, option_a, option_b, current, lo, hi, crossings,
                                        at_lo, diff))


def _note(key, a, b, current, lo, hi, crossings, at_lo, diff) -> str:
    if not crossings:
        other = b if at_lo == a else a
        gap = np.abs(diff)
        return (f"No break-even for {key} from {lo:,.6g} to {hi:,.6g}: {at_lo} is cheaper than "
                f"{other} over the whole range (by {gap.min():,.0f} to {gap.max():,.0f} "
                "USD/month).")
    parts = []
    for c in crossings[:1]:
        times = f" ({c.value / current:.3g} x the current {current:,.6g})" if current else ""
        if c.kind == "root":
            parts.append(f"{a} and {b} cost the same, {c.cost_usd:,.0f} USD/month, at {key} = "
                         f"{c.value:,.6g}{times}: {c.cheaper_below} is cheaper below, "
                         f"{c.cheaper_above} above.")
        else:
            parts.append(f"The cheaper of {a} and {b} changes at {key} = {c.value:,.6g}{times}, "
                         f"where a step of the bill moves the difference by "
                         f"{abs(c.jump_usd):,.0f} USD/month: {c.cheaper_below} is cheaper below, "
                         f"{c.cheaper_above} above.")
    if len(crossings) > 1:
        parts.append(f"The cheaper option changes {len(crossings)} times in the range, at "
                     + ", ".join(f"{c.value:,.6g} ({c.kind})" for c in crossings) + ".")
    return " ".join(parts)
