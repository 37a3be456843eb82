"""Self-hosted fleet: how many instances a traffic profile needs, and how many get billed.

Two steps:

1. :func:`required_instances` turns a demand in tokens/s into *demand instances*: the
   fractional number of instances that would carry it at full use (the article's worksheet
   formula 3). Applied to every step of a :class:`costlib.formulas.traffic.TrafficProfile` it gives a
   demand series.
2. :func:`simulate_fleet` runs a fleet policy over that series and returns, per step, the
   instances that are billed and those that serve, plus the share of demand left unserved.

Conventions
-----------
* The demand series is one window that repeats to fill the month, so the simulation is
  *periodic*: the state at the start of the window is the state at its end (no start-up
  transient is billed or hidden).
* Time knobs (delays, cold start, cooldown) are rounded to whole steps.
* A *cold start* is an instance that is billed but not yet serving: from the moment it is
  requested until it serves (boot, image pull, weight load, warm-up).
* Demand above serving capacity in a step is counted as *unserved* (queued, throttled or
  lost; the simulation does not carry it forward).
* Instance counts are whole numbers: ``ceil(x)`` is taken with a 1e-9 tolerance so that a
  demand of 2.0000000001 from rounding still needs 2 instances.
* Defaults of the timing knobs (3 min scale-out delay, 10 min cold start, 15 min scale-in
  cooldown, target utilisation 0.7) are placeholders to be set per deployment, not measured
  figures; the report should show the values used.

References
----------
.. [1] "LLM on AWS: what it really costs" (project reference article): worksheet formulas 1-3;
   "Pre-warm a small pool sized for p95. Scale out slowly to protect batching. Scale in even
   slower to avoid thrash."; scenario A (g5 fleet idles 95 % of the day, scheduled
   scale-to-zero with slow cold starts).
.. [2] AWS, "Spot Instance interruption notices",
   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html
   (undated): a two-minute warning before a Spot Instance is interrupted.
.. [3] AWS, "Spot Instance Advisor", https://aws.amazon.com/ec2/spot/instance-advisor/
   (live page, undated): "Frequency of interruption represents the rate at which Spot has
   reclaimed capacity during the trailing month", in bands <5 %, 5-10 %, 10-15 %, 15-20 %,
   >20 % per instance type and Region.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from costlib.core import units
from costlib.core.errors import CostlibError
from costlib.formulas.worksheet import instances_to_provision as ceil_instances

_CEIL_TOL = 1e-9
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """When a ``scheduled`` fleet is on; the params block is :class:`costlib.bill.fleet.FleetSchedule`.

    ``hours`` (start, end) UTC in [0, 24]; ``weekdays`` on which an on-period starts;
    ``prewarm``: instances are requested ``cold_start_min`` before the start.
    """

    hours: tuple[float, float]
    weekdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    prewarm: bool = True


@dataclass(frozen=True)
class Spot:
    """Spot capacity; the params block is :class:`costlib.bill.fleet.SpotSettings`.

    ``interruptions_per_instance_month`` [1/(instance*month)]; ``in_flight_requests_per_instance``
    [requests] recomputed at each interruption.
    """

    interruptions_per_instance_month: float
    in_flight_requests_per_instance: float


@dataclass(frozen=True)
class Policy:
    """How a fleet is sized; the params block, with every knob documented, is
    :class:`costlib.bill.fleet.FleetPolicy` (the same attributes, checked when a file loads).
    """

    policy: str = "fixed"
    target_utilisation: float = 0.7
    scale_out_delay_min: float = 3.0
    cold_start_min: float = 10.0
    scale_in_cooldown_min: float = 15.0
    min_instances: int = 1
    max_instances: int | None = None
    schedule: Schedule | None = None
    size_for: str = "p95"
    spot: Spot | None = None


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SpotOverhead:
    """What Spot interruptions add to a fleet over a month (floats or arrays alike).

    Attributes
    ----------
    interruptions_per_month : float
        Interruptions across the fleet [1/month].
    extra_instance_hours_per_month : float
        Replacement instances billed while they boot [instance-h/month].
    lost_serving_instance_hours_per_month : float
        Serving capacity missing while the replacement boots [instance-h/month].
    recomputed_requests_per_month : float
        In-flight requests that must be run again [requests/month].
    """

    interruptions_per_month: float
    extra_instance_hours_per_month: float
    lost_serving_instance_hours_per_month: float
    recomputed_requests_per_month: float


@dataclass(frozen=True, eq=False)
class FleetResult:
    """Outcome of :func:`simulate_fleet` over one window.

    Attributes
    ----------
    billed_instances : numpy.ndarray
        Instances billed in each step, booting ones included [instances].
    serving_instances : numpy.ndarray
        Instances serving in each step [instances]; always <= billed.
    demand_instances : numpy.ndarray
        The demand series simulated [instances at full use].
    step_s : float
        Step length [s].
    policy : str
        The policy simulated.
    unserved_fraction : float
        Share of demand above serving capacity, sum(max(demand - serving, 0)) / sum(demand)
        [-]; 0 when there is no demand.
    cold_starts_per_window : float
        Instance launches in the window (each one boots for ``cold_start_min``) [launches].
    spot : SpotOverhead, optional
        Interruption overhead when the policy runs on Spot.
    """

    billed_instances: np.ndarray
    serving_instances: np.ndarray
    demand_instances: np.ndarray
    step_s: float
    policy: str
    unserved_fraction: float
    cold_starts_per_window: float
    spot: SpotOverhead | None = None

    @property
    def duration_s(self) -> float:
        """Length of the window [s]."""
        return self.billed_instances.size * self.step_s

    @property
    def avg_billed_instances(self) -> float:
        """Time-average billed instances [instances]."""
        return float(self.billed_instances.mean())

    @property
    def peak_billed_instances(self) -> float:
        """Most instances billed in any step [instances]."""
        return float(self.billed_instances.max())

    @property
    def avg_serving_instances(self) -> float:
        """Time-average serving instances [instances]."""
        return float(self.serving_instances.mean())

    @property
    def instance_hours_per_month(self) -> float:
        """Billed instance-hours in a 730-hour month [instance-h] (= avg_billed * 730).

        Spot replacement warm-up (``spot.extra_instance_hours_per_month``) is *not* included.
        """
        return self.avg_billed_instances * units.HOURS_PER_MONTH

    @property
    def booting_instance_hours_per_month(self) -> float:
        """Instance-hours billed while booting (billed minus serving) [instance-h/month]."""
        booting = self.billed_instances - self.serving_instances
        return float(booting.mean()) * units.HOURS_PER_MONTH

    @property
    def served_demand_instances(self) -> np.ndarray:
        """Demand actually served in each step, min(demand, serving) [instances]."""
        return np.minimum(self.demand_instances, self.serving_instances)

    @property
    def utilisation(self) -> float:
        """Demand served / serving capacity over the window [-], in [0, 1]; nan if none serves."""
        cap = self.serving_instances.sum()
        return float(self.served_demand_instances.sum() / cap) if cap > 0 else float("nan")

    @property
    def billed_utilisation(self) -> float:
        """Demand served / billed capacity over the window [-]; nan if nothing is billed.

        ``1 - billed_utilisation`` is the idle share of what you pay for (the article's "GPUs
        idle 95 percent of the day").
        """
        cap = self.billed_instances.sum()
        return float(self.served_demand_instances.sum() / cap) if cap > 0 else float("nan")

    @property
    def cold_starts_per_month(self) -> float:
        """Instance launches in a 730-hour month [launches/month]."""
        return self.cold_starts_per_window * units.SECONDS_PER_MONTH / self.duration_s


# --------------------------------------------------------------------------------------------
# Formulas
# --------------------------------------------------------------------------------------------


def _out(x):
    return float(x) if np.ndim(x) == 0 else x


def demand_tokens_per_s(rps, tokens_per_request):
    """Token demand from a request rate (worksheet formula 2, at any rate, not only p95).

    Parameters
    ----------
    rps : float or numpy.ndarray
        Request rate [requests/s].
    tokens_per_request : float or numpy.ndarray
        Tokens per request [tokens].

    Returns
    -------
    float or numpy.ndarray
        Demand [tokens/s].

    Notes
    -----
    tokens_per_s = rps * tokens_per_request

    References
    ----------
    Reference article, formula 2 ("Tokens per second at p95 = p95_RPS * Tokens per request").

    Examples
    --------
    >>> demand_tokens_per_s(3.0, 1900)
    5700.0
    """
    return _out(np.asarray(rps, dtype=float) * np.asarray(tokens_per_request, dtype=float))


def spot_overhead(instance_hours_per_month, interruptions_per_instance_month, cold_start_min,
                  in_flight_requests_per_instance) -> SpotOverhead:
    """Monthly cost drivers of Spot interruptions (vectorised over every argument).

    Parameters
    ----------
    instance_hours_per_month : float or numpy.ndarray
        Billed instance-hours of the fleet [instance-h/month].
    interruptions_per_instance_month : float or numpy.ndarray
        Interruption rate [1/(instance*month)], e.g. the upper end of the Spot Instance
        Advisor band (``<5%`` -> 0.05).
    cold_start_min : float or numpy.ndarray
        Time for a replacement to serve [min].
    in_flight_requests_per_instance : float or numpy.ndarray
        Requests lost mid-flight per interruption [requests].

    Returns
    -------
    SpotOverhead

    Notes
    -----
    instance_months = instance_hours_per_month / 730
    interruptions = instance_months * interruptions_per_instance_month
    extra_instance_hours = interruptions * cold_start_min / 60 (replacement billed while booting)
    lost_serving_instance_hours = interruptions * cold_start_min / 60 (capacity gap)
    recomputed_requests = interruptions * in_flight_requests_per_instance

    Conservative: the two-minute interruption notice [2]_ is assumed not to shorten the gap
    (a replacement launched at the notice still needs the full cold start when that is longer
    than 2 minutes, minus at most 2 minutes).

    References
    ----------
    .. [2] AWS, Spot Instance interruption notices (see module references).
    .. [3] AWS, Spot Instance Advisor (interruption-frequency bands).

    Examples
    --------
    2 instances all month = 1,460 instance-h = 2 instance-months; at 0.05 per instance-month,
    0.1 interruptions; x 10 min = 1 min = 1/60 h extra; x 4 in flight = 0.4 requests.

    >>> s = spot_overhead(1460.0, 0.05, 10.0, 4)
    >>> round(s.interruptions_per_month, 9), round(s.extra_instance_hours_per_month * 60, 9)
    (0.1, 1.0)
    """
    months = np.asarray(instance_hours_per_month, dtype=float) / units.HOURS_PER_MONTH
    n = months * np.asarray(interruptions_per_instance_month, dtype=float)
    hours = n * np.asarray(cold_start_min, dtype=float) / units.MINUTES_PER_HOUR
    return SpotOverhead(
        interruptions_per_month=_out(n),
        extra_instance_hours_per_month=_out(hours),
        lost_serving_instance_hours_per_month=_out(hours.copy() if np.ndim(hours) else hours),
        recomputed_requests_per_month=_out(n * np.asarray(in_flight_requests_per_instance,
                                                          dtype=float)),
    )


# --------------------------------------------------------------------------------------------
# Periodic sliding windows (vectorised, O(n log w))
# --------------------------------------------------------------------------------------------


def _sliding(x: np.ndarray, w: int, op) -> np.ndarray:
    """y[k] = op over x[k : k + w] for k in 0..len(x) - w (op = np.maximum or np.minimum)."""
    cur, p = x, 1
    while 2 * p <= w:
        cur = op(cur[:-p], cur[p:])
        p *= 2
    n_out = x.size - w + 1
    return op(cur[:n_out], cur[w - p:w - p + n_out])


def _circ_back(x: np.ndarray, back: int, op) -> np.ndarray:
    """y[k] = op over x[k - back .. k], indices taken modulo len(x)."""
    if back <= 0:
        return x.copy()
    padded = x[np.arange(-back, x.size) % x.size]
    return _sliding(padded, back + 1, op)


def _circ_fwd(x: np.ndarray, fwd: int, op) -> np.ndarray:
    """y[k] = op over x[k .. k + fwd], indices taken modulo len(x)."""
    if fwd <= 0:
        return x.copy()
    padded = x[np.arange(0, x.size + fwd) % x.size]
    return _sliding(padded, fwd + 1, op)


def _launches(billed: np.ndarray) -> float:
    """Instances added over the periodic window: sum of positive step-to-step increases."""
    return float(np.maximum(billed - np.roll(billed, 1), 0.0).sum())


def _steps(minutes: float, step_s: float) -> int:
    return int(round(minutes * units.SECONDS_PER_MINUTE / step_s))


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------


def schedule_mask(n_steps: int, step_s: float, schedule: Schedule,
                  start_s_of_week: float = 0.0) -> np.ndarray:
    """True in the steps (by their start time) where a schedule is on.

    Parameters
    ----------
    n_steps : int
        Steps in the window.
    step_s : float
        Step length [s].
    schedule : Schedule or costlib.bill.fleet.FleetSchedule
        Hours (UTC) and weekdays.
    start_s_of_week : float
        Window start [s after Monday 00:00 UTC].

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> m = schedule_mask(48, 1800.0, Schedule(hours=(9, 17)))
    >>> int(m.sum()), int(m.argmax())   # 8 h of half-hour steps from 09:00
    (16, 18)
    """
    t = start_s_of_week + np.arange(n_steps) * step_s
    hour = (t % units.SECONDS_PER_DAY) / units.SECONDS_PER_HOUR
    day = (t // units.SECONDS_PER_DAY).astype(int) % 7
    on_days = np.isin(np.arange(7), [WEEKDAYS.index(d) for d in schedule.weekdays])
    h0, h1 = schedule.hours
    if h0 < h1:
        return on_days[day] & (hour >= h0) & (hour < h1)
    # crosses midnight: the evening part belongs to today, the early part to yesterday
    return (on_days[day] & (hour >= h0)) | (on_days[(day - 1) % 7] & (hour < h1))


def _stat(x: np.ndarray, size_for: str) -> float:
    return float(np.percentile(x, 95.0)) if size_for == "p95" else float(x.max())


def _check_policy(policy: Policy, where: str) -> None:
    """What a policy needs to be simulated at all (the params block checks the rest on load)."""
    if policy.policy == "scheduled" and policy.schedule is None:
        raise CostlibError(f"{where}.schedule: policy 'scheduled' needs schedule: {{hours: "
                           f"[start, end] UTC, weekdays: [mon, ...]}}")
    if policy.max_instances is not None and policy.max_instances < policy.min_instances:
        raise CostlibError(f"{where}.max_instances: {policy.max_instances} is below "
                           f"min_instances {policy.min_instances}; raise it or lower min_instances")


def simulate_fleet(demand_instances: np.ndarray, step_s: float, policy: Policy, *,
                   start_s_of_week: float = 0.0, where: str = "fleet") -> FleetResult:
    """Billed and serving instances, step by step, of a fleet policy over a periodic window.

    Parameters
    ----------
    demand_instances : numpy.ndarray
        Demand in each step [instances at full use], >= 0, e.g.
        ``required_instances(demand_tokens_per_s(profile.rps, tpr), tps, batch)``.
    step_s : float
        Step length [s].
    policy : Policy or costlib.bill.fleet.FleetPolicy
        The fleet policy.
    start_s_of_week : float
        Window start [s after Monday 00:00 UTC]; only ``scheduled`` uses it
        (``TrafficProfile.start_s_of_week``).
    where : str
        Prefix for error messages, e.g. ``"params/a.yaml: options.vllm_g5.fleet"``.

    Returns
    -------
    FleetResult

    Notes
    -----
    With ``D[k]`` the demand, ``d``, ``c``, ``s`` the scale-out delay, scale-in cooldown and
    cold start in steps, indices modulo the window length:

    ``fixed``
        ``N = min(max(ceil(stat(D)), min_instances), max_instances)``, stat = p95 or peak;
        billed = serving = N in every step; no cold starts.
    ``autoscaled`` (target tracking)
        desired ``W[k] = clip(ceil(D[k] / target), min_instances, max_instances)``;
        requested ``R[k] = max(W[k - max(c, d)] .. W[k - d])``: a rise is acted on after
        ``d``, a fall only after ``max(c, d)`` (the scale-in cooldown, a stabilisation
        window). Billed = R (instances bill from the request). Newest instances are removed
        first, so serving ``S[k] = min(R[k - s] .. R[k])``: only instances requested at
        least ``s`` steps ago serve. Cold starts = sum of increases of R.
    ``scheduled``
        ``N`` as for ``fixed`` but over the on-steps only (and at least min_instances);
        billed = N while on (and during the ``s`` steps before each start when prewarm),
        serving = N while on (from ``s`` steps after each start without prewarm), zero
        otherwise. Cold starts = N per on-period.

    unserved_fraction = sum(max(D - S, 0)) / sum(D).

    References
    ----------
    Reference article: "Pre-warm a small pool sized for p95. Scale out slowly to protect
    batching. Scale in even slower to avoid thrash."

    Examples
    --------
    A fixed fleet sized for p95 of [1.2, 1.2, ..., 3.5]: p95 of twenty 1.2s and one 3.5 is
    1.2 (index 0.95 x 20 = 19 of the sorted values), so 2 instances; the one step at 3.5
    leaves 1.5 unserved out of 20 x 1.2 + 3.5 = 27.5, i.e. 1.5 / 27.5 = 0.054545.

    >>> r = simulate_fleet(np.array([1.2] * 20 + [3.5]), 60.0, Policy())
    >>> r.peak_billed_instances, round(r.unserved_fraction, 6)
    (2.0, 0.054545)
    """
    demand = np.asarray(demand_instances, dtype=float)
    if demand.ndim != 1 or demand.size == 0:
        raise CostlibError(f"{where}: demand_instances must be a non-empty 1-D series")
    if not np.all(np.isfinite(demand)) or np.any(demand < 0):
        raise CostlibError(f"{where}: demand_instances must be finite and >= 0")
    if not step_s > 0:
        raise CostlibError(f"{where}: step_s must be > 0, got {step_s!r}")
    _check_policy(policy, where)
    cap = np.inf if policy.max_instances is None else float(policy.max_instances)
    floor = float(policy.min_instances)
    s = _steps(policy.cold_start_min, step_s)

    if policy.policy == "fixed":
        n = min(max(ceil_instances(_stat(demand, policy.size_for)), floor), cap)
        billed = np.full(demand.size, n)
        serving = billed.copy()
        launches = 0.0
    elif policy.policy == "autoscaled":
        d = _steps(policy.scale_out_delay_min, step_s)
        c = _steps(policy.scale_in_cooldown_min, step_s)
        desired = np.clip(ceil_instances(demand / policy.target_utilisation), floor, cap)
        billed = _circ_back(np.roll(desired, d), max(c - d, 0), np.maximum)
        serving = _circ_back(billed, s, np.minimum)
        launches = _launches(billed)
    else:  # scheduled
        on = schedule_mask(demand.size, step_s, policy.schedule, start_s_of_week)
        if not on.any():
            raise CostlibError(f"{where}.schedule: the schedule is never on in the "
                               f"{demand.size * step_s / 3600:g} h window; check hours and "
                               f"weekdays")
        n = min(max(ceil_instances(_stat(demand[on], policy.size_for)), floor), cap)
        onf = on.astype(float)
        if policy.schedule.prewarm:
            billed_on, serving_on = _circ_fwd(onf, s, np.maximum), onf
        else:
            billed_on, serving_on = onf, _circ_back(onf, s, np.minimum)
        billed, serving = n * billed_on, n * serving_on
        starts = float(np.sum(on & ~np.roll(on, 1)))
        launches = n * starts

    total = demand.sum()
    unserved = float(np.maximum(demand - serving, 0.0).sum() / total) if total > 0 else 0.0
    result = FleetResult(billed_instances=billed, serving_instances=serving,
                         demand_instances=demand, step_s=float(step_s), policy=policy.policy,
                         unserved_fraction=unserved, cold_starts_per_window=launches)
    if policy.spot is not None:
        sp = spot_overhead(result.instance_hours_per_month,
                           policy.spot.interruptions_per_instance_month, policy.cold_start_min,
                           policy.spot.in_flight_requests_per_instance)
        result = dataclasses.replace(result, spot=sp)
    return result


# --------------------------------------------------------------------------------------------
# Many fleets at once: the same policy over N profiles of one pattern
# --------------------------------------------------------------------------------------------

_CHUNK_ELEMENTS = 2_000_000
"""Rows x distinct steps evaluated at once (about 16 MB per float array)."""


@dataclass(frozen=True)
class FleetSummary:
    """What the bill needs of :func:`simulate_fleet`, for N profiles: arrays of shape (N,).

    Attributes
    ----------
    avg_billed_instances, peak_billed_instances : numpy.ndarray
        Time-average and highest billed instances [instances].
    instance_hours_per_month : numpy.ndarray
        ``avg_billed_instances * 730`` [instance-h/month] (Spot warm-up not included).
    unserved_fraction : numpy.ndarray
        ``sum(max(D - S, 0)) / sum(D)`` [-]; 0 without demand.
    billed_utilisation : numpy.ndarray
        ``sum(min(D, S)) / sum(B)`` [-]; nan when nothing is billed.
    cold_starts_per_month : numpy.ndarray
        Launches in a 730-hour month [launches/month].
    spot : SpotOverhead, optional
    """

    avg_billed_instances: np.ndarray
    peak_billed_instances: np.ndarray
    instance_hours_per_month: np.ndarray
    unserved_fraction: np.ndarray
    billed_utilisation: np.ndarray
    cold_starts_per_month: np.ndarray
    spot: SpotOverhead | None = None


def _policy_features(u: np.ndarray, step_s: float, policy: Policy, start_s_of_week: float,
                     where: str) -> tuple[list[np.ndarray], float]:
    """Per-step features of a policy over the pattern, and launches per on-period (scheduled)."""
    s = _steps(policy.cold_start_min, step_s)
    if policy.policy == "fixed":
        return [u], 0.0
    if policy.policy == "autoscaled":
        d = _steps(policy.scale_out_delay_min, step_s)
        c = _steps(policy.scale_in_cooldown_min, step_s)
        uw = _circ_back(np.roll(u, d), max(c - d, 0), np.maximum)  # billed follows this
        us = _circ_back(uw, s, np.minimum)  # serving follows this
        return [u, uw, us, np.roll(uw, 1)], 0.0
    on = schedule_mask(u.size, step_s, policy.schedule, start_s_of_week)
    if not on.any():
        raise CostlibError(f"{where}.schedule: the schedule is never on in the "
                           f"{u.size * step_s / 3600:g} h window; check hours and weekdays")
    onf = on.astype(float)
    if policy.schedule.prewarm:
        billed_on, serving_on = _circ_fwd(onf, s, np.maximum), onf
    else:
        billed_on, serving_on = onf, _circ_back(onf, s, np.minimum)
    starts = float(np.sum(on & ~np.roll(on, 1)))
    return [u, billed_on, serving_on, onf], starts


def _fixed_sums(family, k: np.ndarray, n_inst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sum_t D`` and ``sum_t max(D - n, 0)`` for a linear demand ``D = k * rps`` [instance-steps].

    From the sorted pattern and its prefix sums: the steps above ``n`` are those whose ``u``
    exceeds ``(n / k - base) / amp``, found by a binary search per row (no per-step array).
    """
    srt = family._cache.get("sorted_prefix")
    if srt is None:
        u = np.sort(family.u)
        srt = family._cache["sorted_prefix"] = (u, np.concatenate([[0.0], np.cumsum(u)]))
    u, prefix = srt
    t = float(u.size)
    base, amp = family.base, family.amp
    total_u = prefix[-1]
    demand = k * (t * base + amp * total_u)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.where(amp > 0, (n_inst / np.where(k > 0, k, 1.0) - base)
                         / np.where(amp > 0, amp, 1.0), np.inf)
    idx = np.searchsorted(u, theta, side="right")
    above = t - idx
    sum_u_above = total_u - prefix[idx]
    excess = k * (base * above + amp * sum_u_above) - n_inst * above
    flat = ~(amp > 0)  # a steady profile: every step has the same demand
    excess = np.where(flat, t * np.maximum(k * base - n_inst, 0.0), np.maximum(excess, 0.0))
    return demand, excess


def fleet_family(family, demand_instances, policy: Policy, *, where: str = "fleet",
                 instances_per_rps=None) -> FleetSummary:
    """:func:`simulate_fleet` for N profiles of one pattern at once.

    Parameters
    ----------
    family : costlib.formulas.steps.StepFamily
        N request-rate profiles ``base + amp * u``.
    demand_instances : callable
        ``f(rps, rows) -> instances at full use``, elementwise on an (n, K) array of rates of
        the family's rows ``rows`` (a slice; the rows come in chunks) and non-decreasing in the
        rate, e.g. ``required_instances(demand_tokens_per_s(rps, tpr[rows]), tps[rows], 1)``
        with per-row ``tpr``, ``tps`` as (N, 1) columns.
    instances_per_rps : array_like, optional
        When the demand is linear, ``f(rps) = instances_per_rps * rps`` (shape (N,)): a fixed
        fleet's unserved share and utilisation then come from prefix sums of the sorted
        pattern instead of per-step arrays (same figures to rounding).
    policy : Policy or costlib.bill.fleet.FleetPolicy

    Returns
    -------
    FleetSummary

    Notes
    -----
    A fleet's billed and serving series are a non-decreasing function of the demand in a step
    after sliding maxima and minima over time (see :func:`simulate_fleet`). Because ``rate ->
    instances`` is non-decreasing, a sliding max or min of instances is the instances of the
    sliding max or min of ``u``: the windows are taken once over the pattern, and each row
    only evaluates its rates at the distinct tuples (``u``, windowed ``u``, ...) with their step
    counts (:meth:`~costlib.formulas.steps.StepFamily.distinct`). Row by row the arithmetic
    per step is :func:`simulate_fleet`'s.
    """
    _check_policy(policy, where)
    cap = np.inf if policy.max_instances is None else float(policy.max_instances)
    floor = float(policy.min_instances)
    feats, starts = _policy_features(family.u, family.step_s, policy, family.start_s_of_week,
                                     where)
    if policy.policy == "fixed" and instances_per_rps is not None:
        return _fixed_closed_form(family, demand_instances, policy, floor, cap,
                                  np.broadcast_to(np.asarray(instances_per_rps, dtype=float),
                                                  (family.n,)))
    values, w = family.distinct(*feats)
    t = float(family.n_steps)
    n, k = family.n, values.shape[1]
    out = {name: np.empty(n) for name in ("avg", "peak", "unserved", "util", "launches")}
    rows = max(1, _CHUNK_ELEMENTS // max(k, 1))
    for lo in range(0, n, rows):
        sl = slice(lo, min(n, lo + rows))
        sub = _rows(family, sl)
        demand = np.asarray(demand_instances(sub.rates(values[0]), sl), dtype=float)
        if not np.all(np.isfinite(demand)) or np.any(demand < 0):
            raise CostlibError(f"{where}: demand_instances must be finite and >= 0")
        if policy.policy == "fixed" or policy.policy == "scheduled":
            mask = None if policy.policy == "fixed" else feats[3].astype(bool)
            if policy.size_for == "p95":
                stat = sub.percentile(95.0, mask=mask,
                                      transform=lambda r: _demand_col(demand_instances, r, sl))
            else:
                top = float(family.u.max() if mask is None else family.u[mask].max())
                stat = _demand_col(demand_instances, sub.base + sub.amp * top, sl)
            num = np.minimum(np.maximum(ceil_instances(stat), floor), cap)[:, None]
            if policy.policy == "fixed":
                billed = np.broadcast_to(num, demand.shape)
                serving = billed
                launches = np.zeros(demand.shape[0])
            else:
                billed = num * values[1][None, :]
                serving = num * values[2][None, :]
                launches = num[:, 0] * starts
        else:
            def desired(r):
                x = np.asarray(demand_instances(r, sl), dtype=float) / policy.target_utilisation
                return np.clip(ceil_instances(x), floor, cap)
            billed = desired(sub.rates(values[1]))
            serving = desired(sub.rates(values[2]))
            before = desired(sub.rates(values[3]))
            launches = np.maximum(billed - before, 0.0) @ w
        total = demand @ w
        with np.errstate(invalid="ignore", divide="ignore"):
            out["unserved"][sl] = np.where(total > 0,
                                           np.maximum(demand - serving, 0.0) @ w / np.where(
                                               total > 0, total, 1.0), 0.0)
            billed_sum = billed @ w
            out["util"][sl] = np.where(billed_sum > 0, np.minimum(demand, serving) @ w
                                       / np.where(billed_sum > 0, billed_sum, 1.0), np.nan)
        out["avg"][sl] = billed_sum / t
        out["peak"][sl] = billed.max(axis=1)
        out["launches"][sl] = launches
    hours = out["avg"] * units.HOURS_PER_MONTH
    result = FleetSummary(avg_billed_instances=out["avg"], peak_billed_instances=out["peak"],
                          instance_hours_per_month=hours, unserved_fraction=out["unserved"],
                          billed_utilisation=out["util"],
                          cold_starts_per_month=out["launches"] * units.SECONDS_PER_MONTH
                          / family.duration_s)
    if policy.spot is not None:
        sp = spot_overhead(hours, policy.spot.interruptions_per_instance_month,
                           policy.cold_start_min, policy.spot.in_flight_requests_per_instance)
        result = dataclasses.replace(result, spot=sp)
    return result


def _fixed_closed_form(family, demand_instances, policy, floor, cap, k) -> FleetSummary:
    """A fixed fleet over N profiles without per-step arrays (see :func:`_fixed_sums`)."""
    everything = slice(0, family.n)
    if policy.size_for == "p95":
        stat = family.percentile(95.0, transform=lambda r: _demand_col(demand_instances, r,
                                                                       everything))
    else:
        stat = _demand_col(demand_instances, family.base + family.amp * float(family.u.max()),
                           everything)
    n_inst = np.minimum(np.maximum(ceil_instances(stat), floor), cap)
    demand, excess = _fixed_sums(family, k, n_inst)
    t = float(family.n_steps)
    with np.errstate(invalid="ignore", divide="ignore"):
        unserved = np.where(demand > 0, excess / np.where(demand > 0, demand, 1.0), 0.0)
        util = np.where(n_inst > 0, (demand - excess) / np.where(n_inst > 0, n_inst * t, 1.0),
                        np.nan)
    hours = n_inst * units.HOURS_PER_MONTH
    result = FleetSummary(avg_billed_instances=n_inst.astype(float),
                          peak_billed_instances=n_inst.astype(float),
                          instance_hours_per_month=hours, unserved_fraction=unserved,
                          billed_utilisation=util, cold_starts_per_month=np.zeros(family.n))
    if policy.spot is not None:
        sp = spot_overhead(hours, policy.spot.interruptions_per_instance_month,
                           policy.cold_start_min, policy.spot.in_flight_requests_per_instance)
        result = dataclasses.replace(result, spot=sp)
    return result


def _rows(family, sl: slice):
    """Rows ``sl`` of a family (same pattern and caches)."""
    return dataclasses.replace(family, base=family.base[sl], amp=family.amp[sl],
                               _cache=family._cache, _rows={})


def _demand_col(demand_instances, rps, sl) -> np.ndarray:
    """``demand_instances`` of one rate per row (shape (N,)) through the (N, K) interface."""
    return np.asarray(demand_instances(np.asarray(rps, dtype=float).reshape(-1, 1), sl),
                      dtype=float)[:, 0]
