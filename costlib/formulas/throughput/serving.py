"""Serving model: throughput, latency and SLO-feasible concurrency of a self-hosted LLM.

How a number is made (all on one replica = one tensor-parallel group, then times replicas):

1. **Memory.** Weights as stored (quantized blocks, 16-bit embedding and LM head) are split over
   the TP group. Each GPU also holds the peak activations of the engine's largest forward pass
   (``max_batched_tokens``), the sampler's logits and a fixed runtime allowance (all from
   ``engines.yaml`` with sources, none fitted). vLLM gives the KV cache ``gpu_memory_utilization``
   x total memory minus those; TensorRT-LLM a fraction of what is free after them. That KV room
   divided by the KV bytes of one whole sequence (``in + out`` tokens) gives the memory-limited
   concurrency, capped by the engine's ``max_num_seqs``.
2. **Decode iteration** over ``c`` sequences: roofline max(bytes read / achieved bandwidth,
   FLOPs / achieved compute) + 2 all-reduces per layer + a fixed per-pass overhead + a host-side
   overhead per sequence in the batch (scheduling, sampling, detokenisation). Bytes read are
   the streamed weights (MoE: only the experts the batch touches) plus the live KV cache at the
   mean context ``in + out/2``.
3. **Prefill.** TTFT floor = one pass over the prompt (mostly compute-bound); when prompts are
   mixed into decode iterations (continuous batching) they add only their marginal time.
4. **Closed loop at concurrency c.** GPU-time budget: requests/s X = c / (out·t_dec + c·t_pre);
   other requests' prefills stall decoding (TPOT = t_dec / (1 − ρ)) and queue in front of a new
   prompt (M/G/1 wait, capped at c − 1 prompts). Prompts vary: ``in_tokens`` is the mean of a
   lognormal with coefficient of variation ``prompt_cv``; its p95 prompt and the queue's p95 wait
   give the p95 TTFT. Output length is treated as fixed.
5. **SLO.** ``p95_latency_ms`` bounds either TTFT (``latency_target="ttft"``, the default: the
   time the user waits before text starts streaming) or the whole streamed answer (``"e2e"``).
   The largest concurrency whose p95 meets the bound is chosen; the TP degree (or replicas per
   instance) with the highest feasible throughput wins unless ``tensor_parallel`` is given.

Why "ttft" is the default for a 1 s p95: the article's scenario B (Llama-70B class, 2k in / 500 out,
strict 1 s p95 on p4d/p5) cannot bound the whole answer: 500 tokens in 1 s needs 2 ms per token,
while one decode pass of a 70B model must at least stream its 141 GB of bf16 weights from
8 x 3.35 TB/s of H100 HBM, >= 5.3 ms even at 100% bandwidth. ``tests/test_throughput.py::
test_serving_point_scenario_b_e2e_infeasible`` shows it with this model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from costlib.core.errors import CostlibError
from costlib.formulas.throughput import roofline
from costlib.formulas.throughput.engine import engine_arrays, memory_concurrency, pass_time_s, setup_arrays
from costlib.tables import hardware as catalog

LATENCY_TARGETS = ("ttft", "e2e")


@dataclass(frozen=True)
class ServingPoint:
    """One operating point of a self-hosted deployment, per instance.

    ``tokens_per_second_per_instance`` and ``batch_size`` are the article worksheet's inputs:
    capacity = tokens_per_second_per_instance · batch_size = total_tokens_per_s.
    """

    concurrency: int                 # sequences in flight per instance (all replicas)
    output_tokens_per_s: float       # per instance
    total_tokens_per_s: float        # per instance, (in + out) tokens/s
    ttft_ms: float                   # mean time to first token
    tpot_ms: float                   # mean time per output token after the first
    e2e_latency_ms: float            # mean end-to-end latency of one request
    max_concurrency_memory: int      # memory-limited maximum at this context length, per instance
    replicas: int
    tensor_parallel: int
    p95_ttft_ms: float = math.nan
    p95_e2e_latency_ms: float = math.nan
    limited_by: str = "requested"    # requested | memory | latency | engine
    model: str = ""
    gpu: str = ""
    gpus: int = 0
    instance: str | None = None
    precision: str = "bf16"
    kv_precision: str = "bf16"
    engine: str = ""
    in_tokens: float = 0.0
    out_tokens: float = 0.0
    prompt_cv: float = 0.0
    latency_target: str = "ttft"
    p95_latency_ms: float | None = None
    method: str = "modelled"         # modelled | measured
    notes: tuple = field(default_factory=tuple)

    @property
    def tokens_per_second_per_instance(self) -> float:
        """The worksheet's per-sequence rate: total tokens/s divided by the batch [tokens/s]."""
        return self.total_tokens_per_s / self.concurrency

    @property
    def batch_size(self) -> int:
        """The worksheet's batch: sequences in flight per instance."""
        return self.concurrency

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tokens_per_second_per_instance"] = self.tokens_per_second_per_instance
        d["batch_size"] = self.batch_size
        d["notes"] = list(self.notes)
        return d


def replica_point(s: dict, p: dict, c, in_tokens, out_tokens, prompt_cv=0.0, spec: dict | None = None):
    """Throughput and latency of one replica at ``c`` sequences in flight (arrays broadcast).

    Returns a dict of arrays: out_tps, x_rps, t_dec, ttft, ttft95, tpot, e2e, e2e95 (seconds).
    """
    c = np.asarray(c, dtype=float)
    ctx = np.asarray(in_tokens, float) + np.asarray(out_tokens, float) / 2.0
    if spec:
        k, tau = spec["k"], roofline.speculative_tokens_per_step(spec["alpha"], spec["k"])
        t_verify = pass_time_s(s, p, tokens=c * (k + 1), decode_seqs=c, context=ctx, prefill_tokens=0.0,
                               prefill_len=0.0, tokens_per_seq=k + 1)
        t_draft = pass_time_s(spec["draft"], p, tokens=c, decode_seqs=c, context=ctx, prefill_tokens=0.0,
                              prefill_len=0.0)
        t_dec = (t_verify + k * t_draft) / tau
    else:
        t_dec = pass_time_s(s, p, tokens=c, decode_seqs=c, context=ctx, prefill_tokens=0.0, prefill_len=0.0)
    t_dec_plain = pass_time_s(s, p, tokens=c, decode_seqs=c, context=ctx, prefill_tokens=0.0, prefill_len=0.0)

    def prefill(length):
        alone = pass_time_s(s, p, tokens=length, decode_seqs=0.0, context=0.0, prefill_tokens=length,
                            prefill_len=length)
        mixed = pass_time_s(s, p, tokens=c + length, decode_seqs=c, context=ctx, prefill_tokens=length,
                            prefill_len=length)
        return alone, np.maximum(mixed - t_dec_plain, 0.0)

    in_mean = np.asarray(in_tokens, float)
    t_pre, t_marg = prefill(in_mean)
    x = c / (out_tokens * t_dec + c * t_marg)                      # requests/s per replica
    rho = x * t_marg * np.where(c > 0, (c - 1.0) / np.maximum(c, 1.0), 0.0)  # others' prefill share
    rho = np.minimum(rho, 0.999)
    tpot = t_dec / (1.0 - rho)
    cap = np.maximum(c - 1.0, 0.0)
    wait = np.minimum(roofline.mg1_mean_wait_s(rho, t_marg, prompt_cv), cap * t_marg)
    ttft = t_pre + wait
    l95 = roofline.lognormal_quantile(in_mean, prompt_cv)
    t_pre95, t_marg95 = prefill(l95)
    wait95 = np.minimum(roofline.mg1_wait_quantile_s(rho, roofline.mg1_mean_wait_s(rho, t_marg, prompt_cv)),
                        cap * t_marg95)
    ttft95 = t_pre95 + wait95
    n_after = np.maximum(np.asarray(out_tokens, float) - 1.0, 0.0)
    return dict(out_tps=x * out_tokens, x_rps=x, t_dec=t_dec, ttft=ttft, ttft95=ttft95, tpot=tpot,
                e2e=ttft + n_after * tpot, e2e95=ttft95 + n_after * tpot)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

def _resolve_hardware(instance, gpu, gpus):
    if instance is not None and (gpu is not None or gpus is not None):
        raise CostlibError("throughput: give either instance, or gpu and gpus, not both")
    if instance is not None:
        inst = catalog.get_instance(instance)
        g = catalog.get_gpu(inst.accelerator, where="gpus.csv (accelerator of instance "
                                                    f"{inst.name} in instances.csv)")
        return inst.name, g, inst.accelerator_count, inst.accelerator_memory_gib
    if gpu is None:
        raise CostlibError("throughput: no hardware given; pass instance (e.g. p4d.24xlarge) or gpu and gpus")
    g = catalog.get_gpu(gpu)
    n = 1 if gpus is None else int(gpus)
    if n < 1:
        raise CostlibError(f"throughput: gpus is {gpus}; must be a whole number >= 1")
    return None, g, n, g.memory_gib


def _tp_candidates(n_gpus: int, model: catalog.ModelSpec, fixed: int | None) -> list[int]:
    if fixed is not None:
        if fixed < 1 or n_gpus % fixed or model.attention_heads % fixed:
            raise CostlibError(f"throughput: tensor_parallel {fixed} must divide the {n_gpus} GPUs and the "
                               f"{model.attention_heads} attention heads of {model.name}")
        return [fixed]
    return [t for t in (1, 2, 4, 8, 16) if t <= n_gpus and n_gpus % t == 0 and model.attention_heads % t == 0]


def serving_point(model: str, *, instance: str | None = None, gpu: str | None = None,
                  gpus: int | None = None, precision: str = "bf16", kv_precision: str | None = None,
                  in_tokens: float, out_tokens: float, concurrency: int | None = None,
                  p95_latency_ms: float | None = None, latency_target: str = "ttft",
                  engine: str = "vllm", prompt_cv: float = 0.0, tensor_parallel: int | None = None,
                  speculative: dict | None = None) -> ServingPoint:
    """Modelled operating point of ``model`` served on an instance (or ``gpus`` x ``gpu``).

    Parameters
    ----------
    model : str
        Name in ``models.csv`` (e.g. ``"llama-3.1-70b"``).
    instance : str, optional
        EC2 or SageMaker (``ml.``) instance type; else ``gpu`` and ``gpus``.
    precision, kv_precision : str
        Weight and KV-cache precision: bf16, fp16, fp8, int8, int4 (KV defaults to bf16, or fp8
        with fp8 weights).
    in_tokens, out_tokens : float
        Mean prompt and output tokens per request [tokens].
    concurrency : int, optional
        Sequences in flight per instance. Exactly one of ``concurrency`` and ``p95_latency_ms``.
    p95_latency_ms : float, optional
        p95 bound [ms] on ``latency_target`` ("ttft" or "e2e"); the largest feasible concurrency
        is chosen.
    engine : str
        Engine profile in ``engines.yaml`` ("vllm", "trtllm").
    prompt_cv : float
        Coefficient of variation of prompt length (lognormal); 0 = fixed prompts.
    tensor_parallel : int, optional
        Force the TP degree; by default every TP that fits is tried and the best kept.
    speculative : dict, optional
        ``{"acceptance_rate": a, "num_speculative_tokens": k, "draft_model": name}``.

    Returns
    -------
    ServingPoint

    Examples
    --------
    >>> sp = serving_point("llama-3.1-8b", gpu="H100", gpus=1, in_tokens=1000, out_tokens=200,
    ...                    concurrency=1)
    >>> sp.tensor_parallel, sp.concurrency
    (1, 1)
    """
    if (concurrency is None) == (p95_latency_ms is None):
        raise CostlibError("throughput: give exactly one of concurrency or p95_latency_ms")
    if latency_target not in LATENCY_TARGETS:
        raise CostlibError(f"throughput: latency_target {latency_target!r} is not valid; use one of: "
                           + ", ".join(LATENCY_TARGETS))
    for name, v in (("in_tokens", in_tokens), ("out_tokens", out_tokens)):
        if not (isinstance(v, (int, float)) and v >= 1 and math.isfinite(v)):
            raise CostlibError(f"throughput: {name} is {v!r}; must be a number >= 1")
    if not (0 <= prompt_cv <= 5):
        raise CostlibError(f"throughput: prompt_cv is {prompt_cv}; must be between 0 and 5")
    if concurrency is not None and (int(concurrency) != concurrency or concurrency < 1):
        raise CostlibError(f"throughput: concurrency is {concurrency!r}; must be a whole number >= 1")
    if p95_latency_ms is not None and not (p95_latency_ms > 0):
        raise CostlibError(f"throughput: p95_latency_ms is {p95_latency_ms!r}; must be > 0")

    m = catalog.get_model(model)
    inst_name, g, n_gpus, mem_gib = _resolve_hardware(instance, gpu, gpus)
    prec = catalog._norm(precision)
    catalog.bytes_per_element(prec, "precision")
    kvp = catalog._norm(kv_precision) if kv_precision else ("fp8" if prec == "fp8" else "bf16")
    eng = catalog.get_engine(engine).for_gpu(g.name, mem_gib)
    p = engine_arrays(eng)
    ctx_total = in_tokens + out_tokens
    if ctx_total > m.context_window:
        raise CostlibError(f"throughput: in_tokens + out_tokens = {ctx_total:g} exceeds the {m.context_window}-token "
                           f"context window of {m.name}")
    notes = []
    if g.name == "Inferentia2":
        notes.append("Inferentia2: no Neuron engine profile is calibrated; GPU-fitted factors applied (low confidence)")
    if g.name == "A10G":
        notes.append("A10G dense BF16 TFLOPS (70) has no vendor source; prefill/TTFT on g5 is uncertain")

    best = None
    for tp in _tp_candidates(n_gpus, m, tensor_parallel):
        s = setup_arrays(m, g, tensor_parallel=tp, precision=prec, kv_precision=kvp, memory_gib=mem_gib,
                         engine=eng)
        spec = None
        if speculative:
            spec = _spec_setup(speculative, g, tp, prec, kvp, mem_gib, eng)
            s["draft_kv_per_token"] = spec["draft"]["kv_per_token"]
            s["w_bytes_mem"] = s["w_bytes"] + spec["draft"]["w_bytes"]
        replicas = n_gpus // tp
        c_mem_rep, _ = memory_concurrency(s, p, in_tokens, out_tokens)
        c_mem_rep = int(c_mem_rep)
        if c_mem_rep < 1:
            continue
        c_mem = c_mem_rep * replicas
        if concurrency is not None:
            if concurrency > c_mem:
                continue
            c = int(concurrency)
            limited = "requested"
        else:
            cs = np.arange(1, c_mem + 1, dtype=float)
            r = replica_point(s, p, cs / replicas, in_tokens, out_tokens, prompt_cv, spec)
            metric = (r["ttft95"] if latency_target == "ttft" else r["e2e95"]) * 1e3
            ok = np.cumprod(metric <= p95_latency_ms).astype(bool)
            if not ok[0]:
                cand = (tp, None, float(metric[0]))
                if best is None or (best[1] is None and cand[2] < best[2]):
                    best = cand
                continue
            c = int(cs[ok][-1])
            limited = "latency" if c < c_mem else ("engine" if c_mem_rep >= eng.max_num_seqs else "memory")
        r = replica_point(s, p, c / replicas, in_tokens, out_tokens, prompt_cv, spec)
        out_tps = float(r["out_tps"]) * replicas
        if best is None or best[1] is None or out_tps > best[1]["output_tokens_per_s"]:
            best = (tp, dict(
                concurrency=c, output_tokens_per_s=out_tps,
                total_tokens_per_s=out_tps * (in_tokens + out_tokens) / out_tokens,
                ttft_ms=float(r["ttft"]) * 1e3, tpot_ms=float(r["tpot"]) * 1e3,
                e2e_latency_ms=float(r["e2e"]) * 1e3, max_concurrency_memory=c_mem,
                replicas=replicas, tensor_parallel=tp, p95_ttft_ms=float(r["ttft95"]) * 1e3,
                p95_e2e_latency_ms=float(r["e2e95"]) * 1e3, limited_by=limited), 0.0)
    hw = inst_name or f"{n_gpus} x {g.name}"
    if best is None:
        limit = _max_c_any(m, g, n_gpus, prec, kvp, mem_gib, eng, in_tokens, out_tokens)
        if concurrency is not None and limit >= 1:
            raise CostlibError(
                f"throughput: {m.name} ({prec} weights, {kvp} KV) on {hw} cannot hold {concurrency} sequences of "
                f"{ctx_total:g} tokens (memory limit {limit}); lower concurrency or context, quantize, or use more GPUs")
        raise CostlibError(f"throughput: {m.name} ({prec} weights) does not fit on {hw} with room for one "
                           f"{ctx_total:g}-token sequence; quantize or use more GPUs")
    if best[1] is None:
        raise CostlibError(
            f"throughput: no concurrency meets p95 {latency_target} <= {p95_latency_ms:g} ms for {m.name} on {hw}: "
            f"even one sequence gives {best[2]:.0f} ms; relax the target, shorten prompts or use faster hardware")
    return ServingPoint(**best[1], model=m.name, gpu=g.name, gpus=n_gpus, instance=inst_name, precision=prec,
                        kv_precision=kvp, engine=eng.name, in_tokens=float(in_tokens), out_tokens=float(out_tokens),
                        prompt_cv=float(prompt_cv), latency_target=latency_target, p95_latency_ms=p95_latency_ms,
                        notes=tuple(notes))


def _max_c_any(m, g, n, prec, kvp, mem_gib, eng, in_tokens, out_tokens) -> int:
    best = 0
    for tp in _tp_candidates(n, m, None):
        s = setup_arrays(m, g, tensor_parallel=tp, precision=prec, kv_precision=kvp, memory_gib=mem_gib,
                         engine=eng)
        best = max(best, int(memory_concurrency(s, None, in_tokens, out_tokens)[0]) * (n // tp))
    return best


def _spec_setup(speculative: dict, g, tp, prec, kvp, mem_gib, eng) -> dict:
    allowed = {"acceptance_rate", "num_speculative_tokens", "draft_model"}
    bad = set(speculative) - allowed
    if bad:
        raise CostlibError(f"throughput: speculative has unknown key(s) {', '.join(sorted(bad))}; "
                           f"valid: {', '.join(sorted(allowed))}")
    try:
        a = float(speculative["acceptance_rate"])
        k = int(speculative["num_speculative_tokens"])
        draft = catalog.get_model(speculative["draft_model"], where="models.csv (speculative.draft_model)")
    except KeyError as e:
        raise CostlibError(f"throughput: speculative lacks {e.args[0]!r}") from None
    if not (0 <= a <= 1) or k < 1:
        raise CostlibError("throughput: speculative.acceptance_rate must be in [0, 1] and "
                           "num_speculative_tokens >= 1")
    ds = setup_arrays(draft, g, tensor_parallel=tp, precision=prec, kv_precision=kvp, memory_gib=mem_gib,
                      engine=eng)
    return dict(alpha=a, k=k, draft=ds)
