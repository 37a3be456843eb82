"""Monte Carlo over a params file's uncertain inputs: P10/P50/P90 per option, P(cheapest).

A params file may give any numeric key as a distribution (:mod:`costlib.bill.distributions`;
``avg_rps: {dist: triangular, low: 30, mode: 40, high: 60}``). :func:`monte_carlo` draws every
uncertain input ``draws`` times from ``numpy.random.default_rng(seed)`` and prices every
option's whole bill for all draws at once (:func:`costlib.bill.vector.price_many`), then reports
per option the 10th, 50th and 90th percentiles and the mean of the monthly total, and the share
of draws in which the option is the cheapest (ties go to the first option in the file, as
:attr:`costlib.bill.vector.Bill.cheapest`).

Approximations, stated in every result's ``notes``:

- **Independent inputs.** Each input is drawn independently of the others: correlations
  (a busier month with longer prompts, say) are not modelled.
- **Structural inputs are discretised.** An input that changes what is computed
  (:func:`costlib.bill.vector.structural_keys`: token counts and latency bounds when a
  self-hosted option derives its throughput, fleet policies, integer counts, retrieval sizing)
  costs a full pass per distinct value, so it cannot take 10,000 values. Its distribution is
  replaced by ``levels`` equally likely atoms, its quantiles at ``(i + 0.5) / levels``; when
  several structural inputs are uncertain their atoms are paired by a Latin hypercube of
  ``levels`` rows (each input's atoms in a random order), so there are at most ``levels``
  passes, not ``levels ** m``. Each row is given to exactly ``draws / levels`` draws (up to one).
  Continuous inputs are drawn afresh for every draw.
- **Integer inputs** (counts) are rounded to whole numbers after drawing.
- Percentiles are of the draws (numpy's linear interpolation): a sampling error of order
  ``1 / sqrt(draws)`` of the spread.

A degenerate distribution (``low == high``, ``sigma: 0``, ``sd: 0``) gives every draw the point
value, so the P10, P50 and P90 equal the plain estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from costlib.bill.distributions import SYNTAX, Distribution
from costlib.bill.params import Params, uncertain_inputs
from costlib.bill.vector import numeric_keys, price_many, structural_keys
from costlib.core.errors import CostlibError

__all__ = ["DEFAULT_DRAWS", "DEFAULT_SEED", "DEFAULT_LEVELS", "MonteCarlo", "monte_carlo",
           "structural_atoms"]

DEFAULT_DRAWS = 10_000
"""Draws when neither the call nor the file's ``uncertainty.draws`` says [-]."""

DEFAULT_SEED = 13
"""Seed of ``numpy.random.default_rng`` when neither the call nor ``uncertainty.seed`` says."""

DEFAULT_LEVELS = 16
"""Equally likely atoms a structural input is discretised to [-]."""

QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class MonteCarlo:
    """The result of :func:`monte_carlo`.

    Attributes
    ----------
    options : list of str
        Option names, in the file's order.
    point_usd : dict
        ``{option: monthly total at the point values}`` [USD/month] (the plain estimate).
    p10_usd, p50_usd, p90_usd, mean_usd : dict
        ``{option: percentile or mean of the monthly total over the draws}`` [USD/month].
    p_cheapest : dict
        ``{option: share of draws in which it is the cheapest}`` [-]; sums to 1.
    inputs : dict
        ``{dotted.key: array of the values drawn}``, shape (draws,).
    totals : dict
        ``{option: array of monthly totals}`` [USD/month], shape (draws,).
    distributions : dict
        ``{dotted.key: Distribution}``.
    structural : list of str
        The uncertain inputs discretised to ``levels`` atoms.
    draws, seed, levels, groups : int
        Draws, the seed, atoms per structural input, passes the bill took.
    notes : list of str
        The approximations made (see the module notes).
    """

    options: list
    point_usd: dict
    p10_usd: dict
    p50_usd: dict
    p90_usd: dict
    mean_usd: dict
    p_cheapest: dict
    inputs: dict
    totals: dict
    distributions: dict
    structural: list
    draws: int
    seed: int
    levels: int
    groups: int
    notes: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One row per option: ``option``, ``point_usd``, ``p10_usd``, ``p50_usd``, ``p90_usd``,
        ``mean_usd`` [USD/month], ``p_cheapest`` [-]."""
        return pd.DataFrame({
            "option": self.options,
            "point_usd": [self.point_usd[o] for o in self.options],
            "p10_usd": [self.p10_usd[o] for o in self.options],
            "p50_usd": [self.p50_usd[o] for o in self.options],
            "p90_usd": [self.p90_usd[o] for o in self.options],
            "mean_usd": [self.mean_usd[o] for o in self.options],
            "p_cheapest": [self.p_cheapest[o] for o in self.options],
        })

    def to_dict(self, arrays: bool = False) -> dict:
        """JSON-safe summary (no NaN or infinity); ``arrays=True`` adds the draws and totals."""
        out = {
            "draws": self.draws, "seed": self.seed, "levels": self.levels, "groups": self.groups,
            "options": {o: {"point_usd": self.point_usd[o], "p10_usd": self.p10_usd[o],
                            "p50_usd": self.p50_usd[o], "p90_usd": self.p90_usd[o],
                            "mean_usd": self.mean_usd[o], "p_cheapest": self.p_cheapest[o]}
                        for o in self.options},
            "inputs": {k: {**d.to_dict(), "structural": k in self.structural}
                       for k, d in self.distributions.items()},
            "notes": list(self.notes),
        }
        if arrays:
            out["drawn"] = {k: v.tolist() for k, v in self.inputs.items()}
            out["totals"] = {o: v.tolist() for o, v in self.totals.items()}
        return out


def structural_atoms(dist: Distribution, levels: int, integer: bool = False) -> np.ndarray:
    """``levels`` equally likely values standing for a distribution [the key's unit].

    The quantiles at ``(i + 0.5) / levels``, i = 0 .. levels - 1 (the midpoint rule on the
    quantile function), rounded for an integer key. An approximation of the marginal: its
    P10 and P90 fall between atoms.

    Examples
    --------
    >>> from costlib.bill.distributions import parse_distribution
    >>> structural_atoms(parse_distribution({"dist": "uniform", "low": 0, "high": 4}, "f", "k"), 4)
    array([0.5, 1.5, 2.5, 3.5])
    """
    atoms = np.asarray(dist.ppf((np.arange(levels) + 0.5) / levels), dtype=float)
    return np.round(atoms) if integer else atoms


def _draw(dists: dict, structural: list, known: dict, n: int, levels: int,
          rng: np.random.Generator) -> dict:
    """The drawn inputs: structural ones from a Latin hypercube of atoms, the rest afresh."""
    out: dict[str, np.ndarray] = {}
    rows = None
    if structural:
        rows = rng.permutation(np.arange(n) % levels)  # each row of the hypercube n/levels times
    for key, dist in dists.items():
        integer = bool(known[key].get("integer"))
        if key in structural:
            atoms = structural_atoms(dist, levels, integer)
            column = atoms[rng.permutation(levels)]  # this input's atoms in the hypercube's rows
            out[key] = column[rows]
        else:
            x = dist.sample(rng, n)
            out[key] = np.round(x) if integer else x
    return out


def monte_carlo(params: Params, draws: int | None = None, seed: int | None = None,
                levels: int = DEFAULT_LEVELS, base_dir: Path | None = None) -> MonteCarlo:
    """Price every option for ``draws`` draws of the uncertain inputs.

    Parameters
    ----------
    params : Params
        Loaded params with at least one distribution (:func:`costlib.bill.params.uncertain_inputs`).
    draws : int, optional
        Draws [-] (default: the file's ``uncertainty.draws``, else :data:`DEFAULT_DRAWS`).
    seed : int, optional
        Seed of ``numpy.random.default_rng`` (default: ``uncertainty.seed``, else
        :data:`DEFAULT_SEED`); the same seed gives the same result.
    levels : int
        Atoms per structural input, and rows of their Latin hypercube [-].
    base_dir : Path, optional
        As for :func:`costlib.bill.vector.price_many`.

    Returns
    -------
    MonteCarlo

    Raises
    ------
    CostlibError
        When the file has no distribution, or a drawn row cannot be priced (named by
        price_many; the inputs are drawn independently, so ranges must be consistent alone).
    """
    dists = uncertain_inputs(params)
    where = str(params.source_path) if params.source_path is not None else "params"
    if not dists:
        raise CostlibError(f"{where}: no input is given as a distribution, so there is nothing "
                           f"to draw; write a numeric key as one, e.g. workload.avg_rps: "
                           f"{{dist: triangular, low: 30, mode: 40, high: 60}} ({SYNTAX})")
    settings = params.uncertainty
    n = int(draws if draws is not None else settings.draws or DEFAULT_DRAWS)
    seed = int(seed if seed is not None else
               (settings.seed if settings.seed is not None else DEFAULT_SEED))
    if n < 1:
        raise CostlibError(f"draws: {n} is not valid; give at least 1 (default {DEFAULT_DRAWS})")
    if levels < 1:
        raise CostlibError(f"levels: {levels} is not valid; give at least 1 "
                           f"(default {DEFAULT_LEVELS})")
    known = numeric_keys(params)
    structural = [k for k in structural_keys(params, list(dists)) if not dists[k].degenerate]
    rng = np.random.default_rng(seed)
    inputs = _draw(dists, structural, known, n, levels, rng)
    try:
        bill = price_many(params, inputs, base_dir)
    except CostlibError as exc:
        raise CostlibError(f"{where}: Monte Carlo: {exc.message} (inputs are drawn "
                           f"independently: each distribution's range must be valid whatever "
                           f"the others draw)") from None
    point = price_many(params, None, base_dir)
    options = list(bill.options)
    totals = bill.totals
    qs = {o: np.quantile(totals[o], QUANTILES) for o in options}
    cheapest = bill.cheapest
    notes = ["inputs are drawn independently: correlations between them are not modelled"]
    if structural:
        notes.append(
            f"{', '.join(structural)}: structural (each distinct value is a full pass), so "
            f"discretised to {levels} equally likely atoms (quantiles at (i+0.5)/{levels})"
            + (", paired by a Latin hypercube" if len(structural) > 1 else "")
            + f": an approximation of the distribution; {bill.groups} pass(es)")
    rounded = [k for k in dists if known[k].get("integer")]
    if rounded:
        notes.append(f"{', '.join(rounded)}: whole numbers, draws rounded")
    notes.append(f"{n:,} draws, seed {seed}: percentiles carry a sampling error of order "
                 f"1/sqrt(draws) = {1 / math.sqrt(n):.1%} of the spread")
    return MonteCarlo(
        options=options,
        point_usd={o: float(point.total(o)[0]) for o in options},
        p10_usd={o: float(qs[o][0]) for o in options},
        p50_usd={o: float(qs[o][1]) for o in options},
        p90_usd={o: float(qs[o][2]) for o in options},
        mean_usd={o: float(np.mean(totals[o])) for o in options},
        p_cheapest={o: float(np.count_nonzero(cheapest == o)) / n for o in options},
        inputs=inputs, totals=totals, distributions=dists, structural=structural, draws=n,
        seed=seed, levels=levels, groups=bill.groups, notes=notes)
