"""Roofline formulas for LLM serving: memory, KV cache, forward-pass time, queueing.

Every function is one formula, works on floats and numpy arrays alike (broadcasting), and carries
its units in its name. The serving model (:mod:`costlib.formulas.throughput.serving`) and the calibration
fit (:mod:`costlib.formulas.throughput.calibration`) are both built from these functions only, so the fitted
efficiency factors mean the same thing everywhere.

Conventions: bytes are bytes; GB/s and TFLOP/s are decimal (1e9, 1e12); GiB is 2**30 bytes.

References
----------
- Roofline decode model and MBU definition: Databricks, "LLM Inference Performance Engineering:
  Best Practices" (2023-10-12); LLM-Viewer (arXiv:2402.16363) ``roofline_model.py``.
- llm-analysis (cli99/llm-analysis): ring all-reduce for tensor parallelism; efficiency factors.
- Speculative decoding: Leviathan, Kalman, Matias, "Fast Inference from Transformers via
  Speculative Decoding", ICML 2023, eq. (1).
- Queueing: Pollaczek-Khinchine mean wait of the M/G/1 queue; exponential tail approximation.
"""

from __future__ import annotations


import numpy as np

from costlib.core.units import BYTES_PER_GB

BYTES_PER_GIB = float(BYTES_PER_GB)  # a GiB: the memory of GPUs and the KV cache
_Z95 = 1.6448536269514722  # standard normal 95th percentile
ACTIVATION_BYTES = 2.0  # activations (and all-reduced messages) are 16-bit
_ACTIVATION_BYTES = ACTIVATION_BYTES
EMBEDDING_BYTES = 2.0  # embedding table and LM head stay 16-bit in quantized checkpoints


def weight_bytes(params, bytes_per_weight):
    """Bytes of model weights [bytes].

    Parameters
    ----------
    params : float or array
        Parameter count [-].
    bytes_per_weight : float or array
        Storage per weight [bytes] (bf16 2, fp8/int8 1, int4 0.5).

    Notes
    -----
    W = P · b_w

    References
    ----------
    Databricks (2023), "LLM Inference Performance Engineering", weights term of the MBU formula.

    Examples
    --------
    >>> float(weight_bytes(8_030_261_248, 2.0)) / 1e9  # Llama 3.1 8B in bf16
    16.060522496
    """
    return np.asarray(params, dtype=float) * bytes_per_weight


def stored_weight_bytes(params, embedding_params, bytes_per_weight, embedding_bytes=EMBEDDING_BYTES):
    """Bytes of model weights as a serving engine holds them [bytes].

    Quantized checkpoints (fp8, int8, int4) quantize the linear layers of the transformer blocks
    only: the input embedding table and the LM head stay 16-bit.

    Parameters
    ----------
    params : float or array
        All parameters [-].
    embedding_params : float or array
        Parameters of the input embedding table (V·d); the untied LM head has as many [-].
    bytes_per_weight : float or array
        Storage per quantized weight [bytes] (bf16 2, fp8/int8 1, int4 0.5).
    embedding_bytes : float
        Storage per embedding / LM-head weight [bytes] (16-bit: 2).

    Notes
    -----
    W = (P − 2·E)·b_w + 2·E·b_e, with E = V·d (untied embedding and LM head). For bf16 this is
    P·2, the same as :func:`weight_bytes`.

    References
    ----------
    vLLM docs, "FP8 W8A8" (llm-compressor recipe ``ignore=["lm_head"]``),
    https://docs.vllm.ai/en/latest/features/quantization/fp8.html ; the embedding is a lookup,
    never a quantized matmul.

    Examples
    --------
    >>> # Llama 3.1 70B fp8: (70,553,706,496 − 2·1,050,673,152)·1 + 2·1,050,673,152·2 bytes
    >>> float(stored_weight_bytes(70_553_706_496, 128256 * 8192, 1.0)) / 1e9
    72.6550528
    """
    e2 = 2.0 * np.asarray(embedding_params, dtype=float)
    return (np.asarray(params, dtype=float) - e2) * bytes_per_weight + e2 * embedding_bytes


def activation_bytes_per_gpu(batched_tokens, hidden_size, intermediate_size, tensor_parallel,
                             bytes_per_activation=ACTIVATION_BYTES):
    """Peak activation memory of one forward pass over ``batched_tokens`` tokens, per GPU [bytes].

    The engine reserves this before sizing the KV cache: vLLM profiles a forward pass with
    ``max_num_batched_tokens`` tokens; TensorRT-LLM sizes its activation buffers for
    ``max_num_tokens``.

    Parameters
    ----------
    batched_tokens : float or array
        Tokens in the largest forward pass the engine schedules [tokens].
    hidden_size, intermediate_size : int or array
        Model width d and SwiGLU width f [-].
    tensor_parallel : int or array
        GPUs the MLP is split over [-].
    bytes_per_activation : float
        16-bit activations: 2 [bytes].

    Notes
    -----
    A = T · (2·d + 3·f/N) · b_a: at the MLP, the live tensors per token are the residual stream and
    its normalised copy (d each, replicated on every GPU), the fused gate/up projection (2·f/N)
    and the activated product (f/N).

    Cross-check: Llama 3 8B at T = 8192 gives 0.78 GiB; with the sampler term
    (:func:`sampler_bytes`, 256 rows) 1.03 GiB, against 1.26 GiB "PyTorch activation peak
    memory" logged by vLLM on one H100 (vllm-project/vllm PR #10511, 2024-12-14).

    References
    ----------
    vLLM docs, engine arguments ``max_num_batched_tokens`` and ``gpu_memory_utilization``
    (https://docs.vllm.ai/en/stable/configuration/engine_args.html); vLLM issue #8185 ("profile_run
    with max_num_batched_tokens ... to record the peak memory usage").

    Examples
    --------
    >>> # Llama 3.1 8B, 2048 tokens, TP1: 2048·(2·4096 + 3·14336)·2 = 209,715,200 bytes
    >>> float(activation_bytes_per_gpu(2048, 4096, 14336, 1))
    209715200.0
    """
    f_per_gpu = np.asarray(intermediate_size, dtype=float) / np.asarray(tensor_parallel, dtype=float)
    per_token = (2.0 * np.asarray(hidden_size, dtype=float) + 3.0 * f_per_gpu) * bytes_per_activation
    return np.asarray(batched_tokens, dtype=float) * per_token


def sampler_bytes(rows, vocab_size, copies=2.0, bytes_per_logit=4.0):
    """Memory of the logits and sampling probabilities of one step [bytes].

    Parameters
    ----------
    rows : float or array
        Sequences sampled in one step (the engine's ``max_num_seqs`` / ``max_batch_size``) [-].
    vocab_size : int or array
        Vocabulary V [-].
    copies : float
        fp32 tensors of shape rows x V alive at once: logits and softmax probabilities (2).
    bytes_per_logit : float
        fp32: 4 [bytes].

    Notes
    -----
    S = rows · V · copies · 4.

    References
    ----------
    vLLM sampler (logits cast to fp32, then softmax); TensorRT-LLM ``--logits_dtype`` (fp32).

    Examples
    --------
    >>> round(float(sampler_bytes(256, 128256)) / 2**30, 4)  # vLLM default 256 sequences, Llama 3 vocab
    0.2446
    """
    return np.asarray(rows, dtype=float) * np.asarray(vocab_size, dtype=float) * copies * bytes_per_logit


def kv_cache_bytes_per_token(layers, kv_heads, head_dim, bytes_per_kv):
    """KV cache held per token of context [bytes/token].

    Notes
    -----
    kv = 2 (K and V) · L · n_kv · d_h · b_kv

    References
    ----------
    Databricks (2023): "batch_size * seqlen * (d_model/n_heads) * n_layers * 2 * 2 * n_kv_heads".

    Examples
    --------
    >>> float(kv_cache_bytes_per_token(80, 8, 128, 2.0))  # Llama 3.1 70B, 16-bit KV: 320 KiB
    327680.0
    """
    return 2.0 * np.asarray(layers, dtype=float) * kv_heads * head_dim * bytes_per_kv


def kv_cache_capacity_bytes_per_gpu(memory_gib, weight_bytes_per_gpu, runtime_reserve_gib,
                                    kv_memory_fraction, fraction_of_free):
    """Memory left for the KV cache on one GPU [bytes].

    Parameters
    ----------
    memory_gib : float or array
        Device memory [GiB].
    weight_bytes_per_gpu : float or array
        Weights resident on this GPU (model weights / tensor-parallel degree) [bytes].
    runtime_reserve_gib : float or array
        Memory that is neither weights nor KV cache [GiB]: peak activations
        (:func:`activation_bytes_per_gpu`), sampler (:func:`sampler_bytes`) and the runtime's
        fixed allowance (CUDA context, library workspaces, communication buffers).
    kv_memory_fraction : float or array
        Engine memory knob [-].
    fraction_of_free : bool or array
        True: TensorRT-LLM semantics, f·(M − W − R); False: vLLM semantics, f·M − W − R.

    Notes
    -----
    KV = f·(M − W − R) (free) or f·M − W − R (total), floored at 0. vLLM's own accounting is the
    "total" form: the instance may use ``gpu_memory_utilization`` x total memory; weights, the
    profiled activation peak and non-torch memory come off it, the rest is KV cache (CUDA
    graphs are captured afterwards, in the memory left outside that budget).

    References
    ----------
    TensorRT-LLM ``kv_cache_free_gpu_mem_fraction``; vLLM ``gpu_memory_utilization``
    (https://docs.vllm.ai/en/stable/configuration/engine_args.html) and its start-up log
    "the current vLLM instance can use total_gpu_memory x gpu_memory_utilization ... model
    weights take ...; non_torch_memory takes ...; PyTorch activation peak memory takes ...;
    the rest of the memory reserved for KV Cache is ..." (vllm-project/vllm PR #14447, 2025-04).

    Examples
    --------
    >>> round(float(kv_cache_capacity_bytes_per_gpu(80, 16e9, 0, 0.9, False)) / 1e9, 3)
    61.309
    """
    m = np.asarray(memory_gib, dtype=float) * BYTES_PER_GIB
    r = np.asarray(runtime_reserve_gib, dtype=float) * BYTES_PER_GIB
    free = kv_memory_fraction * (m - weight_bytes_per_gpu - r)
    total = kv_memory_fraction * m - weight_bytes_per_gpu - r
    return np.maximum(np.where(fraction_of_free, free, total), 0.0)


def max_concurrent_sequences(kv_capacity_bytes, kv_bytes_per_token, context_tokens):
    """Largest number of sequences whose full context fits in the KV cache [sequences].

    Notes
    -----
    B_max = floor( KV_capacity / (kv_per_token · (ISL + OSL)) ). Each sequence is charged its whole
    final context (no preemption), the admission rule of TensorRT-LLM's guaranteed-no-evict policy
    and the safe reading for vLLM.

    References
    ----------
    Capacity constraint in LLM-Viewer / llm-analysis; throughput-benchmarks fact sheet §2.5.

    Examples
    --------
    >>> int(max_concurrent_sequences(160 * 2**30, 327680, 2500))  # 160 GiB, 70B bf16 KV, 2.5k ctx
    209
    """
    return np.floor(np.asarray(kv_capacity_bytes, dtype=float) / (kv_bytes_per_token * context_tokens))


def moe_experts_touched_fraction(tokens, experts, experts_per_token):
    """Expected fraction of a layer's experts used by a pass over ``tokens`` tokens [-].

    Notes
    -----
    f = 1 − (1 − k/E)^T for uniform independent routing; 1 for dense models (E = 1).

    Examples
    --------
    >>> float(moe_experts_touched_fraction(1, 8, 2))  # Mixtral, one token: 2 of 8 experts
    0.25
    """
    e = np.asarray(experts, dtype=float)
    return np.where(e > 1, 1.0 - (1.0 - experts_per_token / e) ** np.asarray(tokens, dtype=float), 1.0)


def allreduce_time_s(message_bytes, tensor_parallel, interconnect_gb_s, latency_us):
    """One ring all-reduce across the tensor-parallel group [s].

    Parameters
    ----------
    message_bytes : float or array
        Activation bytes reduced (tokens in the pass · hidden size · 2 bytes) [bytes].
    tensor_parallel : int or array
        GPUs in the group [-]; 1 means no communication.
    interconnect_gb_s : float or array
        Per-GPU, per-direction link bandwidth [GB/s].
    latency_us : float or array
        Fixed per-collective latency (fitted) [us].

    Notes
    -----
    t = α + 2·(N−1)/N · bytes / link  for N > 1, else 0.

    References
    ----------
    llm-analysis README: "tp communication is calculated as using ring allreduce".

    Examples
    --------
    >>> round(float(allreduce_time_s(4 * 2**20, 8, 450, 10)) * 1e6, 2)  # 4 MiB, 8x H100
    26.31
    """
    n = np.asarray(tensor_parallel, dtype=float)
    t = latency_us * 1e-6 + 2.0 * (n - 1.0) / n * message_bytes / (np.asarray(interconnect_gb_s) * 1e9)
    return np.where(n > 1, t, 0.0)


def forward_pass_time_s(bytes_moved, flops, tensor_parallel, memory_bandwidth_gb_s, peak_tflops,
                        eta_bandwidth, eta_compute):
    """Roofline time of one forward pass on a tensor-parallel group, before overheads [s].

    Notes
    -----
    t = max( bytes / (N·BW·η_bw), FLOPs / (N·F·η_f) ), perfect compute/memory overlap.

    References
    ----------
    LLM-Viewer ``roofline_analyze``; llm-analysis ("perfect overlapping of compute and memory").

    Examples
    --------
    >>> round(float(forward_pass_time_s(16e9, 16e9, 1, 2039, 312, 1.0, 1.0)) * 1e3, 3)  # 8B bf16, batch 1
    7.847
    """
    n = np.asarray(tensor_parallel, dtype=float)
    t_mem = bytes_moved / (n * memory_bandwidth_gb_s * 1e9 * eta_bandwidth)
    t_cmp = flops / (n * peak_tflops * 1e12 * eta_compute)
    return np.maximum(t_mem, t_cmp)


def speculative_tokens_per_step(acceptance_rate, num_speculative_tokens):
    """Expected tokens emitted per target-model verification step [tokens].

    Notes
    -----
    τ = (1 − α^(k+1)) / (1 − α); τ = k + 1 when α = 1.

    References
    ----------
    Leviathan et al., ICML 2023, eq. (1).

    Examples
    --------
    >>> round(float(speculative_tokens_per_step(0.8, 4)), 4)
    3.3616
    """
    a = np.asarray(acceptance_rate, dtype=float)
    k = np.asarray(num_speculative_tokens, dtype=float)
    safe = np.where(a < 1.0, a, 0.5)
    return np.where(a < 1.0, (1.0 - safe ** (k + 1.0)) / (1.0 - safe), k + 1.0)


def lognormal_sigma(cv):
    """Shape σ of a lognormal with coefficient of variation ``cv`` [-].

    Notes
    -----
    σ² = ln(1 + CV²).

    Examples
    --------
    >>> round(float(lognormal_sigma(1.0)), 4)
    0.8326
    """
    return np.sqrt(np.log1p(np.asarray(cv, dtype=float) ** 2))


def lognormal_quantile(mean, cv, q=0.95):
    """Quantile of a lognormal with given mean and CV (prompt lengths) [same unit as mean].

    Notes
    -----
    x_q = mean · exp(σ·z_q − σ²/2); CV = 0 returns the mean.

    Examples
    --------
    >>> round(float(lognormal_quantile(2000, 0.5)), 1)  # p95 prompt of a 2k-mean, CV 0.5 mix
    3890.6
    """
    from statistics import NormalDist

    z = _Z95 if q == 0.95 else NormalDist().inv_cdf(q)
    s = lognormal_sigma(cv)
    return np.asarray(mean, dtype=float) * np.exp(s * z - s**2 / 2.0)


def mg1_mean_wait_s(utilisation, mean_service_s, service_cv):
    """Mean queueing delay of an M/G/1 queue (Pollaczek-Khinchine) [s].

    Notes
    -----
    W = ρ · E[S] · (1 + CV_S²) / (2·(1 − ρ)); infinite for ρ ≥ 1.

    Examples
    --------
    >>> round(float(mg1_mean_wait_s(0.5, 0.1, 1.0)), 3)
    0.1
    """
    rho = np.asarray(utilisation, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = rho * mean_service_s * (1.0 + np.asarray(service_cv, dtype=float) ** 2) / (2.0 * (1.0 - rho))
    return np.where(rho < 1.0, w, np.inf)


def mg1_wait_quantile_s(utilisation, mean_wait_s, q=0.95):
    """Approximate q-quantile of the M/G/1 queueing delay [s].

    Notes
    -----
    P(W > w) ≈ ρ·exp(−w·ρ / E[W])  (exponential tail with the exact mean), so
    w_q = (E[W]/ρ)·ln(ρ/(1−q)) when ρ > 1 − q, else 0.

    Examples
    --------
    >>> round(float(mg1_wait_quantile_s(0.5, 0.1)), 4)
    0.4605
    """
    rho = np.asarray(utilisation, dtype=float)
    tail = 1.0 - q
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(rho > tail, mean_wait_s / np.maximum(rho, 1e-12) * np.log(np.maximum(rho, tail) / tail), 0.0)
    return np.where(rho < 1.0, w, np.inf)


def output_tokens_per_s(concurrency, out_tokens, decode_step_s, prefill_marginal_s):
    """Closed-loop output throughput of one replica [tokens/s].

    Parameters
    ----------
    concurrency : float or array
        Sequences in flight on the replica [-].
    out_tokens : float or array
        Output tokens per request [tokens].
    decode_step_s : float or array
        One decode iteration over the batch [s].
    prefill_marginal_s : float or array
        Extra GPU time one prompt's prefill adds when mixed into decode iterations [s].

    Notes
    -----
    GPU-time budget: each request needs out decode iterations shared by C sequences and one
    prefill, so requests/s X = C / (out·t_dec + C·t_pre), and output tokens/s = X·out.

    References
    ----------
    Fact sheet §2.7 (requests/s ≈ B / (TTFT + OSL·t_step)), time-shared form.

    Examples
    --------
    >>> round(float(output_tokens_per_s(16, 500, 0.03, 0.2)), 1)
    439.6
    """
    return concurrency * out_tokens / (out_tokens * decode_step_s + concurrency * prefill_marginal_s)


__all__ = [n for n in dir() if not n.startswith("_") and n not in {"annotations", "math", "np"}]
