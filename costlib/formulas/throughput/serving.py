"""Serving model: throughput and latency of a self-hosted LLM, and the load a latency target allows.

How a number is made (one replica = one tensor-parallel group; an instance holds ``gpus / TP``
replicas and its load is split evenly among them):

1. **Memory** (:mod:`costlib.formulas.throughput.engine`). Weights as stored are split over the
   TP group; each GPU also holds the activations of the engine's largest step, the sampler's
   logits and a fixed runtime allowance (from ``engines.yaml``, with sources). The rest, as the
   engine sizes it, is KV cache. The cache is paged and filled on demand, so a running sequence
   holds its prompt plus half its answer on average: the sequence slots are
   ``KV tokens / (in + out/2)``, capped by the engine's ``max_num_seqs``.
2. **Steps.** One forward pass carries every decoding sequence (one token each) and prompt chunks
   up to the token budget ``max_batched_tokens``: roofline max(bytes / achieved bandwidth,
   FLOPs / achieved compute) + 2 all-reduces per layer + a fixed per-step overhead + host time
   per sequence.
3. **Load** (:mod:`costlib.formulas.throughput.load`). Other requests' prompt chunks slow every
   decode step (time per output token); a new request waits for the step in flight, for the
   prompts ahead of it in the budget, for its own prefill and, when the KV cache is full, for a
   free slot. Two forms: ``concurrency=N`` (closed loop, as benchmarks publish it; clients beyond
   memory queue) and ``rate=R`` (open loop, Poisson arrivals, as production traffic comes).
4. **Latency targets.** ``bounds`` may cap the p95 time to first token, the p95 time per output
   token and the p95 end-to-end time, any or all; the highest request rate meeting every bound
   (open loop) is the SLO operating point, and ``limited_by`` names the bound that binds (or
   memory/compute when the engine runs out first). The TP degree (replicas per instance) with
   the highest such throughput wins unless ``tensor_parallel`` is given.

Why a time-to-first-token bound alone is not enough: once it fits, nothing stops concurrency from
climbing to the memory limit, and each output token then takes as long as a step over hundreds
of sequences; a 300-token answer can stream for most of a minute. A bound on the time per output
token (streaming at least at reading speed) is what keeps a fleet honest.

Longer answers can raise the SLO rate (a modelled effect, not an artefact; issue 16). The p95
time per output token is the p95 over requests of each request's *mean* time per token. Other
requests' prompt chunks interrupt its decode steps at random, so that mean varies, and its
variance falls as 1 / (answer length) (:mod:`costlib.formulas.throughput.load`: ``var_steps``
~ rate x step x (1 + prompt CV^2) / decode steps): a long answer averages over more steps. When
the TPOT bound binds, a longer answer's p95 sits closer to its mean and the replica meets the
bound at a higher request rate, so a fleet sized in requests can shrink. Worked case (vLLM,
llama-3.1-70b on p4d.24xlarge, TP 4 x 2, 1,500 in, prompt CV 0.5, TTFT <= 1 s, TPOT <= 50 ms):
at 3.33 requests/s the p95 TPOT is 50.0 ms with 100 out tokens and 47.5 ms with 160 (the mean
rises 35.6 -> 36.2 ms: more sequences decode together); the SLO rate is 3.33 / 3.75 / 4.03
requests/s at 100 / 130 / 160 out tokens, and scenario B's p4d fleet (1,500-token prompts)
falls 176,841 -> 160,859 USD/month from 100 to 160 out tokens. The TP layout with the most
throughput also switches (TP 8 x 1 at 100, TP 4 x 2 at 160). Past the point where the TTFT or
memory bound takes over, the rate falls with the answer again. Whether real engines show the
effect this strongly is not calibrated: the spread term is a moment approximation.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from costlib.core import cache
from costlib.core.errors import CostlibError
from costlib.formulas.throughput import load
from costlib.formulas.throughput.engine import engine_arrays, memory_concurrency, setup_arrays
from costlib.tables import hardware as catalog

LATENCY_BOUNDS = ("ttft_p95_ms", "tpot_p95_ms", "e2e_p95_ms")
"""The latency targets a params file (``workload.latency``) or ``--*-p95-ms`` may state."""
_BOUND_KEYS = {"ttft_p95_ms": "ttft95_s", "tpot_p95_ms": "tpot95_s", "e2e_p95_ms": "e2e95_s"}
_BOUND_WORDS = {"ttft_p95_ms": "p95 time to first token", "tpot_p95_ms": "p95 time per output token",
                "e2e_p95_ms": "p95 end-to-end time"}
LOADS = ("closed", "open", "slo")


@dataclass(frozen=True)
class ServingPoint:
    """One operating point of a self-hosted deployment, per instance (all its replicas).

    ``concurrency`` is the mean number of sequences in the engine (prefilling or decoding); with
    ``load="closed"`` it is the requested clients that the engine holds, and ``queued`` are the
    clients beyond memory waiting for admission. Latencies are per request: mean, p50 and p95.
    ``tokens_per_s_per_sequence`` and ``batch_size`` are the article worksheet's inputs:
    capacity = tokens_per_s_per_sequence x batch_size = total_tokens_per_s.
    """

    load: str                        # closed | open | slo
    concurrency: float               # sequences in the engine per instance (Little's law)
    request_rate_rps: float          # requests completed per second per instance
    output_tokens_per_s: float       # per instance
    total_tokens_per_s: float        # per instance, (in + out) tokens/s
    ttft_ms: float                   # mean time to first token (admission wait included)
    tpot_ms: float                   # mean time per output token after the first
    e2e_latency_ms: float            # mean end-to-end time of one request
    p50_ttft_ms: float
    p95_ttft_ms: float
    p50_tpot_ms: float
    p95_tpot_ms: float
    p50_e2e_latency_ms: float
    p95_e2e_latency_ms: float
    max_concurrency_memory: int      # sequence slots the KV cache holds, per instance
    capacity_rps: float              # highest sustainable request rate per instance
    queued: float                    # requests waiting for a KV slot, per instance
    admission_wait_ms: float         # mean wait for a KV slot
    kv_utilisation: float            # sequences holding KV / slots
    replicas: int
    tensor_parallel: int
    limited_by: str = "requested"    # requested | ttft_p95_ms | tpot_p95_ms | e2e_p95_ms | memory | compute
    clients: float | None = None     # closed loop: clients per instance
    bounds: dict = field(default_factory=dict)
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
    method: str = "modelled"         # modelled | measured
    notes: tuple = field(default_factory=tuple)

    @property
    def tokens_per_s_per_sequence(self) -> float:
        """The worksheet's per-sequence rate: total tokens/s divided by the batch [tokens/s]."""
        return self.total_tokens_per_s / self.concurrency

    @property
    def tokens_per_second_per_instance(self) -> float:
        """The worksheet's name for :attr:`tokens_per_s_per_sequence` (a per-sequence rate)."""
        return self.tokens_per_s_per_sequence

    @property
    def batch_size(self) -> float:
        """The worksheet's batch: sequences in the engine per instance."""
        return self.concurrency

    @property
    def binding(self) -> str:
        """What limits this point, in words."""
        if self.limited_by in _BOUND_WORDS:
            limit = self.bounds.get(self.limited_by)
            return f"{_BOUND_WORDS[self.limited_by]} <= {limit:g} ms"
        return {"memory": "KV-cache memory (beyond it requests queue)",
                "compute": "the engine's step rate (no latency bound binds first)",
                "requested": f"the requested {self.load}-loop load"}.get(self.limited_by, self.limited_by)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tokens_per_s_per_sequence"] = self.tokens_per_s_per_sequence
        d["batch_size"] = self.batch_size
        d["binding"] = self.binding
        d["notes"] = list(self.notes)
        return d


def latency_bounds(*, ttft_p95_ms=None, tpot_p95_ms=None, e2e_p95_ms=None) -> dict:
    """The stated latency bounds as ``{name: ms}``, each checked to be a number > 0.

    >>> latency_bounds(ttft_p95_ms=1000, tpot_p95_ms=50)
    {'ttft_p95_ms': 1000.0, 'tpot_p95_ms': 50.0}
    """
    out = {}
    for name, v in (("ttft_p95_ms", ttft_p95_ms), ("tpot_p95_ms", tpot_p95_ms), ("e2e_p95_ms", e2e_p95_ms)):
        if v is None:
            continue
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise CostlibError(f"throughput: {name} is {v!r}; must be a number of ms > 0")
        out[name] = float(v)
    return out


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


def replica_slots(s: dict, in_tokens, out_tokens, reserved_out_tokens=None):
    """Sequence slots of one replica's KV cache (see :func:`load.sequence_slots`).

    An engine that reserves at admission (``out_held`` 1, TensorRT-LLM's default scheduler) holds
    KV for the prompt plus the request's output *cap* (``reserved_out_tokens``, default the output
    itself); one that allocates as tokens are made (vLLM) holds what is generated, whatever the cap.
    """
    _, kv_bytes = memory_concurrency(s, None, in_tokens, out_tokens)
    kv_per_token = s["kv_per_token"] + s.get("draft_kv_per_token", 0.0)
    held_out = out_tokens
    if s.get("out_held", 0.5) >= 1.0 and reserved_out_tokens is not None:
        held_out = reserved_out_tokens
    return load.sequence_slots(load.kv_token_capacity(kv_bytes, kv_per_token), in_tokens, held_out,
                               s["max_seqs"], s.get("out_held", 0.5))


class _Replica:
    """One TP choice: its setup, slots and capacity, and the load model at that choice."""

    def __init__(self, s, p, spec, replicas, tp, in_tokens, out_tokens, prompt_cv,
                 reserved_out_tokens=None):
        self.s, self.p, self.spec, self.replicas, self.tp = s, p, spec, replicas, tp
        self.L, self.O, self.cv = float(in_tokens), float(out_tokens), float(prompt_cv)
        self.slots = float(replica_slots(s, in_tokens, out_tokens, reserved_out_tokens))
        self.budget = float(s["act_tokens"])
        self.capacity = float(load.capacity_rps(s, p, self.L, self.O, self.cv, spec, self.slots, self.budget)) \
            if self.slots >= 1 else 0.0

    def open(self, rate_per_replica):
        return load.open_loop(self.s, self.p, rate_per_replica, self.L, self.O, self.cv, self.spec,
                              slots=self.slots, budget=self.budget)

    def closed(self, clients_per_replica):
        return load.closed_loop(self.s, self.p, clients_per_replica, self.L, self.O, self.cv, self.spec,
                                slots=self.slots, budget=self.budget)

    def meets(self, r, bounds):
        ok = ~np.asarray(r["saturated"], bool)
        for name, limit in bounds.items():
            ok = ok & (np.asarray(r[_BOUND_KEYS[name]]) * 1e3 <= limit)
        return ok

    def slo_rate(self, bounds):
        """Highest rate per replica meeting every bound (bisection), or 0 when none does."""
        lo, hi = 0.0, self.capacity
        tiny = self.open(np.array([self.capacity * 1e-6]))
        if not self.meets(tiny, bounds)[0]:
            return 0.0, tiny
        lo = self.capacity * 1e-6
        grid = np.linspace(lo, hi, 17)[1:]
        r = self.open(grid)
        ok = self.meets(r, bounds)
        if ok.all():
            return float(grid[-1]) * (1 - 1e-9), None
        first_bad = int(np.argmin(ok))
        lo = float(grid[first_bad - 1]) if first_bad else lo
        hi = float(grid[first_bad])
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            if self.meets(self.open(np.array([mid])), bounds)[0]:
                lo = mid
            else:
                hi = mid
        return lo, None


def _limit_at(rep: _Replica, r: dict, bounds: dict, rate: float) -> str:
    """Which limit binds at an SLO point: the bound nearest its limit, or memory/compute."""
    if bounds:
        ratios = {name: float(np.asarray(r[_BOUND_KEYS[name]]).ravel()[0]) * 1e3 / lim
                  for name, lim in bounds.items()}
        name, ratio = max(ratios.items(), key=lambda kv: kv[1])
        if ratio > 0.98:
            return name
    return "memory" if float(np.asarray(r["kv_utilisation"]).ravel()[0]) > 0.9 else "compute"


def _point(rep: _Replica, r: dict, load_kind: str, limited: str, bounds: dict, clients=None) -> dict:
    f = {k: float(np.asarray(v).ravel()[0]) for k, v in r.items() if k != "saturated"}
    n = rep.replicas
    return dict(
        load=load_kind, concurrency=f["in_engine"] * n, request_rate_rps=f["x_rps"] * n,
        output_tokens_per_s=f["output_tokens_per_s"] * n, total_tokens_per_s=f["total_tokens_per_s"] * n,
        ttft_ms=f["ttft_s"] * 1e3, tpot_ms=f["tpot_s"] * 1e3, e2e_latency_ms=f["e2e_s"] * 1e3,
        p50_ttft_ms=f["ttft50_s"] * 1e3, p95_ttft_ms=f["ttft95_s"] * 1e3,
        p50_tpot_ms=f["tpot50_s"] * 1e3, p95_tpot_ms=f["tpot95_s"] * 1e3,
        p50_e2e_latency_ms=f["e2e50_s"] * 1e3, p95_e2e_latency_ms=f["e2e95_s"] * 1e3,
        max_concurrency_memory=int(math.floor(rep.slots)) * n, capacity_rps=rep.capacity * n,
        queued=f.get("queued", f["x_rps"] * f["admission_wait_s"]) * n,
        admission_wait_ms=f["admission_wait_s"] * 1e3, kv_utilisation=f["kv_utilisation"],
        replicas=n, tensor_parallel=rep.tp, limited_by=limited, clients=clients, bounds=dict(bounds))


def serving_point(model: str, *, instance: str | None = None, gpu: str | None = None,
                  gpus: int | None = None, precision: str = "bf16", kv_precision: str | None = None,
                  in_tokens: float, out_tokens: float, concurrency: float | None = None,
                  rate: float | None = None, bounds: dict | None = None,
                  engine: str = "vllm", prompt_cv: float = 0.0, tensor_parallel: int | None = None,
                  speculative: dict | None = None,
                  reserved_out_tokens: float | None = None) -> ServingPoint:
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
    concurrency : float, optional
        Closed loop: clients per instance, each sending its next request when its last ends [-].
        Clients beyond what memory holds queue for admission (their wait is in the TTFT).
    rate : float, optional
        Open loop: Poisson arrivals per instance [requests/s]; above capacity is an error.
    bounds : dict, optional
        Latency targets ``{"ttft_p95_ms": .., "tpot_p95_ms": .., "e2e_p95_ms": ..}`` (any or all):
        the highest open-loop rate meeting every one is the operating point.
        Exactly one of ``concurrency``, ``rate`` and ``bounds``.
    engine : str
        Engine profile in ``engines.yaml`` ("vllm", "trtllm").
    prompt_cv : float
        Coefficient of variation of prompt length (lognormal); 0 = fixed prompts.
    tensor_parallel : int, optional
        Force the TP degree; by default every TP that fits is tried and the best kept.
    speculative : dict, optional
        ``{"acceptance_rate": a, "num_speculative_tokens": k, "draft_model": name}``.
    reserved_out_tokens : float, optional
        The output cap requests carry (their ``max_tokens``) [tokens], >= ``out_tokens``; an
        engine that reserves KV at admission (``kv_admission: reserve``) holds the prompt plus
        this cap per sequence, not the tokens actually made. Default: ``out_tokens``. With a cap
        left at the context window, a longer window means fewer sequences for the same requests.

    Returns
    -------
    ServingPoint

    Notes
    -----
    The result is a pure function of the arguments, the catalog files (``gpus.csv``,
    ``models.csv``, ``instances.csv``, ``engines.yaml``) and the model's code, so it is memoised:
    in the process, and on disk in the cache of :mod:`costlib.core.cache` under a key holding all
    three (:func:`_memo_key`). An SLO search costs about 0.3 s per call; a memoised one well
    under a millisecond. Errors are not memoised. ``COSTLIB_NO_CACHE=1`` turns the disk part off.

    Examples
    --------
    >>> sp = serving_point("llama-3.1-8b", gpu="H100", gpus=1, in_tokens=1000, out_tokens=200,
    ...                    concurrency=1)
    >>> sp.tensor_parallel, sp.load, round(sp.concurrency)
    (1, 'closed', 1)
    """
    args = dict(model=model, instance=instance, gpu=gpu, gpus=gpus, precision=precision,
                kv_precision=kv_precision, in_tokens=in_tokens, out_tokens=out_tokens,
                concurrency=concurrency, rate=rate, bounds=bounds, engine=engine,
                prompt_cv=prompt_cv, tensor_parallel=tensor_parallel, speculative=speculative)
    if reserved_out_tokens is not None:  # only then part of the key: earlier points stay valid
        args["reserved_out_tokens"] = reserved_out_tokens
    key = _memo_key(args)
    hit = _memo_get(key)
    if hit is None:
        hit = _serving_point(**args)
        _memo_put(key, hit)
    return replace(hit, bounds=dict(hit.bounds))


# --------------------------------------------------------------------------------------------
# memo: in the process and on disk


_MEMO: OrderedDict[str, ServingPoint] = OrderedDict()
_MEMO_SIZE = 512
"""Operating points kept in the process (least recently used dropped first)."""
_DISK_ENTRIES = 4000
"""Operating points kept on disk (the oldest files beyond it are deleted)."""
_CODE = ("costlib.formulas.throughput.serving", "costlib.formulas.throughput.load",
         "costlib.formulas.throughput.engine", "costlib.formulas.throughput.roofline",
         "costlib.formulas.throughput.batching", "costlib.tables.hardware")
"""Modules whose code shapes an operating point (part of the memo key)."""
_PLAIN = (str, int, float, bool, type(None))


def _plain(value) -> bool:
    """Whether a value has one exact JSON form (so two different arguments never share a key)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return type(value) in _PLAIN


def _memo_key(args: dict) -> dict | None:
    """The memo key of a call: its arguments, the catalog files and the code; None if not plain.

    Types are part of the key (``2000`` and ``2000.0`` are different keys), so an argument the
    model would treat differently can never return another's point.
    """
    if not all(_plain(v) for v in args.values()):
        return None
    typed = {k: [type(v).__name__, v] for k, v in args.items()}
    return {"what": "serving point", "args": typed, "catalog": catalog.catalog_signature(),
            "code": cache.code_signature(*_CODE)}


def _memo_get(key: dict | None) -> ServingPoint | None:
    if key is None:
        return None
    name = cache.digest(key)
    hit = _MEMO.get(name)
    if hit is not None:
        _MEMO.move_to_end(name)
        return hit
    value = cache.load(f"serving/{name[:32]}.json", key)
    if value is None:
        return None
    try:
        hit = ServingPoint(**{**value, "notes": tuple(value["notes"])})
    except (TypeError, KeyError):
        return None  # a foreign or old entry: computed again
    _remember(name, hit)
    return hit


def _memo_put(key: dict | None, point: ServingPoint) -> None:
    if key is None:
        return
    name = cache.digest(key)
    _remember(name, point)
    if cache.store(f"serving/{name[:32]}.json", key, asdict(point)):
        cache.prune("serving", _DISK_ENTRIES)


def _remember(name: str, point: ServingPoint) -> None:
    _MEMO[name] = point
    _MEMO.move_to_end(name)
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)


def clear_memo() -> None:
    """Forget the operating points memoised in this process (the disk cache stays)."""
    _MEMO.clear()


def _serving_point(model: str, *, instance, gpu, gpus, precision, kv_precision, in_tokens,
                   out_tokens, concurrency, rate, bounds, engine, prompt_cv, tensor_parallel,
                   speculative, reserved_out_tokens=None) -> ServingPoint:
    """The operating point itself (what :func:`serving_point` memoises)."""
    given = [k for k, v in (("concurrency", concurrency), ("rate", rate), ("bounds", bounds)) if v]
    if len(given) != 1:
        raise CostlibError("throughput: give exactly one of concurrency (closed loop), rate (open loop) "
                           "or latency bounds (the load they allow)"
                           + (f"; got {', '.join(given)}" if given else ""))
    bounds = latency_bounds(**(bounds or {})) if bounds else {}
    for name, v in (("in_tokens", in_tokens), ("out_tokens", out_tokens)):
        if not (isinstance(v, (int, float)) and v >= 1 and math.isfinite(v)):
            raise CostlibError(f"throughput: {name} is {v!r}; must be a number >= 1")
    if reserved_out_tokens is not None and not (
            isinstance(reserved_out_tokens, (int, float)) and math.isfinite(reserved_out_tokens)
            and reserved_out_tokens >= out_tokens):
        raise CostlibError(f"throughput: reserved_out_tokens is {reserved_out_tokens!r}; must be a "
                           f"number >= out_tokens ({out_tokens:g}), the cap requests carry")
    if not (0 <= prompt_cv <= 5):
        raise CostlibError(f"throughput: prompt_cv is {prompt_cv}; must be between 0 and 5")
    if concurrency is not None and not (math.isfinite(concurrency) and concurrency >= 1):
        raise CostlibError(f"throughput: concurrency is {concurrency!r}; must be a number >= 1")
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise CostlibError(f"throughput: rate is {rate!r}; must be requests/s > 0")

    m = catalog.get_model(model)
    inst_name, g, n_gpus, mem_gib = _resolve_hardware(instance, gpu, gpus)
    prec = catalog._norm(precision)
    catalog.bytes_per_element(prec, "precision")
    kvp = catalog._norm(kv_precision) if kv_precision else ("fp8" if prec == "fp8" else "bf16")
    eng = catalog.get_engine(engine).for_gpu(g.name, mem_gib)
    p = engine_arrays(eng)
    ctx_total = in_tokens + (out_tokens if reserved_out_tokens is None else reserved_out_tokens)
    if ctx_total > m.context_window:
        raise CostlibError(f"throughput: in_tokens + output cap = {ctx_total:g} exceeds the {m.context_window}-token "
                           f"context window of {m.name}")
    notes = []
    if g.name == "Inferentia2":
        notes.append("Inferentia2: no Neuron engine profile is calibrated; GPU-fitted factors applied (low confidence)")
    if g.name == "A10G":
        notes.append("A10G dense BF16 TFLOPS (70) has no vendor source; prefill/TTFT on g5 is uncertain")

    reps = []
    for tp in _tp_candidates(n_gpus, m, tensor_parallel):
        s = setup_arrays(m, g, tensor_parallel=tp, precision=prec, kv_precision=kvp, memory_gib=mem_gib,
                         engine=eng)
        spec = None
        if speculative:
            spec = _spec_setup(speculative, g, tp, prec, kvp, mem_gib, eng)
            s["draft_kv_per_token"] = spec["draft"]["kv_per_token"]
            s["w_bytes_mem"] = s["w_bytes"] + spec["draft"]["w_bytes"]
        rep = _Replica(s, p, spec, n_gpus // tp, tp, in_tokens, out_tokens, prompt_cv,
                       reserved_out_tokens)
        if rep.slots >= 1 and rep.capacity > 0:
            reps.append(rep)
    hw = inst_name or f"{n_gpus} x {g.name}"
    if not reps:
        raise CostlibError(f"throughput: {m.name} ({prec} weights, {kvp} KV) does not fit on {hw} with room for "
                           f"one {ctx_total:g}-token sequence; quantize, shorten the context or use more GPUs")

    best = None
    if concurrency is not None:
        for rep in reps:
            r = rep.closed(np.array([concurrency / rep.replicas]))
            cand = _point(rep, r, "closed", "requested", {}, clients=float(concurrency))
            if best is None or cand["output_tokens_per_s"] > best["output_tokens_per_s"]:
                best = cand
    elif rate is not None:
        for rep in reps:
            if rate / rep.replicas >= rep.capacity:
                continue
            r = rep.open(np.array([rate / rep.replicas]))
            cand = _point(rep, r, "open", "requested", {})
            if best is None or cand["ttft_ms"] < best["ttft_ms"]:
                best = cand
        if best is None:
            cap = max(rep.capacity * rep.replicas for rep in reps)
            raise CostlibError(f"throughput: rate {rate:g} requests/s is above what {m.name} on {hw} sustains "
                               f"({cap:.3g} requests/s at {in_tokens:g} in / {out_tokens:g} out tokens); lower "
                               f"the rate or add instances")
    else:
        worst = None
        for rep in reps:
            x, tiny = rep.slo_rate(bounds)
            if x <= 0:
                r = tiny
                over = {n: float(np.asarray(r[_BOUND_KEYS[n]]).ravel()[0]) * 1e3 for n in bounds}
                if worst is None or min(over[n] / bounds[n] for n in bounds) < worst[0]:
                    worst = (min(over[n] / bounds[n] for n in bounds), over)
                continue
            r = rep.open(np.array([x]))
            cand = _point(rep, r, "slo", _limit_at(rep, r, bounds, x), bounds)
            if best is None or cand["total_tokens_per_s"] > best["total_tokens_per_s"]:
                best = cand
        if best is None:
            over = worst[1] if worst else {}
            said = "; ".join(f"{_BOUND_WORDS[n]} is {v:,.0f} ms > {bounds[n]:g}" for n, v in over.items()
                             if v > bounds[n]) or "the engine saturates"
            raise CostlibError(f"throughput: no load meets the latency bounds for {m.name} on {hw}: even one "
                               f"request at a time gives {said}; relax the bound, shorten prompts or outputs, "
                               f"or use faster hardware")
    return ServingPoint(**best, model=m.name, gpu=g.name, gpus=n_gpus, instance=inst_name, precision=prec,
                        kv_precision=kvp, engine=eng.name, in_tokens=float(in_tokens),
                        out_tokens=float(out_tokens), prompt_cv=float(prompt_cv), notes=tuple(notes))


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
