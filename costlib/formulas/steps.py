"""Many traffic profiles at once, and the distinct steps a formula over time needs.

Every built-in traffic shape is ``rps[t] = base + amp * u[t]``: a unit pattern ``u`` fixed by
the shape's knobs (business hours, spikes, seed, a CSV file) times an amplitude, plus a base.
The statistics a params file gives (``avg_rps``, ``p95_rps``, ``peak_rps``, ``base_rps``) fix
``base`` and ``amp`` linearly (:func:`costlib.formulas.traffic.build_profile`). So N profiles
that share a pattern are N pairs ``(base, amp)`` and one ``u``: a :class:`StepFamily`.

A sum over the steps of a function of the rate, ``sum_t f(rps[t])``, only needs each distinct
value of ``u`` once, weighted by how many steps have it. A diurnal week of 10,080 one-minute
steps has 94 distinct values; a bursty one 2; a steady one 1. Formulas that need more than the
rate of a step (the rate a few steps back, whether a schedule is on) ask for the distinct
*tuples* of those per-step features (:meth:`StepFamily.distinct`). That is how the bill prices a
million profiles without a million-by-10,080 array, with the same arithmetic per step as a
step-by-step loop (``base + amp * u[t]`` is evaluated for each distinct ``u[t]`` exactly as it
would be for each step).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from costlib.core.errors import CostlibError

P95 = 95.0


def _col(x) -> np.ndarray:
    """``x`` as a float column, shape (N, 1) (a scalar is N = 1)."""
    return np.atleast_1d(np.asarray(x, dtype=float)).reshape(-1, 1)


@dataclass(frozen=True)
class StepFamily:
    """N request-rate profiles over one window of equal steps: ``rps[n, t] = base[n] + amp[n] * u[t]``.

    Attributes
    ----------
    u : numpy.ndarray
        Unit pattern, shape (T,) [-]; its scale is absorbed by ``amp``.
    base, amp : numpy.ndarray
        Shape (N,) [requests/s], both >= 0.
    step_s : float
        Step length [s].
    shape : str
        Shape label (``steady``, ``diurnal``, ``bursty``, ``csv``).
    start_s_of_week : float
        Window start [s after Monday 00:00 UTC].
    description : str
        How the profile was built (row 0's numbers).
    """

    u: np.ndarray
    base: np.ndarray
    amp: np.ndarray
    step_s: float
    shape: str = ""
    start_s_of_week: float = 0.0
    description: str = ""
    _cache: dict = field(default_factory=dict, repr=False, compare=False)
    """Pattern-only results (sorted pattern, distinct steps), shared by rescaled families."""
    _rows: dict = field(default_factory=dict, repr=False, compare=False)
    """Row-dependent results of this family (its average rate)."""

    def __post_init__(self):
        u = np.asarray(self.u, dtype=float)
        if u.ndim != 1 or u.size == 0:
            raise ValueError("StepFamily.u must be a non-empty 1-D array")
        base = np.atleast_1d(np.asarray(self.base, dtype=float))
        amp = np.atleast_1d(np.asarray(self.amp, dtype=float))
        base, amp = np.broadcast_arrays(base, amp)
        object.__setattr__(self, "u", u)
        object.__setattr__(self, "base", np.array(base))
        object.__setattr__(self, "amp", np.array(amp))

    # ---------------------------------------------------------------- size
    @property
    def n(self) -> int:
        """Number of profiles N."""
        return int(self.base.size)

    @property
    def n_steps(self) -> int:
        """Steps in the window T."""
        return int(self.u.size)

    @property
    def duration_s(self) -> float:
        """Window length [s]."""
        return self.n_steps * self.step_s

    def scaled(self, share) -> StepFamily:
        """The same profiles carrying ``share`` of the requests (a router's route) [-]."""
        share = np.asarray(share, dtype=float).reshape(-1)
        return StepFamily(self.u, self.base * share, self.amp * share, self.step_s, self.shape,
                          self.start_s_of_week, self.description, self._cache)

    # ---------------------------------------------------------------- per-step values
    def rates(self, u_values) -> np.ndarray:
        """``base + amp * u`` for given pattern values, shape (N, K) [requests/s]."""
        return _col(self.base) + _col(self.amp) * np.asarray(u_values, dtype=float)[None, :]

    def distinct(self, *features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distinct tuples of per-step features and how many steps have each.

        Parameters
        ----------
        *features : numpy.ndarray
            Arrays of shape (T,), e.g. ``u``, ``u`` a few steps back, a schedule mask.

        Returns
        -------
        (values, weights)
            ``values`` shape (F, K): the K distinct columns; ``weights`` shape (K,) [steps],
            summing to T.
        """
        key = tuple(id(f) for f in features)
        hit = self._cache.get(("distinct", key))
        if hit is not None and all(a is b for a, b in zip(hit[0], features)):
            return hit[1], hit[2]
        stacked = np.vstack([np.asarray(f, dtype=float) for f in features])
        values, counts = np.unique(stacked, axis=1, return_counts=True)
        self._cache[("distinct", key)] = (features, values, counts.astype(float))
        return values, counts.astype(float)

    def steps(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct rates and their step counts: ``(rps (N, K), weights (K,))``."""
        values, weights = self.distinct(self.u)
        return self.rates(values[0]), weights

    def sum_steps(self, per_step: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``sum_t x[t]`` from the distinct steps' values (N, K) and weights, shape (N,)."""
        return np.asarray(per_step, dtype=float) @ weights

    def mean_steps(self, per_step: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Time average of a per-step quantity, shape (N,)."""
        return self.sum_steps(per_step, weights) / self.n_steps

    # ---------------------------------------------------------------- statistics
    @property
    def avg_rps(self) -> np.ndarray:
        """Time-average request rate [requests/s], shape (N,): ``base + amp * mean(u)``."""
        avg = self._rows.get("avg")
        if avg is None:
            mean_u = self._cache.get("mean_u")
            if mean_u is None:
                mean_u = self._cache["mean_u"] = float(np.mean(self.u))
            avg = self._rows["avg"] = self.base + self.amp * mean_u
            avg.setflags(write=False)
        return avg

    @property
    def peak_rps(self) -> np.ndarray:
        """Highest per-step rate [requests/s], shape (N,) (``amp >= 0``)."""
        return self.base + self.amp * float(self.u.max())

    @property
    def p95_rps(self) -> np.ndarray:
        """95th percentile over time of the per-step rate [requests/s], shape (N,)."""
        return self.percentile(P95)

    def percentile(self, q: float, mask: np.ndarray | None = None, transform=None) -> np.ndarray:
        """``numpy.percentile(f(rps[mask]), q)`` per profile, linear interpolation, shape (N,).

        ``f`` (``transform``, default identity) must be non-decreasing in the rate, so the
        order of the steps is the order of ``u``: the two ranks around ``(T - 1) q / 100`` are
        read from the sorted pattern and interpolated as numpy does.
        """
        u = self.u if mask is None else self.u[np.asarray(mask, dtype=bool)]
        if u.size == 0:
            raise CostlibError("no steps to take a percentile of")
        key = ("sorted", None if mask is None else np.asarray(mask, dtype=bool).tobytes())
        srt = self._cache.get(key)
        if srt is None:
            srt = np.sort(u)
            self._cache[key] = srt
        h = (srt.size - 1) * q / 100.0
        lo = int(np.floor(h))
        hi = min(lo + 1, srt.size - 1)
        frac = h - lo
        f = transform if transform is not None else (lambda x: x)
        a = f(self.base + self.amp * srt[lo])
        if srt[hi] == srt[lo]:  # both ranks on one value (a plateau): no interpolation
            return np.asarray(a, dtype=float)
        b = f(self.base + self.amp * srt[hi])
        # numpy's _lerp: a + (b - a) * t, computed from the far end when t >= 0.5
        diff = b - a
        return np.where(frac >= 0.5, b - diff * (1 - frac), a + diff * frac)


def _arr(x):
    return None if x is None else np.atleast_1d(np.asarray(x, dtype=float))


def _row(x, i):
    return None if x is None else float(x[i] if x.size > 1 else x[0])


def _first_bad_row(bad: np.ndarray) -> int | None:
    idx = np.flatnonzero(bad)
    return int(idx[0]) if idx.size else None


def build_family(settings, *, avg_rps=None, p95_rps=None, peak_rps=None, base_rps=None,
                 base_dir=None, where: str = "workload.traffic") -> StepFamily:
    """:func:`costlib.formulas.traffic.build_profile` for arrays of rates: one pattern, N profiles.

    Parameters
    ----------
    settings : TrafficShape or costlib.bill.traffic.TrafficSettings
        Shape and knobs (one pattern for every row).
    avg_rps, p95_rps, peak_rps, base_rps : float or array_like, optional
        The statistics each row must have [requests/s]; ``peak_rps`` and ``base_rps`` default
        to the settings' own. Which ones are given is the same for every row.

    Raises
    ------
    CostlibError
        For the first row whose statistics no profile of the shape can have, with the message
        :func:`build_profile` gives for that row (prefixed with the row number when N > 1).

    Notes
    -----
    Row by row this is ``build_profile``: the same pair of statistics is solved for ``base``
    and ``amp`` with the same arithmetic, so ``base + amp * u`` equals its ``rps``.
    """
    from costlib.formulas import traffic as tr

    peak_rps = getattr(settings, "peak_rps", None) if peak_rps is None else peak_rps
    base_rps = getattr(settings, "base_rps", None) if base_rps is None else base_rps
    stats = {"avg_rps": _arr(avg_rps), "p95_rps": _arr(p95_rps), "peak_rps": _arr(peak_rps),
             "base_rps": _arr(base_rps)}
    sizes = {v.size for v in stats.values() if v is not None}
    n = max(sizes) if sizes else 1
    if len(sizes - {1, n}):
        raise CostlibError(f"{where}: the traffic statistics have different lengths {sorted(sizes)}")

    def scalar_error(i: int) -> CostlibError:
        import dataclasses

        row = {k: _row(v, i) for k, v in stats.items()}
        upd = {k: row[k] for k in ("peak_rps", "base_rps") if hasattr(settings, k)}
        one = (settings.model_copy(update=upd) if hasattr(settings, "model_copy")
               else dataclasses.replace(settings, **upd))
        try:
            tr.build_profile(one, avg_rps=row["avg_rps"], p95_rps=row["p95_rps"],
                             base_dir=base_dir, where=where)
        except CostlibError as exc:
            return CostlibError(exc.message if n == 1 else f"row {i}: {exc.message}")
        return CostlibError(f"{where}: row {i} cannot be built")  # pragma: no cover

    for name in ("avg_rps", "p95_rps"):
        v = stats[name]
        if v is not None:
            i = _first_bad_row(~(np.isfinite(v) & (v > 0)))
            if i is not None:
                raise scalar_error(i)

    shape = settings.shape
    if shape == "csv":
        return _csv_family(settings, stats, base_dir, where, scalar_error, n)
    steps_per_day = 86400 / settings.step_s
    if steps_per_day != int(steps_per_day):
        raise scalar_error(0)
    if shape == "steady":
        given = [(k, stats[k]) for k in ("avg_rps", "p95_rps", "peak_rps") if stats[k] is not None]
        if not given:
            raise scalar_error(0)
        level = given[0][1]
        for _, v in given[1:]:
            i = _first_bad_row(~(np.abs(v - level) <= tr.P95_TOLERANCE * np.abs(level) + 1e-12))
            if i is not None:
                raise scalar_error(i)
        t = int(round(settings.days * 86400 / settings.step_s))
        return StepFamily(np.zeros(t), np.broadcast_to(level, (n,)), np.zeros(n),
                          float(settings.step_s), "steady", 0.0,
                          f"steady: {float(level[0]):.4g} rps every step; {settings.days} days "
                          f"at {settings.step_s} s steps")
    u, explain = tr.unit_pattern(settings, where)
    c = tr._stat_coefs(u)
    given = [(k, stats[k]) for k in ("avg_rps", "p95_rps", "peak_rps", "base_rps")
             if stats[k] is not None]
    if not given:
        raise scalar_error(0)
    (n1, v1), pair = given[0], None
    for n2, v2 in given[1:]:
        if abs(c[n2] - c[n1]) > 1e-12:
            pair = (n2, v2)
            break
    if pair is None:
        raise scalar_error(0)
    n2, v2 = pair
    amp = (v2 - v1) / (c[n2] - c[n1])
    base = v1 - amp * c[n1]
    tol = 1e-9 * np.maximum(np.abs(v1), np.abs(v2))
    i = _first_bad_row((amp < -tol) | (base < -tol))
    if i is not None:
        raise scalar_error(i)
    amp, base = np.maximum(amp, 0.0), np.maximum(base, 0.0)
    for k, v in given:
        got = base + amp * c[k]
        i = _first_bad_row(~(np.abs(got - v) <= tr.P95_TOLERANCE * np.abs(v) + 1e-12))
        if i is not None:
            raise scalar_error(i)
    base, amp = np.broadcast_arrays(base, amp)
    b0, a0 = float(base[0]), float(amp[0])
    if shape == "bursty":
        desc = (f"bursty: base {b0:.4g} rps, spikes to {b0 + a0:.4g} rps; {explain}; "
                f"seed {settings.seed}")
    else:
        desc = f"diurnal: base {b0:.4g} rps, plateau {b0 + a0:.4g} rps; {explain}"
    return StepFamily(u, base, amp, float(settings.step_s), shape, 0.0,
                      desc + f"; {settings.days} days at {settings.step_s} s steps")


def _csv_family(settings, stats, base_dir, where, scalar_error, n) -> StepFamily:
    from pathlib import Path

    from costlib.formulas import traffic as tr

    path = Path(settings.csv)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    raw = tr.read_profile_csv(path)
    given = [(k, stats[k]) for k in ("avg_rps", "p95_rps", "peak_rps") if stats[k] is not None]
    if not given:
        return StepFamily(raw.rps, np.zeros(n), np.ones(n), raw.step_s, "csv",
                          raw.start_s_of_week, f"csv: {path.name} as given ({raw.n_steps} steps "
                          f"of {raw.step_s:g} s)")
    have = {"avg_rps": raw.avg_rps, "p95_rps": raw.p95_rps, "peak_rps": raw.peak_rps}
    n1, v1 = given[0]
    if have[n1] <= 0:
        raise scalar_error(0)
    scale = v1 / have[n1]
    for k, v in given[1:]:
        got = have[k] * scale
        i = _first_bad_row(~(np.abs(got - v) <= tr.P95_TOLERANCE * np.abs(v) + 1e-12))
        if i is not None:
            raise scalar_error(i)
    scale = np.broadcast_to(scale, (n,))
    return StepFamily(raw.rps, np.zeros(n), scale, raw.step_s, "csv", raw.start_s_of_week,
                      f"csv: {path.name} scaled by {float(scale[0]):.4g} to {n1}="
                      f"{float(v1[0]):g} ({raw.n_steps} steps of {raw.step_s:g} s)")


def family_of(profile) -> StepFamily:
    """One profile (:class:`~costlib.formulas.traffic.TrafficProfile`) as a family of N = 1.

    ``u`` is the profile's rates themselves (``base 0, amp 1``).
    """
    return StepFamily(np.asarray(profile.rps, dtype=float), 0.0, 1.0, profile.step_s,
                      profile.shape, getattr(profile, "start_s_of_week", 0.0),
                      getattr(profile, "description", ""))


__all__ = ["StepFamily", "build_family", "family_of"]
