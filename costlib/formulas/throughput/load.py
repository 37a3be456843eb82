"""Latency under load: one replica of a continuous-batching engine, open or closed loop.

The engine runs steps back to back (:func:`costlib.formulas.throughput.engine.pass_time_s`). Each
step carries one token of every decoding sequence (``d`` of them) and prompt chunks (``p``
tokens) in the room the decodes leave of the token budget ``B`` (``max_batched_tokens``). In a
steady state at ``X`` requests/s with prompts of ``L`` tokens and answers of ``O`` tokens:

* decoding sequences per step: ``d = X (O - 1) t / tau`` (Little's law: each request decodes for
  ``(O - 1)/tau`` steps; ``tau`` tokens per step per sequence, 1 without speculative decoding);
* prompt tokens per step: ``p = X L t``;
* the mean step time solves ``t = T(d, p)``: other requests' prefill chunks slow every decode
  step, which is the time per output token, ``TPOT = t / tau``.

A new request's time to first token is the wait for the step in flight, the M/G/1 wait for the
prompts ahead of it in the prefill room (server speed ``(B - d)/t`` tokens/s), its own prefill
(one step, or ``L/(B - d)`` chunks), and, when the KV cache is full, the wait for a sequence slot
(:mod:`costlib.formulas.throughput.batching`). The KV cache is paged and filled on demand
(vLLM [1]_): a running sequence holds ``L + O/2`` tokens on average, so the cache holds
``kv_tokens / (L + O/2)`` sequences (capped by ``max_num_seqs``); an engine that reserves the
whole output at admission (TensorRT-LLM's default) holds ``kv_tokens / (L + O)``.

* **Open loop** (:func:`open_loop`): Poisson arrivals at a rate: what production traffic and the
  bill see. Beyond what memory holds, requests queue for a slot (Erlang C, M/M/c).
* **Closed loop** (:func:`closed_loop`): ``N`` clients, each sending its next request when its
  last one ends: what serving benchmarks publish at a "concurrency". Throughput solves Little's
  law ``N = X (TTFT + (O - 1) TPOT)``; clients beyond the memory limit wait for admission, and
  that wait is part of their TTFT.

The two agree where they should: the closed loop at ``N`` clients and the open loop at the
closed loop's throughput have the same requests in the engine (Little's law), the same step time
and the same TTFT, as long as memory holds every client.

Percentiles: the waits are independent; their means and variances add, and p50/p95 come from a
lognormal with those moments. Prompt lengths are lognormal with coefficient of variation
``prompt_cv``; output lengths are fixed.

References
----------
.. [1] W. Kwon et al., "Efficient Memory Management for Large Language Model Serving with
   PagedAttention", SOSP 2023.
.. [2] A. Agrawal et al., "Sarathi-Serve", OSDI 2024 (chunked prefill, stall-free batching).
"""

from __future__ import annotations

import numpy as np

from costlib.formulas.throughput import batching, roofline
from costlib.formulas.throughput.engine import pass_time_s

_BISECT = 34
"""Bisection steps of the rate searches (relative precision 2**-34, about 6e-11)."""
_FALSI = 30


def kv_token_capacity(kv_bytes, kv_bytes_per_token):
    """Tokens of KV cache the replica holds [tokens].

    Examples
    --------
    >>> kv_token_capacity(2**30, 2**20)
    1024.0
    """
    return batching._out(np.asarray(kv_bytes, float) / np.asarray(kv_bytes_per_token, float))


def sequence_slots(kv_tokens, in_tokens, out_tokens, max_num_seqs, out_held_fraction=0.5):
    """Sequences a KV cache holds at once, on average [-].

    Parameters
    ----------
    kv_tokens : float or array
        KV cache capacity [tokens].
    in_tokens, out_tokens : float or array
        Prompt and output tokens per request [tokens].
    max_num_seqs : float or array
        The engine's cap on sequences in flight [-].
    out_held_fraction : float
        Share of the output a sequence holds KV for on average: 0.5 when blocks are allocated as
        tokens are made (vLLM's paged cache [1]_), 1 when admission reserves the whole output
        (TensorRT-LLM's default GUARANTEED_NO_EVICT) [-].

    Notes
    -----
    ``slots = kv_tokens / (L + f O)``, capped by ``max_num_seqs``.

    Examples
    --------
    >>> sequence_slots(30_000, 1000, 1000, 256)
    20.0
    >>> sequence_slots(30_000, 1000, 1000, 256, out_held_fraction=1.0)
    15.0
    """
    held = np.asarray(in_tokens, float) + out_held_fraction * np.asarray(out_tokens, float)
    return batching._out(np.minimum(np.asarray(kv_tokens, float) / held, np.asarray(max_num_seqs, float)))


def _step_fn(s, p, in_tokens, out_tokens, spec):
    """``T(d, pre)``: time of a step with ``d`` decoding sequences and ``pre`` prompt tokens."""
    ctx = np.asarray(in_tokens, float) + np.asarray(out_tokens, float) / 2.0
    L = np.asarray(in_tokens, float)

    if not spec:
        def step(d, pre):
            return pass_time_s(s, p, tokens=d + pre, decode_seqs=d, context=ctx,
                               prefill_tokens=pre, prefill_len=L)
        return step, 1.0

    k = spec["k"]
    tau = roofline.speculative_tokens_per_step(spec["alpha"], k)

    def step(d, pre):
        verify = pass_time_s(s, p, tokens=d * (k + 1) + pre, decode_seqs=d, context=ctx,
                             prefill_tokens=pre, prefill_len=L, tokens_per_seq=k + 1)
        draft = pass_time_s(spec["draft"], p, tokens=d, decode_seqs=d, context=ctx,
                            prefill_tokens=0.0, prefill_len=0.0)
        return verify + k * draft
    return step, tau


def _solve_step(step, rate, in_tokens, out_tokens, tau):
    """Mean step time at ``rate`` requests/s: the fixed point ``t = T(X(O-1)t/tau, X L t)``.

    Returns ``(t, saturated)``; saturated where no fixed point exists (the engine cannot keep up).
    """
    x = np.asarray(rate, float)
    L = np.asarray(in_tokens, float)
    n_dec = np.maximum(np.asarray(out_tokens, float) - 1.0, 0.0)
    t0 = np.asarray(step(0.0, 0.0), float)
    shape = np.broadcast(x, L, n_dec, t0).shape

    def g(t):
        return step(x * n_dec * t / tau, x * L * t) - t

    lo = np.broadcast_to(t0, shape).copy()
    hi = lo * 2.0
    for _ in range(40):
        grow = g(hi) > 0
        if not np.any(grow):
            break
        hi = np.where(grow, hi * 2.0, hi)
    saturated = np.asarray(g(hi) > 0)
    # g is piecewise linear in t (a roofline max of two lines plus linear overheads): regula falsi
    # with the Illinois step lands on the root within a few iterations, exactly once on one piece
    g_lo, g_hi = g(lo), g(hi)
    for _ in range(_FALSI):
        with np.errstate(divide="ignore", invalid="ignore"):
            mid = np.where(g_lo != g_hi, hi - g_hi * (hi - lo) / (g_hi - g_lo), 0.5 * (lo + hi))
        mid = np.where(np.isfinite(mid), mid, 0.5 * (lo + hi))
        mid = np.minimum(np.maximum(mid, np.minimum(lo, hi)), np.maximum(lo, hi))
        g_mid = g(mid)
        up = g_mid > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
        g_lo = np.where(up, g_mid, g_lo * np.where(~up, 0.5, 1.0))
        g_hi = np.where(up, g_hi * 0.5, g_mid)
        if np.all(np.abs(g_mid) <= 1e-12 * np.maximum(np.abs(mid), 1e-12)):
            break
    hi = np.where(np.abs(g(lo)) < np.abs(g(hi)), lo, hi)
    t = np.where(saturated, np.inf, hi)
    return t, saturated


def _point(s, p, rate, in_tokens, out_tokens, prompt_cv, spec, slots, budget, closed_clients=None):
    """Everything at a given throughput ``rate`` [requests/s] (open loop; or closed loop's X)."""
    step, tau = _step_fn(s, p, in_tokens, out_tokens, spec)
    x = np.asarray(rate, float)
    L = np.asarray(in_tokens, float)
    O = np.asarray(out_tokens, float)
    n_dec = np.maximum(O - 1.0, 0.0)
    t, sat = _solve_step(step, x, L, O, tau)
    with np.errstate(invalid="ignore", over="ignore"):
        d = x * n_dec * t / tau
        pre = x * L * t
        room = np.maximum(budget - d, 1.0)
        rho = np.where(budget - d > 0, pre / room, np.inf)
        sat = sat | (rho >= 1.0)

        # own prefill: chunks of the prompt, each step carrying the decodes
        def own_prefill(length):
            chunks = np.maximum(1.0, length / room)
            return chunks * step(d, length / chunks)

        s_mean = own_prefill(L)
        L95 = roofline.lognormal_quantile(L, prompt_cv)
        s95 = own_prefill(L95)
        slope = np.where(L95 > L, (s95 - s_mean) / np.maximum(L95 - L, 1e-9), 0.0)
        var_s = (slope * np.asarray(prompt_cv, float) * L) ** 2

        # queue for the prefill room: fluid M/G/1, service L t / (B - d)
        fluid = L * t / room
        w_p = roofline.mg1_mean_wait_s(np.minimum(rho, 0.999999), fluid, prompt_cv)
        w_p = np.where(sat, np.inf, w_p)
        w_p_mean, w_p_var = batching.mixture_wait_moments(w_p, np.minimum(rho, 1.0))

        decode_s = n_dec * t / tau
        holders = x * (s_mean + decode_s)           # sequences holding KV (Little)
        if closed_clients is None:
            busy = batching.poisson_busy_probability(holders)
            hold_s = s_mean + decode_s
            w_adm, q_adm = batching.erlang_c(x, slots, hold_s)
            w_adm_mean, w_adm_var = batching.mixture_wait_moments(np.where(np.isfinite(w_adm), w_adm, 0.0), q_adm)
            w_adm_mean = np.where(np.isfinite(w_adm), w_adm_mean, np.inf)
        else:
            busy = np.where(np.asarray(closed_clients, float) > 1.0, 1.0, 0.0)
            w_adm_mean = np.zeros_like(t)
            w_adm_var = np.zeros_like(t)
        resid = batching.residual_step_s(t, busy)
        resid_var = busy * t**2 / 3.0 - resid**2

        front = np.asarray(p.get("request_ms", 0.0), float) * 1e-3   # serving stack, per request
        ttft = front + resid + w_p_mean + s_mean + w_adm_mean
        ttft_var = np.maximum(resid_var, 0.0) + w_p_var + var_s + w_adm_var

        # time per output token of one request: mean step / tau; spread from how many others
        # decode alongside it (Poisson in an open loop) and from the prefill chunks it shares
        d_plus = step(d + 1.0, pre) - step(d, pre)
        p_plus = step(d, pre + L) - step(d, pre)
        var_steps = (p_plus**2) * x * t * (1.0 + np.asarray(prompt_cv, float) ** 2) / np.maximum(n_dec, 1.0)
        var_d = d_plus**2 * (d if closed_clients is None else 0.0)
        tpot = t / tau
        tpot_var = (var_steps + var_d) / tau**2

        e2e = ttft + n_dec * tpot
        e2e_var = ttft_var + n_dec**2 * tpot_var
        in_engine = x * (front + resid + w_p_mean + s_mean + decode_s)
    out = dict(
        x_rps=x, step_s=t, tpot_s=tpot, tpot50_s=batching.lognormal_quantile_from_moments(tpot, tpot_var, batching.Z50),
        tpot95_s=batching.lognormal_quantile_from_moments(tpot, tpot_var, batching.Z95),
        ttft_s=ttft, ttft50_s=batching.lognormal_quantile_from_moments(ttft, ttft_var, batching.Z50),
        ttft95_s=batching.lognormal_quantile_from_moments(ttft, ttft_var, batching.Z95),
        e2e_s=e2e, e2e50_s=batching.lognormal_quantile_from_moments(e2e, e2e_var, batching.Z50),
        e2e95_s=batching.lognormal_quantile_from_moments(e2e, e2e_var, batching.Z95),
        decode_seqs=d, prefill_tokens_per_step=pre, prefill_utilisation=rho, kv_holders=holders,
        kv_utilisation=holders / np.asarray(slots, float), in_engine=in_engine,
        admission_wait_s=w_adm_mean, saturated=np.asarray(sat),
        output_tokens_per_s=x * O, total_tokens_per_s=x * (L + O),
    )
    keep = ("saturated", "x_rps", "output_tokens_per_s", "total_tokens_per_s")
    return {k: (v if k in keep else np.where(sat, np.inf, v)) for k, v in out.items()}


def capacity_rps(s, p, in_tokens, out_tokens, prompt_cv, spec, slots, budget):
    """Highest sustainable request rate of one replica [requests/s]: memory, budget or compute.

    The largest ``X`` at which the step fixed point exists, the prefill room is not overrun and
    the sequences holding KV fit the slots (``X (S + (O-1) TPOT) < slots``).
    """
    shape = np.broadcast(np.asarray(in_tokens, float), np.asarray(out_tokens, float),
                         np.asarray(slots, float)).shape
    lo = np.zeros(shape)
    hi = np.full(shape, 1.0)

    def ok(x):
        r = _point(s, p, x, in_tokens, out_tokens, prompt_cv, spec, slots, budget, closed_clients=2.0)
        return (~r["saturated"]) & (r["kv_holders"] < np.asarray(slots, float))

    for _ in range(40):
        good = ok(hi)
        if not np.any(good):
            break
        lo = np.where(good, hi, lo)
        hi = np.where(good, hi * 2.0, hi)
    for _ in range(_BISECT):
        mid = 0.5 * (lo + hi)
        good = ok(mid)
        lo = np.where(good, mid, lo)
        hi = np.where(good, hi, mid)
    return lo


def open_loop(s, p, rate, in_tokens, out_tokens, prompt_cv=0.0, spec=None, *, slots, budget):
    """Latency and throughput of one replica under Poisson arrivals at ``rate`` [requests/s].

    Returns a dict of arrays (seconds, requests, tokens/s): ``ttft_s, ttft50_s, ttft95_s,
    tpot_s, tpot50_s, tpot95_s, e2e_s, e2e50_s, e2e95_s, step_s, decode_seqs, kv_holders,
    kv_utilisation, admission_wait_s, prefill_utilisation, in_engine, saturated,
    output_tokens_per_s, total_tokens_per_s``. Above capacity every latency is infinite.
    """
    return _point(s, p, rate, in_tokens, out_tokens, prompt_cv, spec, slots, budget)


def closed_loop(s, p, clients, in_tokens, out_tokens, prompt_cv=0.0, spec=None, *, slots, budget):
    """Latency and throughput of one replica with ``clients`` closed-loop clients [-].

    Throughput ``X`` solves ``N = X (TTFT + (O - 1) TPOT)`` for the clients the engine holds;
    when memory holds fewer than ``N``, the engine runs at its memory-limited rate and the others
    wait for admission, ``(N - n) / X`` (part of their TTFT). Same keys as :func:`open_loop`, plus
    ``queued`` (clients waiting for admission) and ``x_rps``.
    """
    n = np.asarray(clients, float)
    x_cap = capacity_rps(s, p, in_tokens, out_tokens, prompt_cv, spec, slots, budget)
    lo = np.zeros(np.broadcast(n, x_cap).shape)
    hi = np.broadcast_to(x_cap, lo.shape).copy()

    def in_system(x):
        r = _point(s, p, x, in_tokens, out_tokens, prompt_cv, spec, slots, budget, closed_clients=n)
        return np.where(r["saturated"], np.inf, r["in_engine"]), r

    for _ in range(_BISECT):
        mid = 0.5 * (lo + hi)
        m, _ = in_system(mid)
        under = m < n
        lo = np.where(under, mid, lo)
        hi = np.where(under, hi, mid)
    x = lo
    r = _point(s, p, x, in_tokens, out_tokens, prompt_cv, spec, slots, budget, closed_clients=n)
    wait = batching.closed_loop_admission_wait_s(n, r["in_engine"], x)
    queued = np.maximum(n - r["in_engine"], 0.0)
    for key in ("ttft_s", "ttft50_s", "ttft95_s", "e2e_s", "e2e50_s", "e2e95_s"):
        r[key] = r[key] + wait
    r["admission_wait_s"] = wait
    r["queued"] = queued
    return r


def burst(s, p, requests, in_tokens, out_tokens, prompt_cv=0.0, spec=None, *, slots, budget):
    """A burst: ``requests`` requests arrive at once (a benchmark at "infinite" request rate).

    Parameters
    ----------
    requests : float or array
        Requests sent at time zero, per replica [-].

    Notes
    -----
    The engine admits ``M_a = min(M, slots)`` of them and prefills their prompts first come,
    first served, in full token-budget steps of ``T_w = T(M_a/2, B - M_a/2)`` (the decodes of
    the prompts already done share each step): ``W = M_a L / (B - M_a/2)`` steps. Request ``k``
    sees its first token after about ``k/M_a`` of them, so the mean TTFT is ``(W/2 + 1) T_w``.
    Its decode steps are wave steps until the wave ends, then decode-only steps
    ``T_d = T(M_a, 0)``; averaged over every output token, the time per output token is
    ``[W T_w / 2 + (O - 1 - W/2) T_d] / (O - 1)`` (``T_w`` when the wave outlasts the answers).
    Requests beyond memory wait for slots and run at the closed-loop rate of ``slots`` clients.

    Returns a dict with ``x_rps``, ``ttft_s``, ``tpot_s``, ``e2e_s``, ``output_tokens_per_s``,
    ``total_tokens_per_s`` (means; the burst's duration sets the rate).
    """
    step, tau = _step_fn(s, p, in_tokens, out_tokens, spec)
    m = np.asarray(requests, float)
    L = np.asarray(in_tokens, float)
    O = np.asarray(out_tokens, float)
    n_dec = np.maximum(O - 1.0, 1e-9)
    m_a = np.minimum(m, np.asarray(slots, float))
    d_w = m_a / 2.0
    room = np.maximum(budget - d_w, 1.0)
    t_w = step(d_w, room)
    t_d = step(m_a, 0.0) / tau
    waves = m_a * L / room
    ttft_wave = (waves / 2.0 + 1.0) * t_w
    after = np.maximum(n_dec - waves / 2.0, 0.0)
    tpot_wave = np.where(after > 0, (waves * t_w / 2.0 + after * t_d) / n_dec, t_w)
    run = waves * t_w + after * t_d
    extra = np.maximum(m - m_a, 0.0)
    if np.any(extra > 0):
        rest = closed_loop(s, p, np.maximum(m_a, 1.0), in_tokens, out_tokens, prompt_cv, spec,
                           slots=slots, budget=budget)
        x_c = rest["x_rps"]
        ttft_rest = extra / (2.0 * x_c) + rest["ttft_s"]
        ttft = (m_a * ttft_wave + extra * ttft_rest) / m
        tpot = (m_a * tpot_wave + extra * rest["tpot_s"]) / m
        run = run + extra / x_c
    else:
        ttft, tpot = ttft_wave, tpot_wave
    x = m / run
    ttft = ttft + np.asarray(p.get("request_ms", 0.0), float) * 1e-3
    return dict(x_rps=x, ttft_s=ttft, tpot_s=tpot, e2e_s=ttft + n_dec * tpot,
                output_tokens_per_s=x * O, total_tokens_per_s=x * (L + O))
