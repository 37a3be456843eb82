"""Questions asked of an estimate: sweeps, break-even points, before/after comparisons.

Each function re-prices a params file under changed inputs with
:func:`costlib.whatif.compare.compare` and returns a tidy table, so the notebooks can chart it and
the tests can check it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from costlib.core.errors import CostlibError
from costlib.bill.params import Params, SelfHostedOption
from costlib.whatif.compare import compare


def sweep(params: Params, key: str, values) -> pd.DataFrame:
    """Re-price every option for each value of one params key.

    Parameters
    ----------
    params : Params
    key : str
        A dotted params key, e.g. ``"workload.avg_rps"`` or ``"options.p5.batch_size"``.
    values : iterable
        The values to try.

    Returns
    -------
    pandas.DataFrame
        Tidy: one row per value x option with ``monthly_usd``, ``usd_per_request`` and
        ``usd_per_1k_tokens``; the swept value sits in a column named after the key's last part.
    """
    column = key.split(".")[-1]
    frames = []
    base = None
    for value in values:
        c = compare(params, {key: value}, before=base)
        base = c.before
        frame = c.after.totals_frame()
        frame.insert(0, column, value)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def batch_sweep(params: Params, option: str, batches: Iterable[int]) -> pd.DataFrame:
    """Re-price one self-hosted option at each batch size it might hold.

    Parameters
    ----------
    params : Params
    option : str
        Name of a ``self_hosted`` option.
    batches : iterable of int
        Batch sizes (sequences per instance) to try.

    Returns
    -------
    pandas.DataFrame
        One row per batch: ``batch_size``, ``monthly_usd``, ``usd_per_request``,
        ``usd_per_1k_tokens``, ``tokens_per_second_per_instance`` (per sequence),
        ``instance_tokens_per_s`` (per instance, = per sequence x batch), ``avg_instances``,
        ``p95_ttft_ms`` and ``p95_tpot_ms`` when the throughput model supplied them,
        ``meets_latency_target`` (every p95 bound of ``workload.latency`` met; a batch forced
        above what the bounds allow shows False; a batch beyond memory queues, and its TTFT
        shows it), and ``feasible`` / ``note``: a batch that cannot be served at all has NaN
        costs and the reason in ``note``.
    """
    opt = params.options.get(option)
    if not isinstance(opt, SelfHostedOption):
        raise CostlibError(f"batch_sweep: {option!r} is not a self_hosted option of this params "
                           f"file")
    rows = []
    base = None
    for batch in batches:
        try:  # price only the option of interest
            c = compare(params, {f"options.{option}.batch_size": int(batch)}, before=base,
                        options=[option])
        except CostlibError as exc:  # e.g. the batch does not fit in memory
            rows.append({"batch_size": int(batch), "feasible": False, "note": exc.message})
            continue
        base = c.before
        result = c.after
        o = result.options[0]
        tps = o.details["tokens_per_second_per_instance"]
        rows.append({
            "batch_size": int(batch),
            "monthly_usd": o.monthly_usd,
            "usd_per_request": o.usd_per_request,
            "usd_per_1k_tokens": o.usd_per_1k_tokens,
            "tokens_per_second_per_instance": tps,
            "instance_tokens_per_s": tps * int(batch),
            "avg_instances": o.details["avg_instances"],
            "p95_ttft_ms": o.details.get("p95_ttft_ms"),
            "p95_tpot_ms": (o.details.get("serving") or {}).get("p95_tpot_ms"),
            "meets_latency_target": _meets(o.details.get("serving"), params),
            "feasible": True,
            "note": "",
        })
    return pd.DataFrame(rows)


_BOUND_OF = {"ttft_p95_ms": "p95_ttft_ms", "tpot_p95_ms": "p95_tpot_ms", "e2e_p95_ms": "p95_e2e_latency_ms"}


def _meets(serving: dict | None, params: Params):
    """Whether a modelled point meets every p95 bound of the workload (None: not modelled)."""
    if not serving:
        return None
    return all(serving[_BOUND_OF[name]] <= limit * (1 + 1e-9)
               for name, limit in params.workload.latency_bounds.items())


def breakeven_batch(sweep: pd.DataFrame, reference_monthly_usd: float) -> int | None:
    """Smallest swept batch at which the self-hosted bill is at most a reference bill.

    Parameters
    ----------
    sweep : pandas.DataFrame
        From :func:`batch_sweep`.
    reference_monthly_usd : float
        The monthly total to beat, e.g. a managed option's [USD/month].

    Returns
    -------
    int or None
        The batch size, or ``None`` when no swept batch breaks even.
    """
    ok = sweep[sweep["feasible"] & (sweep["monthly_usd"] <= reference_monthly_usd)]
    return None if ok.empty else int(ok["batch_size"].min())


def lever_table(params: Params, levers: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Before/after totals of every option for each lever.

    Parameters
    ----------
    params : Params
        The "before".
    levers : mapping
        Lever name -> ``{"dotted.key": value, ...}`` overrides that pull it.

    Returns
    -------
    pandas.DataFrame
        One row per lever x option: ``lever``, ``option``, ``before_usd``, ``after_usd``,
        ``change_usd`` and ``change_pct`` (negative = cheaper).
    """
    base = None
    frames = []
    for lever, overrides in levers.items():
        c = compare(params, dict(overrides), before=base)
        base = c.before
        frames.append(c.totals().drop(columns="kind").assign(lever=lever))
    columns = ["lever", "option", "before_usd", "after_usd", "change_usd", "change_pct"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
