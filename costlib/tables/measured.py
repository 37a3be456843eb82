"""Measured beats modelled: import throughput-vs-concurrency curves from benchmark result files.

Supported formats (one file per load point; a curve is several files):

* ``vllm`` — the JSON written by ``vllm bench serve`` / ``benchmarks/benchmark_serving.py
  --save-result``: top-level ``max_concurrency``, ``completed``, ``total_input_tokens``,
  ``total_output_tokens``, ``output_throughput``, ``total_token_throughput``, ``mean_ttft_ms``,
  ``mean_tpot_ms``, ``mean_e2el_ms`` and ``p{N}_ttft_ms`` / ``p{N}_e2el_ms`` for the percentiles
  requested with ``--metric-percentiles`` (default 99 only).
* ``genai-perf`` — NVIDIA GenAI-Perf ``profile_export_genai_perf.json`` (and AIPerf's
  ``profile_export_aiperf.json``): metric objects such as ``time_to_first_token``,
  ``request_latency``, ``inter_token_latency`` with ``avg``/``p95``/``p99`` in ``unit`` ms,
  ``output_token_throughput.avg``, ``input_sequence_length.avg``, and the run's settings under
  ``input_config`` (``concurrency``; AIPerf: ``input_config.loadgen.concurrency``).

A p95 latency is used when the file has one; otherwise p99 (stricter) is used and the point says
so in ``percentile_used``. Fleet sizing then uses the largest measured concurrency meeting the SLO.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from costlib.core.errors import CostlibError

FORMATS = ("vllm", "genai-perf")


@dataclass(frozen=True)
class MeasuredPoint:
    """One measured load point (per instance the benchmark ran against)."""

    concurrency: int
    output_tokens_per_s: float
    total_tokens_per_s: float
    mean_ttft_ms: float
    p95_ttft_ms: float
    mean_e2e_latency_ms: float
    p95_e2e_latency_ms: float
    mean_tpot_ms: float
    percentile_used: int
    source_file: str
    p95_tpot_ms: float = float("nan")   # p95 (or p99 when that is all the file has); nan if absent

    @property
    def tokens_per_second_per_instance(self) -> float:
        """Worksheet rate: total tokens/s per sequence in flight [tokens/s]."""
        return self.total_tokens_per_s / self.concurrency


def _num(d: dict, key: str, path: Path, required=True):
    v = d.get(key)
    if v is None:
        if required:
            raise CostlibError(f"{path}: key {key!r} is missing; is this a vLLM --save-result JSON?")
        return None
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        raise CostlibError(f"{path}: key {key!r} has value {v!r}; expected a number") from None
    if isinstance(v, bool) or not math.isfinite(x) or x < 0:
        raise CostlibError(f"{path}: key {key!r} has value {v!r}; expected a finite number, 0 or more")
    return x


def _concurrency(v, path: Path) -> int:
    """A measured point's concurrency: a whole number, 1 or more."""
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        x = float("nan")
    if isinstance(v, bool) or not math.isfinite(x) or x < 1 or x != int(x):
        raise CostlibError(f"{path}: concurrency {v!r} must be a whole number, 1 or more")
    return int(x)


def _pick_pct(d: dict, metric: str) -> tuple[float | None, int]:
    for pct in (95, 99):
        if d.get(f"p{pct}_{metric}_ms") is not None:
            return float(d[f"p{pct}_{metric}_ms"]), pct
    return None, 0


def parse_vllm(path) -> MeasuredPoint:
    """Parse one ``vllm bench serve --save-result`` JSON file."""
    path = Path(path)
    d = _load_json(path)
    conc = d.get("max_concurrency")
    if conc in (None, "None"):
        raise CostlibError(f"{path}: max_concurrency is null; run vllm bench serve with --max-concurrency N "
                           "so the point has a concurrency")
    out_tps = _num(d, "output_throughput", path)
    tot = _num(d, "total_token_throughput", path, required=False)
    if tot is None:
        dur = _num(d, "duration", path)
        tot = (_num(d, "total_input_tokens", path) + _num(d, "total_output_tokens", path)) / dur
    ttft95, p1 = _pick_pct(d, "ttft")
    e2e95, p2 = _pick_pct(d, "e2el")
    tpot95, _ = _pick_pct(d, "tpot")
    if ttft95 is None:
        raise CostlibError(f"{path}: no p95_ttft_ms or p99_ttft_ms; rerun with --percentile-metrics ttft,tpot,e2el "
                           "--metric-percentiles 95,99")
    mean_e2e = _num(d, "mean_e2el_ms", path, required=False)
    return MeasuredPoint(
        concurrency=_concurrency(conc, path), output_tokens_per_s=out_tps, total_tokens_per_s=tot,
        mean_ttft_ms=_num(d, "mean_ttft_ms", path), p95_ttft_ms=ttft95,
        mean_e2e_latency_ms=mean_e2e if mean_e2e is not None else float("nan"),
        p95_e2e_latency_ms=e2e95 if e2e95 is not None else float("nan"),
        mean_tpot_ms=_num(d, "mean_tpot_ms", path), percentile_used=max(p1, p2 if e2e95 else 0),
        source_file=str(path), p95_tpot_ms=tpot95 if tpot95 is not None else float("nan"))


def _stat(d: dict, metric: str, path: Path, stat: str = "avg", required=True):
    obj = d.get(metric)
    if not isinstance(obj, dict) or obj.get(stat) is None:
        if required:
            raise CostlibError(f"{path}: {metric}.{stat} is missing; is this a GenAI-Perf/AIPerf profile export?")
        return None
    unit = str(obj.get("unit", "ms"))
    v = float(obj[stat])
    if metric in ("time_to_first_token", "request_latency", "inter_token_latency"):
        if unit == "ns":
            v /= 1e6
        elif unit in ("s", "sec"):
            v *= 1e3
    return v


def parse_genai_perf(path) -> MeasuredPoint:
    """Parse one GenAI-Perf ``profile_export_genai_perf.json`` (or AIPerf ``profile_export_aiperf.json``)."""
    path = Path(path)
    d = _load_json(path)
    cfg = d.get("input_config") or {}
    conc = cfg.get("concurrency")
    if conc is None and isinstance(cfg.get("loadgen"), dict):
        conc = cfg["loadgen"].get("concurrency")
    if conc is None and isinstance(cfg.get("perf_analyzer"), dict):
        conc = (cfg["perf_analyzer"].get("stimulus") or {}).get("concurrency")
    if conc is None:
        raise CostlibError(f"{path}: input_config has no concurrency; profile with --concurrency N")
    out_tps = _stat(d, "output_token_throughput", path)
    isl = _stat(d, "input_sequence_length", path)
    osl = _stat(d, "output_sequence_length", path)
    pct = 95
    ttft95 = _stat(d, "time_to_first_token", path, "p95", required=False)
    e2e95 = _stat(d, "request_latency", path, "p95", required=False)
    tpot95 = _stat(d, "inter_token_latency", path, "p95", required=False)
    if ttft95 is None or e2e95 is None:
        pct = 99
        ttft95 = _stat(d, "time_to_first_token", path, "p99")
        e2e95 = _stat(d, "request_latency", path, "p99")
        tpot95 = _stat(d, "inter_token_latency", path, "p99", required=False)
    return MeasuredPoint(
        concurrency=_concurrency(conc, path), output_tokens_per_s=out_tps, total_tokens_per_s=out_tps * (isl + osl) / osl,
        mean_ttft_ms=_stat(d, "time_to_first_token", path), p95_ttft_ms=ttft95,
        mean_e2e_latency_ms=_stat(d, "request_latency", path), p95_e2e_latency_ms=e2e95,
        mean_tpot_ms=_stat(d, "inter_token_latency", path), percentile_used=pct, source_file=str(path),
        p95_tpot_ms=tpot95 if tpot95 is not None else float("nan"))


def _load_json(path: Path) -> dict:
    if not path.exists():
        raise CostlibError(f"{path}: measured-curve file not found")
    from costlib.core.inputs import TABLE_MAX_BYTES, read_user_text

    text = read_user_text(path, "measured-curve file", TABLE_MAX_BYTES)
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise CostlibError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    except RecursionError:
        raise CostlibError(f"{path}: nested too deeply to be a benchmark result file") from None
    if not isinstance(d, dict):
        raise CostlibError(f"{path}: expected a JSON object at the top level")
    return d


def load_curve(paths, fmt: str) -> list[MeasuredPoint]:
    """Parse several result files into a curve sorted by concurrency."""
    if fmt not in FORMATS:
        from costlib.core.names import unknown_name_message
        raise CostlibError(unknown_name_message("measured-curve format", fmt, FORMATS))
    parse = parse_vllm if fmt == "vllm" else parse_genai_perf
    pts = sorted((parse(p) for p in paths), key=lambda p: p.concurrency)
    if not pts:
        raise CostlibError("measured curve: no result files given")
    return pts


_BOUND_FIELDS = {"ttft_p95_ms": "p95_ttft_ms", "tpot_p95_ms": "p95_tpot_ms", "e2e_p95_ms": "p95_e2e_latency_ms"}


def best_point(curve: list[MeasuredPoint], bounds: dict | None = None) -> MeasuredPoint:
    """The measured point with the highest concurrency whose p95s meet every bound.

    ``bounds`` is ``{"ttft_p95_ms": .., "tpot_p95_ms": .., "e2e_p95_ms": ..}`` (any of them).
    Without bounds, the highest-throughput point. A bound the files do not measure (a p95 time
    per output token missing from the export) is an error, not ignored; so is a curve on which
    no point meets the bounds.
    """
    if not bounds:
        return max(curve, key=lambda p: p.total_tokens_per_s)
    for name in bounds:
        if all(getattr(p, _BOUND_FIELDS[name]) != getattr(p, _BOUND_FIELDS[name]) for p in curve):  # all nan
            raise CostlibError(f"measured curve: the files carry no p95 for {name}; rerun the benchmark with that "
                               f"percentile, or drop the bound")
    ok = [p for p in curve if all(getattr(p, _BOUND_FIELDS[n]) <= v for n, v in bounds.items())]
    if not ok:
        said = ", ".join(f"{n} best measured {min(getattr(p, _BOUND_FIELDS[n]) for p in curve):.0f} ms"
                         for n in bounds)
        raise CostlibError(f"measured curve: no measured concurrency meets the latency bounds ({said})")
    return max(ok, key=lambda p: p.concurrency)
