"""Queueing formulas of continuous batching: what a request waits for before its first token.

A continuous-batching engine (vLLM, TensorRT-LLM in-flight batching, TGI) runs one forward pass
("step") after another. Every step carries one token of each decoding sequence and, in the room
left by a token budget (``max_batched_tokens``), chunks of waiting prompts (chunked prefill). A
request that arrives therefore waits for

1. the step in flight to finish (:func:`residual_step_s`);
2. the prompts ahead of it to be prefilled in the budget the decodes leave (an M/G/1 queue whose
   server is that budget: :func:`prefill_utilisation`, ``roofline.mg1_mean_wait_s``);
3. its own prefill, in one step or in several chunks (:func:`prefill_chunks`);
4. and, when the KV cache is full, a free sequence slot (an M/M/c admission queue,
   :func:`erlang_c_wait_s`; in a closed loop, :func:`closed_loop_admission_wait_s`).

Its time per output token is the mean step time with the other requests' prefill chunks mixed in.
Every function takes floats or numpy arrays (broadcast) and returns the same; the engine model
that chains them is :mod:`costlib.formulas.throughput.serving`.

References
----------
.. [1] W. Kwon et al., "Efficient Memory Management for Large Language Model Serving with
   PagedAttention", SOSP 2023 (paged KV cache allocated block by block as tokens are made).
.. [2] A. Agrawal et al., "Taming Throughput-Latency Tradeoff in LLM Inference with
   Sarathi-Serve", OSDI 2024 (chunked prefill within a per-step token budget).
.. [3] L. Kleinrock, *Queueing Systems, Vol. 1* (1975): Pollaczek-Khinchine (M/G/1), Erlang C
   (M/M/c), Little's law L = λW.
"""

from __future__ import annotations

import numpy as np

Z95 = 1.6448536269514722
"""Standard normal 95th percentile."""
Z50 = 0.0


def _out(x):
    """A float for scalar inputs, the array otherwise."""
    return float(x) if np.ndim(x) == 0 else x


def residual_step_s(step_s, busy_probability):
    """Mean wait for the step in flight when a request arrives [s].

    Parameters
    ----------
    step_s : float or array
        Mean step time [s].
    busy_probability : float or array
        Probability that the engine is running a step when the request arrives [-].

    Notes
    -----
    A step in progress is, at a random arrival, half done on average (steps of nearly equal
    length): ``busy · t / 2``. An idle engine starts the request at once.

    Examples
    --------
    >>> residual_step_s(0.03, 1.0)
    0.015
    """
    return _out(np.asarray(busy_probability, float) * np.asarray(step_s, float) / 2.0)


def poisson_busy_probability(others_in_flight):
    """Probability that at least one other request is in the engine (Poisson arrivals) [-].

    Notes
    -----
    Arrivals see time averages (PASTA); with ``n`` others in flight on average and independent
    requests, P(none) ≈ exp(−n).

    Examples
    --------
    >>> round(float(poisson_busy_probability(1.0)), 4)
    0.6321
    """
    return _out(-np.expm1(-np.maximum(np.asarray(others_in_flight, float), 0.0)))


def prefill_utilisation(prefill_tokens_per_step, budget_tokens, decode_seqs):
    """Share of the step's prefill room that prompts use [-].

    Parameters
    ----------
    prefill_tokens_per_step : float or array
        Mean prompt tokens processed per step [tokens].
    budget_tokens : float or array
        The engine's token budget per step (``max_batched_tokens``) [tokens].
    decode_seqs : float or array
        Mean decoding sequences per step (one token each) [-].

    Notes
    -----
    ρ = p / (B − d): prompts are served by what the decodes leave of the budget; ρ ≥ 1 means the
    prompts arrive faster than the engine can prefill them (unstable, infinite wait).

    Examples
    --------
    >>> prefill_utilisation(1000.0, 2048.0, 48.0)
    0.5
    """
    room = np.asarray(budget_tokens, float) - np.asarray(decode_seqs, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.asarray(prefill_tokens_per_step, float) / room
    return _out(np.where(room > 0, rho, np.inf))


def prefill_chunks(prompt_tokens, budget_tokens, decode_seqs):
    """Steps one prompt's prefill spans [-] (at least one).

    Notes
    -----
    ``max(1, L / (B − d))``: a prompt longer than the room the decodes leave is split into
    chunks, one per step (treated as continuous: the last chunk is a fraction of a step's room).

    Examples
    --------
    >>> prefill_chunks(4096.0, 2048.0, 0.0), prefill_chunks(500.0, 2048.0, 48.0)
    (2.0, 1.0)
    """
    room = np.maximum(np.asarray(budget_tokens, float) - np.asarray(decode_seqs, float), 1.0)
    return _out(np.maximum(1.0, np.asarray(prompt_tokens, float) / room))


def erlang_c(arrival_rate, servers, service_s):
    """Mean wait for a free server and the probability of waiting, M/M/c (Erlang C) [s, -].

    Parameters
    ----------
    arrival_rate : float or array
        Requests per second [1/s].
    servers : float or array
        Sequence slots the KV cache holds, c [-] (whole numbers; rounded down).
    service_s : float or array
        Mean time a request holds a slot [s].

    Returns
    -------
    (wait_s, probability)
        Both infinite/1 where ``a = lambda S >= c`` (unstable).

    Notes
    -----
    a = λ·S, ρ = a/c; Erlang B by the recurrence B_k = a·B_{k−1} / (k + a·B_{k−1}), then
    C = B_c / (1 − ρ(1 − B_c)) and W = C·S / (c − a). Where ρ < 0.5 and c >= 20 the probability
    of waiting is below 1e-3 (the Poisson tail beyond c) and is taken as 0 without the recurrence.

    Examples
    --------
    >>> w, q = erlang_c(0.5, 1, 1.0)  # M/M/1: W = ρS/(1-ρ) = 1, P(wait) = ρ
    >>> round(float(w), 3), round(float(q), 3)
    (1.0, 0.5)
    >>> round(float(erlang_c(1.5, 2, 1.0)[0]), 4)
    1.2857
    """
    lam, c, s = np.broadcast_arrays(np.asarray(arrival_rate, float), np.floor(np.asarray(servers, float)),
                                    np.asarray(service_s, float))
    a = lam * s
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = a / c
    need = (rho >= 0.5) | (c < 20)
    b = np.ones_like(a)
    if np.any(need & (c >= 1)):
        top = int(np.max(np.where(need, c, 0.0)))
        for k in range(1, top + 1):
            nb = a * b / (k + a * b)
            b = np.where(k <= c, nb, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        prob = np.where(need, b / (1.0 - rho * (1.0 - b)), 0.0)
        wait = prob * s / (c - a)
    stable = (c >= 1) & (a < c)
    return _out(np.where(stable, wait, np.inf)), _out(np.where(stable, prob, 1.0))


def erlang_c_wait_s(arrival_rate, servers, service_s):
    """Mean wait for a free server in an M/M/c queue (Erlang C) [s]; see :func:`erlang_c`.

    Examples
    --------
    >>> round(float(erlang_c_wait_s(0.5, 1, 1.0)), 3)  # M/M/1: W = ρS/(1-ρ) = 1
    1.0
    """
    return erlang_c(arrival_rate, servers, service_s)[0]


def erlang_c_probability(arrival_rate, servers, service_s):
    """Probability that an arrival waits for a slot in an M/M/c queue (Erlang C) [-].

    Examples
    --------
    >>> round(float(erlang_c_probability(0.5, 1, 1.0)), 3)  # M/M/1: ρ
    0.5
    """
    return erlang_c(arrival_rate, servers, service_s)[1]


def closed_loop_admission_wait_s(clients, in_system, throughput_rps):
    """Wait for admission of a closed loop with more clients than the engine takes [s].

    Parameters
    ----------
    clients : float or array
        Concurrent clients N, each sending its next request when the last one ends [-].
    in_system : float or array
        Requests the engine holds (prefilling, decoding, waiting for prefill) [-].
    throughput_rps : float or array
        Requests completed per second [1/s].

    Notes
    -----
    Little's law on the admission queue: the ``N − n`` requests not in the engine wait
    ``(N − n) / X`` on average.

    Examples
    --------
    >>> closed_loop_admission_wait_s(250, 100, 10.0)
    15.0
    """
    extra = np.maximum(np.asarray(clients, float) - np.asarray(in_system, float), 0.0)
    return _out(extra / np.asarray(throughput_rps, float))


def mixture_wait_moments(mean_wait_s, wait_probability):
    """Mean and variance of a wait that is 0, or exponential, with the given probability [s, s²].

    Notes
    -----
    With probability q the wait is exponential with mean m/q (so the overall mean is m):
    E[W²] = 2·q·(m/q)², Var = 2m²/q − m². The tail shape of M/G/1 and M/M/c waits.

    Examples
    --------
    >>> mixture_wait_moments(0.1, 1.0)  # plain exponential: variance = mean²
    (0.1, 0.010000000000000002)
    """
    m = np.asarray(mean_wait_s, float)
    q = np.clip(np.asarray(wait_probability, float), 1e-9, 1.0)
    var = 2.0 * m**2 / q - m**2
    return _out(m), _out(var)


def lognormal_quantile_from_moments(mean, variance, z):
    """Quantile of a positive quantity from its mean and variance (lognormal fit) [unit of mean].

    Parameters
    ----------
    mean, variance : float or array
        Mean and variance of a sum of independent waits [s], [s²].
    z : float
        Standard-normal quantile (0 for the median, :data:`Z95` for p95).

    Notes
    -----
    σ² = ln(1 + Var/mean²), x_z = mean · exp(σz − σ²/2). A zero variance returns the mean.

    Examples
    --------
    >>> round(float(lognormal_quantile_from_moments(1.0, 0.0, Z95)), 6)
    1.0
    >>> round(float(lognormal_quantile_from_moments(1.0, 1.0, Z95)), 4)
    2.7811
    """
    m = np.asarray(mean, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.log1p(np.where(m > 0, np.asarray(variance, float) / np.maximum(m, 1e-300) ** 2, 0.0))
    out = m * np.exp(np.sqrt(s2) * z - s2 / 2.0)
    return _out(np.where(np.isfinite(m), out, np.inf))
