"""``costlib throughput``: modelled throughput and latency of a self-hosted LLM under load.

One of three loads, per instance:

* ``--concurrency N``: a closed loop of N clients (what serving benchmarks publish); clients
  beyond what the KV cache holds wait for admission, and the queue is shown;
* ``--rate R``: Poisson arrivals at R requests/s (what production traffic looks like);
* latency bounds (``--ttft-p95-ms``, ``--tpot-p95-ms``, ``--e2e-p95-ms``, any or all): the
  highest rate meeting every bound, and which one binds.

Examples::

    costlib throughput --model llama-3.1-70b --instance p4d.24xlarge --in-tokens 2000 \\
        --out-tokens 500 --ttft-p95-ms 1000 --tpot-p95-ms 50 --prompt-cv 0.5
    costlib throughput --model llama-3.1-8b --gpu H100 --gpus 1 --precision fp8 \\
        --in-tokens 1000 --out-tokens 200 --concurrency 250 --json
"""

from __future__ import annotations

from costlib.cli import jsonout as _jsonout

import argparse


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``throughput`` sub-command."""
    p = subparsers.add_parser("throughput", help="modelled tokens/s, TTFT, time per token and the load a latency target allows",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model name in costlib/data/models.csv")
    hw = p.add_mutually_exclusive_group(required=True)
    hw.add_argument("--instance", help="EC2 or SageMaker (ml.) instance type")
    hw.add_argument("--gpu", help="GPU name in costlib/data/gpus.csv (with --gpus)")
    p.add_argument("--gpus", type=int, help="number of GPUs with --gpu (default 1)")
    p.add_argument("--precision", default="bf16", help="weights: bf16, fp16, fp8, int8, int4")
    p.add_argument("--kv-precision", default=None, help="KV cache precision (default: bf16, fp8 with fp8 weights)")
    p.add_argument("--in-tokens", type=float, required=True, help="mean prompt tokens per request")
    p.add_argument("--out-tokens", type=float, required=True, help="output tokens per request")
    p.add_argument("--concurrency", type=float, help="closed loop: clients per instance")
    p.add_argument("--rate", type=float, help="open loop: requests/s per instance (Poisson arrivals)")
    p.add_argument("--ttft-p95-ms", type=float, help="bound on the p95 time to first token [ms]")
    p.add_argument("--tpot-p95-ms", type=float, help="bound on the p95 time per output token [ms]")
    p.add_argument("--e2e-p95-ms", type=float, help="bound on the p95 end-to-end time [ms]")
    p.add_argument("--prompt-cv", type=float, default=0.0, help="prompt-length coefficient of variation")
    p.add_argument("--engine", default="vllm", help="engine profile in costlib/data/engines.yaml")
    p.add_argument("--tensor-parallel", type=int, default=None, help="force the tensor-parallel degree")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=handler)
    return p


def _bounds(args) -> dict:
    return {k: v for k, v in (("ttft_p95_ms", args.ttft_p95_ms), ("tpot_p95_ms", args.tpot_p95_ms),
                              ("e2e_p95_ms", args.e2e_p95_ms)) if v is not None}


def format_point(sp) -> str:
    """The operating point as aligned lines (what ``costlib throughput`` prints)."""
    hw = sp.instance or f"{sp.gpus} x {sp.gpu}"
    if sp.load == "closed":
        load = f"closed loop, {sp.clients:g} clients per instance"
    elif sp.load == "open":
        load = f"open loop, {sp.request_rate_rps:.3g} requests/s per instance (Poisson)"
    else:
        load = "the highest open-loop rate meeting every latency bound"
    lines = [
        f"{sp.model} on {hw} ({sp.precision} weights, {sp.kv_precision} KV, engine {sp.engine}, "
        f"TP {sp.tensor_parallel} x {sp.replicas} replica(s))",
        f"  workload                 {sp.in_tokens:,.0f} in / {sp.out_tokens:,.0f} out tokens, prompt CV {sp.prompt_cv:g}",
        f"  load                     {load}",
    ]
    if sp.bounds:
        lines.append("  latency bounds           " + ", ".join(f"{k} <= {v:g}" for k, v in sp.bounds.items()))
    lines += [
        f"  binding limit            {sp.binding}",
        f"  requests/s               {sp.request_rate_rps:,.3f} (capacity {sp.capacity_rps:,.3f})",
        f"  in the engine            {sp.concurrency:,.1f} sequences (KV slots {sp.max_concurrency_memory}, "
        f"{sp.kv_utilisation:.0%} used)",
        f"  queued for a KV slot     {sp.queued:,.1f} requests, mean wait {sp.admission_wait_ms:,.0f} ms",
        f"  output tokens/s          {sp.output_tokens_per_s:,.1f}",
        f"  total tokens/s           {sp.total_tokens_per_s:,.1f}",
        f"  TTFT p50 / p95           {sp.p50_ttft_ms:,.0f} / {sp.p95_ttft_ms:,.0f} ms (mean {sp.ttft_ms:,.0f})",
        f"  time per output token    {sp.p50_tpot_ms:,.1f} / {sp.p95_tpot_ms:,.1f} ms p50 / p95 (mean {sp.tpot_ms:,.1f})",
        f"  end to end p50 / p95     {sp.p50_e2e_latency_ms:,.0f} / {sp.p95_e2e_latency_ms:,.0f} ms",
        f"  worksheet inputs         tokens/s per sequence {sp.tokens_per_s_per_sequence:,.1f} "
        f"(the worksheet's tokens_per_second_per_instance), batch_size {sp.batch_size:,.1f}",
    ]
    lines += [f"  note: {n}" for n in sp.notes]
    return "\n".join(lines)


def handler(args) -> int:
    """Run the sub-command; CostlibError propagates to the CLI (exit 2)."""
    from costlib.core.errors import CostlibError
    from costlib.formulas.throughput.serving import serving_point

    if args.gpus is not None and args.gpu is None:
        raise CostlibError("throughput: --gpus needs --gpu (an instance fixes its own GPU count)")
    bounds = _bounds(args)
    given = [n for n, v in (("--concurrency", args.concurrency), ("--rate", args.rate),
                            ("latency bounds", bounds)) if v]
    if len(given) != 1:
        raise CostlibError("throughput: give exactly one load: --concurrency N (closed loop), --rate R (open "
                           "loop) or latency bounds (--ttft-p95-ms, --tpot-p95-ms, --e2e-p95-ms)"
                           + (f"; got {' and '.join(given)}" if given else ""))
    sp = serving_point(args.model, instance=args.instance, gpu=args.gpu, gpus=args.gpus,
                       precision=args.precision, kv_precision=args.kv_precision, in_tokens=args.in_tokens,
                       out_tokens=args.out_tokens, concurrency=args.concurrency, rate=args.rate,
                       bounds=bounds or None, engine=args.engine, prompt_cv=args.prompt_cv,
                       tensor_parallel=args.tensor_parallel)
    if args.json:
        print(_jsonout.dumps(sp.to_dict(), indent=2, default=str))
    else:
        print(format_point(sp))
    return 0
