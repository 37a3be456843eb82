"""Traffic profiles: how many requests per second arrive, minute by minute, over a window.

A workload's traffic is a :class:`TrafficProfile`: the mean request rate [requests/s] in each
step (one minute by default) of a simulated window (7 days by default). The window is taken to
repeat to fill the 730-hour month, so every monthly figure is ``window average x seconds per
month``.

Statistics and what each number means
-------------------------------------
Every traffic number in costlib is one of these, always over the steps of the window:

``avg_rps``
    Time-average request rate [requests/s]: the mean of the per-step rates. Monthly requests
    are ``avg_rps * units.SECONDS_PER_MONTH``.
``p95_rps``
    95th percentile over time of the per-step rate [requests/s]: the rate that 95 % of the
    steps (minutes) stay at or below. It is ``numpy.percentile(rps, 95)`` with the default
    ``"linear"`` interpolation between order statistics. It is *not* a latency percentile and
    *not* the peak: a spike that lasts less than 5 % of the time does not move it.
``peak_rps``
    The highest per-step rate [requests/s] (a one-minute mean at the default step).
``base_rps``
    The rate between spikes (``bursty``) or outside business hours (``diurnal``)
    [requests/s]; a shape knob of :class:`TrafficShape`.

Shapes
------
Every built-in shape is ``rps(t) = base + amp * u(t)`` where ``u`` is a unit pattern in
``[0, 1]`` set by the shape knobs (and, for ``bursty``, by a seeded random placement of the
spikes). The statistics are linear in ``(base, amp)``, so two of ``avg_rps``, ``p95_rps``,
``peak_rps``, ``base_rps`` fix the profile exactly; a third is checked against the result.

``steady``
    A constant rate: every step equals ``avg_rps`` (``p95 = peak = avg``).
``diurnal``
    Business-hours plateau: ``base_rps`` outside business hours, ``peak_rps`` on a plateau
    inside them (UTC), with linear ramps of ``ramp_minutes`` centred on the opening and closing
    hour, and weekends (days 5 and 6 of the window) scaled by ``weekend_factor``.
``bursty``
    A low base with short rectangular spikes: ``spikes_per_day`` spikes of ``spike_minutes``
    each, one placed uniformly at random (seeded) in each equal slot of the day, at height
    ``peak_rps``. While spikes cover less than 5 % of the time, ``p95_rps`` equals the base
    rate; that is the article's scenario A ("3 RPS average, spikes to 60 RPS"), which you write
    as ``avg_rps: 3`` and ``peak_rps: 60``.
``csv``
    Your own series (see :func:`read_profile_csv` for the columns). Given ``avg_rps`` (or
    ``p95_rps``, or ``peak_rps``) the series is scaled by one factor to match it; otherwise
    it is used as is.

The window starts on a Monday at 00:00 UTC (day 0 = Monday), unless a CSV with timestamps
says otherwise.

References
----------
.. [1] "LLM on AWS: what it really costs" (project reference article,
   shared/reference/llm-on-aws-cost-article.txt): worksheet inputs ``avg_RPS, p95_RPS``;
   scenario A "3 RPS average, spikes to 60 RPS", B "40 steady RPS", C internal RAG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from costlib.core import units
from costlib.core.names import closest_names
from costlib.core.errors import CostlibError

if TYPE_CHECKING:  # pragma: no cover - types only
    import pandas as pd

P95 = 95.0
"""The percentile used for ``p95_rps`` (numpy's default linear interpolation)."""
P95_TOLERANCE = 0.01
"""A given ``p95_rps`` (or ``peak_rps``) must be met within 1 % (relative)."""

# Defaults of the shape knobs. These are illustrative shape assumptions, not measured figures;
# every one can be set in the params file and the report shows the resulting profile.
DEFAULT_SPIKES_PER_DAY = 4
DEFAULT_SPIKE_MINUTES = 10.0
DEFAULT_BUSINESS_HOURS = (9.0, 17.0)
DEFAULT_RAMP_MINUTES = 60.0
DEFAULT_WEEKEND_FACTOR = 1.0

@dataclass(frozen=True)
class TrafficShape:
    """The knobs of a traffic shape, as :func:`build_profile` reads them.

    The params file's ``workload.traffic:`` block (:class:`costlib.bill.traffic.TrafficSettings`)
    has the same attributes and checks them when the file is loaded; this plain form is for
    calling the formulas directly. Units and meaning of every knob are documented there;
    ``None`` means the shape's default (``DEFAULT_*`` above).
    """

    shape: str = "steady"
    days: int = 7
    step_s: int = 60
    seed: int = 0
    peak_rps: float | None = None
    base_rps: float | None = None
    spikes_per_day: int | None = None
    spike_minutes: float | None = None
    business_hours: tuple[float, float] | None = None
    ramp_minutes: float | None = None
    weekend_factor: float | None = None
    csv: str | None = None


@dataclass(frozen=True, eq=False)
class TrafficProfile:
    """Mean request rate per step over a window that repeats to fill the month.

    Attributes
    ----------
    rps : numpy.ndarray
        Mean request rate in each step [requests/s], 1-D, finite, >= 0.
    step_s : float
        Length of a step [s].
    shape : str
        Where the profile came from: ``steady``, ``diurnal``, ``bursty``, ``csv`` or a
        free label.
    start_s_of_week : float
        When the window starts, [s] after Monday 00:00 UTC (0 for built-in shapes).
    description : str
        One line on how the profile was built, for the report.

    Examples
    --------
    >>> p = TrafficProfile(rps=np.array([1.0, 1.0, 4.0, 2.0]), step_s=60.0, shape="demo")
    >>> float(p.avg_rps), float(p.peak_rps), float(p.duration_s)
    (2.0, 4.0, 240.0)
    """

    rps: np.ndarray
    step_s: float
    shape: str
    start_s_of_week: float = 0.0
    description: str = ""

    def __post_init__(self):
        rps = np.array(self.rps, dtype=float)  # own copy, then frozen
        if rps.ndim != 1 or rps.size == 0:
            raise ValueError("TrafficProfile.rps must be a non-empty 1-D array")
        if not np.all(np.isfinite(rps)) or np.any(rps < 0):
            raise ValueError("TrafficProfile.rps must be finite and >= 0")
        if not (self.step_s > 0):
            raise ValueError("TrafficProfile.step_s must be > 0")
        rps.setflags(write=False)
        object.__setattr__(self, "rps", rps)
        object.__setattr__(self, "step_s", float(self.step_s))

    @property
    def avg_rps(self) -> float:
        """Time-average request rate [requests/s] (mean of the per-step rates)."""
        return float(self.rps.mean())

    @property
    def p95_rps(self) -> float:
        """95th percentile over time of the per-step rate [requests/s] (linear interpolation)."""
        return float(np.percentile(self.rps, P95))

    @property
    def peak_rps(self) -> float:
        """Highest per-step rate [requests/s]."""
        return float(self.rps.max())

    @property
    def n_steps(self) -> int:
        """Number of steps in the window."""
        return int(self.rps.size)

    @property
    def duration_s(self) -> float:
        """Length of the window [s]."""
        return self.n_steps * self.step_s

    @property
    def requests_per_window(self) -> float:
        """Requests in the window [requests] (= avg_rps * duration_s)."""
        return float(self.rps.sum() * self.step_s)

    @property
    def requests_per_month(self) -> float:
        """Requests in a 730-hour month [requests] (= avg_rps * units.SECONDS_PER_MONTH)."""
        return requests_per_month(self.avg_rps)

    def to_frame(self) -> pd.DataFrame:
        """The profile as a tidy table, one row per step.

        Columns: ``step`` (0-based), ``minute_of_window`` (step start [min]), ``hour_of_day``
        (UTC, fractional [h]), ``day`` (0-based day of the window), ``weekday`` (0 = Monday),
        ``rps`` [requests/s].
        """
        import pandas as pd

        t_s = np.arange(self.n_steps) * self.step_s
        abs_s = self.start_s_of_week + t_s
        return pd.DataFrame(
            {
                "step": np.arange(self.n_steps),
                "minute_of_window": t_s / units.SECONDS_PER_MINUTE,
                "hour_of_day": (abs_s % units.SECONDS_PER_DAY) / units.SECONDS_PER_HOUR,
                "day": (abs_s // units.SECONDS_PER_DAY
                        - self.start_s_of_week // units.SECONDS_PER_DAY).astype(int),
                "weekday": ((abs_s // units.SECONDS_PER_DAY) % 7).astype(int),
                "rps": self.rps,
            }
        )


# --------------------------------------------------------------------------------------------
# Formulas
# --------------------------------------------------------------------------------------------


def requests_per_month(avg_rps):
    """Requests in a 730-hour month from the time-average rate.

    Parameters
    ----------
    avg_rps : float or numpy.ndarray
        Time-average request rate [requests/s].

    Returns
    -------
    float or numpy.ndarray
        Requests per month [requests/month].

    Notes
    -----
    requests_per_month = avg_rps * 730 h * 3600 s/h

    References
    ----------
    Month convention: ``costlib.core.units`` (730 h, AWS pricing pages).

    Examples
    --------
    >>> requests_per_month(3.0)
    7884000.0
    """
    out = np.asarray(avg_rps, dtype=float) * units.SECONDS_PER_MONTH
    return float(out) if out.ndim == 0 else out


def spike_coverage_fraction(spikes_per_day, spike_minutes):
    """Share of the time a ``bursty`` profile spends in spikes.

    Parameters
    ----------
    spikes_per_day : float or numpy.ndarray
        Spikes per day [1/day].
    spike_minutes : float or numpy.ndarray
        Length of one spike [min].

    Returns
    -------
    float or numpy.ndarray
        Fraction of time in spikes [-].

    Notes
    -----
    f = spikes_per_day * spike_minutes / 1440. While f < 0.05, p95_rps is the base rate.

    Examples
    --------
    >>> round(spike_coverage_fraction(4, 10), 6)
    0.027778
    """
    out = np.asarray(spikes_per_day, dtype=float) * np.asarray(spike_minutes, dtype=float) / 1440.0
    return float(out) if out.ndim == 0 else out


def bursty_base_rps(avg_rps, peak_rps, spike_fraction):
    """Base rate of a rectangular-spike profile with a given average and spike height.

    Parameters
    ----------
    avg_rps : float or numpy.ndarray
        Time-average rate [requests/s].
    peak_rps : float or numpy.ndarray
        Spike height [requests/s].
    spike_fraction : float or numpy.ndarray
        Share of the time in spikes [-], in (0, 1).

    Returns
    -------
    float or numpy.ndarray
        Rate between spikes [requests/s]; negative means infeasible (the spikes alone carry
        more than the average).

    Notes
    -----
    avg = base * (1 - f) + peak * f  =>  base = (avg - f * peak) / (1 - f)

    Examples
    --------
    Scenario A, 3 RPS average, spikes to 60 RPS covering 40 min a day (f = 1/36):
    (3 - 60/36) / (35/36) = (4/3) * 36/35 = 1.3714...

    >>> round(bursty_base_rps(3.0, 60.0, 40 / 1440), 4)
    1.3714
    """
    f = np.asarray(spike_fraction, dtype=float)
    out = (np.asarray(avg_rps, dtype=float) - f * np.asarray(peak_rps, dtype=float)) / (1.0 - f)
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------------------------
# Unit patterns
# --------------------------------------------------------------------------------------------


def _step_times_s(days: int, step_s: int) -> np.ndarray:
    """Midpoint of every step [s after the window start]."""
    n = int(round(days * units.SECONDS_PER_DAY / step_s))
    return (np.arange(n) + 0.5) * step_s


def _diurnal_unit(days: int, step_s: int, open_h: float, close_h: float, ramp_min: float,
                  weekend_factor: float) -> np.ndarray:
    """Trapezoid in [0, 1]: 0 outside business hours, 1 on the plateau, linear ramps."""
    t = _step_times_s(days, step_s)
    hour = (t % units.SECONDS_PER_DAY) / units.SECONDS_PER_HOUR
    length_h = (close_h - open_h) % 24.0
    r = ramp_min / units.MINUTES_PER_HOUR
    # y: hours since the ramp up began (the ramp is centred on the opening hour)
    y = (hour - open_h + r / 2.0) % 24.0
    if r > 0:
        up = np.clip(y / r, 0.0, 1.0)
        down = np.clip((length_h + r - y) / r, 0.0, 1.0)
        u = np.minimum(up, down)
        u[y >= length_h + r] = 0.0
    else:
        u = (y < length_h).astype(float)
    weekday = (t // units.SECONDS_PER_DAY) % 7
    return np.where(weekday >= 5, u * weekend_factor, u)


def _bursty_unit(days: int, step_s: int, spikes_per_day: int, spike_steps: int,
                 seed: int) -> np.ndarray:
    """0/1 pattern: one rectangular spike placed at random (seeded) in each slot of each day."""
    steps_per_day = int(round(units.SECONDS_PER_DAY / step_s))
    slot_edges = np.linspace(0, steps_per_day, spikes_per_day + 1).round().astype(int)
    slot_len = np.diff(slot_edges)
    rng = np.random.default_rng(seed)
    # latest start that keeps the spike inside its slot
    room = slot_len - spike_steps + 1
    offsets = rng.integers(0, room, size=(days, spikes_per_day))
    starts = (np.arange(days)[:, None] * steps_per_day + slot_edges[None, :-1] + offsets).ravel()
    idx = (starts[:, None] + np.arange(spike_steps)[None, :]).ravel()
    u = np.zeros(days * steps_per_day)
    u[idx] = 1.0
    return u


# --------------------------------------------------------------------------------------------
# Building a profile
# --------------------------------------------------------------------------------------------


def build_profile(settings: TrafficShape, *, avg_rps: float | None = None,
                  p95_rps: float | None = None, base_dir: Path | None = None,
                  where: str = "workload.traffic") -> TrafficProfile:
    """Build the traffic profile a params file describes.

    Parameters
    ----------
    settings : TrafficShape or costlib.bill.traffic.TrafficSettings
        The shape and its knobs (the ``workload.traffic`` block, checked when loaded).
    avg_rps : float, optional
        Time-average rate the profile must have [requests/s]; met exactly.
    p95_rps : float, optional
        95th percentile over time of the per-step rate [requests/s]; met within 1 %.
    base_dir : pathlib.Path, optional
        Folder of the params file; a relative ``csv`` path is resolved against it.
    where : str
        Prefix for error messages, e.g. ``"params/a.yaml: workload.traffic"``.

    Returns
    -------
    TrafficProfile

    Raises
    ------
    CostlibError
        When a knob does not apply to the shape, the statistics are missing or infeasible for
        the shape (the message says which values would be), or the CSV is invalid.

    Notes
    -----
    Built-in shapes are ``rps = base + amp * u`` with the unit pattern ``u`` fixed by the
    knobs. With ``m = mean(u)``, ``q = percentile(u, 95)``, ``M = max(u)``:
    ``avg = base + amp*m``, ``p95 = base + amp*q``, ``peak = base + amp*M``, ``base_rps =
    base``. The first two independent ones, in the order avg, p95, peak, base, are solved
    exactly; any other one given must then agree within 1 %. ``base >= 0`` and ``amp >= 0``
    are required. Any non-negative profile has at least 5 % of its time at or above p95, so
    ``avg_rps >= 0.05 * p95_rps`` always.

    Examples
    --------
    Scenario A: 3 RPS average with spikes to 60 RPS (4 spikes a day of 10 min).

    >>> p = build_profile(TrafficShape(shape="bursty", peak_rps=60), avg_rps=3)
    >>> round(p.avg_rps, 9), round(p.peak_rps, 9), round(p.p95_rps, 4)
    (3.0, 60.0, 1.3714)
    """
    shape = settings.shape
    for name, value in (("avg_rps", avg_rps), ("p95_rps", p95_rps)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise CostlibError(f"{where}: {name} must be a number > 0, got {value!r}")

    if shape == "csv":
        return _build_csv(settings, avg_rps, p95_rps, base_dir, where)

    steps_per_day = units.SECONDS_PER_DAY / settings.step_s
    if steps_per_day != int(steps_per_day):
        valid = [d for d in range(1, 61) if 86400 % d == 0]
        raise CostlibError(f"{where}.step_s: {settings.step_s} s does not divide a day into whole "
                           f"steps; valid: {', '.join(map(str, valid))}")

    if shape == "steady":
        return _build_steady(settings, avg_rps, p95_rps, where)

    u, explain = unit_pattern(settings, where)

    given = [(n, v) for n, v in (("avg_rps", avg_rps), ("p95_rps", p95_rps),
                                 ("peak_rps", settings.peak_rps),
                                 ("base_rps", settings.base_rps)) if v is not None]
    base, amp = _solve_affine(u, given, shape, explain, where)
    rps = base + amp * u
    if shape == "bursty":
        desc = (f"bursty: base {base:.4g} rps, spikes to {base + amp:.4g} rps; {explain}; "
                f"seed {settings.seed}")
    else:
        desc = f"diurnal: base {base:.4g} rps, plateau {base + amp:.4g} rps; {explain}"
    return TrafficProfile(rps=rps, step_s=float(settings.step_s), shape=shape,
                          description=desc + f"; {settings.days} days at {settings.step_s} s steps")


def unit_pattern(settings: TrafficShape, where: str = "workload.traffic") -> tuple[np.ndarray, str]:
    """The unit pattern ``u`` of a bursty or diurnal shape and one line on what fixes it.

    ``rps = base + amp * u`` (:func:`build_profile`); ``u`` depends only on the shape's knobs
    (spikes, business hours, ramp, weekend factor, seed, days, step), never on the rates.
    """
    shape = settings.shape
    steps_per_day = units.SECONDS_PER_DAY / settings.step_s
    if shape == "bursty":
        spikes = settings.spikes_per_day or DEFAULT_SPIKES_PER_DAY
        minutes = settings.spike_minutes or DEFAULT_SPIKE_MINUTES
        spike_steps = max(1, int(round(minutes * units.SECONDS_PER_MINUTE / settings.step_s)))
        if spikes * spike_steps > steps_per_day:
            raise CostlibError(f"{where}: {spikes} spikes/day x {minutes:g} min do not fit in "
                               f"a day (1440 min); lower spikes_per_day or spike_minutes")
        u = _bursty_unit(settings.days, settings.step_s, spikes, spike_steps, settings.seed)
        f = spikes * spike_steps * settings.step_s / units.SECONDS_PER_DAY
        explain = (f"spikes cover {f:.2%} of the time ({spikes}/day x "
                   f"{spike_steps * settings.step_s / 60:g} min)")
    else:  # diurnal
        open_h, close_h = settings.business_hours or DEFAULT_BUSINESS_HOURS
        if not (0 <= open_h <= 24 and 0 <= close_h <= 24) or (close_h - open_h) % 24 == 0:
            raise CostlibError(f"{where}.business_hours: {[open_h, close_h]} must be two different "
                               f"UTC hours in [0, 24], e.g. [9, 17]")
        ramp = DEFAULT_RAMP_MINUTES if settings.ramp_minutes is None else settings.ramp_minutes
        length_min = ((close_h - open_h) % 24) * 60
        if ramp > length_min or ramp > 1440 - length_min:
            raise CostlibError(f"{where}.ramp_minutes: {ramp:g} min is longer than the business "
                               f"hours ({length_min:g} min) or the hours outside them; use at most "
                               f"{min(length_min, 1440 - length_min):g}")
        wf = DEFAULT_WEEKEND_FACTOR if settings.weekend_factor is None else settings.weekend_factor
        u = _diurnal_unit(settings.days, settings.step_s, open_h, close_h, ramp, wf)
        explain = (f"business hours {open_h:g}-{close_h:g} UTC are {length_min / 1440:.1%} of each "
                   f"day, weekend factor {wf:g}")
    return u, explain


def _stat_coefs(u: np.ndarray) -> dict[str, float]:
    return {"avg_rps": float(u.mean()), "p95_rps": float(np.percentile(u, P95)),
            "peak_rps": float(u.max()), "base_rps": 0.0}


def _close(got: float, want: float, rel: float) -> bool:
    return abs(got - want) <= rel * abs(want) + 1e-12


def _solve_affine(u, given, shape, explain, where) -> tuple[float, float]:
    """Solve ``base, amp`` from the first two independent statistics; check the rest."""
    c = _stat_coefs(u)
    if not given:
        raise CostlibError(f"{where}: shape {shape!r} needs avg_rps plus one of peak_rps, "
                           f"p95_rps or base_rps (got none)")
    (n1, v1), pair = given[0], None
    for n2, v2 in given[1:]:
        if abs(c[n2] - c[n1]) > 1e-12:
            pair = (n2, v2)
            break
    if pair is None:
        names = ", ".join(n for n, _ in given)
        hint = ("peak_rps (spike height)" if shape == "bursty"
                else "peak_rps (business-hours plateau)")
        raise CostlibError(f"{where}: shape {shape!r} needs two independent statistics, got only "
                           f"{names} ({explain}); add {hint} or base_rps")
    n2, v2 = pair
    amp = (v2 - v1) / (c[n2] - c[n1])
    base = v1 - amp * c[n1]
    tol = 1e-9 * max(abs(v1), abs(v2))
    if amp < -tol or base < -tol:
        raise CostlibError(_infeasible_message(shape, explain, c, n1, v1, n2, v2, where))
    amp, base = max(amp, 0.0), max(base, 0.0)
    for n, v in given:
        got = base + amp * c[n]
        if not _close(got, v, P95_TOLERANCE):
            raise CostlibError(f"{where}: {n}={v:g} is inconsistent with {n1}={v1:g} and "
                               f"{n2}={v2:g} for shape {shape!r} ({explain}), which give {n}="
                               f"{got:.4g}; drop one of them")
    return base, amp


def _infeasible_message(shape, explain, c, n1, v1, n2, v2, where) -> str:
    """One line: why (n1=v1, n2=v2) cannot be, and which n2 values would be possible."""
    # amp in [0, v1/c1] keeps base >= 0; n2 = v1 + amp*(c2 - c1) spans [v1, v1*c2/c1].
    if c[n1] > 0:
        ends = sorted([v1, v1 * c[n2] / c[n1]])
        allowed = f"{ends[0]:.4g} to {ends[1]:.4g}"
    else:
        allowed = f"at least {v1:.4g}" if c[n2] > c[n1] else f"at most {v1:.4g}"
    msg = (f"{where}: shape {shape!r} cannot have {n1}={v1:g} with {n2}={v2:g}: {explain}; "
           f"with {n1}={v1:g} it allows {n2} from {allowed}")
    if {n1, n2} == {"avg_rps", "p95_rps"}:
        avg, p95 = (v1, v2) if n1 == "avg_rps" else (v2, v1)
        if avg < 0.05 * p95:
            msg += (f"; no traffic can: at least 5% of the time is at or above p95, so avg_rps >= "
                    f"0.05 x p95_rps = {0.05 * p95:g}")
        if shape == "bursty":
            msg += ("; to say 'spikes to X' give peak_rps (spike height) instead of p95_rps "
                    "(p95 only reaches the spikes when they cover >= 5% of the time)")
    return msg


def _build_steady(settings, avg_rps, p95_rps, where) -> TrafficProfile:
    given = [(n, v) for n, v in (("avg_rps", avg_rps), ("p95_rps", p95_rps),
                                 ("peak_rps", settings.peak_rps)) if v is not None]
    if not given:
        raise CostlibError(f"{where}: shape 'steady' needs avg_rps (the constant rate)")
    n1, level = given[0]
    for n, v in given[1:]:
        if not _close(v, level, P95_TOLERANCE):
            raise CostlibError(f"{where}: shape 'steady' has p95 = peak = avg, but {n1}={level:g} "
                               f"and {n}={v:g}; use shape diurnal or bursty, or drop {n}")
    n = int(round(settings.days * units.SECONDS_PER_DAY / settings.step_s))
    return TrafficProfile(rps=np.full(n, float(level)), step_s=float(settings.step_s),
                          shape="steady",
                          description=f"steady: {level:.4g} rps every step; {settings.days} days "
                                      f"at {settings.step_s} s steps")


def _build_csv(settings, avg_rps, p95_rps, base_dir, where) -> TrafficProfile:
    path = Path(settings.csv)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    raw = read_profile_csv(path)
    given = [(n, v) for n, v in (("avg_rps", avg_rps), ("p95_rps", p95_rps),
                                 ("peak_rps", settings.peak_rps)) if v is not None]
    if not given:
        return TrafficProfile(rps=raw.rps, step_s=raw.step_s, shape="csv",
                              start_s_of_week=raw.start_s_of_week,
                              description=f"csv: {path.name} as given ({raw.n_steps} steps of "
                                          f"{raw.step_s:g} s)")
    stats = {"avg_rps": raw.avg_rps, "p95_rps": raw.p95_rps, "peak_rps": raw.peak_rps}
    n1, v1 = given[0]
    if stats[n1] <= 0:
        raise CostlibError(f"{where}.csv: {path} has {n1} = 0, so it cannot be scaled to "
                           f"{n1}={v1:g}")
    scale = v1 / stats[n1]
    for n, v in given[1:]:
        got = stats[n] * scale
        if not _close(got, v, P95_TOLERANCE):
            raise CostlibError(f"{where}: the shape in {path.name} scaled to {n1}={v1:g} has "
                               f"{n}={got:.4g}, not {v:g}; give only one of avg_rps, p95_rps, "
                               f"peak_rps for a CSV profile, or edit the file")
    return TrafficProfile(rps=raw.rps * scale, step_s=raw.step_s, shape="csv",
                          start_s_of_week=raw.start_s_of_week,
                          description=f"csv: {path.name} scaled by {scale:.4g} to {n1}={v1:g} "
                                      f"({raw.n_steps} steps of {raw.step_s:g} s)")


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------

TIME_COLUMNS = ("timestamp", "minute", "second")
VALUE_COLUMNS = ("rps", "requests")


def read_profile_csv(path: Path | str) -> TrafficProfile:
    """Read a traffic series from a CSV file.

    The file has a header row and exactly two columns (names case-insensitive):

    * one time column, the *start* of each step, equally spaced, increasing, step <= 60 s:
      ``timestamp`` (ISO 8601; no zone means UTC), ``minute`` (minutes from the window
      start; minute 0 is Monday 00:00 UTC) or ``second`` (seconds from the window start);
    * one value column: ``rps`` (mean requests/s in the step) or ``requests`` (requests
      arriving in the step; divided by the step length).

    The series must cover at least one day (rows x step >= 86,400 s). It is used as the
    window, repeated to fill the month.

    Parameters
    ----------
    path : pathlib.Path or str
        The CSV file.

    Returns
    -------
    TrafficProfile
        ``shape="csv"``.

    Raises
    ------
    CostlibError
        One line naming the file, the row (file line number) and the column.
    """
    import pandas as pd

    import io

    from costlib.core.inputs import TABLE_MAX_BYTES, read_user_text

    path = Path(path)
    if not path.exists():
        raise CostlibError(f"traffic CSV {path}: file not found")
    text = read_user_text(path, "traffic CSV", TABLE_MAX_BYTES)
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                         skipinitialspace=True)
    except Exception as exc:  # pandas parser errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CostlibError(f"traffic CSV {path}: cannot be read as CSV ({first})") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    valid = TIME_COLUMNS + VALUE_COLUMNS
    for col in df.columns:
        if col not in valid:
            near = closest_names(col, valid)
            hint = f"closest valid: {', '.join(near)}" if near else f"valid: {', '.join(valid)}"
            raise CostlibError(f"traffic CSV {path}: unknown column {col!r}; {hint}")
    tcols = [c for c in df.columns if c in TIME_COLUMNS]
    vcols = [c for c in df.columns if c in VALUE_COLUMNS]
    if len(tcols) != 1 or len(vcols) != 1:
        raise CostlibError(f"traffic CSV {path}: needs exactly one time column "
                           f"({'/'.join(TIME_COLUMNS)}) and one value column "
                           f"({'/'.join(VALUE_COLUMNS)}), got {', '.join(df.columns) or 'none'}")
    tcol, vcol = tcols[0], vcols[0]
    if len(df) < 2:
        raise CostlibError(f"traffic CSV {path}: needs at least one day of rows, got {len(df)}")

    values = _parse_numbers(df[vcol], path, vcol)
    bad = np.flatnonzero(values < 0)
    if bad.size:
        raise CostlibError(f"traffic CSV {path}: row {bad[0] + 2}, column {vcol}: "
                           f"{df[vcol].iloc[bad[0]]!r} is negative; must be >= 0")

    if tcol == "timestamp":
        ts = pd.to_datetime(df[tcol], errors="coerce", utc=True, format="ISO8601")
        nat = np.flatnonzero(ts.isna().to_numpy())
        if nat.size:
            raise CostlibError(f"traffic CSV {path}: row {nat[0] + 2}, column timestamp: "
                               f"{df[tcol].iloc[nat[0]]!r} is not an ISO 8601 time "
                               f"(e.g. 2025-01-06T09:00:00Z)")
        t_s = (ts - ts.iloc[0]).dt.total_seconds().to_numpy()
        first = ts.iloc[0]
        start_s = (first.day_of_week * units.SECONDS_PER_DAY + first.hour * 3600.0 + first.minute * 60.0
                   + first.second + first.microsecond / 1e6)
    else:
        t = _parse_numbers(df[tcol], path, tcol)
        factor = units.SECONDS_PER_MINUTE if tcol == "minute" else 1.0
        t_s = (t - t[0]) * factor
        start_s = float(t[0] * factor) % units.SECONDS_PER_WEEK

    dt = np.diff(t_s)
    step_s = float(dt[0])
    if not step_s > 0:
        raise CostlibError(f"traffic CSV {path}: row 3, column {tcol}: time does not increase "
                           f"(rows must be in time order, one per step)")
    uneven = np.flatnonzero(np.abs(dt - step_s) > 1e-6 * max(step_s, 1.0))
    if uneven.size:
        i = uneven[0] + 1
        raise CostlibError(f"traffic CSV {path}: row {i + 2}, column {tcol}: "
                           f"{df[tcol].iloc[i]!r} breaks the even spacing of {step_s:g} s set by "
                           f"the first two rows; one row per step, no gaps")
    if step_s > 60.0 + 1e-9:
        raise CostlibError(f"traffic CSV {path}: column {tcol}: step of {step_s:g} s is coarser "
                           f"than one minute; give one row per minute or finer")
    if len(df) * step_s < units.SECONDS_PER_DAY - 1e-6:
        raise CostlibError(f"traffic CSV {path}: {len(df)} rows of {step_s:g} s cover "
                           f"{len(df) * step_s / 3600:g} h; at least one day (24 h) is needed")
    rps = values if vcol == "rps" else values / step_s
    return TrafficProfile(rps=rps, step_s=step_s, shape="csv", start_s_of_week=start_s,
                          description=f"csv: {path.name} ({len(df)} steps of {step_s:g} s)")


def _parse_numbers(col: pd.Series, path: Path, name: str) -> np.ndarray:
    import pandas as pd

    num = pd.to_numeric(col.str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(num))
    if bad.size:
        raise CostlibError(f"traffic CSV {path}: row {bad[0] + 2}, column {name}: "
                           f"{col.iloc[bad[0]]!r} is not a number")
    return num
