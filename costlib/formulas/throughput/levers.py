"""Levers: quantization and speculative decoding, with their effect on throughput and the bill.

Each lever is evaluated by re-running :func:`~costlib.formulas.throughput.serving.serving_point` with the
lever applied and the same SLO, so the comparison includes every side effect the model knows:
smaller weights leave more KV room (more concurrency), fewer bytes per decode step, FP8 compute
where the GPU has it; speculative decoding multiplies tokens per target step by
τ = (1 − α^(k+1)) / (1 − α) but pays k draft passes and a (k+1)-token verify pass, so it helps at
small batches and can hurt at large ones.

Caveat (where the model is optimistic): weight-only int8/int4 kernels achieve lower bandwidth than
bf16 in practice (gpt-fast: 1,069 and 863 GB/s vs 1,397 GB/s on A100); the model uses one
bandwidth efficiency for all precisions.
"""

from __future__ import annotations

from costlib.core.errors import CostlibError
from costlib.formulas.throughput.serving import ServingPoint, serving_point
from costlib.core.units import SECONDS_PER_HOUR, TOKENS_PER_1K


def usd_per_1k_tokens(instance_usd_per_hour: float, total_tokens_per_s: float):
    """Effective price per 1k (input + output) tokens of a fully used instance [USD / 1k tokens].

    Notes
    -----
    price = usd_per_hour / (tokens_per_s · 3600 / 1000), the article worksheet's step 4 for one
    instance.

    References
    ----------
    The article, "The math you should actually run", step 4.

    Examples
    --------
    >>> round(usd_per_1k_tokens(21.96, 3600.0), 6)
    0.001694
    """
    return instance_usd_per_hour / (total_tokens_per_s * SECONDS_PER_HOUR / TOKENS_PER_1K)


def compare_levers(model: str, *, usd_per_hour: float | None = None,
                   variants: dict[str, dict] | None = None, **base) -> list[dict]:
    """Serving points for a base configuration and lever variants.

    Parameters
    ----------
    model : str
        Model name.
    usd_per_hour : float, optional
        Instance price, to add ``usd_per_1k_tokens`` to each row.
    variants : dict, optional
        Name -> keyword overrides for :func:`serving_point`. Default: bf16, fp8 weights + fp8 KV,
        int8 weights + fp8 KV, int4 weights + fp8 KV.
    **base
        Keyword arguments of :func:`serving_point` shared by all variants.

    Returns
    -------
    list of dict
        One row per variant: name, the ServingPoint fields, usd_per_1k_tokens, or ``error``.
    """
    variants = variants or {
        "bf16": dict(precision="bf16", kv_precision="bf16"),
        "fp8 + fp8 KV": dict(precision="fp8", kv_precision="fp8"),
        "int8 + fp8 KV": dict(precision="int8", kv_precision="fp8"),
        "int4 + fp8 KV": dict(precision="int4", kv_precision="fp8"),
    }
    rows = []
    for name, over in variants.items():
        try:
            sp: ServingPoint = serving_point(model, **{**base, **over})
        except CostlibError as e:
            rows.append(dict(variant=name, error=e.message))
            continue
        row = dict(variant=name, **sp.to_dict())
        if usd_per_hour is not None:
            row["usd_per_1k_tokens"] = usd_per_1k_tokens(usd_per_hour, sp.total_tokens_per_s)
        rows.append(row)
    return rows
