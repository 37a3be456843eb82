"""Lesson 02, the inference bill over real traffic (``notebooks/02_inference_bill.ipynb``).

The functions the notebook's cells call: the week of traffic, each option's monthly bill, how
each self-hosted fleet is sized (instances, concurrency per instance, the limit that binds), how
busy the fleets are, each option's floor (what it costs in a month without requests) and usage
part, the cost of one unit of work (a ``work_unit:`` block), where self-hosting breaks even
(:func:`costlib.whatif.sweeps.batch_sweep`), and the prices used.
"""

from __future__ import annotations

import math
from itertools import combinations

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import Markdown

from costlib.bill.estimate import Estimate, floor_items
from costlib.bill.params import Params, SelfHostedOption
from costlib.core.units import HOURS_PER_MONTH
from costlib.lessons import Lesson, charts, start, widgets
from costlib.whatif.sweeps import batch_sweep, breakeven_batch

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
"""Batch sizes the break-even test forces on each self-hosted option [sequences]."""

SIZING_COLUMNS = {"instances_p95": "instances_p95", "avg_instances": "avg_instances",
                  "peak_instances": "peak_instances", "batch_size": "concurrency_per_instance",
                  "binding": "binding"}
"""What the sizing table shows of each self-hosted option's details, and the column it becomes."""

FLEET_COLUMNS = ("utilisation", "unserved_fraction", "cold_starts_per_month", "batch_source",
                 "tokens_per_second_per_instance", "throughput_source", "p95_ttft_ms")
"""What the fleet table shows of each self-hosted option's details (the sizing is in
:func:`sizing_table`)."""

FLOOR_COLORS = {"floor": "#bab0ac", "usage": "#4c78a8"}
"""Colours of the two parts of a bill in :func:`floor_chart`: paid without requests, and not."""

NO_WORK_UNIT = (
    "This params file has no work unit, so the bill stops at the cost per request. To price a "
    "conversation, a support ticket or an agent task, add a `work_unit:` block "
    "(costlib/bill/work_unit.py): its name, its turns and the model calls of each turn, e.g. "
    "`work_unit: {name: support conversation, turns: 4, calls: [{name: answer, count: 1}]}`; "
    "the calls' mean tokens must equal the workload's, and each option then reports its cost "
    "per unit.")
"""What :func:`unit_note` says for a params file without a ``work_unit:`` block."""

NO_BREAKEVEN = ("Break-even needs at least one self-hosted and one managed option in the params "
                "file.")


def traffic_summary(result: Estimate) -> pd.DataFrame:
    """The three numbers that summarise the traffic: average, p95 over time, peak minute."""
    p = result.profile
    return pd.DataFrame({
        "statistic": ["average", "95th percentile over time", "peak minute"],
        "requests per second": [round(p.avg_rps, 4), round(p.p95_rps, 4), round(p.peak_rps, 4)],
    }).set_index("statistic")


def traffic_chart(result: Estimate) -> alt.Chart:
    """What does a week of this workload's traffic look like? Hourly mean and peak minute."""
    return charts.traffic_profile(result.profile)


def totals_table(result: Estimate) -> pd.DataFrame:
    """Each option's cost per month, per request and per 1,000 tokens (the floor and the cost per
    unit of work have their own tables below: :func:`floor_table`, :func:`unit_table`)."""
    frame = result.totals_frame().drop(columns=["floor_usd", "usage_usd", "usd_per_unit",
                                                "usd_per_unit_all_in"], errors="ignore")
    return frame.set_index("option").round(
        {"monthly_usd": 2, "usd_per_request": 6, "usd_per_1k_tokens": 6})


def _hosted(result: Estimate) -> list:
    return [o for o in result.options if o.kind == "self_hosted"]


def _instance(params: Params, name: str) -> str:
    opt = params.options.get(name)
    return getattr(opt, "instance", "") or ""


def sizing_table(result: Estimate, params: Params) -> pd.DataFrame | str:
    """How is each self-hosted fleet sized? Instances, concurrency per instance, the binding limit.

    One row per self-hosted option: instance, instances_p95 (what the worksheet provisions for
    the p95 rate, rounded up), avg_instances and peak_instances (billed by the fleet policy over
    the month), concurrency_per_instance (sequences held per instance, the worksheet's batch),
    binding (what stops the batch growing, a sentence) and monthly_usd. A sentence when the
    params file has no self-hosted option.
    """
    hosted = _hosted(result)
    if not hosted:
        return "This params file has no self-hosted option."
    rows = [{"option": o.name, "instance": _instance(params, o.name),
             **{col: o.details.get(key) for key, col in SIZING_COLUMNS.items()},
             "monthly_usd": o.monthly_usd} for o in hosted]
    return pd.DataFrame(rows).set_index("option").round(
        {"avg_instances": 2, "peak_instances": 2, "concurrency_per_instance": 1, "monthly_usd": 2})


def _count(v) -> str:
    """An instance count as written: whole counts without decimals."""
    v = float(v)
    return f"{v:,.0f}" if math.isclose(v, round(v), abs_tol=1e-9) else f"{v:,.2f}"


def _billed_alike(a, b) -> bool:
    return all(math.isclose(float(a.details[k]), float(b.details[k]), rel_tol=1e-9, abs_tol=1e-9)
               for k in ("avg_instances", "peak_instances"))


def sizing_note(result: Estimate, params: Params) -> str:
    """Whether any two self-hosted options cost the same, and why, from the sizing numbers.

    A fleet is billed per whole instance-hour: two options that round up to the same number of
    the same instances cost the same, however different their throughput per instance. Pairs on
    the same instance type that need the same count at the p95 rate are compared; a pair whose
    fleet policies bill different counts over the month is said to differ for that reason.
    """
    hosted = _hosted(result)
    rule = ("Two options cost the same when they round up to the same number of the same "
            "instances: a fleet is billed per whole instance, so throughput beyond what the last "
            "instance needs is neither paid for nor saved.")
    if len(hosted) < 2:
        return rule + " This params file has fewer than two self-hosted options to compare."
    said = []
    for a, b in combinations(hosted, 2):
        inst = _instance(params, a.name)
        if inst != _instance(params, b.name) or not math.isclose(
                float(a.details["instances_p95"]), float(b.details["instances_p95"])):
            continue
        n = _count(a.details["instances_p95"])
        if _billed_alike(a, b):
            fleet = (f"both round up to {n} {inst} at the p95 rate and bill {_count(a.details['avg_instances'])} "
                     f"on average, although one holds {a.details['batch_size']:,.1f} sequences per instance "
                     f"and the other {b.details['batch_size']:,.1f}")
            diff = abs(a.monthly_usd - b.monthly_usd)
            if diff < 0.005:
                said.append(f"{a.name} and {b.name} tie at {a.monthly_usd:,.2f} USD a month: {fleet}.")
            else:
                said.append(f"{a.name} and {b.name} run the same fleet ({fleet}); their totals differ by "
                            f"{diff:,.2f} USD a month of other line items.")
        else:
            said.append(f"{a.name} and {b.name} both round up to {n} {inst} at the p95 rate, but their fleet "
                        f"policies bill {_count(a.details['avg_instances'])} and "
                        f"{_count(b.details['avg_instances'])} on average, so they do not tie "
                        f"({a.monthly_usd:,.0f} and {b.monthly_usd:,.0f} USD a month).")
    if not said:
        fleets = "; ".join(f"{o.name}: {_count(o.details['instances_p95'])} {_instance(params, o.name)}"
                           for o in hosted)
        said.append(f"No two self-hosted options here round up to the same number of the same instances at "
                    f"the p95 rate ({fleets}), so none tie.")
    return " ".join([rule, *said])


def cost_by_option_chart(result: Estimate) -> alt.Chart:
    """Which option is cheapest, and what is each bill made of? Bars split by category."""
    return charts.monthly_cost_by_option(result.to_frame())


def line_items_table(result: Estimate) -> pd.DataFrame:
    """Every line item, with the quantity, the unit price and the monthly cost."""
    items = result.to_frame()[["option", "category", "item", "quantity", "unit", "unit_usd",
                               "monthly_usd"]]
    return items.round({"quantity": 2, "monthly_usd": 2})


def fleets_table(result: Estimate) -> pd.DataFrame | str:
    """How busy are the self-hosted fleets? One row per self-hosted option (or a sentence)."""
    fleets = pd.DataFrame([{"option": o.name, **{k: o.details.get(k) for k in FLEET_COLUMNS}}
                           for o in _hosted(result)])
    if fleets.empty:
        return "This params file has no self-hosted option."
    return fleets.set_index("option").round(3)


def breakeven_sweeps(params: Params, batches=BATCHES) -> pd.DataFrame:
    """Every self-hosted option re-priced at each batch (:func:`batch_sweep`), with ``option``."""
    hosted = [n for n, o in params.options.items() if isinstance(o, SelfHostedOption)]
    if not hosted:
        return pd.DataFrame()
    return pd.concat([batch_sweep(params, n, list(batches)).assign(option=n) for n in hosted],
                     ignore_index=True)


def _managed(result: Estimate) -> list:
    return [o for o in result.options if o.kind == "managed_api"]


def breakeven_table(result: Estimate, sweeps: pd.DataFrame) -> pd.DataFrame | str:
    """At what batch does each self-hosted fleet cost less than each managed option?

    ``none that fits`` when no batch the hardware can hold breaks even.
    """
    managed = _managed(result)
    if sweeps.empty or not managed:
        return NO_BREAKEVEN
    feasible = sweeps[sweeps["feasible"]]

    def describe(batch):
        return "none that fits" if batch is None else str(batch)

    hosted = list(dict.fromkeys(sweeps["option"]))
    return pd.DataFrame(
        [{"self-hosted option": n, "managed option": m.name,
          "break-even batch": describe(breakeven_batch(feasible[feasible.option == n],
                                                       m.monthly_usd))}
         for n in hosted for m in managed])


def breakeven_chart(result: Estimate, sweeps: pd.DataFrame) -> alt.LayerChart | None:
    """Self-hosted monthly cost against batch, managed bills as dashed lines (None if n/a)."""
    managed = _managed(result)
    if sweeps.empty or not managed:
        return None
    feasible = sweeps[sweeps["feasible"]]
    refs = pd.DataFrame([{"option": m.name, "monthly_usd": m.monthly_usd} for m in managed])
    return charts.breakeven(feasible[["option", "batch_size", "monthly_usd"]], refs)


# --------------------------------------------------------------------------------------------
# the floor and the cost per unit of work


def floor_share(floor_usd, monthly_usd):
    """The share of a bill paid in a month without requests: ``floor_usd / monthly_usd`` [fraction].

    Parameters
    ----------
    floor_usd : float or array-like
        The option's floor: what it costs in a month with no requests, provisioned capacity
        kept (:attr:`costlib.bill.estimate.OptionResult.floor_usd`) [USD/month].
    monthly_usd : float or array-like
        The option's whole bill [USD/month].

    Returns
    -------
    float or numpy.ndarray
        [fraction]; 0 for a zero bill.

    Examples
    --------
    A fleet of 120,000 USD a month kept whole without traffic, of a 121,000 USD bill:

    >>> round(float(floor_share(120_000.0, 121_000.0)), 4)
    0.9917
    """
    floor = np.asarray(floor_usd, dtype=float)
    total = np.asarray(monthly_usd, dtype=float)
    return np.divide(floor, total, out=np.zeros(np.broadcast(floor, total).shape),
                     where=total != 0)


def floor_frame(result: Estimate) -> pd.DataFrame:
    """Each option's bill split into its floor and its usage part, unrounded.

    Columns: option, kind, monthly_usd, floor_usd, usage_usd (``monthly_usd - floor_usd``) and
    floor_share (:func:`floor_share`) [USD/month, fraction].
    """
    return pd.DataFrame([{"option": o.name, "kind": o.kind, "monthly_usd": o.monthly_usd,
                          "floor_usd": o.floor_usd, "usage_usd": o.usage_usd,
                          "floor_share": float(floor_share(o.floor_usd, o.monthly_usd))}
                         for o in result.options])


def floor_table(result: Estimate) -> pd.DataFrame:
    """What does each option cost when no one calls it? Monthly, floor and usage USD, floor %."""
    f = floor_frame(result)
    return (f.assign(floor_pct=100.0 * f["floor_share"])
            [["option", "monthly_usd", "floor_usd", "usage_usd", "floor_pct"]]
            .set_index("option")
            .round({"monthly_usd": 2, "floor_usd": 2, "usage_usd": 2, "floor_pct": 3}))


def _pct(share: float) -> str:
    """A share as a percentage with three significant figures (``99.9 %``, ``0.00626 %``)."""
    return f"{100.0 * share:.3g} %"


def _largest_floor_item(result: Estimate, option: str) -> str:
    items = floor_items(result, option)
    if not items:
        return ""
    top = max(items, key=lambda li: li.monthly_usd)
    return f"{top.item}, {top.monthly_usd:,.0f} USD"


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


PER_USE_KINDS = ("managed_api", "router")
"""Option kinds whose model is paid per token: their floor is only the plumbing around it."""


def floor_note(result: Estimate) -> str:
    """Which option's bill is mostly floor, and which least, in one or two sentences.

    The option (or options, when tied) with the largest floor share is named with its floor,
    its bill and its largest floor item; then the option with the smallest share, whose bill is
    mostly usage. When every option has the same floor, that is said instead: the share is then
    largest where the bill is smallest.
    """
    f = floor_frame(result)
    hi, lo = f["floor_share"].max(), f["floor_share"].min()
    top = f[np.isclose(f["floor_share"], hi, rtol=1e-9, atol=0.0)]
    first = top.iloc[0]
    per_use = " (the hourly plumbing: the model itself is paid per token)"
    if len(f) > 1 and np.allclose(f["floor_usd"], first["floor_usd"], rtol=1e-9, atol=0.0):
        item = _largest_floor_item(result, first["option"])
        kinds = set(f["kind"]) <= set(PER_USE_KINDS)
        return (f"Every option here pays the same floor, {first['floor_usd']:,.0f} USD a month "
                f"without requests{per_use if kinds else ''}"
                f"{'; the largest part is ' + item if item else ''}. It is the largest share of "
                f"the smallest bill: {_pct(hi)} of {_names(list(top['option']))}'s "
                f"{first['monthly_usd']:,.0f} USD a month; the rest of every bill grows with "
                "the traffic.")
    each = "each bill" if len(top) > 1 else "its bill"
    item = _largest_floor_item(result, first["option"])
    said = [f"{_names(list(top['option']))}: {_pct(hi)} of {each} is floor "
            f"({first['floor_usd']:,.0f} of {first['monthly_usd']:,.0f} USD a month), paid "
            f"with no requests at all{'; the largest part is ' + item if item else ''}"]
    if np.isclose(hi, lo, rtol=1e-9, atol=0.0):
        return said[0] + ". Every option here has the same floor share."
    low = f[np.isclose(f["floor_share"], lo, rtol=1e-9, atol=0.0)].iloc[0]
    if low["floor_usd"] <= 0:
        said.append(f"{low['option']} costs nothing in a month without requests: all of its "
                    f"{low['monthly_usd']:,.0f} USD a month grows with the traffic")
    else:
        item = _largest_floor_item(result, low["option"])
        said.append(f"{low['option']} has the smallest share: {low['floor_usd']:,.0f} USD a month "
                    f"without requests, {_pct(lo)} of its {low['monthly_usd']:,.0f} USD"
                    f"{per_use if low['kind'] in PER_USE_KINDS else ''}"
                    f"{', the largest part ' + item if item else ''}; the rest grows with the "
                    "traffic")
    return ". ".join(said) + "."


def floor_chart(result: Estimate) -> alt.Chart:
    """What does each option cost when no one calls it? Bars of floor and usage per option."""
    f = floor_frame(result)
    data = pd.concat([
        pd.DataFrame({"option": f["option"], "part": part, "usd": f[col], "order": i})
        for i, (part, col) in enumerate((("floor", "floor_usd"), ("usage", "usage_usd")))],
        ignore_index=True)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("usd:Q", title="monthly cost (usd)", stack="zero"),
            y=alt.Y("option:N", title=None, sort="x"),
            color=alt.Color("part:N", title="part of the bill",
                            scale=alt.Scale(domain=list(FLOOR_COLORS),
                                            range=list(FLOOR_COLORS.values())),
                            sort=list(FLOOR_COLORS)),
            order=alt.Order("order:Q"),
            tooltip=["option", "part", alt.Tooltip("usd:Q", title="usd/month", format=",.2f")],
        )
        .properties(width=charts.WIDTH,
                    height=int(max(60, charts.ROW * max(1, len(f)) + 20)))
    )


def unit_table(result: Estimate) -> pd.DataFrame | None:
    """What does one unit of work cost? Per request, per unit (usage) and per unit all-in [USD].

    ``usd_per_unit`` is the usage part of the bill over the units of the month (what one more
    unit costs), ``usd_per_unit_all_in`` the whole bill over them (the floor shared out). None
    when the params file has no ``work_unit:`` block (:func:`unit_note` says how to add one).
    """
    if result.work_unit is None:
        return None
    return pd.DataFrame([{"option": o.name, "usd_per_request": o.usd_per_request,
                          "usd_per_unit": o.usd_per_unit,
                          "usd_per_unit_all_in": o.usd_per_unit_all_in}
                         for o in result.options]).set_index("option")


def unit_note(result: Estimate) -> str:
    """What one unit of work is, and what it costs from the cheapest option to the dearest.

    Without a ``work_unit:`` block, how to add one (:data:`NO_WORK_UNIT`).
    """
    u = result.work_unit
    if u is None:
        return NO_WORK_UNIT
    calls = sum(int(c["count"]) for c in u["calls"])
    name = u["name"]
    order = sorted(result.options, key=lambda o: o.usd_per_unit)
    cheap, dear = order[0], order[-1]
    text = (f"One {name} is {float(u['requests_per_unit']):g} model requests ({u['turns']} "
            f"turns of {calls} call{'s' if calls != 1 else ''}), and this month has "
            f"{float(u['units_per_month']):,.0f} of them. ")
    if len(order) == 1:
        text += (f"With {cheap.name} one more {name} costs {cheap.usd_per_unit:.4g} USD; with the "
                 f"floor shared over the month's units, {cheap.usd_per_unit_all_in:.4g} USD all in.")
    else:
        text += (f"One more {name} costs from {cheap.usd_per_unit:.4g} USD ({cheap.name}) to "
                 f"{dear.usd_per_unit:.4g} USD ({dear.name}); with each floor shared over the "
                 f"month's units, {cheap.usd_per_unit_all_in:.4g} and "
                 f"{dear.usd_per_unit_all_in:.4g} USD all in.")
    if float(u["tool_calls_per_unit"]) > 0:
        text += (f" Its {float(u['tool_calls_per_unit']):g} tool calls are counted, not priced: no "
                 "tool executor is modelled.")
    return text


def prices_note(result: Estimate) -> str:
    """When the prices are in force, the oldest used, warnings, and what was overridden."""
    p = result.prices
    lines = [f"prices in force on {p['in_force_on']}; oldest price used is as of "
             f"{p['oldest_as_of']}"]
    lines += [f"warning: {w}" for w in p["warnings"]]
    used = pd.DataFrame(p["used"])
    if not used.empty and used["overridden"].any():
        lines.append("prices overridden by this params file (override file or discount):")
        lines.append(used[used["overridden"]][["service", "name", "dimension", "list_usd", "usd",
                                               "override"]].to_string(index=False))
    return "\n".join(lines)


def used_prices_table(result: Estimate) -> pd.DataFrame:
    """The price rows this report used, with their source and as-of date."""
    used = pd.DataFrame(result.prices["used"])
    if used.empty:
        return used
    return used[["service", "name", "dimension", "usd", "unit", "as_of", "overridden", "source"]]


def worksheet_explorer(params: Params) -> widgets.Explorer:
    """The "try it" controls: traffic and each self-hosted option's batch."""
    return widgets.worksheet_explorer(params)


# --------------------------------------------------------------------------------------------
# exercises


def idle_share(utilisation):
    """The share of a fleet's instance-hours that serve nothing [fraction]: ``1 - utilisation``.

    Utilisation is the demand served over the capacity billed, over the week of traffic the
    estimate replays (``details["utilisation"]``).
    """
    return 1.0 - utilisation


def answer_idle_share(result: Estimate) -> Markdown:
    """Exercise: each self-hosted fleet's idle share over the week, in instance-hours and USD.

    Idle instance-hours a month = average instances billed x 730 h x idle share; their cost is
    the idle share x the instance-hours line items.
    """
    hosted = _hosted(result)
    if not hosted:
        return Markdown("This params file has no self-hosted option: a managed API bills tokens, "
                        "so no instance sits idle.")
    lines = []
    for o in hosted:
        idle = idle_share(float(o.details["utilisation"]))
        avg = float(o.details["avg_instances"])
        hours_usd = sum(li.monthly_usd for li in o.line_items if "instance-hours" in li.item)
        lines.append(
            f"- {o.name}: 1 − {o.details['utilisation']:.3f} = **{idle:.1%} idle**: of "
            f"{avg:,.2f} instances × {HOURS_PER_MONTH:g} h = {avg * HOURS_PER_MONTH:,.0f} "
            f"instance-hours a month, {idle * avg * HOURS_PER_MONTH:,.0f} serve nothing, "
            f"{idle * hours_usd:,.0f} USD of the {hours_usd:,.0f} USD of instance-hours.")
    return Markdown("\n".join(lines))


def breakeven_avg_rps(avg_rps, self_hosted_usd, managed_usd):
    """Average rate at which a managed bill grows to a fixed fleet's bill [requests/s].

    A managed bill is paid per request, so it scales with the average rate; a fixed fleet's
    bill does not move while the fleet is unchanged. Treating both whole totals so (the plumbing
    around the model is much the same for both), the two meet at

        rate = avg_rps x self_hosted_usd / managed_usd.

    Parameters
    ----------
    avg_rps : float
        The month's average rate [requests/s].
    self_hosted_usd, managed_usd : float
        The two monthly totals at that rate [USD/month].

    Returns
    -------
    float
        [requests/s]. Above it the fleet is cheaper, as long as it can still carry the traffic.

    Examples
    --------
    >>> float(breakeven_avg_rps(10.0, 120_000.0, 30_000.0))
    40.0
    """
    return avg_rps * np.asarray(self_hosted_usd, dtype=float) / np.asarray(managed_usd, dtype=float)


def _fleet_policy(params: Params, name: str) -> tuple[str, str]:
    fleet = getattr(params.options.get(name), "fleet", None)
    return (fleet.policy, fleet.size_for) if fleet is not None else ("fixed", "p95")


def fleet_capacity_avg_rps(result: Estimate, option, size_for: str = "p95") -> float:
    """The average rate a fixed fleet carries with the traffic's shape kept [requests/s].

    One instance carries ``tokens/s per sequence x batch / (in + out tokens)`` requests/s; the
    ``peak_instances`` billed carry that many times over at the rate the fleet is sized for
    (``size_for``: the p95 or the peak minute), which is ``p95 / avg`` (or ``peak / avg``)
    times the average: so an average of ``instances x per instance x avg / sizing rate``.
    """
    w = result.workload
    per = (float(option.details["tokens_per_second_per_instance"]) * float(option.details["batch_size"])
           / (w["in_tokens"] + w["out_tokens"]))
    sizing = w["peak_rps"] if size_for == "peak" else w["p95_rps"]
    return float(option.details["peak_instances"]) * per * w["avg_rps"] / sizing


def answer_breakeven_rps(result: Estimate, params: Params) -> Markdown:
    """Exercise: the average rate at which each fixed self-hosted fleet breaks even with each
    managed option (:func:`breakeven_avg_rps`), against the rate that fleet can carry
    (:func:`fleet_capacity_avg_rps`). A fleet whose policy follows the traffic has no fixed bill
    to break even against: it is named, and left to lesson 09."""
    hosted, managed = _hosted(result), _managed(result)
    if not hosted or not managed:
        return Markdown(NO_BREAKEVEN)
    avg = result.workload["avg_rps"]
    lines = [f"At this file's {avg:,.2f} requests/s on average:"]
    for o in hosted:
        policy, size_for = _fleet_policy(params, o.name)
        if policy != "fixed":
            lines.append(f"- {o.name}: its fleet is {policy}, so its bill grows with the traffic as "
                         "a managed bill does; this rule does not apply (lesson 09 finds the crossing "
                         "on the full estimate).")
            continue
        cap = fleet_capacity_avg_rps(result, o, size_for)
        for m in managed:
            r = float(breakeven_avg_rps(avg, o.monthly_usd, m.monthly_usd))
            if r <= avg:
                verdict = "the fleet is already cheaper"
            elif r <= cap:
                verdict = f"the same fleet carries up to {cap:,.2f}, so it breaks even there"
            else:
                verdict = (f"but the same {_count(o.details['peak_instances'])} instances carry only "
                           f"{cap:,.2f} on average: the fleet must grow first, so the true "
                           "break-even, if there is one, is higher (lesson 09 finds it)")
            lines.append(f"- {o.name} against {m.name}: {avg:,.2f} × {o.monthly_usd:,.0f} / "
                         f"{m.monthly_usd:,.0f} = **{r:,.2f} requests/s**; {verdict}.")
    return Markdown("\n".join(lines))

__all__ = ["Lesson", "start", "BATCHES", "SIZING_COLUMNS", "FLEET_COLUMNS", "traffic_summary",
           "traffic_chart", "totals_table", "sizing_table", "sizing_note", "cost_by_option_chart",
           "line_items_table", "fleets_table", "FLOOR_COLORS", "NO_WORK_UNIT", "PER_USE_KINDS", "floor_share",
           "floor_frame", "floor_table", "floor_note", "floor_chart", "unit_table", "unit_note",
           "breakeven_sweeps", "breakeven_table", "breakeven_chart", "prices_note",
           "used_prices_table", "worksheet_explorer", "idle_share", "answer_idle_share",
           "breakeven_avg_rps", "fleet_capacity_avg_rps", "answer_breakeven_rps"]
