"""Throughput and latency model for self-hosted LLM serving (issue 5).

Public API::

    from costlib.formulas.throughput import serving_point, ServingPoint
    sp = serving_point("llama-3.1-70b", instance="p4d.24xlarge", in_tokens=2000, out_tokens=500,
                       p95_latency_ms=1000, prompt_cv=0.5)
    sp.tokens_per_second_per_instance, sp.batch_size

See :mod:`costlib.formulas.throughput.serving` for the method, :mod:`costlib.formulas.throughput.calibration` for the
fit against published benchmarks, :mod:`costlib.tables.measured` for importing measured
curves, :mod:`costlib.formulas.throughput.levers` for quantization and speculative decoding.
"""

from costlib.formulas.throughput.serving import LATENCY_TARGETS, ServingPoint, serving_point

__all__ = ["LATENCY_TARGETS", "ServingPoint", "serving_point"]
