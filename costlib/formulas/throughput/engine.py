"""The step model of a serving engine: memory, and the time of one forward pass.

Everything here takes dicts of floats or arrays so the calibration fit can broadcast rows against
grids of engine factors: ``s`` = setup (model, hardware, engine memory configuration), ``p`` =
the engine's fitted efficiency factors. The queueing over steps is
:mod:`costlib.formulas.throughput.load`; the public operating point is
:func:`costlib.formulas.throughput.serving.serving_point`.
"""

from __future__ import annotations

import numpy as np

from costlib.core.errors import CostlibError
from costlib.formulas.throughput import roofline
from costlib.tables import hardware as catalog

def setup_arrays(model: catalog.ModelSpec, gpu: catalog.GpuSpec, *, tensor_parallel: int,
                 precision: str, kv_precision: str, memory_gib: float | None = None,
                 engine: catalog.EngineProfile | None = None) -> dict:
    """Numbers the core needs for one model on one TP group of ``gpu`` under ``engine``.

    Holds the hardware, the model and the engine's memory configuration as that engine picks it
    on this GPU (:meth:`~costlib.tables.hardware.EngineProfile.for_gpu`); the fitted
    efficiency factors are kept apart (:func:`engine_arrays`) so the calibration can grid them.
    """
    b_w = catalog.bytes_per_element(precision, "precision")
    b_kv = catalog.bytes_per_element(kv_precision, "kv_precision")
    link = gpu.interconnect_gb_s
    if link is None and tensor_parallel > 1:
        raise CostlibError(f"gpus.csv: gpu {gpu.name} has no interconnect_gb_s; tensor parallelism "
                           f"over {tensor_parallel} of them cannot be modelled; use --gpus 1")
    mem = memory_gib if memory_gib is not None else gpu.memory_gib
    eng = (engine or catalog.get_engine("vllm")).for_gpu(gpu.name, mem)
    return dict(
        layers=model.layers, hidden=model.hidden_size, heads=model.attention_heads,
        head_dim=model.head_dim, vocab=model.vocab_size,
        ffn_active=float(model.intermediate_size * model.experts_per_token),
        p_total=float(model.params_total), p_active=float(model.params_active),
        p_expert=float(model.params_expert_total), experts=model.experts, k_experts=model.experts_per_token,
        w_bytes=float(roofline.stored_weight_bytes(model.params_total, model.embedding_params, b_w)),
        kv_per_token=float(roofline.kv_cache_bytes_per_token(model.layers, model.kv_heads, model.head_dim, b_kv)),
        b_w=b_w, tp=tensor_parallel, mem_gib=mem,
        bw=gpu.memory_bandwidth_gb_s, tflops=catalog.peak_tflops(gpu, precision), link=link or 1.0,
        fixed_gib=eng.fixed_memory_gib, act_tokens=float(eng.max_batched_tokens),
        kv_frac=eng.kv_memory_fraction, free=eng.kv_fraction_of == "free", max_seqs=float(eng.max_num_seqs),
        out_held=0.5 if eng.kv_admission == "on_demand" else 1.0)


def engine_arrays(engine: catalog.EngineProfile) -> dict:
    """The engine's fitted efficiency factors as the core expects them."""
    return dict(eta_bw=engine.eta_bandwidth, eta_f=engine.eta_compute,
                overhead_ms=engine.step_overhead_ms, seq_us=engine.sequence_overhead_us,
                ar_us=engine.allreduce_latency_us, ar_eff=engine.allreduce_bandwidth_efficiency,
                request_ms=engine.request_overhead_ms)


def runtime_reserve_gib(s: dict):
    """Per-GPU memory that is neither weights nor KV cache [GiB].

    Notes
    -----
    R = fixed + A(max_batched_tokens) + S(max_num_seqs): the runtime's fixed allowance, the peak
    activations of the largest forward pass (:func:`roofline.activation_bytes_per_gpu`) and the
    sampler's logits/probabilities (:func:`roofline.sampler_bytes`).
    """
    act = roofline.activation_bytes_per_gpu(s["act_tokens"], s["hidden"], s["ffn_active"], s["tp"])
    smp = roofline.sampler_bytes(s["max_seqs"], s["vocab"])
    return s["fixed_gib"] + (act + smp) / roofline.BYTES_PER_GIB


def pass_bytes_flops(s: dict, *, tokens, decode_seqs, context, prefill_tokens, prefill_len, tokens_per_seq=1.0):
    """Bytes read and FLOPs of one forward pass on the whole TP group ([bytes], [FLOP])."""
    touched = roofline.moe_experts_touched_fraction(tokens, s["experts"], s["k_experts"])
    embed = s["vocab"] * s["hidden"]
    # quantized blocks + 16-bit LM head; the input embedding is gathered, not streamed
    streamed = (s["b_w"] * (s["p_total"] - 2.0 * embed - s["p_expert"] * (1.0 - touched))
                + roofline.EMBEDDING_BYTES * embed)
    kv_bytes = decode_seqs * context * s["kv_per_token"] + prefill_tokens * s["kv_per_token"]
    attn = 2.0 * s["layers"] * s["heads"] * s["head_dim"]
    flops = (2.0 * (s["p_active"] - embed) * tokens
             + decode_seqs * tokens_per_seq * 2.0 * attn * context
             + prefill_tokens * attn * prefill_len)
    return streamed + kv_bytes, flops


def pass_time_s(s: dict, p: dict, *, tokens, decode_seqs, context, prefill_tokens, prefill_len,
                tokens_per_seq=1.0):
    """Time of one forward pass mixing ``decode_seqs`` decoding sequences and prefill tokens [s]."""
    moved, flops = pass_bytes_flops(s, tokens=tokens, decode_seqs=decode_seqs, context=context,
                                    prefill_tokens=prefill_tokens, prefill_len=prefill_len,
                                    tokens_per_seq=tokens_per_seq)
    t = roofline.forward_pass_time_s(moved, flops, s["tp"], s["bw"], s["tflops"], p["eta_bw"], p["eta_f"])
    comm = 2.0 * s["layers"] * roofline.allreduce_time_s(
        tokens * s["hidden"] * roofline._ACTIVATION_BYTES, s["tp"], s["link"] * p.get("ar_eff", 1.0), p["ar_us"])
    return t + comm + p["overhead_ms"] * 1e-3 + p["seq_us"] * 1e-6 * decode_seqs


def memory_concurrency(s: dict, p: dict | None = None, in_tokens=1.0, out_tokens=1.0):
    """Memory-limited sequences per replica, capped by the engine's max_num_seqs [-].

    Returns ``(sequences, kv_bytes)``: whole sequences of ``in + out`` tokens that fit in the
    KV cache of the TP group, and that KV capacity [bytes]. ``p`` is unused (kept for callers).
    """
    w = s.get("w_bytes_mem", s["w_bytes"])
    kv = roofline.kv_cache_capacity_bytes_per_gpu(s["mem_gib"], w / s["tp"], runtime_reserve_gib(s),
                                                  s["kv_frac"], s["free"])
    c = roofline.max_concurrent_sequences(kv * s["tp"],
                                          s["kv_per_token"] + s.get("draft_kv_per_token", 0.0),
                                          np.asarray(in_tokens, float) + out_tokens)
    return np.minimum(c, s["max_seqs"]), kv * s["tp"]
