"""A unit of work: one conversation, ticket or agent task, and what it costs.

The bill prices requests: the workload's ``avg_rps`` requests a second, each of
``in_tokens`` + ``out_tokens``. What a product team budgets is a conversation, a support ticket
or an agent task, made of several model calls. The optional ``work_unit:`` block of a params
file describes one such unit::

    work_unit:
      name: support conversation
      turns: 4                 # rounds of the conversation
      calls:                   # model calls in each turn
        - {name: answer, in_tokens: 3000, out_tokens: 300, count: 1}
      tool_calls: 2            # counted, not priced (see below)

and the estimate reports, beside the cost per request and per 1,000 tokens, the cost per unit.

Relations to the workload (checked when the file loads):

- requests per unit = ``turns * sum(count)``; every model call is one request of the
  workload, so units per month = requests per month / requests per unit;
- the call-weighted mean tokens ``sum(count * in_tokens) / sum(count)`` (and the same for
  ``out_tokens``) must equal the workload's ``in_tokens`` / ``out_tokens``: the bill prices
  every request at the workload's mean, so a unit whose calls average something else would
  give a per-unit figure the bill does not support. A call without ``in_tokens`` /
  ``out_tokens`` takes the workload's (then a lever or ``--set`` that changes the workload's
  prompt moves the unit's calls too). Tokens are those of the workload: retrieved context,
  when ``retrieval.enabled``, is added to every call by the retrieval block, not here;
- retrieval runs once per request when ``retrieval.enabled`` (that is how
  :mod:`costlib.bill.plumbing.retrieval` prices it), so ``retrievals`` per unit, when given,
  must equal the requests per unit (or 0 with retrieval off); left out, it is derived;
- ``tool_calls`` are counted, not priced: the engine models no tool executor, and inventing
  its price would be a precise-looking wrong number. The model call that reads a tool's
  result is a model call: list it in ``calls`` (it is not added for you).

The two per-unit figures of an option are

- ``usd_per_unit`` = usage part of the bill / units per month: what one more unit costs
  (the floor, paid without traffic, left out); ``usd_per_unit * units_per_month`` is the
  usage part exactly;
- ``usd_per_unit_all_in`` = whole bill / units per month: the floor shared over this month's
  units (it falls as traffic grows).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from costlib.bill.lineitems import fmt
from costlib.core.schema import Strict

__all__ = ["ModelCall", "WorkUnit", "requests_per_unit", "units_per_month",
           "tokens_mismatch", "retrievals_mismatch", "work_unit_summary"]

TOKEN_ROUNDING = 0.5
"""Largest gap between the calls' mean tokens and the workload's read as rounding [tokens]."""


class ModelCall(Strict):
    """One model call of a turn.

    Attributes
    ----------
    name : str
        What the call does (``answer``, ``rewrite the question``, ``read the tool result``).
    in_tokens, out_tokens : float, optional
        Prompt and answer tokens of the call [tokens]; default the workload's.
    count : int
        Times the call is made in each turn [-], at least 1.
    """

    name: str
    in_tokens: float | None = Field(None, gt=0)
    out_tokens: float | None = Field(None, gt=0)
    count: int = Field(1, ge=1)


class WorkUnit(Strict):
    """The ``work_unit:`` block: one conversation, ticket or agent task.

    Attributes
    ----------
    name : str
        What a unit is, in words (``support conversation``).
    turns : int
        Rounds of model calls per unit [-], at least 1.
    calls : list of ModelCall
        The model calls of one turn (at least one).
    retrievals : float, optional
        Retrievals per unit [-]; must equal the requests per unit with retrieval on (the bill
        retrieves once per request), 0 with it off; default derived.
    tool_calls : float
        Tool calls per unit [-]; counted, not priced (no tool executor is modelled).
    """

    name: str
    turns: int = Field(1, ge=1)
    calls: list[ModelCall] = Field(min_length=1)
    retrievals: float | None = Field(None, ge=0)
    tool_calls: float = Field(0.0, ge=0)


def requests_per_unit(unit: WorkUnit):
    """Model requests of one unit: ``turns * sum(count)`` [requests/unit].

    Examples
    --------
    Four turns of one answer and one rewrite: 4 x (1 + 1) = 8 requests.

    >>> u = WorkUnit(name="chat", turns=4, calls=[{"name": "answer"}, {"name": "rewrite"}])
    >>> float(requests_per_unit(u))
    8.0
    """
    return np.asarray(unit.turns, dtype=float) * sum(
        np.asarray(c.count, dtype=float) for c in unit.calls)


def units_per_month(requests_per_month, unit: WorkUnit):
    """Units of work in a month: requests per month / requests per unit [units/month].

    Parameters
    ----------
    requests_per_month : float or numpy.ndarray
        Requests of the workload in a 730-hour month [requests/month].
    unit : WorkUnit

    Examples
    --------
    2 requests/s for 730 h is 5,256,000 requests; at 4 requests a unit, 1,314,000 units.

    >>> u = WorkUnit(name="chat", turns=4, calls=[{"name": "answer"}])
    >>> float(units_per_month(2 * 730 * 3600, u))
    1314000.0
    """
    return np.asarray(requests_per_month, dtype=float) / requests_per_unit(unit)


def _mean_tokens(unit: WorkUnit, field: str, workload_tokens):
    counts = [np.asarray(c.count, dtype=float) for c in unit.calls]
    toks = [np.asarray(workload_tokens if getattr(c, field) is None else getattr(c, field),
                       dtype=float) for c in unit.calls]
    return sum(n * t for n, t in zip(counts, toks)) / sum(counts)


def tokens_mismatch(unit: WorkUnit, in_tokens, out_tokens) -> str | None:
    """Why the unit's calls disagree with the workload's mean tokens, or None when they agree.

    The call-weighted mean ``sum(count * tokens) / sum(count)`` must be within
    :data:`TOKEN_ROUNDING` of the workload's ``in_tokens`` and ``out_tokens`` (every row, for
    arrays).
    """
    for field, stated in (("in_tokens", in_tokens), ("out_tokens", out_tokens)):
        mean = np.asarray(_mean_tokens(unit, field, stated), dtype=float)
        gap = np.abs(mean - np.asarray(stated, dtype=float))
        if np.any(gap > TOKEN_ROUNDING):
            i = int(np.argmax(gap.reshape(-1)))
            m = float(np.broadcast_to(mean, gap.shape).reshape(-1)[i])
            w = float(np.broadcast_to(np.asarray(stated, dtype=float), gap.shape).reshape(-1)[i])
            return (f"work_unit.calls: their call-weighted mean {field} is {m:g} but "
                    f"workload.{field} is {w:g}; the bill prices every request at the "
                    f"workload's mean, so make them agree (or leave {field} out of the calls "
                    "to use the workload's)")
    return None


def retrievals_mismatch(unit: WorkUnit, retrieval_enabled: bool) -> str | None:
    """Why the unit's ``retrievals`` disagree with how retrieval is priced, or None."""
    if unit.retrievals is None:
        return None
    want = requests_per_unit(unit) if retrieval_enabled else np.asarray(0.0)
    if np.any(np.abs(np.asarray(unit.retrievals, dtype=float) - want) > 1e-9):
        if retrieval_enabled:
            return (f"work_unit.retrievals: {fmt(unit.retrievals)} per unit, but the bill retrieves "
                    f"once per model request ({float(np.max(want)):g} requests per unit with "
                    "retrieval.enabled true); give that number or leave retrievals out")
        return (f"work_unit.retrievals: {fmt(unit.retrievals)} per unit, but retrieval.enabled is "
                "false, so no retrieval is priced; give 0, leave it out, or enable retrieval")
    return None


def work_unit_summary(unit: WorkUnit, requests_per_month, retrieval_enabled: bool,
                      in_tokens, out_tokens) -> dict:
    """The figures of one unit the estimate reports (``work_unit`` of ``--json``)."""
    rpu = requests_per_unit(unit)
    return {
        "name": unit.name,
        "turns": unit.turns,
        "calls": [{"name": c.name,
                   "in_tokens": in_tokens if c.in_tokens is None else c.in_tokens,
                   "out_tokens": out_tokens if c.out_tokens is None else c.out_tokens,
                   "count": c.count} for c in unit.calls],
        "requests_per_unit": rpu,
        "units_per_month": units_per_month(requests_per_month, unit),
        "retrievals_per_unit": rpu if retrieval_enabled else 0.0,
        "tool_calls_per_unit": unit.tool_calls,
        "tokens_per_unit": rpu * (np.asarray(in_tokens, dtype=float)
                                  + np.asarray(out_tokens, dtype=float)),
        "notes": ["tool calls are counted, not priced: no tool executor is modelled; the model "
                  "call that reads a tool result is one of the calls",
                  "usd_per_unit = usage part / units per month (floor left out); "
                  "usd_per_unit_all_in = whole bill / units per month"],
    }
