"""Catalogs behind the throughput model: GPUs, models, instances and engine profiles.

Every hardware figure and model dimension lives in a tidy CSV (one fact per row, with its source
URL and as-of date): ``costlib/data/gpus.csv`` and ``costlib/data/models.csv``. Instances come from
``costlib/data/instances.csv`` (owned by the instance-catalog engineer; read here, never edited).
Engine profiles (the few fitted efficiency factors) live in ``costlib/data/engines.yaml``.

Names are case-insensitive. Unknown names raise :class:`~costlib.core.errors.CostlibError` with the
closest valid names.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path

from costlib.core import cache
from costlib.core.names import unknown_name_message
from costlib.core.errors import CostlibError
from costlib.core.paths import BENCHMARKS_CSV, BENCHMARKS_LOAD_CSV, ENGINES_YAML, GPUS_CSV, INSTANCES_CSV, MODELS_CSV

#: Bytes per stored weight or KV element, by precision name.
#: int4 ignores the per-group scale overhead (about 2 bytes per 128 weights, +3%).
BYTES_PER_ELEMENT = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
PRECISIONS = tuple(BYTES_PER_ELEMENT)

_GPU_SPECS = ("memory_gib", "memory_bandwidth_gb_s", "bf16_dense_tflops", "fp8_dense_tflops",
              "interconnect_gb_s")
_REQUIRED_GPU_SPECS = ("memory_gib", "memory_bandwidth_gb_s", "bf16_dense_tflops")
_MODEL_FIELDS = ("layers", "hidden_size", "intermediate_size", "attention_heads", "kv_heads",
                 "head_dim", "vocab_size", "context_window", "experts", "experts_per_token")
_REQUIRED_MODEL_FIELDS = _MODEL_FIELDS[:-2]

ACCELERATORS = ("A10G", "L4", "L40S", "A100-40GB", "A100-80GB", "H100", "H200", "Inferentia2")
"""Accelerators an instance row may name (each has its facts in ``gpus.csv``)."""
INSTANCE_COLUMNS = (
    "instance", "family", "accelerator", "accelerator_count", "accelerator_memory_gib",
    "vcpu", "memory_gib", "source", "as_of", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class GpuSpec:
    """One accelerator model (per device): memory, bandwidth, dense peak compute, interconnect.

    ``fp8_dense_tflops`` is ``None`` where the chip has no FP8 tensor cores (A10G, A100) and
    ``interconnect_gb_s`` is ``None`` where no figure was sourced (Inferentia2).
    """

    name: str
    memory_gib: float
    memory_bandwidth_gb_s: float
    bf16_dense_tflops: float
    fp8_dense_tflops: float | None = None
    interconnect_gb_s: float | None = None
    sources: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ModelSpec:
    """Transformer dimensions from the model's ``config.json`` (dense: experts = 1)."""

    name: str
    layers: int
    hidden_size: int
    intermediate_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    vocab_size: int
    context_window: int
    experts: int = 1
    experts_per_token: int = 1

    # -- parameter counts, derived from the dimensions (formula in params_total's docstring) --
    @property
    def attention_params_per_layer(self) -> int:
        d, h, kv, dh = self.hidden_size, self.attention_heads, self.kv_heads, self.head_dim
        return d * h * dh + 2 * d * kv * dh + h * dh * d  # q, k, v, o projections

    @property
    def expert_params_per_layer(self) -> int:
        return 3 * self.hidden_size * self.intermediate_size  # SwiGLU gate, up, down

    @property
    def embedding_params(self) -> int:
        """Input embedding table (gathered, not streamed, during a forward pass)."""
        return self.vocab_size * self.hidden_size

    @property
    def params_total(self) -> int:
        """All parameters [count].

        Notes
        -----
        P = L·(attn + E·3·d·ffn + 2·d + [E>1]·d·E) + 2·V·d + d  (untied embedding and LM head,
        RMSNorm weights, MoE router, no biases). Reproduces 8,030,261,248 for Llama 3.1 8B.
        """
        per_layer = (self.attention_params_per_layer + self.experts * self.expert_params_per_layer
                     + 2 * self.hidden_size + (self.hidden_size * self.experts if self.experts > 1 else 0))
        return self.layers * per_layer + 2 * self.embedding_params + self.hidden_size

    @property
    def params_active(self) -> int:
        """Parameters used per token (MoE: only ``experts_per_token`` experts) [count]."""
        inactive = self.layers * (self.experts - self.experts_per_token) * self.expert_params_per_layer
        return self.params_total - inactive

    @property
    def params_expert_total(self) -> int:
        """Parameters inside MoE experts (0 for a dense model) [count]."""
        return self.layers * self.experts * self.expert_params_per_layer if self.experts > 1 else 0


@dataclass(frozen=True)
class InstanceSpec:
    """An EC2 instance type: which accelerator and how many."""

    name: str
    accelerator: str
    accelerator_count: int
    accelerator_memory_gib: float


@dataclass(frozen=True)
class EngineProfile:
    """Serving-engine profile: configuration defaults plus the fitted efficiency factors.

    Attributes
    ----------
    eta_bandwidth : float
        Achieved fraction of peak memory bandwidth [-].
    eta_compute : float
        Achieved fraction of peak dense tensor FLOP/s [-].
    step_overhead_ms : float
        Fixed host/scheduler/kernel-launch time added to every forward pass [ms].
    sequence_overhead_us : float
        Host-side time per decoding sequence per iteration (scheduling, sampling,
        detokenisation) [us].
    allreduce_latency_us : float
        Fixed latency of one tensor-parallel all-reduce [us] (two per layer per pass).
    allreduce_bandwidth_efficiency : float
        Achieved fraction of the per-direction link bandwidth in a tensor-parallel all-reduce of
        one step's activations (NCCL/custom all-reduce "bus bandwidth" over the link) [-].
    request_overhead_ms : float
        Time the serving stack adds to every request before its first token, outside the GPU
        steps (HTTP, tokenization, scheduling, detokenization of the first token) [ms].
    fixed_memory_gib : float
        Per-GPU memory the runtime holds whatever the model (CUDA context, library workspaces,
        communication buffers; vLLM's "non_torch_memory") [GiB].
    max_batched_tokens : int
        Tokens in the largest forward pass (vLLM ``max_num_batched_tokens``, TensorRT-LLM
        ``max_num_tokens``); sizes the activation reserve [tokens].
    kv_memory_fraction : float
        Engine memory knob (vLLM ``gpu_memory_utilization``, TensorRT-LLM
        ``kv_cache_free_gpu_mem_fraction``) [-].
    kv_fraction_of : str
        ``"total"`` (vLLM: fraction of device memory, minus weights and reserve) or ``"free"``
        (TensorRT-LLM: fraction of what is left after weights and reserve).
    max_num_seqs : int
        Engine cap on sequences in flight per replica; also the rows of the sampler buffers.
    kv_admission : str
        ``"on_demand"`` (vLLM: KV blocks allocated as tokens are made; a sequence holds its
        prompt plus half its output on average) or ``"reserve"`` (TensorRT-LLM's default
        GUARANTEED_NO_EVICT: admitted only with room for prompt plus the whole output).
    large_gpu : dict
        Engine defaults that change on large GPUs: ``min_memory_gib``, ``except`` (GPU names),
        ``max_batched_tokens``, ``max_num_seqs``; applied by :meth:`for_gpu`.
    """

    name: str
    eta_bandwidth: float
    eta_compute: float
    step_overhead_ms: float
    sequence_overhead_us: float
    allreduce_latency_us: float
    fixed_memory_gib: float
    max_batched_tokens: int
    kv_memory_fraction: float
    kv_fraction_of: str
    max_num_seqs: int
    kv_admission: str = "on_demand"
    request_overhead_ms: float = 0.0
    allreduce_bandwidth_efficiency: float = 1.0
    description: str = ""
    fitted_from: str = ""
    large_gpu: dict = field(default_factory=dict, compare=False, repr=False)

    def for_gpu(self, gpu_name: str, memory_gib: float) -> "EngineProfile":
        """This profile with the defaults the engine picks on ``gpu_name`` (e.g. vLLM on H100)."""
        lg = self.large_gpu
        if lg and memory_gib >= float(lg["min_memory_gib"]) and gpu_name not in lg.get("except", ()):
            return replace(self, max_batched_tokens=int(lg["max_batched_tokens"]),
                           max_num_seqs=int(lg["max_num_seqs"]))
        return self


def _norm(name: str) -> str:
    return str(name).strip().lower()


def _read_csv(path: Path) -> list[dict]:
    if not path.exists():
        raise CostlibError(f"{path}: file not found; costlib's data directory is incomplete")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _to_float(path: Path, key: str, value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CostlibError(f"{path}: {key} has value {value!r}; expected a number") from None


@lru_cache(maxsize=None)
def _load_gpus(path: Path = GPUS_CSV) -> dict[str, GpuSpec]:
    facts: dict[str, dict] = {}
    sources: dict[str, dict] = {}
    for row in _read_csv(path):
        gpu, spec = row["gpu"].strip(), row["spec"].strip()
        if spec not in _GPU_SPECS:
            raise CostlibError(f"{path}: gpu {gpu} has unknown spec {spec!r}; valid: {', '.join(_GPU_SPECS)}")
        facts.setdefault(gpu, {})[spec] = _to_float(path, f"{gpu}.{spec}", row["value"])
        sources.setdefault(gpu, {})[spec] = (row["source"], row["as_of"])
    out = {}
    for gpu, f in facts.items():
        missing = [s for s in _REQUIRED_GPU_SPECS if s not in f]
        if missing:
            raise CostlibError(f"{path}: gpu {gpu} lacks {', '.join(missing)}")
        out[gpu] = GpuSpec(name=gpu, sources=sources[gpu], **f)
    return out


@lru_cache(maxsize=None)
def _load_models(path: Path = MODELS_CSV) -> dict[str, ModelSpec]:
    facts: dict[str, dict] = {}
    for row in _read_csv(path):
        model, fld = row["model"].strip(), row["field"].strip()
        if fld not in _MODEL_FIELDS:
            raise CostlibError(f"{path}: model {model} has unknown field {fld!r}; valid: {', '.join(_MODEL_FIELDS)}")
        facts.setdefault(model, {})[fld] = int(_to_float(path, f"{model}.{fld}", row["value"]))
    out = {}
    for model, f in facts.items():
        missing = [s for s in _REQUIRED_MODEL_FIELDS if s not in f]
        if missing:
            raise CostlibError(f"{path}: model {model} lacks {', '.join(missing)}")
        out[model] = ModelSpec(name=model, **f)
    return out


@lru_cache(maxsize=None)
def _instance_rows(path: Path = INSTANCES_CSV) -> tuple[dict, ...]:
    """The rows of ``instances.csv``, checked; numbers converted, ``as_of`` a date."""
    where = "costlib/data/instances.csv" if path == INSTANCES_CSV else str(path)
    rows = _read_csv(path)
    columns = tuple(rows[0]) if rows else ()
    if columns != INSTANCE_COLUMNS:
        raise CostlibError(f"{where}: columns must be exactly {', '.join(INSTANCE_COLUMNS)}")
    seen: set[str] = set()
    out = []
    for i, row in enumerate(rows, start=2):
        at = f"{where} line {i}"
        name = row["instance"].strip()
        if name in seen:
            raise CostlibError(f"{where}: duplicate instance {name}")
        seen.add(name)
        if name.startswith("ml."):
            raise CostlibError(f"{at}: {name}: SageMaker ml. names are not rows here")
        if row["accelerator"] not in ACCELERATORS:
            raise CostlibError(unknown_name_message("accelerator", row["accelerator"], ACCELERATORS, at))
        if not row["source"] or not row["as_of"]:
            raise CostlibError(f"{at}: {name} has no source or as_of")
        try:
            as_of = date.fromisoformat(row["as_of"])
        except ValueError:
            raise CostlibError(f"{at}: as_of {row['as_of']!r} is not an ISO date (YYYY-MM-DD)") from None
        rec = dict(row, instance=name, as_of=as_of)
        for c in ("accelerator_count", "accelerator_memory_gib", "vcpu", "memory_gib"):
            value = _to_float(path, f"{name}.{c}", row[c])
            if not value > 0:
                raise CostlibError(f"{at}: {c} must be a positive number")
            rec[c] = int(value) if c in ("accelerator_count", "vcpu") else value
        out.append(rec)
    return tuple(out)


def load_instances():
    """Accelerated instance hardware (``costlib/data/instances.csv``), checked, as a DataFrame.

    Columns: instance, family, accelerator (one of :data:`ACCELERATORS`), accelerator_count,
    accelerator_memory_gib (per accelerator, as EC2 reports it: MiB / 1024), vcpu, memory_gib,
    source, as_of, notes.
    """
    import pandas as pd

    return pd.DataFrame(list(_instance_rows()), columns=list(INSTANCE_COLUMNS))


def instance_hardware(name: str) -> dict:
    """Hardware of an EC2 instance type; a SageMaker ``ml.`` name is looked up without ``ml.``.

    >>> instance_hardware("ml.p4d.24xlarge")["accelerator"]
    'A100-40GB'
    """
    key = str(name).removeprefix("ml.")
    rows = _instance_rows()
    for row in rows:
        if row["instance"] == key:
            return dict(row)
    raise CostlibError(unknown_name_message("instance type", name, [r["instance"] for r in rows]))


@lru_cache(maxsize=None)
def _load_instances(path: Path = INSTANCES_CSV) -> dict[str, InstanceSpec]:
    return {row["instance"]: InstanceSpec(name=row["instance"], accelerator=row["accelerator"].strip(),
                                          accelerator_count=row["accelerator_count"],
                                          accelerator_memory_gib=row["accelerator_memory_gib"])
            for row in _instance_rows(path)}


@lru_cache(maxsize=None)
def _load_engines(path: Path = ENGINES_YAML) -> dict[str, EngineProfile]:
    import yaml

    if not path.exists():
        raise CostlibError(f"{path}: file not found")
    raw = yaml.safe_load(path.read_text()) or {}
    profiles = raw.get("profiles", {})
    out: dict[str, EngineProfile] = {}
    for name, p in profiles.items():
        fitted = dict(p.get("fitted") or {})
        src = p.get("fitted_factors_from")
        if src:
            if src not in profiles or not profiles[src].get("fitted"):
                raise CostlibError(f"{path}: profiles.{name}.fitted_factors_from names {src!r}, which has no fitted block")
            fitted = {**profiles[src]["fitted"], **fitted}
        try:
            out[name] = EngineProfile(
                name=name, description=str(p.get("description", "")).strip(),
                fitted_from=src or name,
                eta_bandwidth=float(fitted["eta_bandwidth"]), eta_compute=float(fitted["eta_compute"]),
                step_overhead_ms=float(fitted["step_overhead_ms"]),
                sequence_overhead_us=float(fitted["sequence_overhead_us"]),
                allreduce_latency_us=float(fitted["allreduce_latency_us"]),
                request_overhead_ms=float(fitted.get("request_overhead_ms", 0.0)),
                allreduce_bandwidth_efficiency=float(fitted.get("allreduce_bandwidth_efficiency", 1.0)),
                fixed_memory_gib=float(p["fixed_memory_gib"]["value"]),
                max_batched_tokens=int(p["max_batched_tokens"]["value"]),
                kv_memory_fraction=float(p["kv_memory_fraction"]["value"]),
                kv_fraction_of=str(p["kv_memory_fraction"]["of"]),
                max_num_seqs=int(p["max_num_seqs"]["value"]),
                kv_admission=str(p["kv_admission"]["value"]),
                large_gpu=dict(p.get("large_gpu") or {}))
        except KeyError as e:
            raise CostlibError(f"{path}: profiles.{name} lacks key {e.args[0]!r}") from None
        if out[name].kv_admission not in ("on_demand", "reserve"):
            raise CostlibError(f"{path}: profiles.{name}.kv_admission is {out[name].kv_admission!r}; "
                               f"valid: on_demand, reserve")
    return out


_BENCHMARK_NUMBERS = ("gpus", "tensor_parallel", "in_tokens", "out_tokens", "measured")


def load_benchmarks(path=None) -> list[dict]:
    """Published serving benchmarks (``benchmarks.csv``), one measured figure a row, numbers parsed."""
    path = path or BENCHMARKS_CSV
    rows = _read_csv(Path(path))
    for r in rows:
        for k in _BENCHMARK_NUMBERS:
            r[k] = float(r[k])
        r["concurrency"] = float(r["concurrency"]) if r["concurrency"] else None
        if r["metric"] not in ("output_tokens_per_s", "tpot_ms"):
            raise CostlibError(f"{path}: row {r['id']} has metric {r['metric']!r}; valid: output_tokens_per_s, tpot_ms")
    return rows



_LOAD_NUMBERS = ("gpus", "tensor_parallel", "in_tokens", "out_tokens", "concurrency", "request_rate",
                 "num_prompts", "value")


def load_load_benchmarks(path=None) -> list[dict]:
    """Published latency-under-load rows (``benchmarks_load.csv``), numbers parsed, blanks None.

    ``request_rate`` may be ``inf`` (every request sent at once).
    """
    path = Path(path or BENCHMARKS_LOAD_CSV)
    rows = _read_csv(path)
    for r in rows:
        for k in _LOAD_NUMBERS:
            v = (r.get(k) or "").strip()
            r[k] = None if not v else _to_float(path, f"{r['id']}.{k}", v)
        for k in ("engine", "model", "gpu", "precision", "kv_precision", "load_kind", "metric", "stat"):
            r[k] = (r.get(k) or "").strip()
        if r["load_kind"] not in ("open", "closed"):
            raise CostlibError(f"{path}: row {r['id']} has load_kind {r['load_kind']!r}; valid: open, closed")
    return rows


def _lookup(table: dict, name: str, what: str, where: str):
    by_norm = {_norm(k): v for k, v in table.items()}
    hit = by_norm.get(_norm(name))
    if hit is None:
        raise CostlibError(unknown_name_message(what, name, table.keys(), where))
    return hit


def gpus() -> dict[str, GpuSpec]:
    """All GPUs in ``gpus.csv`` by name."""
    return dict(_load_gpus())


def models() -> dict[str, ModelSpec]:
    """All models in ``models.csv`` by name."""
    return dict(_load_models())


def engines() -> dict[str, EngineProfile]:
    """All engine profiles in ``engines.yaml`` by name."""
    return dict(_load_engines())


def instances() -> dict[str, InstanceSpec]:
    """All instances in ``instances.csv`` by name."""
    return dict(_load_instances())


def get_gpu(name: str, where: str = "") -> GpuSpec:
    """The GPU called ``name`` (case-insensitive), or a one-line CostlibError."""
    return _lookup(_load_gpus(), name, "gpu", where or str(GPUS_CSV.name))


def get_model(name: str, where: str = "") -> ModelSpec:
    """The model called ``name`` (case-insensitive), or a one-line CostlibError."""
    return _lookup(_load_models(), name, "model", where or str(MODELS_CSV.name))


def get_engine(name: str, where: str = "") -> EngineProfile:
    """The engine profile called ``name``, or a one-line CostlibError."""
    return _lookup(_load_engines(), name, "engine", where or str(ENGINES_YAML.name))


def get_instance(name: str, where: str = "") -> InstanceSpec:
    """The instance called ``name``; SageMaker ``ml.`` names are accepted (the prefix is stripped)."""
    n = _norm(name)
    if n.startswith("ml."):
        n = n[3:]
    return _lookup(_load_instances(), n, "instance", where or str(INSTANCES_CSV.name))


def bytes_per_element(precision: str, where: str = "precision") -> float:
    """Bytes per weight or KV element for a precision name (bf16, fp16, fp8, int8, int4)."""
    p = _norm(precision)
    if p not in BYTES_PER_ELEMENT:
        raise CostlibError(unknown_name_message("precision", precision, PRECISIONS, where))
    return BYTES_PER_ELEMENT[p]


def peak_tflops(gpu: GpuSpec, precision: str) -> float:
    """Dense peak tensor TFLOP/s used for the matmuls at this weight precision.

    fp8 uses the FP8 tensor rate where the chip has one (W8A8); otherwise, and for the
    weight-only int8 / int4 formats, the matmuls run at the BF16 rate (weights are dequantised).
    """
    if _norm(precision) == "fp8" and gpu.fp8_dense_tflops:
        return gpu.fp8_dense_tflops
    return gpu.bf16_dense_tflops


CATALOG_FILES = (GPUS_CSV, MODELS_CSV, INSTANCES_CSV, ENGINES_YAML)
"""The files the throughput model reads (:func:`catalog_signature` keys its results on them)."""


@lru_cache(maxsize=None)
def catalog_signature() -> str:
    """Digest of the content of :data:`CATALOG_FILES`, read once per process (as the catalogs are).

    Part of the key of every memoised operating point
    (:func:`costlib.formulas.throughput.serving.serving_point`): a changed GPU, model, instance
    or engine file gives new keys. :func:`clear_caches` forgets it with the catalogs.
    """
    return cache.digest(cache.file_signature(CATALOG_FILES))


def clear_caches() -> None:
    """Forget cached catalogs and their signature (tests that write fixture files call this)."""
    for f in (_load_gpus, _load_models, _instance_rows, _load_instances, _load_engines,
              catalog_signature):
        f.cache_clear()
