"""Uncertain inputs: any numeric key of a params file may be a distribution instead of a number.

Syntax (a mapping with ``dist:`` where a number would go)::

    workload:
      avg_rps: {dist: triangular, low: 30, mode: 40, high: 60}     # point = mode
      in_tokens: {dist: uniform, low: 1500, high: 2500}            # point = midpoint
    options:
      bedrock_llama31_70b:
        usd_per_1m_input_tokens: {dist: lognormal, median: 0.72, p90: 0.9}  # point = median
        # or {dist: lognormal, median: 0.72, sigma: 0.2}
    failures:
      retry_budget_fraction: {dist: beta, mean: 0.1, sd: 0.03}     # support [0, 1]; point = mean
      # or {dist: beta, alpha: 2, beta: 18}; add low:/high: to scale the support to [low, high]
      # (mean and sd are then in the key's units)

Any of them takes ``point: v`` to set the value the plain estimate uses instead of the default
(midpoint, mode, median, mean). Degenerate forms are allowed and equal a plain number
(``low == high``, ``sigma: 0``, ``p90`` equal to the median, ``sd: 0``); a plain number is a
degenerate distribution. Everything but :mod:`costlib.whatif.uncertainty` (``costlib estimate``,
the notebooks, the levers) prices the point value, so a file without distributions prices as
before.

Integer keys (counts) take distributions too; their draws are rounded to whole numbers (the
rounding shifts the distribution by up to half a unit; stated in the Monte Carlo's notes).

Every distribution has ``ppf(q)`` (the quantile), ``sample(rng, n)`` (seeded draws, numpy
only), ``point``, ``mean``, ``support`` and ``describe()``. Quantiles are exact closed forms for
the uniform and triangular, the normal inverse CDF (Acklam's rational approximation refined by
one Halley step; agrees with published z-values to 1e-14 relative) for the lognormal, and, for
the beta, a bisection (60 halvings) on the regularized incomplete beta function computed by its
continued fraction (converged to 1e-15; checked against closed forms to 1e-12). These are
numerical approximations, accurate far below the Monte Carlo's sampling error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from costlib.core.errors import CostlibError

__all__ = ["Distribution", "Uniform", "Triangular", "LogNormal", "Beta", "DISTRIBUTIONS",
           "SYNTAX", "norm_ppf", "betainc", "parse_distribution", "extract_distributions",
           "check_support"]

SYNTAX = ("{dist: uniform, low: a, high: b} | {dist: triangular, low: a, mode: m, high: b} | "
          "{dist: lognormal, median: m, p90: x} (or sigma: s) | {dist: beta, mean: m, sd: s} "
          "(or alpha: a, beta: b; optional low:, high:); any with optional point: v")
"""The syntax of a distribution, as one line for error messages."""


# --------------------------------------------------------------------------------------------
# special functions (numpy has neither ndtri nor betainc, and scipy is not a dependency)

_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
      1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
      6.680131188771972e+01, -1.328068155288572e+01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
      -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
      3.754408661907416e+00)
_P_LOW = 0.02425

_erfc = np.frompyfunc(math.erfc, 1, 1)


def norm_ppf(q):
    """Quantile of the standard normal distribution (inverse CDF) [-].

    Parameters
    ----------
    q : float or array_like
        Probability, in (0, 1) [-]; 0 and 1 give -inf and +inf.

    Returns
    -------
    float or numpy.ndarray
        z such that Phi(z) = q [-].

    Notes
    -----
    Acklam's rational approximation (relative error 1.15e-9), refined by one step of Halley's
    method on ``Phi(z) - q`` with ``Phi(z) = erfc(-z / sqrt 2) / 2`` (``math.erfc``); the
    tests find it equal to published 16-digit z-values to 1e-14 relative.

    References
    ----------
    P. J. Acklam, "An algorithm for computing the inverse normal cumulative distribution
    function" (2003), https://web.archive.org/web/20151030215612/http://home.online.no/~pjacklam/notes/invnorm/

    Examples
    --------
    >>> round(float(norm_ppf(0.9)), 12)
    1.281551565545
    """
    q = np.asarray(q, dtype=float)
    x = np.full(q.shape, np.nan)
    lo = (q > 0) & (q < _P_LOW)
    hi = (q > 1 - _P_LOW) & (q < 1)
    mid = (q >= _P_LOW) & (q <= 1 - _P_LOW)
    if np.any(lo):
        t = np.sqrt(-2 * np.log(q[lo]))
        x[lo] = (((((_C[0] * t + _C[1]) * t + _C[2]) * t + _C[3]) * t + _C[4]) * t + _C[5]) / \
            ((((_D[0] * t + _D[1]) * t + _D[2]) * t + _D[3]) * t + 1)
    if np.any(hi):
        t = np.sqrt(-2 * np.log1p(-q[hi]))
        x[hi] = -(((((_C[0] * t + _C[1]) * t + _C[2]) * t + _C[3]) * t + _C[4]) * t + _C[5]) / \
            ((((_D[0] * t + _D[1]) * t + _D[2]) * t + _D[3]) * t + 1)
    if np.any(mid):
        r = q[mid] - 0.5
        s = r * r
        x[mid] = (((((_A[0] * s + _A[1]) * s + _A[2]) * s + _A[3]) * s + _A[4]) * s + _A[5]) * r / \
            (((((_B[0] * s + _B[1]) * s + _B[2]) * s + _B[3]) * s + _B[4]) * s + 1)
    ok = lo | hi | mid
    if np.any(ok):  # one Halley step
        z = x[ok]
        e = 0.5 * _erfc(-z / math.sqrt(2)).astype(float) - q[ok]
        u = e * math.sqrt(2 * math.pi) * np.exp(z * z / 2)
        x[ok] = z - u / (1 + z * u / 2)
    x[q == 0] = -np.inf
    x[q == 1] = np.inf
    return x if x.ndim else float(x)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b) [-] (the beta distribution's CDF).

    Parameters
    ----------
    a, b : float
        Shape parameters, > 0 [-].
    x : float
        In [0, 1] [-].

    Notes
    -----
    The continued fraction of Numerical Recipes (3rd ed., section 6.4, eq. 6.4.5), evaluated by
    the modified Lentz method, with the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) for
    x > (a + 1) / (a + b + 2).

    Examples
    --------
    >>> round(betainc(2.0, 3.0, 0.5), 12)   # 1 - (1-x)^4 - 4 x (1-x)^3 at x = 1/2: 11/16
    0.6875
    """
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = math.exp(lbeta + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _beta_ppf01(a: float, b: float, q: float) -> float:
    """Quantile of Beta(a, b) on [0, 1] by bisection on :func:`betainc` (60 halvings)."""
    if q <= 0.0:
        return 0.0
    if q >= 1.0:
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if betainc(a, b, mid) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------------------------
# the distributions


@dataclass(frozen=True)
class Distribution:
    """An uncertain input. Subclasses define ``_ppf``, ``_sample``, ``default_point``, ``mean``.

    Attributes
    ----------
    spec : dict
        The mapping as written (``{"dist": "triangular", "low": 30, ...}``).
    point_override : float, optional
        The ``point:`` given, if any.
    """

    spec: dict = field(compare=False)
    point_override: float | None = None

    kind = "distribution"

    @property
    def point(self) -> float:
        """The value the plain estimate prices [the key's unit]."""
        return float(self.point_override) if self.point_override is not None \
            else float(self.default_point)

    @property
    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take [the key's unit]."""
        return float(self.ppf(0.0)), float(self.ppf(1.0))

    @property
    def degenerate(self) -> bool:
        """True when every draw is the same number."""
        lo, hi = self.support
        return lo == hi

    def ppf(self, q):
        """Quantile: the value below which a share ``q`` of draws fall [the key's unit]."""
        q = np.asarray(q, dtype=float)
        out = np.asarray(self._ppf(q), dtype=float)
        return out if out.ndim else float(out)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws from ``rng`` (a ``numpy.random.Generator``) [the key's unit]."""
        return np.asarray(self._sample(rng, int(n)), dtype=float)

    def describe(self) -> str:
        """``"triangular(low 30, mode 40, high 60)"``, plus the point when set apart."""
        args = ", ".join(f"{k} {v:g}" for k, v in self.spec.items()
                         if k not in ("dist", "point"))
        tail = f"; point {self.point:g}" if self.point_override is not None else ""
        return f"{self.kind}({args}){tail}"

    def to_dict(self) -> dict:
        """JSON-safe description: the spec, point, mean, P10, P50, P90, support."""
        lo, hi = self.support
        return {"dist": self.kind, "spec": {k: v for k, v in self.spec.items()},
                "point": self.point, "mean": float(self.mean),
                "p10": float(self.ppf(0.1)), "p50": float(self.ppf(0.5)),
                "p90": float(self.ppf(0.9)), "support": [_json_float(lo), _json_float(hi)],
                "describe": self.describe()}


def _json_float(x: float):
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform on [low, high]; point: the midpoint."""

    low: float = 0.0
    high: float = 0.0
    kind = "uniform"

    @property
    def default_point(self) -> float:
        return 0.5 * (self.low + self.high)

    @property
    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    def _ppf(self, q):
        return self.low + (self.high - self.low) * q

    def _sample(self, rng, n):
        return self.low + (self.high - self.low) * rng.random(n)


@dataclass(frozen=True)
class Triangular(Distribution):
    """Triangular on [low, high] with its peak at mode; point: the mode."""

    low: float = 0.0
    mode: float = 0.0
    high: float = 0.0
    kind = "triangular"

    @property
    def default_point(self) -> float:
        return self.mode

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    def _ppf(self, q):
        a, c, b = self.low, self.mode, self.high
        if b == a:
            return np.full(np.shape(q), a) if np.ndim(q) else a
        fc = (c - a) / (b - a)
        left = a + np.sqrt(q * (b - a) * (c - a))
        right = b - np.sqrt((1 - q) * (b - a) * (b - c))
        return np.where(q <= fc, left, right)

    def _sample(self, rng, n):
        return self._ppf(rng.random(n))  # inverse transform: also right when low == high


@dataclass(frozen=True)
class LogNormal(Distribution):
    """exp of a normal: median m, log-sd sigma; support (0, inf); point: the median."""

    median: float = 1.0
    sigma: float = 0.0
    kind = "lognormal"

    @property
    def default_point(self) -> float:
        return self.median

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma ** 2 / 2)

    def _ppf(self, q):
        if self.sigma == 0:
            return np.full(np.shape(q), self.median) if np.ndim(q) else self.median
        return self.median * np.exp(self.sigma * norm_ppf(q))

    def _sample(self, rng, n):
        return self.median * np.exp(self.sigma * rng.standard_normal(n))


@dataclass(frozen=True)
class Beta(Distribution):
    """Beta(alpha, beta) scaled to [low, high] (default [0, 1]); point: the mean.

    ``sd: 0`` is a point mass at the mean (alpha and beta infinite: stored as None).
    """

    alpha: float | None = None
    beta: float | None = None
    low: float = 0.0
    high: float = 1.0
    mean_value: float = 0.5
    kind = "beta"

    @property
    def default_point(self) -> float:
        return self.mean_value

    @property
    def mean(self) -> float:
        return self.mean_value

    def _ppf(self, q):
        if self.alpha is None or self.high == self.low:
            return np.full(np.shape(q), self.mean_value) if np.ndim(q) else self.mean_value
        f = np.vectorize(lambda p: _beta_ppf01(self.alpha, self.beta, float(p)), otypes=[float])
        return self.low + (self.high - self.low) * f(q)

    def _sample(self, rng, n):
        if self.alpha is None or self.high == self.low:
            return np.full(n, self.mean_value)
        return self.low + (self.high - self.low) * rng.beta(self.alpha, self.beta, n)


DISTRIBUTIONS = {"uniform": Uniform, "triangular": Triangular, "lognormal": LogNormal,
                 "beta": Beta}
"""The ``dist:`` names and their classes."""

_FIELDS = {
    "uniform": ({"low", "high"},),
    "triangular": ({"low", "mode", "high"},),
    "lognormal": ({"median", "p90"}, {"median", "sigma"}),
    "beta": ({"mean", "sd"}, {"alpha", "beta"}, {"mean", "sd", "low", "high"},
             {"alpha", "beta", "low", "high"}),
}

Z90 = 1.2815515655446004
"""The standard normal's 90th percentile [-] (NIST/SEMATECH e-Handbook, table 1.3.6.7.1)."""


# --------------------------------------------------------------------------------------------
# parsing


def parse_distribution(spec: dict, where: str, key: str) -> Distribution:
    """A :class:`Distribution` from a ``{dist: ..}`` mapping.

    Parameters
    ----------
    spec : dict
        The mapping as written in the params file (or given to ``--set``).
    where : str
        The file (or ``--set``), for the error message.
    key : str
        The dotted key the mapping stands at, for the error message.

    Raises
    ------
    CostlibError
        One line naming the file and the key: unknown ``dist`` (the valid ones listed),
        missing or extra fields, non-finite values, inconsistent values.
    """
    at = f"{where}: {key}"
    kind = spec.get("dist")
    if kind not in DISTRIBUTIONS:
        raise CostlibError(f"{at}: unknown dist {kind!r}; valid: {', '.join(DISTRIBUTIONS)} "
                           f"({SYNTAX})")
    given = {k: v for k, v in spec.items() if k not in ("dist", "point")}
    forms = _FIELDS[kind]
    if set(given) not in forms:
        want = " or ".join(", ".join(sorted(f)) for f in forms)
        missing = sorted(min(forms, key=lambda f: len(f ^ set(given))) - set(given))
        extra = sorted(set(given) - set().union(*forms))
        what = (f"unknown field(s) {', '.join(extra)}" if extra
                else f"missing {', '.join(missing)}" if missing
                else f"fields {', '.join(sorted(given))} do not go together")
        raise CostlibError(f"{at}: {kind}: {what}; a {kind} takes {want} (and optional point)")
    values: dict[str, float] = {}
    for k, v in list(given.items()) + ([("point", spec["point"])] if "point" in spec else []):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise CostlibError(f"{at}: {kind}: {k} must be a finite number (got {v!r})")
        values[k] = float(v)
    point = values.pop("point", None)
    clean = {"dist": kind, **{k: spec[k] for k in given}, **({"point": spec["point"]}
                                                            if point is not None else {})}

    def need(ok: bool, msg: str) -> None:
        if not ok:
            raise CostlibError(f"{at}: {kind}: {msg}")

    if kind == "uniform":
        need(values["low"] <= values["high"], f"low {values['low']:g} is above high "
                                              f"{values['high']:g}; need low <= high")
        dist: Distribution = Uniform(clean, point, values["low"], values["high"])
    elif kind == "triangular":
        lo, m, hi = values["low"], values["mode"], values["high"]
        need(lo <= m <= hi, f"need low <= mode <= high (got {lo:g}, {m:g}, {hi:g})")
        dist = Triangular(clean, point, lo, m, hi)
    elif kind == "lognormal":
        med = values["median"]
        need(med > 0, f"median must be > 0 (got {med:g})")
        if "p90" in values:
            need(values["p90"] >= med, f"p90 {values['p90']:g} is below the median {med:g}")
            sigma = math.log(values["p90"] / med) / Z90
        else:
            sigma = values["sigma"]
            need(sigma >= 0, f"sigma must be >= 0 (got {sigma:g})")
        dist = LogNormal(clean, point, med, sigma)
    else:
        lo, hi = values.get("low", 0.0), values.get("high", 1.0)
        need(lo <= hi, f"low {lo:g} is above high {hi:g}; need low <= high")
        if "alpha" in values:
            a, b = values["alpha"], values["beta"]
            need(a > 0 and b > 0, f"alpha and beta must be > 0 (got {a:g}, {b:g})")
            need(hi > lo, "alpha and beta need low < high")
            dist = Beta(clean, point, a, b, lo, hi, lo + (hi - lo) * a / (a + b))
        else:
            mean, sd = values["mean"], values["sd"]
            need(lo <= mean <= hi, f"mean {mean:g} is outside [{lo:g}, {hi:g}]")
            need(sd >= 0, f"sd must be >= 0 (got {sd:g})")
            if sd == 0 or hi == lo:
                dist = Beta(clean, point, None, None, lo, hi, mean)
            else:
                m01, v01 = (mean - lo) / (hi - lo), (sd / (hi - lo)) ** 2
                need(0 < m01 < 1 and v01 < m01 * (1 - m01),
                     f"sd {sd:g} is too large for mean {mean:g} on [{lo:g}, {hi:g}]: a beta "
                     f"needs sd < sqrt((mean-low)(high-mean)) = "
                     f"{math.sqrt((mean - lo) * (hi - mean)):.4g}")
                k = m01 * (1 - m01) / v01 - 1
                dist = Beta(clean, point, m01 * k, (1 - m01) * k, lo, hi, mean)
    if point is not None:
        lo, hi = dist.support
        need(lo <= point <= hi, f"point {point:g} is outside the support [{lo:g}, {hi:g}]")
    return dist


def extract_distributions(data: Any, where: str, prefix: str = "") -> tuple[Any, dict]:
    """Replace every ``{dist: ..}`` mapping in raw params data by its point value.

    Returns
    -------
    tuple
        ``(data with point values, {"dotted.key": Distribution})``. ``data`` is not modified.
    """
    found: dict[str, Distribution] = {}

    def walk(node, path):
        if isinstance(node, dict):
            if "dist" in node and path:
                found[path] = parse_distribution(node, where, path)
                return found[path].point
            return {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(node)]
        return node

    return walk(data, prefix), found


def check_support(dist: Distribution, spec: dict, where: str, key: str) -> None:
    """Raise when a distribution's draws can leave the key's schema bounds.

    Parameters
    ----------
    spec : dict
        The key's entry of :func:`costlib.bill.vector.numeric_keys` (``ge``/``gt``/``le``/``lt``).
    """
    lo, hi = dist.support
    at = f"{where}: {key}: {dist.describe()}"
    if "le" in spec and hi > spec["le"] or "lt" in spec and hi >= spec["lt"]:
        bound = f"<= {spec['le']:g}" if "le" in spec else f"< {spec['lt']:g}"
        hint = ("; a lognormal has no upper bound: use beta or triangular"
                if isinstance(dist, LogNormal) and not dist.degenerate else "")
        raise CostlibError(f"{at} reaches {hi:g}, but the key must be {bound}{hint}")
    open_low = isinstance(dist, LogNormal) and not dist.degenerate  # (0, inf): never reaches 0
    if "ge" in spec and lo < spec["ge"] or "gt" in spec and (lo < spec["gt"] or lo == spec["gt"]
                                                             and not open_low):
        bound = f">= {spec['ge']:g}" if "ge" in spec else f"> {spec['gt']:g}"
        raise CostlibError(f"{at} reaches {lo:g}, but the key must be {bound}; raise its low "
                           f"end (or use a lognormal, which stays above 0)")
