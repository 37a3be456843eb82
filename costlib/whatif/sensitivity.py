"""Sensitivity: how much each input moves an option's monthly total between a low and a high value.

:func:`tornado` moves one input at a time to its low and to its high value, every other input at
its value in the params file, and prices both ends on the real bill (the same code as the scalar
estimate). One row per (option, input): the two totals, the swing between them
(``swing_usd = |total at high - total at low|``) and that swing as a share of today's total.
Ranked by swing, the rows of one option are a tornado chart (:func:`costlib.lessons.charts.
tornado_chart`); ``costlib sensitivity PARAMS`` prints them.

Ranges
------
An input's low and high come from, in order: ``ranges=`` (``{key: (low, high)}`` or
``(low, high, "where it comes from")``), then the P10 and P90 of the input's distribution when
the params file gives one (:func:`distribution_ranges`), then the default
ranges of ``costlib/data/sensitivity_ranges.yaml`` (:func:`default_ranges`): a factor of the
file's value (``traffic`` x0.5..x1.5), two absolute values of a share (cross-AZ share 0..2/3),
points either side of a share (cache hit rate +-0.2), or two settings of a choice
(``network.aws_path``: ``nat`` or ``privatelink``). Each default range states its reason, and the
table names it in ``origin``. A range is clipped to the key's schema bounds, and ``origin`` says
so. A key or pattern the params file does not have is skipped.

How the rows are priced
-----------------------
Every numeric end whose key has a value in the file is one row of ONE
:func:`~costlib.bill.vector.price_many` call (N = 1 + 2 x inputs: row 0 is today's bill, and
in the row of one input's end every other key sits at its value in the file).
:func:`~costlib.bill.vector.price_many` groups the structural inputs (token counts when a
self-hosted option derives its throughput) by value itself. A key the file leaves out, whose
value the bill works out (the batch a self-hosted option holds, picked by the throughput model
from the latency bounds), cannot sit "at its value" in that call: its two ends are one more
call of two rows, every other key at its value. A choice is priced with
:func:`~costlib.bill.params.with_overrides` (one call per setting that is not today's).

Notes
-----
One input at a time: the table shows no interaction (traffic and prompt length together move a
self-hosted fleet more than the sum of their swings when both add an instance). A self-hosted
fleet is billed per whole instance, so its swing is a step function of the input: a small range
may show no swing, and a slightly wider one a whole instance's price. The spans are stated, not
measured: the swing says what the range implies, not how likely it is.

The special key ``traffic`` scales the whole traffic profile with its average (``workload.p95_rps``
and the shape's ``peak_rps`` and ``base_rps`` by the same factor), as
:mod:`costlib.whatif.breakeven` does; its low and high are average rates [requests/s].

This module supersedes the sensitivity table of lesson 08 (``costlib.lessons.levers.
sensitivity``): the same low/high pricing, with stated ranges from a data file, a range argument
for distributions, the exact scalar-estimate ends and one call for all inputs.

>>> from costlib.core.paths import PARAMS_DIR
>>> from costlib.bill.params import at_points, load_params
>>> b = at_points(load_params(PARAMS_DIR / "scenario_b_steady.yaml"))  # default ranges only
>>> t = tornado(b, "bedrock_llama31_70b")
>>> top = t.table("bedrock_llama31_70b").iloc[0]
>>> top["key"], round(top["swing_usd"])
('traffic', 190028)
"""

from __future__ import annotations

import difflib
import fnmatch
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from costlib.bill.params import Params, with_overrides
from costlib.bill.vector import numeric_keys, price_many
from costlib.core.errors import CostlibError
from costlib.whatif.breakeven import _TRAFFIC_KNOBS, TRAFFIC, _price_in_use

__all__ = ["Tornado", "tornado", "default_ranges", "distribution_ranges", "RANGES_TABLE", "COLUMNS"]

RANGES_TABLE = "sensitivity_ranges"
"""The table (``costlib/data/sensitivity_ranges.yaml``) holding the default ranges."""

FORMS = ("factor", "absolute", "delta", "choice")
"""How a default range is formed from the file's value (see the data file's header)."""

COLUMNS = ("option", "rank", "input", "key", "base_value", "low", "high", "base_usd", "low_usd",
           "high_usd", "swing_usd", "swing_pct", "cheaper_at", "origin")
"""Columns of :attr:`Tornado.frame`, in order."""


# --------------------------------------------------------------------------------------------
# the ranges


def default_ranges() -> list[dict]:
    """The default ranges: one dict per entry of ``costlib/data/sensitivity_ranges.yaml``.

    Each has ``key`` (a dotted key, a pattern with ``*``, or ``"traffic"``), ``label``, ``form``
    (one of :data:`FORMS`), ``low``, ``high`` and ``reason``.

    >>> [r["key"] for r in default_ranges()][:3]
    ['traffic', 'workload.in_tokens', 'workload.out_tokens']
    """
    from costlib.tables import read_table, table_path

    doc = read_table(RANGES_TABLE)
    where = table_path(RANGES_TABLE).name
    out = []
    for i, entry in enumerate(doc.get("ranges") or []):
        missing = [k for k in ("key", "label", "form", "low", "high", "reason") if k not in entry]
        if missing:
            raise CostlibError(f"{where}: entry {i} ({entry.get('key', '?')}): missing "
                               f"{', '.join(missing)}")
        if entry["form"] not in FORMS:
            raise CostlibError(f"{where}: {entry['key']}: form {entry['form']!r}; valid: "
                               f"{', '.join(FORMS)}")
        out.append(dict(entry))
    return out


@dataclass(frozen=True)
class _Input:
    """One input to move: its key, what the reader sees, both ends and where they come from."""

    key: str
    label: str
    base_value: Any
    low: Any
    high: Any
    origin: str
    choice: bool = False


def _leaf(params: Params, key: str):
    """``(found, value)`` of a dotted key read from validated params (dicts and lists walked)."""
    node: Any = params
    for part in key.split("."):
        if isinstance(node, dict):
            if part not in node:
                return False, None
            node = node[part]
        elif isinstance(node, (list, tuple)):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                return False, None
        elif isinstance(node, BaseModel) and part in type(node).model_fields:
            node = getattr(node, part)
        else:
            return False, None
    return True, node


def _clip(low: float, high: float, spec: dict) -> tuple[float, float, str]:
    """Both ends clipped to the key's bounds, and a note when either moved."""
    lo, hi = float(low), float(high)
    if "ge" in spec:
        lo, hi = max(lo, spec["ge"]), max(hi, spec["ge"])
    if "le" in spec:
        lo, hi = min(lo, spec["le"]), min(hi, spec["le"])
    eps = lambda b: max(abs(b), 1.0) * 1e-9  # noqa: E731 - strictly inside an open bound
    if "gt" in spec:
        lo, hi = (max(x, spec["gt"] + eps(spec["gt"])) for x in (lo, hi))
    if "lt" in spec:
        lo, hi = (min(x, spec["lt"] - eps(spec["lt"])) for x in (lo, hi))
    if spec.get("integer"):
        lo, hi = float(round(lo)), float(round(hi))
    note = ""
    if (lo, hi) != (float(low), float(high)):
        bounds = [f"{s} {spec[n]:g}" for n, s in (("ge", ">="), ("gt", ">"), ("le", "<="),
                                                   ("lt", "<")) if n in spec]
        note = (f" (clipped from {float(low):,.6g}..{float(high):,.6g} to the key's bounds "
                f"{', '.join(bounds)})")
    return lo, hi, note


class _Context:
    """What forming the ranges needs of one params file, computed once."""

    def __init__(self, params: Params):
        self.params = params
        self.known = numeric_keys(params)
        self._estimate = None

    def value_in_use(self, key: str) -> float | None:
        """The value the bill used for a key the file leaves out (batch, table price), or None."""
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "options" and parts[2] == "batch_size":
            if self._estimate is None:
                from costlib.bill.estimate import estimate

                self._estimate = estimate(self.params)
            for o in self._estimate.options:
                if o.name == parts[1] and o.details.get("batch_size") is not None:
                    return float(o.details["batch_size"])
            return None
        return _price_in_use(self.params, key)

    def base_value(self, key: str):
        if key == TRAFFIC:
            return float(self.params.workload.avg_rps)
        spec = self.known.get(key)
        if spec is not None:
            return spec["value"] if spec["value"] is not None else self.value_in_use(key)
        return _leaf(self.params, key)[1]


def _keys_for(pattern: str, ctx: _Context) -> list[str]:
    if pattern == TRAFFIC:
        return [TRAFFIC]
    if "*" in pattern:
        return [k for k in ctx.known if fnmatch.fnmatchcase(k, pattern)]
    if pattern in ctx.known:
        return [pattern]
    found, value = _leaf(ctx.params, pattern)
    return [pattern] if found and isinstance(value, str) else []


def _label(entry_label: str, key: str) -> str:
    parts = key.split(".")
    if parts[0] == "options" and len(parts) > 2:
        return f"{entry_label}, {parts[1]}"
    return entry_label


def _default_label(key: str, ctx: _Context) -> str:
    """The words the default ranges give a key (``prompt tokens (context length)``), else the key;
    the average rate is called as the traffic is."""
    for entry in default_ranges():
        if key in _keys_for(str(entry["key"]), ctx):
            return _label(str(entry["label"]), key)
    return "traffic (avg rps)" if key == "workload.avg_rps" else key


def _from_default(entry: dict, key: str, ctx: _Context) -> _Input | None:
    form = entry["form"]
    origin = f"default range: {entry['reason']}"
    label = _label(entry["label"], key)
    if form == "choice":
        found, value = _leaf(ctx.params, key)
        if not found or not isinstance(value, str):
            return None
        return _Input(key, label, value, str(entry["low"]), str(entry["high"]), origin, True)
    spec = ctx.known["workload.avg_rps" if key == TRAFFIC else key]
    value = ctx.base_value(key)
    if form in ("factor", "delta") and value is None:
        return None
    if form == "absolute" and spec["value"] is None and key != TRAFFIC:
        return None  # the file does not use this input (a spot discount without spot)
    if form == "factor":
        low, high = value * float(entry["low"]), value * float(entry["high"])
    elif form == "delta":
        low, high = value + float(entry["low"]), value + float(entry["high"])
    else:
        low, high = float(entry["low"]), float(entry["high"])
    low, high, note = _clip(low, high, _joint_bounds(ctx, key, spec))
    if low == high:
        return None
    return _Input(key, label, value, low, high, origin + note)


def _joint_bounds(ctx: _Context, key: str, spec: dict) -> dict:
    """A key's bounds, narrowed by a rule it shares with another key of the file.

    A prompt cache's read share plus its write share cannot exceed 1 (all input tokens), so
    the read share's ceiling is 1 - the write share.
    """
    if key.endswith(".prompt_cache.read_fraction"):
        write = ctx.known.get(key.replace("read_fraction", "write_fraction"), {}).get("value")
        if write is not None:
            return {**spec, "le": min(spec.get("le", 1.0), 1.0 - write)}
    return spec


def _check_key(key: str, ctx: _Context) -> None:
    if key == TRAFFIC or key in ctx.known:
        return
    found, value = _leaf(ctx.params, key)
    if found and isinstance(value, str):
        return
    close = difflib.get_close_matches(key, [TRAFFIC, *ctx.known], n=3, cutoff=0.5)
    hint = (f"closest valid: {', '.join(close)}" if close else
            f"use {TRAFFIC!r}, a numeric key of this params file or a setting like "
            "network.aws_path")
    raise CostlibError(f"sensitivity: ranges: {key!r} is not an input of this params file; "
                       f"{hint}")


def _from_argument(key: str, value, ctx: _Context) -> _Input:
    _check_key(key, ctx)
    if not isinstance(value, (tuple, list)) or len(value) not in (2, 3):
        raise CostlibError(f"sensitivity: ranges: {key}: give (low, high) or (low, high, "
                           f"origin), not {value!r}")
    low, high = value[0], value[1]
    origin = str(value[2]) if len(value) == 3 else "stated range"
    label = _default_label(key, ctx)
    if isinstance(low, str) or isinstance(high, str):
        found, current = _leaf(ctx.params, key)
        if not (found and isinstance(current, str)):
            raise CostlibError(f"sensitivity: ranges: {key} is a number; give numbers, not "
                               f"{low!r}, {high!r}")
        return _Input(key, label, current, str(low), str(high), origin, True)
    spec = ctx.known.get("workload.avg_rps" if key == TRAFFIC else key)
    if spec is None:
        raise CostlibError(f"sensitivity: ranges: {key} is a setting; give two of its values "
                           "as text")
    try:
        low, high = float(low), float(high)
    except (TypeError, ValueError):
        raise CostlibError(f"sensitivity: ranges: {key}: low and high must be numbers, not "
                           f"{value[0]!r}, {value[1]!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise CostlibError(f"sensitivity: ranges: {key}: low and high must be finite")
    low, high, note = _clip(low, high, _joint_bounds(ctx, key, spec))
    return _Input(key, label, ctx.base_value(key), low, high, origin + note)


def distribution_ranges(params: Params) -> dict:
    """``{key: (P10, P90, origin)}`` of every input the params file gives as a distribution.

    The tornado moves such an input between its 10th and 90th percentiles (the range the
    Monte Carlo's P10-P90 band is made of), in place of any default range for the key.
    """
    from costlib.bill.params import uncertain_inputs

    return {key: (float(dist.ppf(0.1)), float(dist.ppf(0.9)),
                  f"distribution P10-P90: {dist.describe()}")
            for key, dist in uncertain_inputs(params).items()}


def _inputs(ctx: _Context, ranges: dict | None, include_defaults: bool) -> list[_Input]:
    given = {**distribution_ranges(ctx.params), **dict(ranges or {})}
    out: dict[str, _Input] = {}
    if include_defaults:
        for entry in default_ranges():
            for key in _keys_for(str(entry["key"]), ctx):
                if key in given or key in out:
                    continue
                if key == TRAFFIC and "workload.avg_rps" in given:
                    continue  # the average rate is moved by its own range: not twice
                made = _from_default(entry, key, ctx)
                if made is not None:
                    out[key] = made
    for key, value in given.items():
        out[key] = _from_argument(str(key), value, ctx)
    if not out:
        raise CostlibError("sensitivity: no input to move (no default range matches this params "
                           "file and no ranges were given)")
    return list(out.values())


# --------------------------------------------------------------------------------------------
# pricing


def _overrides(ctx: _Context, key: str, value: float) -> dict[str, float]:
    """The numeric overrides that set one input (``traffic`` scales the whole profile)."""
    if key != TRAFFIC:
        return {key: float(value)}
    k = float(value) / ctx.params.workload.avg_rps
    out = {"workload.avg_rps": float(value)}
    for knob in _TRAFFIC_KNOBS:
        base = ctx.known.get(knob, {}).get("value")
        if base is not None:
            out[knob] = base * k
    return out


def _price_rows(ctx: _Context, rows: list[dict]) -> dict[str, np.ndarray]:
    """Totals per option of ``rows`` (each ``{key: value}``), every other key at its value."""
    columns: dict[str, list] = {}
    for r in rows:
        for k in r:
            columns.setdefault(k, [])
    arrays = {k: np.array([r.get(k, ctx.known[k]["value"]) for r in rows], dtype=float)
              for k in columns}
    bill = price_many(ctx.params, arrays)
    return bill.totals


def _price(ctx: _Context, inputs: list[_Input]) -> tuple[dict, dict]:
    """``(base totals {option: USD}, {(key, end): {option: USD}})``."""
    main_rows: list[dict] = [{}]
    main_ends: list[tuple] = [("", "base")]
    apart: list[tuple[_Input, list[dict]]] = []
    choices: list[_Input] = []
    for inp in inputs:
        if inp.choice:
            choices.append(inp)
            continue
        ends = [_overrides(ctx, inp.key, v) for v in (inp.low, inp.high)]
        if any(ctx.known[k]["value"] is None for k in ends[0]):
            apart.append((inp, ends))
        else:
            main_rows += ends
            main_ends += [(inp.key, "low"), (inp.key, "high")]
    out: dict[tuple, dict] = {}
    totals = _price_rows(ctx, main_rows)
    for i, end in enumerate(main_ends):
        out[end] = {name: float(t[i]) for name, t in totals.items()}
    base = out.pop(("", "base"))
    for inp, ends in apart:
        totals = _price_rows(ctx, ends)
        for i, end in enumerate(("low", "high")):
            out[(inp.key, end)] = {name: float(t[i]) for name, t in totals.items()}
    for inp in choices:
        for end, value in (("low", inp.low), ("high", inp.high)):
            if value == inp.base_value:
                out[(inp.key, end)] = dict(base)
                continue
            bill = price_many(with_overrides(ctx.params, {inp.key: value}))
            out[(inp.key, end)] = {name: float(t[0]) for name, t in bill.totals.items()}
    return base, out


def _scoped_elsewhere(key: str, option: str) -> bool:
    parts = key.split(".")
    return parts[0] == "options" and len(parts) > 2 and parts[1] != option


# --------------------------------------------------------------------------------------------
# the result


@dataclass(frozen=True)
class Tornado:
    """The result of :func:`tornado`.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per (option, input), columns :data:`COLUMNS`: ``low`` and ``high`` the input's
        two values [unit of the key; a setting for a choice], ``base_usd``, ``low_usd``,
        ``high_usd`` the option's total today and at each end [USD/month], ``swing_usd`` =
        ``|high_usd - low_usd|`` [USD/month], ``swing_pct`` that over ``base_usd`` [%],
        ``cheaper_at`` (``"low"``, ``"high"`` or ``"neither"``), ``origin`` (where the range
        comes from) and ``rank`` (1 = the largest swing for that option). An input scoped to
        another option (``options.Y.batch_size``) that does not move this option is left out.
    base_usd : dict
        ``{option: total today}`` [USD/month].
    cheapest : str
        The cheapest option today (of those in the table).
    title : str
        The params file's title.
    """

    frame: pd.DataFrame = field(repr=False)
    base_usd: dict
    cheapest: str
    title: str = ""

    @property
    def options(self) -> list[str]:
        """The options in the table, cheapest today first."""
        return sorted(self.base_usd, key=lambda n: self.base_usd[n])

    def table(self, option: str | None = None) -> pd.DataFrame:
        """One option's rows ranked by swing (default: the cheapest option)."""
        option = self.cheapest if option is None else option
        if option not in self.base_usd:
            raise CostlibError(f"sensitivity: no option {option!r} in this table (have "
                               f"{', '.join(self.base_usd)})")
        return (self.frame[self.frame["option"] == option].sort_values("rank")
                .reset_index(drop=True))

    def top(self, option: str | None = None, n: int = 3) -> pd.DataFrame:
        """The ``n`` inputs that move one option's total most."""
        return self.table(option).head(int(n))

    def note(self, option: str | None = None, n: int = 3) -> str:
        """One sentence: the inputs that move an option's total most, with their swings."""
        option = self.cheapest if option is None else option
        t = self.top(option, n)
        what = "the cheapest option today, " if option == self.cheapest else ""
        items = "; ".join(
            f"{r.input} ({_fmt(r.low)} -> {_fmt(r.high)}): {r.low_usd:,.0f} -> {r.high_usd:,.0f} "
            f"USD/month, a swing of {r.swing_usd:,.0f} USD ({r.swing_pct:.1f} % of "
            f"{r.base_usd:,.0f})" for r in t.itertuples())
        return (f"For {what}{option}, the {len(t)} inputs that move the total most, one at a "
                f"time: {items}.")

    def to_dict(self) -> dict:
        """Plain JSON types (no NaN): the title, base totals, cheapest option and ranked rows."""
        rows = []
        for option in self.options:
            for r in self.table(option).to_dict(orient="records"):
                rows.append({k: _plain(v) for k, v in r.items()})
        return {"title": self.title, "cheapest": self.cheapest,
                "base_usd": {k: float(v) for k, v in self.base_usd.items()},
                "options": self.options, "rows": rows,
                "notes": {o: self.note(o) for o in self.options}}


def _fmt(x) -> str:
    return x if isinstance(x, str) else f"{x:,.4g}"


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else None
    return v


def tornado(params: Params, option: str | None = None, ranges: dict | None = None, *,
            include_defaults: bool = True) -> Tornado:
    """Each input at its low and its high value, the rest as in the file: the totals and swing.

    Parameters
    ----------
    params : costlib.bill.params.Params
        Validated params.
    option : str, optional
        Only this option's rows (default: every option).
    ranges : dict, optional
        ``{key: (low, high)}`` or ``{key: (low, high, origin)}``: ranges that replace or add to
        the defaults [unit of the key; average requests/s for ``"traffic"``; two settings for a
        non-numeric key such as ``network.aws_path``]. ``origin`` is shown in the table
        (e.g. ``"distribution P10-P90"``); default ``"stated range"``.
    include_defaults : bool, default True
        Also move every input of ``costlib/data/sensitivity_ranges.yaml`` the file has.

    Returns
    -------
    Tornado

    Raises
    ------
    CostlibError
        For an unknown option, an unknown key in ``ranges``, a malformed range, or an end out of
        the key's range that cannot be priced.
    """
    if option is not None and option not in params.options:
        raise CostlibError(f"sensitivity: no option {option!r} (have "
                           f"{', '.join(params.options)})")
    ctx = _Context(params)
    inputs = _inputs(ctx, ranges, include_defaults)
    base, ends = _price(ctx, inputs)
    names = [option] if option is not None else list(base)
    rows = []
    for name in names:
        for inp in inputs:
            lo_usd, hi_usd = ends[(inp.key, "low")][name], ends[(inp.key, "high")][name]
            swing = abs(hi_usd - lo_usd)
            if swing == 0.0 and _scoped_elsewhere(inp.key, name):
                continue
            cheaper = "neither" if hi_usd == lo_usd else ("low" if lo_usd < hi_usd else "high")
            rows.append({"option": name, "input": inp.label, "key": inp.key,
                         "base_value": inp.base_value, "low": inp.low, "high": inp.high,
                         "base_usd": base[name], "low_usd": lo_usd, "high_usd": hi_usd,
                         "swing_usd": swing,
                         "swing_pct": 100.0 * swing / base[name] if base[name] else 0.0,
                         "cheaper_at": cheaper, "origin": inp.origin})
    frame = pd.DataFrame(rows)
    frame["rank"] = (frame.groupby("option", sort=False)["swing_usd"]
                     .rank(ascending=False, method="first").astype(int))
    frame = frame.sort_values(["option", "rank"], kind="stable")[list(COLUMNS)]
    shown = {n: base[n] for n in names}
    cheapest = min(shown, key=lambda n: shown[n])
    return Tornado(frame.reset_index(drop=True), shown, cheapest, params.title)
