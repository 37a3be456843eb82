"""Lesson 09, the verdict (``notebooks/09_verdict.ipynb``).

The functions the notebook's cells call: the cheapest option and by how much; what the reference
article claims for the scenario (``costlib/data/scenarios.yaml``) against the verdict at today's
prices; what would flip it, found on the real bill as the average request rate at which the
cheapest self-hosted option and the cheapest managed option cost the same; and how the idle tax
of a self-hosted fleet arises (billed utilisation, idle share, and for scenario A why sizing for
spikes idles GPUs).

The crossing is found in two steps. :func:`traffic_curve` prices the whole bill at a grid of
traffic scale factors in one pass (:func:`costlib.bill.vector.price_many`), scaling every rate
of the profile together (:func:`costlib.lessons.widgets.traffic_scale_overrides`). Where the
difference ``cheapest self-hosted - cheapest managed`` changes sign between two grid points,
:func:`find_crossing` bisects that bracket with the scalar estimate
(:func:`costlib.bill.estimate.estimate`) until it is narrower than :data:`RPS_TOLERANCE`.
A fleet is billed per whole instance, so the difference jumps where an instance is added: the
crossing may sit on such a jump, which bisection finds as well as a smooth crossing.

The traffic crossing compares the cheapest option of each side at every rate (which option that
is may change along the way), so it keeps its own chart (:func:`crossing_chart`). The tie
(:func:`tie_breakeven`) compares two fixed options, the cheapest managed API and the cheapest
self-hosted fleet of the file, on the managed model's input price per 1M tokens, with
:func:`costlib.whatif.breakeven.breakeven`; its chart is
:func:`costlib.lessons.charts.breakeven_chart`, and the report page (``report.html``) shows the
same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd
import yaml
from IPython.display import Markdown

from costlib.bill.estimate import Estimate, estimate
from costlib.bill.params import Params, load_params, with_overrides
from costlib.bill.vector import price_many
from costlib.core.errors import CostlibError
from costlib.core.paths import PARAMS_DIR, SCENARIOS_YAML
from costlib.lessons import Lesson, charts, start, widgets
from costlib.lessons.widgets import traffic_scale_overrides

TRAFFIC_FACTORS = tuple(float(x) for x in np.geomspace(1 / 100, 100, 81))
"""Traffic scale factors of the crossing search: 1/100 to 100 times the params file's average
request rate, 81 points evenly spaced on a log scale (each step about x1.122) [-]."""

RPS_TOLERANCE = 1e-3
"""Relative width at which bisection stops: the crossing is known to 0.1 % of its rate [-]."""

MAX_BISECTIONS = 40
"""Upper bound on bisection steps (the tolerance is reached in about ten)."""

SIDES = ("managed", "self-hosted")
"""The two sides the verdict compares. A router counts as self-hosted when any route reaches a
self-hosted fleet (it then pays for GPUs), else as managed."""

SPIKE_EXAMPLE = "scenario_a_bursty.yaml"
"""The params file whose fleet sized for spikes shows where the idle tax comes from."""

UNSERVED_WARNING = 0.01
"""Share of demand left unserved above which the verdict says a fleet is cheap only because it
drops traffic [-]."""


# --------------------------------------------------------------------------------------------
# the article's claims


@lru_cache(maxsize=1)
def _claims_file() -> dict:
    return yaml.safe_load(SCENARIOS_YAML.read_text(encoding="utf-8"))


def load_claims() -> dict:
    """The article's claim per params file stem, from ``costlib/data/scenarios.yaml``.

    Returns
    -------
    dict
        ``{stem: {name, section, workload, claim, conclusion, expects}}``.

    >>> sorted(load_claims())[:2]
    ['default', 'rag_plumbing']
    """
    return dict(_claims_file()["scenarios"])


def params_stem(params: Params) -> str:
    """The stem of the params file ``params`` was loaded from (``"default"`` when unknown)."""
    return params.source_path.stem if params.source_path is not None else "default"


def claim_for(params: Params) -> dict:
    """The claim entry of this params file; a file without one gets the ``default`` entry."""
    claims = load_claims()
    return claims.get(params_stem(params), claims["default"])


# --------------------------------------------------------------------------------------------
# which side each option is on, and the verdict at today's prices


def option_sides(params: Params) -> dict[str, str]:
    """``{option: "managed" or "self-hosted"}``; a router takes the side of what it routes to.

    >>> option_sides(load_params(PARAMS_DIR / "scenario_c_cached_rag.yaml"))["cache_then_llama31_8b"]
    'managed'
    """
    opts = params.options

    def reaches_fleet(name: str, seen: tuple = ()) -> bool:
        o = opts[name]
        if o.kind == "self_hosted":
            return True
        if o.kind != "router" or name in seen:
            return False
        return any(reaches_fleet(r.to, (*seen, name)) for r in o.routes)

    return {n: "self-hosted" if reaches_fleet(n) else "managed" for n in opts}


def verdict_table(result: Estimate, params: Params) -> pd.DataFrame:
    """Every option, cheapest first: side, monthly cost, and how much more than the cheapest.

    Columns: ``side``, ``kind``, ``monthly_usd``, ``usd_per_request``, ``more_than_cheapest_usd``
    [USD/month], ``more_than_cheapest_pct`` [%] and ``unserved_fraction`` (share of demand a
    fleet or a throttled API leaves unserved; 0 when nothing is lost).
    """
    sides = option_sides(params)
    rows = sorted(result.options, key=lambda o: o.monthly_usd)
    low = rows[0].monthly_usd
    frame = pd.DataFrame([{
        "option": o.name, "side": sides[o.name], "kind": o.kind,
        "monthly_usd": o.monthly_usd, "usd_per_request": o.usd_per_request,
        "more_than_cheapest_usd": o.monthly_usd - low,
        "more_than_cheapest_pct": 100.0 * (o.monthly_usd - low) / low if low else float("nan"),
        "unserved_fraction": float(o.details.get("unserved_fraction", 0.0) or 0.0),
    } for o in rows]).set_index("option")
    return frame.round({"monthly_usd": 2, "usd_per_request": 6, "more_than_cheapest_usd": 2,
                        "more_than_cheapest_pct": 1, "unserved_fraction": 4})


def _cheapest_by_side(result: Estimate, params: Params) -> dict:
    sides = option_sides(params)
    out = {}
    for o in result.options:
        s = sides[o.name]
        if s not in out or o.monthly_usd < out[s].monthly_usd:
            out[s] = o
    return out


def _usd(x: float) -> str:
    return f"{x:,.0f} USD"


def verdict_note(result: Estimate, params: Params) -> Markdown:
    """The answer in words: the cheapest option, by how much, and the cheapest of each side."""
    table = verdict_table(result, params)
    first = table.index[0]
    text = [f"At the prices in force on {result.prices.get('in_force_on', 'the as-of date')}, the "
            f"cheapest option is **{first}** ({table.loc[first, 'side']}) at "
            f"**{_usd(table.loc[first, 'monthly_usd'])} a month**"]
    if len(table) > 1:
        second = table.index[1]
        text.append(f"; the next, {second}, costs {_usd(table.loc[second, 'more_than_cheapest_usd'])} "
                    f"more ({table.loc[second, 'more_than_cheapest_pct']:.1f} %).")
    else:
        text.append(".")
    best = _cheapest_by_side(result, params)
    if len(best) == 2:
        m, s = best["managed"], best["self-hosted"]
        lo, hi = (m, s) if m.monthly_usd <= s.monthly_usd else (s, m)
        text.append(f" Between the two sides, the cheapest managed option ({m.name}, "
                    f"{_usd(m.monthly_usd)}) and the cheapest self-hosted one ({s.name}, "
                    f"{_usd(s.monthly_usd)}), {lo.name} is cheaper by "
                    f"{_usd(hi.monthly_usd - lo.monthly_usd)} a month, or "
                    f"{100 * (hi.monthly_usd - lo.monthly_usd) / hi.monthly_usd:.0f} % of "
                    f"{hi.name}'s bill.")
    else:
        only = next(iter(best))
        text.append(f" Every option of this file is {only}: there is no other side to compare.")
    lossy = table[table["unserved_fraction"] > UNSERVED_WARNING]
    for name, row in lossy.iterrows():
        text.append(f" Mind that {name} leaves {row['unserved_fraction']:.0%} of the demand "
                    f"unserved: its bill is low partly because it does not carry the traffic.")
    return Markdown("".join(text))


def claim_note(params: Params, result: Estimate) -> Markdown:
    """The article's claim for this file, its section, and whether today's verdict agrees."""
    c = claim_for(params)
    table = verdict_table(result, params)
    first = table.index[0]
    side = table.loc[first, "side"]
    lines = [f"**{c['name']}** ({c['workload']}). From the article's section *{c['section']}*: "
             f"{c['claim']}", "", f"**What the article concludes:** {c['conclusion']}", ""]
    if c["expects"] == "none":
        lines.append(f"**At today's prices:** {first}, a {side} option, is cheapest for this "
                     "file; the article makes no claim about it in particular.")
    else:
        expected = c["expects"].replace("_", "-")
        agrees = "agrees with" if expected == side else "does not agree with"
        lines.append(f"**At today's prices:** the cheapest option is {first}, a {side} option: "
                     f"the verdict {agrees} the article, which expects a {expected} option to "
                     "be cheapest.")
        hosted = [o for o in result.options if o.kind == "self_hosted"]
        if expected == "self-hosted" and hosted:
            best = min(hosted, key=lambda o: o.monthly_usd)
            beaten = [o.name for o in result.options if o.kind != "self_hosted"
                      and o.monthly_usd > best.monthly_usd]
            lines.append(
                f"The cheapest fleet, {best.name}, holds {best.details['batch_size']:,.1f} "
                f"sequences per instance (the article's bar is 4 to 8) and costs "
                f"{_usd(best.monthly_usd)} a month"
                + (f"; it beats {', '.join(beaten)}, but not the cheapest managed option."
                   if beaten and expected != side else
                   "; it beats every managed option." if beaten else
                   "; it beats no managed option."))
    return Markdown("\n".join(lines))


# --------------------------------------------------------------------------------------------
# what would flip it: the traffic at which the two sides cost the same


def traffic_curve(params: Params, factors=TRAFFIC_FACTORS) -> pd.DataFrame:
    """Every option's monthly bill at each traffic scale factor, in one ``price_many`` pass.

    Every rate of the profile (average, p95, the shape's peak and base) is multiplied by the
    factor, so the shape is kept. Rows: ``factor``, ``avg_rps`` [requests/s], ``option``,
    ``side``, ``monthly_usd`` [USD/month], plus one row per side and factor for the cheapest
    option of that side (``option`` = ``"cheapest managed"`` / ``"cheapest self-hosted"``).
    """
    factors = np.asarray(list(factors), dtype=float)
    avg = params.workload.avg_rps
    inputs: dict[str, list] = {}
    for k in factors:
        for key, value in traffic_scale_overrides(params, avg * k).items():
            inputs.setdefault(key, []).append(value)
    bill = price_many(params, {k: np.asarray(v) for k, v in inputs.items()})
    sides = option_sides(params)
    rows = []
    for name in bill.options:
        rows.append(pd.DataFrame({"factor": factors, "avg_rps": avg * factors, "option": name,
                                  "side": sides[name], "monthly_usd": bill.total(name)}))
    frame = pd.concat(rows, ignore_index=True)
    best = (frame.groupby(["factor", "side"], as_index=False)
            .agg(monthly_usd=("monthly_usd", "min"), avg_rps=("avg_rps", "first")))
    best["option"] = "cheapest " + best["side"]
    return pd.concat([frame, best[frame.columns]], ignore_index=True)


@dataclass(frozen=True)
class Crossing:
    """Where the cheapest self-hosted and the cheapest managed option cost the same.

    Attributes
    ----------
    found : bool
        Whether the difference changes sign within the range searched.
    avg_rps : float or None
        The crossing's average request rate [requests/s] (bisection's upper end: the first
        rate found at which the sign has changed), ``None`` when not found.
    bracket : tuple or None
        The two grid rates of the direct sweep between which the sign changes [requests/s].
    direction : str
        ``"self-hosted cheaper above"`` or ``"self-hosted cheaper below"`` (or ``""``).
    sign_changes : int
        How many times the difference changes sign over the grid (more than one: steps of
        whole instances make self-hosting win and lose again).
    rps_range : tuple
        The lowest and highest rate searched [requests/s].
    managed : str
        The managed side compared: ``"cheapest managed"`` or one managed option's name.
    note : str
        Why there is no crossing, when there is none.
    """

    found: bool
    avg_rps: float | None
    bracket: tuple | None
    direction: str
    sign_changes: int
    rps_range: tuple
    managed: str = "cheapest managed"
    note: str = ""


def _side_min(result: Estimate, sides: dict, side: str, only: str | None = None) -> float:
    vals = [o.monthly_usd for o in result.options
            if sides[o.name] == side and (only is None or o.name == only)]
    return min(vals) if vals else float("nan")


def difference_at(params: Params, avg_rps: float, managed: str | None = None) -> float:
    """Cheapest self-hosted minus cheapest managed (or one managed option) at ``avg_rps``,
    on the scalar estimate with the whole traffic profile scaled [USD/month]."""
    scaled = estimate(with_overrides(params, traffic_scale_overrides(params, avg_rps)))
    sides = option_sides(params)
    return _side_min(scaled, sides, "self-hosted") - _side_min(scaled, sides, "managed", managed)


def _series(curve: pd.DataFrame, managed: str | None) -> tuple[np.ndarray, np.ndarray]:
    hosted = curve[curve["option"] == "cheapest self-hosted"].sort_values("avg_rps")
    name = "cheapest managed" if managed is None else managed
    ref = curve[curve["option"] == name].sort_values("avg_rps")
    return hosted["avg_rps"].to_numpy(), hosted["monthly_usd"].to_numpy() - ref["monthly_usd"].to_numpy()


def sweep_sign_changes(curve: pd.DataFrame, managed: str | None = None) -> list[tuple]:
    """Grid brackets ``(rps_low, rps_high)`` where self-hosted minus managed changes sign."""
    rps, diff = _series(curve, managed)
    sign = np.sign(diff)
    return [(float(rps[i]), float(rps[i + 1])) for i in range(len(rps) - 1)
            if sign[i] != sign[i + 1] and sign[i] != 0 and sign[i + 1] != 0]


def bisect_rate(fn, lo: float, hi: float, tol: float = RPS_TOLERANCE) -> float:
    """The rate in ``[lo, hi]`` where ``fn`` changes sign, by bisection on a log scale.

    ``fn(lo)`` and ``fn(hi)`` must differ in sign. Returns the upper end of the final bracket:
    the rate closest to the change at which ``fn`` already has ``fn(hi)``'s sign.
    """
    f_lo, f_hi = fn(lo), fn(hi)
    if np.sign(f_lo) == np.sign(f_hi):
        raise CostlibError(f"bisect_rate: no sign change between {lo:g} and {hi:g}")
    for _ in range(MAX_BISECTIONS):
        if hi / lo - 1 <= tol:
            break
        mid = math.sqrt(lo * hi)
        f_mid = fn(mid)
        if np.sign(f_mid) == np.sign(f_lo):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return hi


def find_crossing(params: Params, curve: pd.DataFrame | None = None,
                  managed: str | None = None) -> Crossing:
    """The lowest average rate at which self-hosting and the managed side cost the same.

    Parameters
    ----------
    params : Params
    curve : pandas.DataFrame, optional
        From :func:`traffic_curve` (computed when not given).
    managed : str, optional
        Compare with this managed option instead of the cheapest managed one at each rate.
    """
    curve = traffic_curve(params) if curve is None else curve
    rps_all = curve["avg_rps"]
    rng = (float(rps_all.min()), float(rps_all.max()))
    label = "cheapest managed" if managed is None else managed
    sides = set(curve["side"])
    if sides != set(SIDES):
        missing = (set(SIDES) - sides).pop()
        return Crossing(False, None, None, "", 0, rng, label,
                        f"this params file has no {missing} option, so there is nothing to cross")
    brackets = sweep_sign_changes(curve, managed)
    if not brackets:
        rps, diff = _series(curve, managed)
        cheaper = "managed" if diff[0] > 0 else "self-hosted"
        return Crossing(False, None, None, "", 0, rng, label,
                        f"the {cheaper} side is cheaper at every rate from {rng[0]:,.4g} to "
                        f"{rng[1]:,.4g} requests/s")
    lo, hi = brackets[0]
    rate = bisect_rate(lambda r: difference_at(params, r, managed), lo, hi)
    above = difference_at(params, hi, managed) < 0
    return Crossing(True, rate, (lo, hi),
                    "self-hosted cheaper above" if above else "self-hosted cheaper below",
                    len(brackets), rng, label)


def crossings_table(params: Params, curve: pd.DataFrame) -> pd.DataFrame | str:
    """The crossing against the cheapest managed option and against each managed option.

    One row per comparison: ``managed side``, ``crossing avg rps`` ("none in range" when none),
    ``times today's rate``, ``direction``, ``sign changes`` over the grid and a ``note``.
    """
    sides = option_sides(params)
    managed = [n for n, s in sides.items() if s == "managed"]
    if "self-hosted" not in sides.values() or not managed:
        return find_crossing(params, curve).note.capitalize() + "."
    rows = []
    for m in [None, *managed] if len(managed) > 1 else [None]:
        c = find_crossing(params, curve, m)
        rows.append({"managed side": c.managed,
                     "crossing avg rps": round(c.avg_rps, 3) if c.found else "none in range",
                     "times today's rate": (float(f"{c.avg_rps / params.workload.avg_rps:.3g}")
                                            if c.found else "none in range"),
                     "direction": c.direction, "sign changes": c.sign_changes, "note": c.note})
    return pd.DataFrame(rows)


def flip_note(params: Params, crossing: Crossing, curve: pd.DataFrame) -> Markdown:
    """What would flip the verdict, in words, from the crossing and the curve."""
    avg = params.workload.avg_rps
    lo, hi = crossing.rps_range
    if not crossing.found:
        text = f"**No crossing between {lo:,.4g} and {hi:,.4g} requests/s** on average: {crossing.note}."
        if set(curve["side"]) == set(SIDES):
            top = curve[curve["avg_rps"] == curve["avg_rps"].max()].set_index("option")["monthly_usd"]
            gap = top["cheapest self-hosted"] / top["cheapest managed"] - 1
            if gap > 0:
                text += (f" At the top of that range, {hi:,.4g} requests/s, the cheapest "
                         f"self-hosted option still costs {gap:.0%} more than the cheapest "
                         "managed one: however busy, a fleet's price per token stays above the "
                         "managed price, so no traffic in this range flips the verdict; a "
                         "cheaper fleet (a larger batch, FP8, a smaller model) or a dearer "
                         "managed model would.")
            else:
                low = curve[curve["avg_rps"] == curve["avg_rps"].min()].set_index("option")["monthly_usd"]
                text += (f" Even at the bottom of that range, {lo:,.4g} requests/s, the cheapest "
                         f"self-hosted option costs {1 - low['cheapest self-hosted'] / low['cheapest managed']:.0%} "
                         "less than the cheapest managed one.")
        return Markdown(text)
    text = (f"**The two sides cost the same at {crossing.avg_rps:,.4g} requests/s on average**, "
            f"{crossing.avg_rps / avg:.2g} times this file's {avg:,.3g}; "
            f"{crossing.direction.replace('self-hosted cheaper', 'self-hosting is cheaper')} it "
            f"(the direct sweep changes sign between {crossing.bracket[0]:,.4g} and "
            f"{crossing.bracket[1]:,.4g} requests/s, and bisection on the full estimate narrowed "
            f"it to {RPS_TOLERANCE:.1%}).")
    if crossing.sign_changes > 1:
        text += (f" The sign changes {crossing.sign_changes} times over the range: each added "
                 "instance makes the fleet's bill jump, so near the crossing self-hosting wins "
                 "and loses again from one step to the next.")
    return Markdown(text)


def crossing_chart(curve: pd.DataFrame, crossing: Crossing, avg_rps: float) -> alt.LayerChart:
    """Where does self-hosting start to pay? The cheapest option of each side across traffic.

    Lines: the cheapest managed and the cheapest self-hosted bill at each average rate (log
    axes); a dashed rule at the params file's rate and, when there is one, a solid rule and a
    point at the crossing.
    """
    data = curve[curve["option"].str.startswith("cheapest ")][["avg_rps", "side", "monthly_usd"]]
    color = charts.case_color("side", labels=SIDES, title="cheapest option")
    lines = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=12)).encode(
        x=alt.X("avg_rps:Q", title="average request rate (requests/s)",
                scale=alt.Scale(type="log")),
        y=alt.Y("monthly_usd:Q", title="monthly cost (usd)", scale=alt.Scale(type="log")),
        color=color,
        tooltip=["side", alt.Tooltip("avg_rps:Q", format=",.3g"),
                 alt.Tooltip("monthly_usd:Q", format=",.0f")])
    marks = [pd.DataFrame({"avg_rps": [avg_rps], "mark": ["this params file"]})]
    if crossing.found:
        marks.append(pd.DataFrame({"avg_rps": [crossing.avg_rps], "mark": ["crossing"]}))
    rules = alt.Chart(pd.concat(marks, ignore_index=True)).mark_rule().encode(
        x="avg_rps:Q",
        strokeDash=alt.StrokeDash("mark:N", title=None,
                                  scale=alt.Scale(domain=["this params file", "crossing"],
                                                  range=[[6, 4], [1, 0]])),
        tooltip=["mark", alt.Tooltip("avg_rps:Q", format=",.3g")])
    return (lines + rules).properties(width=charts.WIDTH, height=charts.HEIGHT)


# --------------------------------------------------------------------------------------------
# where self-hosting ties with the managed API: the break-even on one input


def tie_options(result: Estimate, params: Params) -> tuple[str, str] | None:
    """``(cheapest managed API, cheapest self-hosted option)`` of the file, or None without both.

    The managed side is the cheapest option of kind ``managed_api`` (a cache or router has no
    token price of its own to solve for); the self-hosted side is the cheapest option of kind
    ``self_hosted``.

    >>> p = load_params(PARAMS_DIR / "scenario_b_steady.yaml")
    >>> tie_options(estimate(p), p)
    ('bedrock_llama31_70b', 'p5_vllm_llama31_70b')
    """
    managed = [o for o in result.options if o.kind == "managed_api"]
    hosted = [o for o in result.options if o.kind == "self_hosted"]
    if not managed or not hosted:
        return None
    return (min(managed, key=lambda o: o.monthly_usd).name,
            min(hosted, key=lambda o: o.monthly_usd).name)


def tie_key(params: Params, managed: str) -> str:
    """The input the tie is solved for: the managed model's input price per 1M tokens.

    The rule: a managed model's input price is what a price cut or a negotiated discount moves,
    it is continuous (so the tie is a root, not a step) and every managed API of the course has
    one. A managed option priced some other way (no such key) falls back to ``"traffic"``.
    """
    from costlib.bill.vector import numeric_keys

    key = f"options.{managed}.usd_per_1m_input_tokens"
    return key if key in numeric_keys(params) else "traffic"


def tie_breakeven(params: Params, result: Estimate):
    """The break-even of :func:`tie_options` on :func:`tie_key` (None without both sides).

    Solved by :func:`costlib.whatif.breakeven.breakeven` on the whole bill, over its default
    range (a tenth to ten times today's value).
    """
    from costlib.whatif.breakeven import breakeven

    pair = tie_options(result, params)
    if pair is None:
        return None
    return breakeven(params, tie_key(params, pair[0]), pair[0], pair[1])


def tie_sentence(b, result: Estimate | None = None) -> str:
    """The tie in one sentence, for the report page and the lesson (plain text).

    With no break-even: which file lacks a side. With one: the value, how far it is from
    today's, and which option is cheaper on each side; with none in the range, says so.
    """
    if b is None:
        kinds = {o.kind for o in result.options} if result is not None else set()
        missing = "self-hosted" if "self_hosted" not in kinds else "managed API"
        return (f"This params file has no {missing} option, so there is no tie between "
                "self-hosting and a managed API to solve for.")
    managed, hosted = b.options
    what = (f"{managed}'s input price" if b.key.endswith("usd_per_1m_input_tokens")
            else "the traffic")
    unit = " USD per 1M input tokens" if b.key.endswith("usd_per_1m_input_tokens") else " requests/s"
    if not b.found:
        other = hosted if b.cheaper_at_lo == managed else managed
        return (f"No crossing in the valid range: with {what} anywhere from {b.lo:,.4g} to "
                f"{b.hi:,.4g}{unit}, {b.cheaper_at_lo} stays cheaper than {other}.")
    c = b.crossings[0]
    times = f", {c.value / b.current:.2f}x today's {b.current:,.4g}" if b.current else ""
    kind = "cost the same" if c.kind == "root" else "swap places (on a step of the bill)"
    more = (f" The cheaper option changes {len(b.crossings)} times in the range."
            if len(b.crossings) > 1 else "")
    return (f"{hosted} and {managed} {kind} at {c.cost_usd:,.0f} USD a month when {what} is "
            f"{c.value:,.4g}{unit}{times}: below it {c.cheaper_below} is cheaper, above it "
            f"{c.cheaper_above}.{more}")


def tie_note(b, result: Estimate) -> Markdown:
    """:func:`tie_sentence` as the lesson's paragraph."""
    return Markdown(tie_sentence(b, result))


def tie_chart(b) -> alt.LayerChart | None:
    """Where does self-hosting tie with the managed API? Both bills across the tie's input."""
    return None if b is None else charts.breakeven_chart(b)


# --------------------------------------------------------------------------------------------
# the idle tax


def _instance_usd(o) -> float:
    return sum(li.monthly_usd for li in o.line_items if li.unit == "instance-hour"
               and li.category == "inference")


def _rps_per_instance(o, result: Estimate) -> float:
    serving = o.details.get("serving") or {}
    if serving.get("request_rate_rps"):
        return float(serving["request_rate_rps"])
    w = result.workload
    tokens = w["in_tokens"] + w["out_tokens"] + w.get("retrieved_context_tokens", 0.0)
    return float(o.details["tokens_per_second_per_instance"]) * float(o.details["batch_size"]) / tokens


def fleet_table(result: Estimate, params: Params) -> pd.DataFrame | str:
    """How busy is each self-hosted fleet, and what does its idle time cost?

    One row per self-hosted option: ``instance``, ``requests/s per instance`` (what one instance
    serves at its operating point), ``instances_p95`` (the worksheet's count for the p95 rate),
    ``avg_instances`` and ``peak_instances`` (billed by the fleet policy), ``utilisation``
    (demand served over capacity billed), ``idle_share`` (one minus it), ``unserved_fraction``,
    ``instance_usd`` (the instance-hours of the month) and ``idle_usd`` (their idle share)
    [USD/month]. A sentence when the file has no self-hosted option.
    """
    hosted = [o for o in result.options if o.kind == "self_hosted"]
    if not hosted:
        return "This params file has no self-hosted option: nothing sits idle."
    rows = []
    for o in hosted:
        d = o.details
        util = float(d["utilisation"])
        rows.append({"option": o.name, "instance": getattr(params.options[o.name], "instance", ""),
                     "requests/s per instance": _rps_per_instance(o, result),
                     "instances_p95": d["instances_p95"], "avg_instances": d["avg_instances"],
                     "peak_instances": d["peak_instances"], "utilisation": util,
                     "idle_share": 1.0 - util,
                     "unserved_fraction": float(d.get("unserved_fraction", 0.0)),
                     "instance_usd": _instance_usd(o), "idle_usd": (1.0 - util) * _instance_usd(o)})
    return pd.DataFrame(rows).set_index("option").round(
        {"requests/s per instance": 3, "avg_instances": 2, "peak_instances": 2, "utilisation": 3,
         "idle_share": 3, "unserved_fraction": 3, "instance_usd": 0, "idle_usd": 0})


def idle_chart(result: Estimate) -> alt.Chart | None:
    """How much of each fleet is busy and how much idles? Average billed instances, split.

    One bar per self-hosted option: average billed instances times utilisation (busy) and times
    one minus it (idle), in the before/after palette (idle grey, busy blue). None without a fleet.
    """
    rows = []
    for o in result.options:
        if o.kind != "self_hosted":
            continue
        n, u = float(o.details["avg_instances"]), float(o.details["utilisation"])
        rows += [{"option": o.name, "state": "idle", "instances": n * (1 - u)},
                 {"option": o.name, "state": "busy", "instances": n * u}]
    if not rows:
        return None
    data = pd.DataFrame(rows)
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("instances:Q", title="average billed instances", stack="zero"),
        y=alt.Y("option:N", title=None),
        color=charts.case_color("state", labels=("idle", "busy"), title="instance time"),
        order=alt.Order("state:N", sort="descending"),
        tooltip=["option", "state", alt.Tooltip("instances:Q", format=",.2f")],
    ).properties(width=charts.WIDTH - 120, height=charts.ROW * (len(rows) // 2) + 20)


def idle_note(result: Estimate, params: Params) -> Markdown:
    """The idle tax of the params in force, in words, from the fleet table."""
    table = fleet_table(result, params)
    if isinstance(table, str):
        return Markdown(table + " The managed options bill per token, so a quiet hour costs "
                        "nothing.")
    lines = []
    for name, r in table.iterrows():
        lines.append(f"- **{name}** bills {r['avg_instances']:,.2f} {r['instance']} on average "
                     f"(at most {r['peak_instances']:,.0f}) and keeps them "
                     f"{r['utilisation']:.0%} busy: {r['idle_share']:.0%} of its "
                     f"{_usd(r['instance_usd'])} of instance-hours a month, "
                     f"{_usd(r['idle_usd'])}, pays for idle GPUs."
                     + (f" It still leaves {r['unserved_fraction']:.0%} of the demand unserved."
                        if r["unserved_fraction"] > UNSERVED_WARNING else ""))
    return Markdown("\n".join(lines))


def spike_example() -> Lesson:
    """Scenario A's params and estimate (:data:`SPIKE_EXAMPLE`), whatever file is in force."""
    params = load_params(PARAMS_DIR / SPIKE_EXAMPLE)
    return Lesson(params, estimate(params))


def _spike_fleet(result: Estimate):
    fixed = [o for o in result.options if o.kind == "self_hosted"
             and math.isclose(o.details["avg_instances"], o.details["peak_instances"])]
    if not fixed:
        raise CostlibError("spike example: no fixed self-hosted fleet in the file")
    return max(fixed, key=lambda o: o.details["peak_instances"])


def spike_day(example: Lesson, day: int = 0) -> pd.DataFrame:
    """One day, minute by minute: the instances the demand needs and the instances billed.

    Rows: ``hour`` of the day, ``series`` (``"needed by the demand"`` = the minute's request rate
    over what one instance serves; ``"billed (sized for the spikes)"`` = the fixed fleet) and
    ``instances``.
    """
    params, result = example
    fleet = _spike_fleet(result)
    per = _rps_per_instance(fleet, result)
    prof = result.profile
    steps = int(round(86400 / prof.step_s))
    rps = np.asarray(prof.rps)[day * steps:(day + 1) * steps]
    hours = np.arange(steps) * prof.step_s / 3600.0
    need = pd.DataFrame({"hour": hours, "series": "needed by the demand", "instances": rps / per})
    billed = pd.DataFrame({"hour": hours, "series": "billed (sized for the spikes)",
                           "instances": float(fleet.details["peak_instances"])})
    return pd.concat([need, billed], ignore_index=True)


def spike_chart(day: pd.DataFrame) -> alt.Chart:
    """Why does sizing for spikes idle GPUs? Instances needed each minute against those billed."""
    return alt.Chart(day).mark_line(interpolate="step-after").encode(
        x=alt.X("hour:Q", title="hour of the day (utc)", scale=alt.Scale(domain=[0, 24])),
        y=alt.Y("instances:Q", title="instances"),
        color=charts.case_color("series", labels=("billed (sized for the spikes)",
                                                  "needed by the demand"), title=None),
        tooltip=["series", alt.Tooltip("hour:Q", format=".2f"),
                 alt.Tooltip("instances:Q", format=",.1f")],
    ).properties(width=charts.WIDTH, height=charts.HEIGHT - 60)


def spike_note(example: Lesson) -> Markdown:
    """Why sizing for spikes idles GPUs, in words, from scenario A's estimate."""
    params, result = example
    fleet = _spike_fleet(result)
    t = params.workload.traffic
    per = _rps_per_instance(fleet, result)
    spike_share = t.spikes_per_day * t.spike_minutes / 1440.0
    prof = result.profile
    quiet = float(np.median(prof.rps))
    return Markdown(
        f"In scenario A one {params.options[fleet.name].instance} serves {per:.2f} requests/s "
        f"within the latency bounds. The spikes reach {prof.peak_rps:,.0f} requests/s, so "
        f"{fleet.name} keeps {fleet.details['peak_instances']:,.0f} instances all month. The "
        f"spikes last {t.spikes_per_day} x {t.spike_minutes:g} minutes a day, "
        f"{spike_share:.1%} of the time; in a typical minute the demand is {quiet:.2f} "
        f"requests/s, which {math.ceil(quiet / per):,d} instances would carry. Averaged over the "
        f"month the fleet is {fleet.details['utilisation']:.0%} busy, so "
        f"{1 - fleet.details['utilisation']:.0%} of its instance-hours are idle: the article's "
        f"\"GPUs idle 95 percent of the day\", at {_usd(fleet.monthly_usd)} a month against "
        f"{_usd(min(o.monthly_usd for o in result.options if o.kind == 'managed_api'))} for the "
        "managed API.")


# --------------------------------------------------------------------------------------------
# exercises


def exercise_double_traffic(params: Params) -> Markdown:
    """Answer: at twice today's traffic (whole profile scaled), the cheapest option and margin."""
    doubled = estimate(with_overrides(params, traffic_scale_overrides(params, 2 * params.workload.avg_rps)))
    table = verdict_table(doubled, params)
    first = table.index[0]
    margin = (f"{_usd(table.iloc[1]['more_than_cheapest_usd'])} a month ahead of {table.index[1]}"
              if len(table) > 1 else "the only option")
    return Markdown(f"At {2 * params.workload.avg_rps:,.4g} requests/s the cheapest option is "
                    f"**{first}** at {_usd(table.iloc[0]['monthly_usd'])} a month, {margin}.")


def exercise_half_spikes(peak_rps: float = 30.0) -> Markdown:
    """Answer: scenario A with spikes of ``peak_rps``: the spike-sized fleet and its utilisation."""
    params, result = spike_example()
    fleet = _spike_fleet(result)
    lower = estimate(with_overrides(params, {"workload.traffic.peak_rps": peak_rps}))
    o = next(x for x in lower.options if x.name == fleet.name)
    return Markdown(f"With spikes to {peak_rps:g} requests/s, {fleet.name} needs "
                    f"{o.details['peak_instances']:,.0f} instances (from "
                    f"{fleet.details['peak_instances']:,.0f}), is {o.details['utilisation']:.0%} "
                    f"busy (from {fleet.details['utilisation']:.0%}) and costs "
                    f"{_usd(o.monthly_usd)} a month (from {_usd(fleet.monthly_usd)}). The fleet "
                    "shrinks with the spike, but the quiet hours still idle almost all of it.")


CACHE_EXAMPLE = "scenario_c_cached_rag.yaml"
"""The params file of the cache exercise (scenario C: a response cache in front of a small model)."""


def cache_breakeven(params: Params | None = None) -> tuple[str, str, float | None]:
    """The cache hit rate below which a response-cache router costs more than its uncached model.

    The hit rate of the first cached router is swept from 0 to 0.99 with ``price_many`` and the
    sign change of ``router - uncached`` is bisected on the scalar estimate. Returns the router,
    the model behind it and the break-even hit rate [0-1] (``None`` when none in the range).
    """
    params = load_params(PARAMS_DIR / CACHE_EXAMPLE) if params is None else params
    router = next(n for n, o in params.options.items()
                  if o.kind == "router" and o.cache is not None)
    behind = params.options[router].routes[0].to
    key = f"options.{router}.cache.hit_fraction"
    grid = np.linspace(0.0, 0.99, 100)
    bill = price_many(params, {key: grid})
    diff = bill.total(router) - bill.total(behind)
    change = np.flatnonzero(np.sign(diff[:-1]) != np.sign(diff[1:]))
    if change.size == 0:
        return router, behind, None

    def fn(h):
        r = estimate(with_overrides(params, {key: float(h)}))
        tot = {o.name: o.monthly_usd for o in r.options}
        return tot[router] - tot[behind]

    lo, hi = float(grid[change[0]]), float(grid[change[0] + 1])
    f_lo = fn(lo)
    while hi - lo > 1e-4:
        mid = 0.5 * (lo + hi)
        if np.sign(fn(mid)) == np.sign(f_lo):
            lo = mid
        else:
            hi = mid
    return router, behind, hi


def exercise_cache_breakeven() -> Markdown:
    """Answer: the hit rate at which scenario C's cache stops paying (:func:`cache_breakeven`)."""
    router, behind, rate = cache_breakeven()
    stated = load_params(PARAMS_DIR / CACHE_EXAMPLE).options[router].cache.hit_fraction
    if rate is None:
        return Markdown(f"{router} is cheaper than {behind} at every hit rate from 0 to 99 %.")
    return Markdown(f"{router} costs less than {behind} alone once more than **{rate:.1%}** of "
                    "the questions hit the cache; below that, the DynamoDB lookups and fills cost "
                    "more than the tokens the cache saves. At the scenario's "
                    f"{stated:.0%} it is far above the break-even.")


def verdict_explorer(params: Params) -> widgets.Explorer:
    """The "try it" controls: the traffic (whole profile scaled) and each fleet's batch."""
    return widgets.worksheet_explorer(params)


__all__ = ["Lesson", "start", "TRAFFIC_FACTORS", "RPS_TOLERANCE", "SIDES", "Crossing",
           "load_claims", "claim_for", "params_stem", "option_sides", "verdict_table",
           "verdict_note", "claim_note", "traffic_curve", "difference_at", "sweep_sign_changes",
           "bisect_rate", "find_crossing", "crossings_table", "flip_note", "crossing_chart",
           "tie_options", "tie_key", "tie_breakeven", "tie_sentence", "tie_note", "tie_chart",
           "fleet_table", "idle_chart", "idle_note", "spike_example", "spike_day", "spike_chart",
           "spike_note", "exercise_double_traffic", "exercise_half_spikes", "cache_breakeven",
           "exercise_cache_breakeven", "verdict_explorer"]


# --------------------------------------------------------------------------------------------
# how sure the verdict is (Monte Carlo) and which inputs move it (tornado)


def uncertainty(params: Params):
    """The Monte Carlo over the file's uncertain inputs, or None when it states none.

    :func:`costlib.whatif.uncertainty.monte_carlo` with the file's ``uncertainty:`` settings
    (default 10,000 draws, seed 13): the same draws every run.
    """
    from costlib.bill.params import uncertain_inputs
    from costlib.whatif.uncertainty import monte_carlo

    return monte_carlo(params) if uncertain_inputs(params) else None


def uncertainty_sentence(mc, params: Params | None = None) -> str:
    """How sure the total is, in one or two sentences (plain text)."""
    if mc is None:
        return ("Every input of this params file is a single number, so the report shows no band: "
                "give any numeric input a distribution (README, \"Uncertain inputs\") to see how "
                "sure the totals are.")
    frame = mc.to_frame()
    best = max(mc.options, key=lambda o: mc.p_cheapest[o])
    low = frame.set_index("option").loc[best]
    inputs = ", ".join(mc.distributions)
    sure = ("in every draw" if mc.p_cheapest[best] == 1.0
            else f"in {100 * mc.p_cheapest[best]:.1f} % of the draws")
    return (f"Drawing {inputs} from their distributions ({mc.draws:,} draws, seed {mc.seed}), "
            f"{best} is the cheapest {sure}; its monthly bill has a P10 of "
            f"{low['p10_usd']:,.0f}, a P50 of {low['p50_usd']:,.0f} and a P90 of "
            f"{low['p90_usd']:,.0f} USD (point estimate {low['point_usd']:,.0f}).")


def uncertainty_note(mc, params: Params | None = None) -> Markdown:
    """:func:`uncertainty_sentence` as the lesson's paragraph."""
    return Markdown(uncertainty_sentence(mc, params))


def uncertainty_table(mc) -> pd.DataFrame | str:
    """Per option: point estimate, P10, P50, P90 [USD/month] and P(cheapest) [%]."""
    if mc is None:
        return "(no uncertain input in this params file)"
    frame = mc.to_frame().drop(columns="mean_usd")
    frame["p_cheapest"] = (100.0 * frame["p_cheapest"]).round(1)
    for c in ("point_usd", "p10_usd", "p50_usd", "p90_usd"):
        frame[c] = frame[c].round(0).astype("int64")
    return frame.rename(columns={"point_usd": "point usd", "p10_usd": "P10 usd",
                                 "p50_usd": "P50 usd", "p90_usd": "P90 usd",
                                 "p_cheapest": "cheapest in % of draws"})


def uncertain_inputs_table(mc) -> pd.DataFrame | str:
    """The inputs drawn: their distribution, point value, P10 and P90, and how they were drawn."""
    if mc is None:
        return "(no uncertain input in this params file)"
    rows = [{"input": key, "distribution": d.describe(), "point": d.point,
             "P10": float(f"{float(d.ppf(0.1)):.4g}"), "P90": float(f"{float(d.ppf(0.9)):.4g}"),
             "drawn as": (f"{mc.levels} equally likely values" if key in mc.structural
                          else "continuous")}
            for key, d in mc.distributions.items()]
    return pd.DataFrame(rows)


def uncertainty_chart(mc) -> alt.LayerChart | None:
    """How sure is each option's total? Its P10-P90 band, P50 and point estimate."""
    return None if mc is None else charts.uncertainty_bands(mc.to_frame())


def sensitivity(params: Params):
    """The tornado of every option (:func:`costlib.whatif.sensitivity.tornado`): the default
    ranges of ``costlib/data/sensitivity_ranges.yaml`` and, for an input the file gives as a
    distribution, its P10 to P90."""
    from costlib.whatif.sensitivity import tornado

    return tornado(params)


def sensitivity_sentence(t, n: int = 3) -> str:
    """The ``n`` inputs that move the cheapest option's total most, in one sentence."""
    return t.note(t.cheapest, n)


def sensitivity_note(t, n: int = 3) -> Markdown:
    """:func:`sensitivity_sentence` as the lesson's paragraph."""
    return Markdown(sensitivity_sentence(t, n))


def sensitivity_chart(t, option: str | None = None, n: int = 8) -> alt.LayerChart:
    """Which inputs move this option's total most? Its tornado, the ``n`` largest swings."""
    option = t.cheapest if option is None else option
    return charts.tornado_chart(t.top(option, n), option)


def sensitivity_table(t, n: int = 3) -> pd.DataFrame:
    """Every option's ``n`` largest swings: input, low, high, both totals, swing [USD, %]."""
    rows = [t.top(name, n) for name in t.options]
    frame = pd.concat(rows, ignore_index=True)
    for c in ("low", "high"):
        frame[c] = [float(f"{x:.4g}") if isinstance(x, (int, float)) else x for x in frame[c]]
    for c in ("low_usd", "high_usd", "swing_usd"):
        frame[c] = frame[c].round(0).astype("int64")
    frame["swing_pct"] = frame["swing_pct"].round(1)
    return frame[["option", "input", "low", "high", "low_usd", "high_usd", "swing_usd",
                  "swing_pct"]].rename(columns={"low_usd": "total at low usd",
                                                 "high_usd": "total at high usd",
                                                 "swing_usd": "swing usd", "swing_pct": "swing %"})
