"""Speed and memory benchmarks (not tests: nothing here passes or fails).

Run with ``make bench``. Each benchmark is timed ``--repeat`` times after one warm-up run and
reported as the median and the spread (min-max) in milliseconds, with the peak Python memory
allocated during one run (tracemalloc). Results go to stdout and, with ``--json FILE``, to a file
to compare across commits.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _bench_cases():
    import numpy as np

    from costlib.formulas import worksheet
    from costlib.whatif.sweeps import batch_sweep
    from costlib.bill.estimate import estimate
    from costlib.bill.fleet import FleetPolicy
    from costlib.formulas.fleet import simulate_fleet
    from costlib.bill.params import load_params
    from costlib.tables.prices import PriceSettings, load_price_book
    from costlib.formulas.throughput import serving_point

    params = {p.stem: load_params(p) for p in sorted((ROOT / "params").glob("*.yaml"))}
    rng = np.random.default_rng(0)
    demand = rng.gamma(2.0, 2.0, size=7 * 24 * 60)
    sweep_inputs = rng.uniform(1, 64, size=100_000)

    cases = {
        "price book load (cached tables)": lambda: load_price_book(PriceSettings()),
        "worksheet, 100k batch sizes in one call": lambda: worksheet.usd_per_1k_tokens_self_hosted(
            55.04, worksheet.instances_to_provision(
                worksheet.required_instances(100_000.0, 200.0, sweep_inputs)), 100_000.0),
        "fleet simulation, autoscaled, 7 days at 1 min": lambda: simulate_fleet(
            demand, 60.0, FleetPolicy(policy="autoscaled")),
        "serving point, 70B on p5, p95 TTFT 1 s and 50 ms a token": lambda: serving_point(
            "llama-3.1-70b", instance="p5.48xlarge", in_tokens=2000, out_tokens=500,
            bounds={"ttft_p95_ms": 1000, "tpot_p95_ms": 50}, prompt_cv=0.5),
        "serving point, 70B on p5, 250 clients (closed loop)": lambda: serving_point(
            "llama-3.1-70b", instance="p5.48xlarge", in_tokens=2000, out_tokens=500,
            concurrency=250, prompt_cv=0.5),
    }
    for stem, p in params.items():
        cases[f"estimate {stem}"] = lambda p=p: estimate(p)
    if "scenario_b_steady" in params:
        cases["batch sweep, 9 batches, p5 scenario B"] = lambda: batch_sweep(
            params["scenario_b_steady"], "p5_vllm_llama31_70b", [1, 2, 4, 8, 16, 32, 64, 128, 256])
    return cases


def run(repeat: int) -> list[dict]:
    rows = []
    for name, fn in _bench_cases().items():
        fn()  # warm-up: imports, caches
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        tracemalloc.start()
        fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append({"benchmark": name, "median_ms": statistics.median(times),
                     "min_ms": min(times), "max_ms": max(times), "peak_mib": peak / 2**20,
                     "repeat": repeat})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    rows = run(args.repeat)
    width = max(len(r["benchmark"]) for r in rows)
    print(f"{'benchmark':<{width}}  median ms   min-max ms        peak MiB")
    for r in rows:
        print(f"{r['benchmark']:<{width}}  {r['median_ms']:9.2f}   "
              f"{r['min_ms']:7.2f}-{r['max_ms']:<9.2f} {r['peak_mib']:8.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
