"""What a GPU serving an LLM delivers: memory, step times, latency under load, SLO-feasible load.

    from costlib.formulas.throughput import serving_point
    sp = serving_point("llama-3.1-70b", instance="p4d.24xlarge", in_tokens=2000, out_tokens=500,
                       bounds={"ttft_p95_ms": 1000, "tpot_p95_ms": 50})
    sp.tokens_per_s_per_sequence, sp.batch_size, sp.binding

Modules: ``roofline`` (one formula per function), ``engine`` (memory and the time of one step),
``batching`` (the queueing formulas of continuous batching), ``load`` (open- and closed-loop
latency under load), ``serving`` (the operating point), ``levers`` (quantization, speculative
decoding), ``calibration`` (against published benchmarks).
"""

from costlib.formulas.throughput.serving import LATENCY_BOUNDS, ServingPoint, serving_point

__all__ = ["LATENCY_BOUNDS", "ServingPoint", "serving_point"]
