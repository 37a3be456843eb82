"""``costlib throughput``: modelled throughput and latency of a self-hosted LLM.

Examples::

    costlib throughput --model llama-3.1-70b --instance p4d.24xlarge --in-tokens 2000 \\
        --out-tokens 500 --p95-latency-ms 1000 --prompt-cv 0.5
    costlib throughput --model llama-3.1-8b --gpu H100 --gpus 1 --precision fp8 \\
        --in-tokens 1000 --out-tokens 200 --concurrency 32 --json
"""

from __future__ import annotations

import argparse
import json

from costlib.tables import hardware as catalog
from costlib.formulas.throughput.serving import LATENCY_TARGETS, serving_point


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``throughput`` sub-command."""
    p = subparsers.add_parser("throughput", help="modelled tokens/s, TTFT, TPOT and feasible concurrency",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model name in costlib/data/models.csv")
    hw = p.add_mutually_exclusive_group(required=True)
    hw.add_argument("--instance", help="EC2 or SageMaker (ml.) instance type")
    hw.add_argument("--gpu", help="GPU name in costlib/data/gpus.csv (with --gpus)")
    p.add_argument("--gpus", type=int, help="number of GPUs with --gpu (default 1)")
    p.add_argument("--precision", default="bf16", help="weights: " + ", ".join(catalog.PRECISIONS))
    p.add_argument("--kv-precision", default=None, help="KV cache precision (default: bf16, fp8 with fp8 weights)")
    p.add_argument("--in-tokens", type=float, required=True, help="mean prompt tokens per request")
    p.add_argument("--out-tokens", type=float, required=True, help="output tokens per request")
    load = p.add_mutually_exclusive_group(required=True)
    load.add_argument("--concurrency", type=int, help="sequences in flight per instance")
    load.add_argument("--p95-latency-ms", type=float, help="pick the largest concurrency meeting this p95")
    p.add_argument("--latency-target", choices=LATENCY_TARGETS, default="ttft",
                   help="what the p95 bounds: time to first token (default) or the whole answer")
    p.add_argument("--prompt-cv", type=float, default=0.0, help="prompt-length coefficient of variation")
    p.add_argument("--engine", default="vllm", help="engine profile in costlib/data/engines.yaml")
    p.add_argument("--tensor-parallel", type=int, default=None, help="force the tensor-parallel degree")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=handler)
    return p


def handler(args) -> int:
    """Run the sub-command; CostlibError propagates to the CLI (exit 2)."""
    if args.gpus is not None and args.gpu is None:
        from costlib.core.errors import CostlibError
        raise CostlibError("throughput: --gpus needs --gpu (an instance fixes its own GPU count)")
    sp = serving_point(args.model, instance=args.instance, gpu=args.gpu, gpus=args.gpus,
                       precision=args.precision, kv_precision=args.kv_precision, in_tokens=args.in_tokens,
                       out_tokens=args.out_tokens, concurrency=args.concurrency,
                       p95_latency_ms=args.p95_latency_ms, latency_target=args.latency_target,
                       engine=args.engine, prompt_cv=args.prompt_cv, tensor_parallel=args.tensor_parallel)
    if args.json:
        print(json.dumps(sp.to_dict(), indent=2, default=str))
        return 0
    hw = sp.instance or f"{sp.gpus} x {sp.gpu}"
    lines = [
        f"{sp.model} on {hw} ({sp.precision} weights, {sp.kv_precision} KV, engine {sp.engine}, "
        f"TP {sp.tensor_parallel} x {sp.replicas} replica(s))",
        f"  workload                 {sp.in_tokens:,.0f} in / {sp.out_tokens:,.0f} out tokens, prompt CV {sp.prompt_cv:g}",
        f"  concurrency              {sp.concurrency} per instance (limited by {sp.limited_by})",
        f"  memory-limited max       {sp.max_concurrency_memory}",
        f"  output tokens/s          {sp.output_tokens_per_s:,.1f}",
        f"  total tokens/s           {sp.total_tokens_per_s:,.1f}",
        f"  TTFT mean / p95          {sp.ttft_ms:,.0f} / {sp.p95_ttft_ms:,.0f} ms",
        f"  time per output token    {sp.tpot_ms:,.1f} ms",
        f"  end-to-end mean / p95    {sp.e2e_latency_ms:,.0f} / {sp.p95_e2e_latency_ms:,.0f} ms",
        f"  worksheet                tokens_per_second_per_instance {sp.tokens_per_second_per_instance:,.1f}, "
        f"batch_size {sp.batch_size}",
    ]
    if sp.p95_latency_ms is not None:
        lines.insert(3, f"  SLO                      p95 {sp.latency_target} <= {sp.p95_latency_ms:g} ms")
    lines += [f"  note: {n}" for n in sp.notes]
    print("\n".join(lines))
    return 0
