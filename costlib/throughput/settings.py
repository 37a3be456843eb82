"""The self-hosted throughput block of a params file, and what it gives the worksheet.

A self-hosted option either states ``tokens_per_second_per_instance`` (and batch) itself, or gives
this block; :func:`worksheet_inputs` then returns both worksheet numbers and says how each was
obtained (``"measured"`` from a benchmark curve beats ``"modelled"``).

Example YAML::

    throughput:
      model: llama-3.1-70b
      precision: fp8
      kv_precision: fp8
      engine: vllm
      prompt_cv: 0.5
      latency_target: ttft
      measured:                 # optional; measured beats modelled
        format: vllm            # or genai-perf
        files: [bench/sweep_c8.json, bench/sweep_c16.json]
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from costlib.throughput import measured as measured_mod
from costlib.throughput.serving import serving_point


class MeasuredCurveSettings(BaseModel):
    """Where a measured throughput-vs-concurrency curve lives."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["vllm", "genai-perf"]
    files: list[str] = Field(min_length=1)


class SelfHostedThroughput(BaseModel):
    """Inputs of the throughput model for one self-hosted option."""

    model_config = ConfigDict(extra="forbid")
    model: str
    precision: Literal["bf16", "fp16", "fp8", "int8", "int4"] = "bf16"
    kv_precision: Literal["bf16", "fp16", "fp8", "int8", "int4"] | None = None
    engine: str = "vllm"
    prompt_cv: float = Field(0.5, ge=0, le=5)
    latency_target: Literal["ttft", "e2e"] = "ttft"
    tensor_parallel: int | None = Field(None, ge=1)
    measured: MeasuredCurveSettings | None = None


def worksheet_inputs(settings: SelfHostedThroughput, *, instance: str, in_tokens: float, out_tokens: float,
                     p95_latency_ms: float | None = None, concurrency: int | None = None) -> dict:
    """``tokens_per_second_per_instance`` and ``batch_size`` for the worksheet, with provenance.

    Returns
    -------
    dict
        tokens_per_second_per_instance, batch_size, total_tokens_per_s, method ("measured" or
        "modelled"), detail (the ServingPoint or MeasuredPoint as a dict).
    """
    if settings.measured is not None:
        curve = measured_mod.load_curve(settings.measured.files, settings.measured.format)
        pt = measured_mod.best_point(curve, p95_latency_ms, settings.latency_target)
        return dict(tokens_per_second_per_instance=pt.tokens_per_second_per_instance, batch_size=pt.concurrency,
                    total_tokens_per_s=pt.total_tokens_per_s, method="measured",
                    detail={**pt.__dict__, "percentile_used": pt.percentile_used})
    sp = serving_point(settings.model, instance=instance, precision=settings.precision,
                       kv_precision=settings.kv_precision, in_tokens=in_tokens, out_tokens=out_tokens,
                       concurrency=concurrency, p95_latency_ms=p95_latency_ms,
                       latency_target=settings.latency_target, engine=settings.engine,
                       prompt_cv=settings.prompt_cv, tensor_parallel=settings.tensor_parallel)
    return dict(tokens_per_second_per_instance=sp.tokens_per_second_per_instance, batch_size=sp.batch_size,
                total_tokens_per_s=sp.total_tokens_per_s, method="modelled", detail=sp.to_dict())
