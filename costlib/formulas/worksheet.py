"""The sizing worksheet: four formulas to run before picking a way to serve a model.

These are the formulas of the article's section "The math you should actually run", one function
each, working on floats and numpy arrays alike (so a sweep over thousands of inputs is one call).

The article's worksheet inputs are per request ``in_tokens`` and ``out_tokens``, traffic
``avg_rps`` and ``p95_rps``, a latency target ``p95_latency_ms``, the batch you can realistically
hold at p95 (``batch_size``) and the model's throughput on the chosen hardware
(``tokens_per_second_per_instance``). Throughput is counted the way the worksheet counts demand:
tokens per second *including the prompt* (input + output), and ``tokens_per_second_per_instance``
is what one instance sustains per sequence, so an instance holding a batch of ``batch_size``
sequences serves ``tokens_per_second_per_instance * batch_size`` tokens/s.

References
----------
.. [1] "The real cost breakdown of running LLM apps on AWS", section "The math you should
   actually run" (``shared/reference/llm-on-aws-cost-article.txt`` in the project workspace).
"""

from __future__ import annotations

import numpy as np

from costlib.core.errors import CostlibError
from costlib.core.units import SECONDS_PER_HOUR, TOKENS_PER_1K

__all__ = [
    "tokens_per_request",
    "tokens_per_second_at_p95",
    "required_instances",
    "instances_to_provision",
    "usd_per_1k_tokens_self_hosted",
]


def _out(x):
    """A Python float for scalar results, the array otherwise."""
    return float(x) if np.ndim(x) == 0 else x


def tokens_per_request(in_tokens, out_tokens):
    """Tokens one request moves through the model: prompt plus answer [tokens].

    Parameters
    ----------
    in_tokens : float or array_like
        Input (prompt) tokens per request [tokens].
    out_tokens : float or array_like
        Output (generated) tokens per request [tokens].

    Returns
    -------
    float or numpy.ndarray
        Tokens per request [tokens].

    Notes
    -----
    Worksheet formula 1 [1]_: ``tokens_per_request = in_tokens + out_tokens``.

    References
    ----------
    .. [1] Article, "The math you should actually run", step 1.

    Examples
    --------
    >>> float(tokens_per_request(1500, 400))
    1900.0
    """
    return _out(np.add(in_tokens, out_tokens, dtype=float))


def tokens_per_second_at_p95(p95_rps, in_tokens, out_tokens):
    """Token rate the system must absorb at the 95th-percentile request rate [tokens/s].

    Parameters
    ----------
    p95_rps : float or array_like
        Requests per second at the 95th percentile of traffic [requests/s].
    in_tokens, out_tokens : float or array_like
        Input and output tokens per request [tokens].

    Returns
    -------
    float or numpy.ndarray
        Tokens per second at p95 [tokens/s].

    Notes
    -----
    Worksheet formula 2 [1]_: ``p95_rps * (in_tokens + out_tokens)``.

    References
    ----------
    .. [1] Article, "The math you should actually run", step 2.

    Examples
    --------
    >>> float(tokens_per_second_at_p95(40, 2000, 500))
    100000.0
    """
    return _out(np.multiply(p95_rps, tokens_per_request(in_tokens, out_tokens), dtype=float))


def required_instances(tokens_per_s, tokens_per_second_per_instance, batch_size):
    """Instances needed to absorb a token rate, as a fraction [instances].

    Parameters
    ----------
    tokens_per_s : float or array_like
        Token rate to serve, e.g. :func:`tokens_per_second_at_p95` [tokens/s].
    tokens_per_second_per_instance : float or array_like
        Tokens one instance sustains per sequence at the target quality settings [tokens/s].
    batch_size : float or array_like
        Sequences an instance realistically holds at p95 (the batch-size efficiency) [-].

    Returns
    -------
    float or numpy.ndarray
        Instances required [instances], not rounded; see :func:`instances_to_provision`.

    Notes
    -----
    Worksheet formula 3 [1]_:
    ``tokens_per_s / (tokens_per_second_per_instance * batch_size)``.

    References
    ----------
    .. [1] Article, "The math you should actually run", step 3.

    Examples
    --------
    >>> float(required_instances(100_000, 2_500, 4))
    10.0
    """
    demand = np.asarray(tokens_per_s, dtype=float)
    tps = np.asarray(tokens_per_second_per_instance, dtype=float)
    batch = np.asarray(batch_size, dtype=float)
    if np.any(~np.isfinite(demand)) or np.any(demand < 0):
        raise CostlibError("required_instances: the token rate must be finite and >= 0")
    if np.any(~(tps > 0)):
        raise CostlibError("required_instances: tokens_per_second_per_instance must be > 0")
    if np.any(~(batch > 0)):
        raise CostlibError("required_instances: batch_size must be > 0 (the article expects 2 "
                           "to 4 at a tight p95)")
    return _out(demand / (tps * batch))


def instances_to_provision(required):
    """Whole instances to run for a fractional requirement [instances].

    Parameters
    ----------
    required : float or array_like
        Fractional instances from :func:`required_instances` [instances].

    Returns
    -------
    float or numpy.ndarray
        ``ceil(required)``, at least 0 [instances].

    Notes
    -----
    A tiny tolerance (1e-9) keeps float noise such as ``10.000000000000002`` from renting an 11th
    instance.

    Examples
    --------
    >>> float(instances_to_provision(2.1))
    3.0
    """
    return _out(np.maximum(np.ceil(np.asarray(required, dtype=float) - 1e-9), 0.0))


def usd_per_1k_tokens_self_hosted(instance_usd_per_hour, instances, tokens_per_s_total):
    """Effective price of a self-hosted fleet per 1,000 tokens served [USD/1k tokens].

    Parameters
    ----------
    instance_usd_per_hour : float or array_like
        Price of one instance-hour [USD/h].
    instances : float or array_like
        Instances running [instances].
    tokens_per_s_total : float or array_like
        Tokens per second the whole fleet serves, input plus output [tokens/s].

    Returns
    -------
    float or numpy.ndarray
        Effective price [USD per 1k tokens].

    Notes
    -----
    Worksheet formula 4 [1]_:
    ``(instance_usd_per_hour * instances) / (tokens_per_s_total * 3600 / 1000)``.
    The price depends on the token rate you put in: at the p95 rate it is the best case, at the
    month's average rate it is what the bill works out to per token.

    References
    ----------
    .. [1] Article, "The math you should actually run", step 4.

    Examples
    --------
    >>> round(float(usd_per_1k_tokens_self_hosted(21.957642, 10, 100_000)), 6)
    0.00061
    """
    usd_per_hour = np.multiply(instance_usd_per_hour, instances, dtype=float)
    thousand_tokens_per_hour = np.multiply(tokens_per_s_total, SECONDS_PER_HOUR / TOKENS_PER_1K)
    return _out(np.divide(usd_per_hour, thousand_tokens_per_hour, dtype=float))
