"""Lesson 03, what a GPU really delivers (``notebooks/03_throughput.ipynb``).

Tidy tables that explain the throughput model, and the lesson's charts and controls (built in
:mod:`costlib.lessons.charts` and :mod:`costlib.lessons.widgets`, re-exported here so the
notebook calls only this module). Every table function only calls the model (:mod:`costlib.formulas.throughput.serving`, ``roofline``,
``levers``, ``calibration``) and arranges its answers as a pandas DataFrame; nothing is computed
in the notebook. Functions never raise for an infeasible point: a configuration that does not fit
or cannot meet the latency bounds becomes a row with ``NaN`` numbers and a ``note``, so the
notebook runs for any params file.

Latency under load (:func:`latency_under_load`, :func:`published_curve`) is the closed loop of
:func:`costlib.formulas.throughput.load.closed_loop` over a grid of clients, one call on arrays;
its memory knee is the KV-cache sequence slots per instance
(:func:`costlib.formulas.throughput.serving.replica_slots` x replicas), the
``max_concurrency_memory`` of a :class:`ServingPoint`.

The lesson's subject is :class:`LessonSetup`: the first self-hosted option of a params file that
names a ``model``, with the params file's workload and latency bounds, or, failing that, the
documented example :data:`EXAMPLE` (Llama 3.1 70B on p4d.24xlarge).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
from IPython.display import Markdown

from costlib.core.errors import CostlibError
from costlib.lessons import Lesson, start
from costlib.lessons.charts import (calibration_chart, context_chart, latency_load_chart, levers_chart,
                                    memory_chart, prompt_cv_chart, roofline_chart, window_chart)
from costlib.lessons.widgets import point_explorer
from costlib.formulas.throughput import calibration, load
from costlib.tables import hardware as catalog
from costlib.formulas.throughput import roofline
from costlib.formulas.throughput.levers import compare_levers, usd_per_1k_tokens
from costlib.formulas.throughput.engine import (engine_arrays, pass_bytes_flops, pass_time_s,
                                               runtime_reserve_gib, setup_arrays)
from costlib.formulas.throughput.serving import (LATENCY_BOUNDS, ServingPoint, replica_slots,
                                                serving_point)

BOUND_WORDS = {"ttft_p95_ms": "p95 time to first token", "tpot_p95_ms": "p95 time per output token",
               "e2e_p95_ms": "p95 end-to-end time"}
"""Each latency bound of ``workload.latency``, in words."""

LOAD_METRICS = {"ttft_ms": "ttft_p95_ms", "tpot_ms": "tpot_p95_ms"}
"""The two latencies the load curves show, and the bound that caps each at p95."""

PUBLISHED_CURVE = "NIMDOC"
"""Source of the published closed-loop sweep the lesson overlays (``benchmarks_load.csv``): the
NVIDIA NIM benchmarking guide, one configuration measured from 1 to 250 clients."""

MISS_FACTOR = 2.0
"""A calibration row is a miss when the model is off by more than this factor either way [-]."""

REPORTED_MISS_REASONS = {
    "NIMDOC": "NIM, predicted with the TensorRT-LLM profile: its time to first token grows faster "
              "with clients than modelled and jumps before the model's memory knee; NIM appears to "
              "hold fewer of these long sequences than the profile assumes (clients queue for a "
              "slot sooner) and to fit new prompts between decode steps less eagerly",
    "LMD": "LMDeploy 0.1 (TurboMind), predicted with the vLLM profile: a static benchmark whose "
           "clients start together with fixed lengths, so prompts arrive in waves and every first "
           "token waits for the whole wave's prefill (and decodes then run without prefills "
           "between them); the model assumes clients spread over time with prompts chunked into "
           "the decode steps",
}
"""Why reported-only rows (engines not fitted) are missed, per source; fitted rows' reasons are
:data:`costlib.formulas.throughput.calibration.KNOWN_MISSES`."""


@dataclass(frozen=True)
class LessonSetup:
    """What the lesson is about: one model on one instance, one workload and its latency bounds.

    ``bounds`` are the params file's ``workload.latency``: any of ``ttft_p95_ms``,
    ``tpot_p95_ms`` and ``e2e_p95_ms`` [ms].
    """

    model: str
    instance: str
    precision: str = "bf16"
    kv_precision: str | None = None
    engine: str = "vllm"
    tensor_parallel: int | None = None
    in_tokens: float = 2000.0
    out_tokens: float = 500.0
    bounds: dict = field(default_factory=lambda: {"ttft_p95_ms": 1000.0, "tpot_p95_ms": 50.0})
    prompt_cv: float = 0.5
    usd_per_hour: float = math.nan
    origin: str = ""

    def serving_kwargs(self, **override) -> dict:
        """Keyword arguments of :func:`serving_point` for this setup (``override`` wins)."""
        kw = dict(instance=self.instance, precision=self.precision, kv_precision=self.kv_precision,
                  engine=self.engine, tensor_parallel=self.tensor_parallel, in_tokens=self.in_tokens,
                  out_tokens=self.out_tokens, prompt_cv=self.prompt_cv)
        kw.update(override)
        if "concurrency" not in kw and "rate" not in kw:
            kw.setdefault("bounds", dict(self.bounds))
        return kw


#: The documented example used when a params file has no self-hosted option naming a model: the
#: article's scenario-B class (Llama-70B, about 2k in / 500 out, 1 s p95 to first token and 50 ms
#: p95 per output token, p4d).
EXAMPLE = LessonSetup(model="llama-3.1-70b", instance="p4d.24xlarge", in_tokens=2000, out_tokens=500,
                      bounds={"ttft_p95_ms": 1000.0, "tpot_p95_ms": 50.0}, prompt_cv=0.5,
                      origin="documented example")


def lesson_setup(params, price_book=None) -> LessonSetup:
    """The lesson's setup from a loaded params file.

    Uses the first self-hosted option that names a ``model`` (its instance, precision, KV
    precision, engine, TP) with the params workload and its latency bounds
    (``workload.latency``); otherwise :data:`EXAMPLE`. The instance-hour price is the EC2 on-demand price from the price
    book (``NaN`` when the book has none).
    """
    from costlib.bill.params import SelfHostedOption

    w = params.workload
    setup = None
    for name, opt in params.options.items():
        if isinstance(opt, SelfHostedOption) and opt.model:
            setup = LessonSetup(model=opt.model, instance=opt.instance.removeprefix("ml."),
                                precision=opt.precision, kv_precision=opt.kv_precision, engine=opt.engine,
                                tensor_parallel=opt.tensor_parallel, in_tokens=w.in_tokens,
                                out_tokens=w.out_tokens, bounds=w.latency_bounds, prompt_cv=w.prompt_cv,
                                origin=f"params option {name}")
            break
    if setup is not None:
        try:  # the lesson needs the option's model and instance in the catalogs
            catalog.get_model(setup.model)
            catalog.get_gpu(catalog.get_instance(setup.instance).accelerator)
        except CostlibError as e:
            setup = replace(EXAMPLE, origin=f"documented example ({setup.origin} is not modelled: {e.message})")
    if setup is None:
        setup = EXAMPLE
    if price_book is None:
        from costlib.tables.prices import load_price_book
        price_book = load_price_book()
    try:
        usd = float(price_book.usd("ec2", setup.instance, "on_demand"))
    except Exception:  # no price for this instance: the cost columns become NaN
        usd = math.nan
    return replace(setup, usd_per_hour=usd)


def describe(setup: LessonSetup) -> pd.DataFrame:
    """The setup as a two-column table (setting, value)."""
    d = asdict(setup)
    d["kv_precision"] = d["kv_precision"] or "default (bf16; fp8 with fp8 weights)"
    d["tensor_parallel"] = d["tensor_parallel"] or "best that fits"
    return pd.DataFrame({"setting": list(d), "value": [str(v) for v in d.values()]})


def base_point(setup: LessonSetup) -> tuple[ServingPoint | None, str]:
    """The setup's own operating point at its latency bounds: (ServingPoint, "") or (None, reason)."""
    return _try_point(setup.model, **setup.serving_kwargs())


def lesson_tp(setup: LessonSetup) -> int | None:
    """TP degree the lesson's sweeps hold fixed: the setup's, else the one its base point picks."""
    if setup.tensor_parallel:
        return setup.tensor_parallel
    sp, _ = base_point(setup)
    return sp.tensor_parallel if sp else None


def _try_point(model: str, **kw) -> tuple[ServingPoint | None, str]:
    try:
        return serving_point(model, **kw), ""
    except CostlibError as e:
        return None, e.message


def _hardware(setup: LessonSetup):
    inst = catalog.get_instance(setup.instance)
    gpu = catalog.get_gpu(inst.accelerator)
    return inst, gpu


def gpu_delivery(setup: LessonSetup) -> pd.DataFrame:
    """Peak versus achieved: the GPU's datasheet figures and what the fitted engine factors deliver.

    Columns: quantity, unit, peak (datasheet, per GPU), efficiency (fitted, engines.yaml),
    achieved (peak x efficiency), source.
    """
    inst, gpu = _hardware(setup)
    eng = catalog.get_engine(setup.engine)
    tflops = catalog.peak_tflops(gpu, setup.precision)
    rows = [
        ("memory", "GiB", inst.accelerator_memory_gib, math.nan, math.nan, gpu.sources.get("memory_gib", ("",))[0]),
        ("memory bandwidth", "GB/s", gpu.memory_bandwidth_gb_s, eng.eta_bandwidth,
         gpu.memory_bandwidth_gb_s * eng.eta_bandwidth, gpu.sources["memory_bandwidth_gb_s"][0]),
        (f"dense tensor compute at {setup.precision}", "TFLOP/s", tflops, eng.eta_compute,
         tflops * eng.eta_compute, gpu.sources["bf16_dense_tflops"][0]),
    ]
    df = pd.DataFrame(rows, columns=["quantity", "unit", "peak", "efficiency", "achieved", "source"])
    df.insert(0, "gpu", f"{inst.accelerator_count} x {gpu.name}")
    return df


def memory_breakdown(setup: LessonSetup, tensor_parallel: int | None = None) -> pd.DataFrame:
    """Where one GPU's memory goes: weights, activations, sampler, fixed runtime, KV cache, headroom.

    Parameters
    ----------
    setup : LessonSetup
    tensor_parallel : int, optional
        TP degree; default the setup's, else the smallest that leaves room for the KV cache.

    Returns
    -------
    pandas.DataFrame
        component, gib_per_gpu, tensor_parallel, sequences_that_fit (at in + out tokens),
        fits (bool). Components sum to the GPU's memory when the model fits.
    """
    inst, gpu = _hardware(setup)
    m = catalog.get_model(setup.model)
    prec = catalog._norm(setup.precision)
    kvp = catalog._norm(setup.kv_precision) if setup.kv_precision else ("fp8" if prec == "fp8" else "bf16")
    eng = catalog.get_engine(setup.engine)
    n = inst.accelerator_count
    fixed_tp = tensor_parallel or lesson_tp(setup)
    cands = [fixed_tp] if fixed_tp else \
        [t for t in (1, 2, 4, 8, 16) if t <= n and n % t == 0 and m.attention_heads % t == 0]
    gib = roofline.BYTES_PER_GIB
    for tp in cands:
        s = setup_arrays(m, gpu, tensor_parallel=tp, precision=prec, kv_precision=kvp,
                         memory_gib=inst.accelerator_memory_gib, engine=eng)
        mem = s["mem_gib"]
        w = s["w_bytes"] / tp / gib
        act = float(roofline.activation_bytes_per_gpu(s["act_tokens"], s["hidden"], s["ffn_active"], tp)) / gib
        smp = float(roofline.sampler_bytes(s["max_seqs"], s["vocab"])) / gib
        fixed = s["fixed_gib"]
        reserve = float(runtime_reserve_gib(s))
        kv = float(roofline.kv_cache_capacity_bytes_per_gpu(mem, s["w_bytes"] / tp, reserve, s["kv_frac"],
                                                             s["free"])) / gib
        if kv > 0 or tp == cands[-1]:
            break
    fits = kv > 0
    headroom = mem - w - act - smp - fixed - kv
    per_seq = s["kv_per_token"] * (setup.in_tokens + setup.out_tokens) / tp / gib
    seqs = int(math.floor(kv / per_seq)) if fits else 0
    df = pd.DataFrame({
        "component": ["weights", "activations", "sampler", "fixed runtime", "kv cache", "outside the engine budget"],
        "gib_per_gpu": [w, act, smp, fixed, kv, headroom],
    })
    df["tensor_parallel"] = tp
    df["sequences_that_fit"] = seqs
    df["fits"] = fits
    return df


def decode_roofline(setup: LessonSetup, batches=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
                    tensor_parallel: int | None = None) -> pd.DataFrame:
    """Time of one decode step against batch size, split into its memory and compute bounds.

    Returns a long table: batch, term ("memory (weights + kv cache)", "compute", "step incl.
    overheads"), ms. The step is the larger bound plus all-reduce and host overheads.
    """
    inst, gpu = _hardware(setup)
    m = catalog.get_model(setup.model)
    prec = catalog._norm(setup.precision)
    kvp = catalog._norm(setup.kv_precision) if setup.kv_precision else ("fp8" if prec == "fp8" else "bf16")
    eng = catalog.get_engine(setup.engine).for_gpu(gpu.name, inst.accelerator_memory_gib)
    tp = tensor_parallel or int(memory_breakdown(setup)["tensor_parallel"].iloc[0])
    s = setup_arrays(m, gpu, tensor_parallel=tp, precision=prec, kv_precision=kvp,
                     memory_gib=inst.accelerator_memory_gib, engine=eng)
    p = engine_arrays(eng)
    b = np.asarray(batches, dtype=float)
    ctx = setup.in_tokens + setup.out_tokens / 2.0
    moved, flops = pass_bytes_flops(s, tokens=b, decode_seqs=b, context=ctx, prefill_tokens=0.0, prefill_len=0.0)
    t_mem = moved / (tp * s["bw"] * 1e9 * p["eta_bw"])
    t_cmp = flops / (tp * s["tflops"] * 1e12 * p["eta_f"])
    t_step = pass_time_s(s, p, tokens=b, decode_seqs=b, context=ctx, prefill_tokens=0.0, prefill_len=0.0)
    frames = [pd.DataFrame({"batch": b.astype(int), "term": name, "ms": v * 1e3})
              for name, v in (("memory (weights + kv cache)", t_mem), ("compute", t_cmp),
                              ("step incl. overheads", t_step))]
    out = pd.concat(frames, ignore_index=True)
    out["tensor_parallel"] = tp
    return out


def concurrency_vs_prompt_cv(setup: LessonSetup, prompt_cvs=(0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)) -> pd.DataFrame:
    """The largest concurrency that meets the latency bounds, as prompt lengths vary more.

    The TP degree is held at :func:`lesson_tp` so the curve shows the prompt mix alone.
    Columns: prompt_cv, concurrency, max_concurrency_memory, p95_ttft_ms, p95_tpot_ms,
    limited_by, binding, total_tokens_per_s, usd_per_1k_tokens, note.
    """
    rows, tp = [], lesson_tp(setup)
    for cv in prompt_cvs:
        sp, err = _try_point(setup.model, **setup.serving_kwargs(prompt_cv=float(cv), tensor_parallel=tp))
        rows.append(_row(sp, err, setup, prompt_cv=float(cv)))
    return pd.DataFrame(rows)


def context_length_sweep(setup: LessonSetup, multipliers=(0.5, 1.0, 2.0, 4.0, 8.0)) -> pd.DataFrame:
    """Feasible concurrency and cost per 1k tokens as the prompt grows (same bounds and output).

    Columns: in_tokens, context_tokens, concurrency, max_concurrency_memory, p95_ttft_ms,
    p95_tpot_ms, limited_by, binding, total_tokens_per_s, usd_per_1k_tokens, note. Prompts beyond
    the model's context window are skipped.
    """
    m = catalog.get_model(setup.model)
    rows, tp = [], lesson_tp(setup)
    for k in multipliers:
        isl = round(setup.in_tokens * k)
        if isl + setup.out_tokens > m.context_window:
            continue
        sp, err = _try_point(setup.model, **setup.serving_kwargs(in_tokens=float(isl), tensor_parallel=tp))
        rows.append(_row(sp, err, setup, in_tokens=float(isl), context_tokens=float(isl + setup.out_tokens)))
    return pd.DataFrame(rows)


WINDOWS = (8192, 16384, 32768, 131072)
"""Context windows the output cap may be left at [tokens]: 8k, 16k, 32k, 128k."""


def window_sweep(setup: LessonSetup, windows=WINDOWS, engines=("vllm", "trtllm")) -> pd.DataFrame:
    """The same requests with their output cap left at a context window, per engine.

    Every row serves the setup's requests (same prompt, same answers, same bounds); only the
    ``max_tokens`` cap they carry changes, to ``window - prompt`` (what a cap left at the window
    allows). An engine that reserves KV at admission holds ``prompt + cap`` per sequence
    (:func:`costlib.formulas.throughput.serving.replica_slots`); one that allocates as tokens are
    made holds what is generated. Columns: engine, window_tokens, cap_tokens,
    max_concurrency_memory, concurrency, limited_by, binding, total_tokens_per_s,
    usd_per_1k_tokens, note. Windows beyond the model's own are skipped.
    """
    m = catalog.get_model(setup.model)
    rows, tp = [], lesson_tp(setup)
    for engine in engines:
        for window in windows:
            if window > m.context_window or window <= setup.in_tokens + setup.out_tokens:
                continue
            cap = float(window - setup.in_tokens)
            sp, err = _try_point(setup.model, **setup.serving_kwargs(
                engine=engine, tensor_parallel=tp, reserved_out_tokens=cap))
            rows.append(_row(sp, err, setup, engine=engine, window_tokens=float(window),
                             cap_tokens=cap))
    return pd.DataFrame(rows)


def window_note(table: pd.DataFrame) -> Markdown:
    """Per engine, the sequences and cost per 1k tokens at the shortest and longest window."""
    parts = []
    for engine, t in table.groupby("engine", sort=False):
        ok = t.dropna(subset=["concurrency"])
        if ok.empty:
            parts.append(f"**{engine}**: no window is feasible ({'; '.join(sorted(set(t['note'])))})")
            continue
        a, b = ok.iloc[0], ok.iloc[-1]
        same = a["max_concurrency_memory"] == b["max_concurrency_memory"]
        change = b["usd_per_1k_tokens"] / a["usd_per_1k_tokens"] - 1.0
        parts.append(
            f"**{engine}** holds {a['max_concurrency_memory']:,.0f} sequences at a window of "
            f"{a['window_tokens']:,.0f} tokens and {b['max_concurrency_memory']:,.0f} at "
            f"{b['window_tokens']:,.0f}" + (" (it allocates as tokens are made, so the cap does not "
                                            "matter)" if same else
                                            f"; the cost per 1k tokens goes from "
                                            f"{a['usd_per_1k_tokens']:.6f} to "
                                            f"{b['usd_per_1k_tokens']:.6f} USD ({change:+.0%}), "
                                            f"limited by {b['limited_by']}"))
    return Markdown("For the same requests: " + "; ".join(parts) + ".")


def _row(sp: ServingPoint | None, err: str, setup: LessonSetup, **keys) -> dict:
    if sp is None:
        return dict(**keys, concurrency=np.nan, max_concurrency_memory=np.nan, p95_ttft_ms=np.nan,
                    p95_tpot_ms=np.nan, limited_by="infeasible", binding="", total_tokens_per_s=np.nan,
                    usd_per_1k_tokens=np.nan, note=err)
    return dict(**keys, concurrency=sp.concurrency, max_concurrency_memory=sp.max_concurrency_memory,
                p95_ttft_ms=sp.p95_ttft_ms, p95_tpot_ms=sp.p95_tpot_ms, limited_by=sp.limited_by,
                binding=sp.binding, total_tokens_per_s=sp.total_tokens_per_s,
                usd_per_1k_tokens=usd_per_1k_tokens(setup.usd_per_hour, sp.total_tokens_per_s), note="")


def prompt_cv_note(table: pd.DataFrame) -> str:
    """One line: how far the feasible concurrency falls across the prompt spreads, and what binds."""
    ok = table.dropna(subset=["concurrency"])
    if ok.empty:
        return "No prompt spread is feasible: " + "; ".join(sorted(set(table["note"])))
    first, last = ok.iloc[0], ok.iloc[-1]
    change = last["concurrency"] / first["concurrency"] - 1.0
    binds = ", ".join(dict.fromkeys(ok["binding"]))
    return (f"From a prompt-length coefficient of variation of {first['prompt_cv']:g} to {last['prompt_cv']:g}, "
            f"the feasible concurrency goes from {first['concurrency']:,.1f} to {last['concurrency']:,.1f} "
            f"sequences per instance ({change:+.0%}); the binding limit: {binds}")


def context_note(table: pd.DataFrame, out_tokens: float) -> str:
    """One line: concurrency and cost per 1k tokens and per request at the shortest and longest
    feasible context, and the contexts that cannot be served."""
    ok = table.dropna(subset=["concurrency"])
    bad = table[table["concurrency"].isna()]
    if ok.empty:
        return "No context length is feasible: " + "; ".join(sorted(set(table["note"])))
    a, b = ok.iloc[0], ok.iloc[-1]

    def per_request(r):
        return r["usd_per_1k_tokens"] * (r["in_tokens"] + out_tokens) / 1000.0
    text = (f"From {a['context_tokens']:,.0f} to {b['context_tokens']:,.0f} tokens of context, the feasible "
            f"concurrency goes from {a['concurrency']:,.1f} to {b['concurrency']:,.1f} sequences per instance, "
            f"the cost per 1k tokens from {a['usd_per_1k_tokens']:.6f} to {b['usd_per_1k_tokens']:.6f} USD and "
            f"the cost per request from {per_request(a):.5f} to {per_request(b):.5f} USD")
    if not bad.empty:
        text += (f"; not feasible at {', '.join(f'{c:,.0f}' for c in bad['context_tokens'])} tokens "
                 f"({bad['note'].iloc[0]})")
    return text


#: Illustrative speculative-decoding setting (an assumption to vary, not a measured figure).
SPECULATIVE_EXAMPLE = {"acceptance_rate": 0.7, "num_speculative_tokens": 4, "draft_model": "llama-3.1-8b"}


def levers_table(setup: LessonSetup, speculative: dict | None = SPECULATIVE_EXAMPLE) -> pd.DataFrame:
    """Cost per 1k tokens at the same latency bounds for weight/KV precisions and speculative decoding.

    Rows: bf16, fp8 + fp8 KV, int8 + fp8 KV, int4 + fp8 KV, and (when the model is larger than
    the draft and shares its vocabulary) bf16 + speculative decoding with ``speculative``.
    Columns: variant, concurrency, total_tokens_per_s, p95_ttft_ms, tpot_ms, p95_tpot_ms,
    limited_by, usd_per_1k_tokens, note.
    """
    variants = {
        "bf16": dict(precision="bf16", kv_precision="bf16"),
        "fp8 + fp8 KV": dict(precision="fp8", kv_precision="fp8"),
        "int8 + fp8 KV": dict(precision="int8", kv_precision="fp8"),
        "int4 + fp8 KV": dict(precision="int4", kv_precision="fp8"),
    }
    if speculative:
        m, d = catalog.get_model(setup.model), catalog.get_model(speculative["draft_model"])
        if m.params_total > 2 * d.params_total and m.vocab_size == d.vocab_size:
            a, k = speculative["acceptance_rate"], speculative["num_speculative_tokens"]
            variants[f"bf16 + speculative (alpha {a:g}, k {k})"] = dict(precision="bf16", kv_precision="bf16",
                                                                       speculative=dict(speculative))
    base = setup.serving_kwargs()
    base.pop("precision"), base.pop("kv_precision")
    rows = compare_levers(setup.model, usd_per_hour=setup.usd_per_hour, variants=variants, **base)
    out = []
    for r in rows:
        if "error" in r:
            out.append(dict(variant=r["variant"], concurrency=np.nan, total_tokens_per_s=np.nan, p95_ttft_ms=np.nan,
                            tpot_ms=np.nan, p95_tpot_ms=np.nan, limited_by="infeasible",
                            usd_per_1k_tokens=np.nan, note=r["error"]))
        else:
            out.append(dict(variant=r["variant"], concurrency=r["concurrency"], total_tokens_per_s=r["total_tokens_per_s"],
                            p95_ttft_ms=r["p95_ttft_ms"], tpot_ms=r["tpot_ms"], p95_tpot_ms=r["p95_tpot_ms"],
                            limited_by=r["limited_by"], usd_per_1k_tokens=r.get("usd_per_1k_tokens", np.nan),
                            note=""))
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------
# latency under load


def bounds_note(setup: LessonSetup) -> str:
    """One line: the setup's latency bounds as the params file states them (``workload.latency``)."""
    stated = [f"{BOUND_WORDS[k]} <= {setup.bounds[k]:,g} ms" for k in LATENCY_BOUNDS if k in setup.bounds]
    unstated = [BOUND_WORDS[k].removeprefix("p95 ") for k in LATENCY_BOUNDS if k not in setup.bounds]
    text = "Latency bounds (workload.latency): " + (", ".join(stated) or "none")
    if unstated:
        text += f"; no bound on the {' or the '.join(unstated)}"
    return text


def _precisions(setup: LessonSetup) -> tuple[str, str]:
    prec = catalog._norm(setup.precision)
    kvp = catalog._norm(setup.kv_precision) if setup.kv_precision else ("fp8" if prec == "fp8" else "bf16")
    return prec, kvp


def _client_grid(knee: int, also=(), points: int = 33) -> np.ndarray:
    """Clients to sweep on a log axis: 1 to well past the memory knee, with the knee itself."""
    top = max(3.0 * knee, 16.0, *[float(a) for a in also]) if also else max(3.0 * knee, 16.0)
    grid = np.round(np.geomspace(1.0, top, points))
    return np.unique(np.concatenate([grid, [float(max(knee, 1))], np.asarray(list(also), float)]))


def _closed_curve(s: dict, p: dict, replicas: int, in_tokens: float, out_tokens: float, prompt_cv: float,
                  clients, statistic: str) -> pd.DataFrame:
    """Closed-loop time to first token and time per output token at each count of clients.

    ``clients`` are per instance (split evenly over ``replicas``); ``statistic`` is ``p95``,
    ``median`` or ``mean``. Returns the long table of :func:`latency_under_load`.
    """
    L, O = float(in_tokens), float(out_tokens)
    slots = float(replica_slots(s, L, O))
    knee = int(math.floor(slots)) * replicas
    n = np.asarray(clients, float)
    cols = ["clients", "metric", "statistic", "ms", "in_engine", "queued", "max_concurrency_memory"]
    if slots < 1:
        return pd.DataFrame(columns=cols + ["replicas", "held_tokens"])
    with np.errstate(all="ignore"):
        r = load.closed_loop(s, p, n / replicas, L, O, prompt_cv, None, slots=slots, budget=s["act_tokens"])
    suffix = {"p95": "95", "median": "50", "mean": ""}[statistic]
    frames = [pd.DataFrame({"clients": n, "metric": metric, "statistic": statistic,
                            "ms": np.asarray(r[f"{metric.split('_')[0]}{suffix}_s"], float) * 1e3,
                            "in_engine": np.asarray(r["in_engine"], float) * replicas,
                            "queued": np.asarray(r["queued"], float) * replicas})
              for metric in LOAD_METRICS]
    out = pd.concat(frames, ignore_index=True)
    out["max_concurrency_memory"] = knee
    out["replicas"] = replicas
    out["held_tokens"] = L + float(s.get("out_held", 0.5)) * O
    return out[np.isfinite(out["ms"])].reset_index(drop=True)[cols + ["replicas", "held_tokens"]]


def latency_under_load(setup: LessonSetup, clients=None, tensor_parallel: int | None = None) -> pd.DataFrame:
    """p95 time to first token and time per output token of the setup against closed-loop clients.

    The closed loop (:func:`costlib.formulas.throughput.load.closed_loop`) is how benchmarks
    publish latency under load: ``clients`` each send their next request when the last one ends.
    Past the memory knee (the KV-cache sequence slots, ``max_concurrency_memory``) the extra
    clients wait for a free slot, and that wait is part of their time to first token.

    Parameters
    ----------
    setup : LessonSetup
    clients : array-like, optional
        Clients per instance [-]; default 1 to three times the knee on a log grid.
    tensor_parallel : int, optional
        TP degree; default :func:`lesson_tp` (else the smallest that fits).

    Returns
    -------
    pandas.DataFrame
        Long: clients [-], metric (``ttft_ms`` or ``tpot_ms``), statistic (``p95``), ms [ms],
        in_engine and queued [sequences per instance], max_concurrency_memory [sequences per
        instance], replicas, held_tokens (KV tokens a running sequence holds on average: the
        prompt plus half the answer, or all of it when the engine reserves the whole output),
        tensor_parallel. Empty when the model does not fit.
    """
    inst, gpu = _hardware(setup)
    m = catalog.get_model(setup.model)
    prec, kvp = _precisions(setup)
    tp = tensor_parallel or lesson_tp(setup) or int(memory_breakdown(setup)["tensor_parallel"].iloc[0])
    mem = inst.accelerator_memory_gib
    eng = catalog.get_engine(setup.engine).for_gpu(gpu.name, mem)
    s = setup_arrays(m, gpu, tensor_parallel=tp, precision=prec, kv_precision=kvp, memory_gib=mem, engine=eng)
    replicas = inst.accelerator_count // tp
    if clients is None:
        slots = float(replica_slots(s, setup.in_tokens, setup.out_tokens))
        clients = _client_grid(int(math.floor(max(slots, 0.0))) * replicas)
    out = _closed_curve(s, engine_arrays(eng), replicas, setup.in_tokens, setup.out_tokens, setup.prompt_cv,
                        clients, "p95")
    out["tensor_parallel"] = tp
    return out


def _crossing(curve: pd.DataFrame, metric: str, limit: float) -> str:
    """Where a curve first exceeds ``limit``, in words ("between 64 and 91 clients")."""
    d = curve[curve["metric"] == metric].sort_values("clients")
    over = d[d["ms"] > limit]
    if over.empty:
        return f"never exceeds {limit:,g} ms up to {d['clients'].max():,.0f} clients"
    first = over.iloc[0]
    below = d[d["clients"] < first["clients"]]
    if below.empty:
        return f"exceeds {limit:,g} ms from the first client"
    return f"crosses {limit:,g} ms between {below['clients'].iloc[-1]:,.0f} and {first['clients']:,.0f} clients"


def load_note(setup: LessonSetup, curve: pd.DataFrame) -> str:
    """What the load curves say, in numbers: the knee, the latencies either side, the crossings."""
    if curve.empty:
        return f"{setup.model} does not fit on {setup.instance} with room for one sequence."
    knee = int(curve["max_concurrency_memory"].iloc[0])
    tp = int(curve["tensor_parallel"].iloc[0])
    replicas = int(curve["replicas"].iloc[0])

    def at(metric, clients):
        d = curve[curve["metric"] == metric]
        return float(np.interp(clients, d["clients"], d["ms"]))
    top = float(curve["clients"].max())
    held = float(curve["held_tokens"].iloc[0])
    share = "all" if held >= setup.in_tokens + setup.out_tokens else "on average half"
    lines = [f"Memory knee: the KV cache holds {knee:,} sequences per instance ({replicas} "
             f"{'replica' if replicas == 1 else 'replicas'} at TP {tp}), each holding {held:,.0f} tokens of KV: "
             f"its prompt and {share} of its answer.",
             f"At 1 client: p95 time to first token {at('ttft_ms', 1):,.0f} ms, p95 time per output token "
             f"{at('tpot_ms', 1):,.1f} ms.",
             f"At the knee ({knee:,} clients): p95 time per output token {at('tpot_ms', knee):,.1f} ms, so a "
             f"{setup.out_tokens:,.0f}-token answer streams for about "
             f"{at('tpot_ms', knee) * (setup.out_tokens - 1) / 1e3:,.1f} s.",
             f"At {top:,.0f} clients, past the knee: p95 time to first token {at('ttft_ms', top) / 1e3:,.1f} s "
             f"(clients wait for a KV slot)."]
    for metric, bound in LOAD_METRICS.items():
        if bound in setup.bounds:
            lines.append(f"In the closed loop the {BOUND_WORDS[bound]} "
                         f"{_crossing(curve, metric, setup.bounds[bound])}.")
    sp, err = base_point(setup)
    if sp is not None:
        lines.append(f"Operating point at the bounds (open loop, Poisson arrivals): {sp.concurrency:,.1f} "
                     f"sequences per instance, limited by the {sp.binding}.")
    else:
        lines.append(f"No load meets the bounds: {err}")
    return "\n".join(lines)


def bounds_table(setup: LessonSetup) -> pd.DataFrame:
    """What the stated latency bounds allow together, and each bound on its own.

    A time-to-first-token bound alone is always a row (at the setup's value, else
    :data:`EXAMPLE`'s). The TP degree is held at :func:`lesson_tp`.

    Returns
    -------
    pandas.DataFrame
        variant, bounds (in words), concurrency [sequences per instance], max_concurrency_memory,
        limited_by, binding (in words), p95_ttft_ms, p95_tpot_ms, p95_e2e_s [s], total_tokens_per_s,
        usd_per_1k_tokens, note.
    """
    variants = {}
    if len(setup.bounds) > 1:
        variants["all the stated bounds"] = dict(setup.bounds)
    for k in LATENCY_BOUNDS:
        if k in setup.bounds:
            variants[f"{BOUND_WORDS[k]} only"] = {k: setup.bounds[k]}
    if "ttft_p95_ms" not in setup.bounds:
        variants[f"{BOUND_WORDS['ttft_p95_ms']} only"] = {"ttft_p95_ms": EXAMPLE.bounds["ttft_p95_ms"]}
    tp = lesson_tp(setup)
    rows = []
    for name, b in variants.items():
        words = ", ".join(f"{BOUND_WORDS[k].removeprefix('p95 ')} <= {v:,g} ms" for k, v in b.items())
        sp, err = _try_point(setup.model, **setup.serving_kwargs(bounds=b, tensor_parallel=tp))
        if sp is None:
            rows.append(dict(variant=name, bounds=words, concurrency=np.nan, max_concurrency_memory=np.nan,
                             limited_by="infeasible", binding="", p95_ttft_ms=np.nan, p95_tpot_ms=np.nan,
                             p95_e2e_s=np.nan, total_tokens_per_s=np.nan, usd_per_1k_tokens=np.nan, note=err))
            continue
        rows.append(dict(variant=name, bounds=words, concurrency=sp.concurrency,
                         max_concurrency_memory=sp.max_concurrency_memory, limited_by=sp.limited_by,
                         binding=sp.binding, p95_ttft_ms=sp.p95_ttft_ms, p95_tpot_ms=sp.p95_tpot_ms,
                         p95_e2e_s=sp.p95_e2e_latency_ms / 1e3, total_tokens_per_s=sp.total_tokens_per_s,
                         usd_per_1k_tokens=usd_per_1k_tokens(setup.usd_per_hour, sp.total_tokens_per_s), note=""))
    return pd.DataFrame(rows)


def ttft_only_note(setup: LessonSetup, table: pd.DataFrame) -> str:
    """What a time-to-first-token bound alone lets happen, against all the stated bounds."""
    t = table.set_index("variant")
    alone = t.loc[f"{BOUND_WORDS['ttft_p95_ms']} only"]
    if np.isnan(alone["concurrency"]):
        return f"No load meets the time-to-first-token bound alone: {alone['note']}"
    text = (f"With the time-to-first-token bound alone, concurrency climbs to {alone['concurrency']:,.0f} of "
            f"the {alone['max_concurrency_memory']:,.0f} KV slots per instance: each output token then takes "
            f"{alone['p95_tpot_ms']:,.0f} ms at p95, and a {setup.out_tokens:,.0f}-token answer takes "
            f"{alone['p95_e2e_s']:,.1f} s end to end.")
    if "all the stated bounds" in t.index and not np.isnan(t.loc["all the stated bounds", "concurrency"]):
        both = t.loc["all the stated bounds"]
        dearer = both["usd_per_1k_tokens"] / alone["usd_per_1k_tokens"] - 1.0
        price = ("the same" if abs(dearer) < 0.005 or np.isnan(dearer)
                 else f"{abs(dearer):.0%} {'more' if dearer > 0 else 'less'}")
        text += (f" With all the stated bounds the load stops at {both['concurrency']:,.0f} sequences "
                 f"({both['p95_tpot_ms']:,.0f} ms per token, {both['p95_e2e_s']:,.1f} s end to end, limited by "
                 f"the {both['binding']}), and a token costs {price}.")
    return text


def _published_rows(source_id: str) -> list[dict]:
    """The closed-loop TTFT / TPOT rows of one published configuration (the first one listed)."""
    rows = [r for r in calibration.usable_rows() if r["source_id"] == source_id
            and r["load_kind"] == "closed" and r["metric"] in LOAD_METRICS]
    if not rows:
        raise CostlibError(f"benchmarks_load.csv: no closed-loop ttft_ms/tpot_ms rows for source {source_id!r}")
    keys = ("engine", "model", "precision", "kv_precision", "gpu", "gpus", "tensor_parallel", "in_tokens",
            "out_tokens", "stat")
    first = {k: rows[0][k] for k in keys}
    return [r for r in rows if all(r[k] == first[k] for k in keys)]


def published_curve(source_id: str = PUBLISHED_CURVE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A published closed-loop sweep and the model's prediction of the same configuration.

    The configuration (engine, model, precision, GPUs, TP, lengths) is the source's first in
    ``benchmarks_load.csv``; it is predicted as :func:`calibration.calibration_table` predicts
    it: with the profile :data:`calibration.ENGINE_PROFILE` names for its engine, fixed prompt
    lengths, and the published statistic (NIM's columns are recorded as means).

    Returns
    -------
    (curve, points) : tuple of pandas.DataFrame
        ``curve`` as :func:`latency_under_load` (clients on the source's GPUs; the published
        concurrencies are on its grid) plus ``configuration``; ``points``: id,
        clients, metric, statistic, ms (published), predicted, ratio, configuration.
    """
    rows = _published_rows(source_id)
    r0 = rows[0]
    g = catalog.get_gpu(r0["gpu"])
    m = catalog.get_model(r0["model"])
    profile = calibration.ENGINE_PROFILE[r0["engine"]]
    s, eng = calibration.row_setup(r0)
    prec = r0["precision"].strip().lower()
    tp, gpus = int(r0["tensor_parallel"]), int(r0["gpus"])
    replicas = gpus // tp
    published = sorted({float(r["concurrency"]) for r in rows})
    slots = float(replica_slots(s, r0["in_tokens"], r0["out_tokens"]))
    clients = _client_grid(int(math.floor(slots)) * replicas, also=published)
    curve = _closed_curve(s, engine_arrays(eng), replicas, r0["in_tokens"], r0["out_tokens"], 0.0, clients,
                          r0["stat"])
    label = (f"{r0['engine']} {r0.get('engine_version') or ''}".strip()
             + f", {m.name} {prec} on {gpus} x {g.name} (TP {tp}), {r0['in_tokens']:g} in / "
               f"{r0['out_tokens']:g} out, predicted with the {profile} profile")
    curve["tensor_parallel"] = tp
    curve["configuration"] = label
    points = pd.DataFrame([dict(id=r["id"], clients=float(r["concurrency"]), metric=r["metric"],
                                statistic=r["stat"], ms=float(r["value"])) for r in rows])
    model = curve.set_index(["metric", "clients"])["ms"]
    points["predicted"] = [float(model.get((mt, c), np.nan)) for mt, c in zip(points["metric"], points["clients"])]
    points["ratio"] = points["predicted"] / points["ms"]
    points["configuration"] = label
    return curve, points


def published_note(curve: pd.DataFrame, points: pd.DataFrame) -> str:
    """The published configuration, the model's knee for it, and how far off each metric is."""
    knee = int(curve["max_concurrency_memory"].iloc[0])
    lines = [f"{curve['configuration'].iloc[0]}: {len(points)} published points at "
             f"{points['clients'].min():,.0f} to {points['clients'].max():,.0f} clients.",
             f"The model's memory knee for it: {knee:,} sequences."]
    for metric, g in points.groupby("metric", sort=False):
        factor = np.maximum(g["ratio"], 1.0 / g["ratio"])
        worst = g.loc[factor.idxmax()]
        words = "time to first token" if metric == "ttft_ms" else "time per output token"
        lines.append(f"{g['statistic'].iloc[0]} {words}: median modelled / published "
                     f"{g['ratio'].median():.2f}; furthest off at {worst['clients']:,.0f} clients "
                     f"({worst['predicted']:,.0f} ms modelled, {worst['ms']:,.0f} ms published).")
    return "\n".join(lines)


def calibration_summary() -> pd.DataFrame:
    """Per-row calibration errors (:func:`calibration.calibration_table`), worst first."""
    df = calibration.calibration_table()
    df["factor_off"] = np.maximum(df["ratio"], 1.0 / df["ratio"])
    return df.sort_values("factor_off", ascending=False, kind="stable").reset_index(drop=True)


BAND_ORDER = ("1", "2-8", "9-32", ">32", "offline", "all")
"""Concurrency bands of :data:`calibration.BANDS` in reading order, then offline rows and all rows."""


def calibration_by_band(calib: pd.DataFrame) -> pd.DataFrame:
    """Median and worst error per metric and concurrency band, fitted rows beside reported-only ones.

    From :func:`calibration.summary`. Fitted rows are the TensorRT-LLM rows the engine factors
    are fitted on; reported-only rows (NIM, LMDeploy, vLLM, ...) are predicted with a profile
    (:data:`calibration.ENGINE_PROFILE`) and never fitted.

    Returns
    -------
    pandas.DataFrame
        Index (metric, band); columns fitted_rows, fitted_median_error, fitted_worst_factor,
        reported_rows, reported_median_error, reported_worst_factor (``NaN`` where a group has
        no rows). Errors are |predicted / measured - 1|; the worst factor is the largest
        max(ratio, 1 / ratio).
    """
    s = calibration.summary(calib)
    s = s.assign(group=np.where(s["fitted"], "fitted", "reported"))
    wide = s.pivot_table(index=["metric", "band"], columns="group",
                         values=["rows", "median_abs_error", "worst_factor"], aggfunc="first")
    out = pd.DataFrame(index=wide.index)
    for g in ("fitted", "reported"):
        for col, name in (("rows", "rows"), ("median_abs_error", "median_error"), ("worst_factor", "worst_factor")):
            out[f"{g}_{name}"] = wide[(col, g)] if (col, g) in wide.columns else np.nan
        out[f"{g}_rows"] = out[f"{g}_rows"].astype("Int64")
    metrics = list(calibration.METRICS)
    order = sorted(out.index, key=lambda mb: (metrics.index(mb[0]) if mb[0] in metrics else len(metrics),
                                              BAND_ORDER.index(mb[1]) if mb[1] in BAND_ORDER else len(BAND_ORDER)))
    return out.loc[order]


def _load_words(r) -> str:
    if r["load_kind"] == "capacity":
        return "offline"
    if r["load_kind"] == "closed":
        return f"{r['concurrency']:g} clients"
    rate = r["request_rate"]
    return "all at once" if rate is not None and np.isinf(rate) else f"{rate:g} requests/s"


def calibration_misses(calib: pd.DataFrame, factor: float = MISS_FACTOR) -> pd.DataFrame:
    """The rows the model misses by more than ``factor`` either way, grouped by why.

    Fitted rows carry their own reason (:data:`calibration.KNOWN_MISSES`); reported-only rows
    the reason of their source (:data:`REPORTED_MISS_REASONS`). Rows with no recorded reason
    say so.

    Returns
    -------
    pandas.DataFrame
        source_id, engine, profile, fitted, rows, ids, metrics, loads, lowest_ratio,
        highest_ratio (predicted / measured), why; worst group first.
    """
    off = calib[(calib["ratio"] > factor) | (calib["ratio"] < 1.0 / factor)].copy()
    cols = ["source_id", "engine", "profile", "fitted", "rows", "ids", "metrics", "loads", "lowest_ratio",
            "highest_ratio", "why"]
    if off.empty:
        return pd.DataFrame(columns=cols)
    known = getattr(calibration, "KNOWN_MISSES", {})
    same = ["source_id", "model", "tensor_parallel", "in_tokens", "out_tokens", "load_kind", "metric"]

    def why(r):
        if not r["fitted"]:
            return REPORTED_MISS_REASONS.get(r["source_id"], "no reason recorded")
        reason = known.get(r["id"], "no reason recorded")
        if reason.startswith("the same"):  # "the same on H200": name the row it repeats
            twins = off[(off[same] == r[same]).all(axis=1) & (off["id"] != r["id"])
                        & (off["request_rate"].fillna(-1) == (-1 if pd.isna(r["request_rate"]) else r["request_rate"]))]
            twins = [i for i in twins["id"] if not known.get(i, "the same").startswith("the same")]
            if twins:
                reason = f"as {twins[0]}, {reason.removeprefix('the same ')}: {known[twins[0]]}"
        return reason
    off["why"] = off.apply(why, axis=1)
    off["load"] = off.apply(_load_words, axis=1)
    off["factor"] = np.maximum(off["ratio"], 1.0 / off["ratio"])
    groups = []
    off["group"] = np.where(off["fitted"].astype(bool), off["id"], off["source_id"])  # fitted: one row each
    for (src, eng, prof, fitted, reason, _), g in off.groupby(["source_id", "engine", "profile", "fitted", "why",
                                                               "group"], sort=False):
        groups.append(dict(source_id=src, engine=eng, profile=prof, fitted=bool(fitted), rows=len(g),
                           ids=", ".join(sorted(g["id"])), metrics=", ".join(sorted(set(g["metric"]))),
                           loads=", ".join(dict.fromkeys(g.sort_values(["concurrency", "request_rate"])["load"])),
                           lowest_ratio=float(g["ratio"].min()),
                           highest_ratio=float(g["ratio"].max()), why=reason, _worst=float(g["factor"].max())))
    out = pd.DataFrame(groups).sort_values("_worst", ascending=False, kind="stable")
    return out.drop(columns="_worst").reset_index(drop=True)[cols]


def misses_note(calib: pd.DataFrame, factor: float = MISS_FACTOR) -> str:
    """One line: how many rows, fitted and reported-only, the model misses by more than ``factor``."""
    off = (calib["ratio"] > factor) | (calib["ratio"] < 1.0 / factor)
    fitted = calib["fitted"].astype(bool)
    by_engine = calib[off & ~fitted].groupby("engine").size()
    reported = ", ".join(f"{n} {e}" for e, n in by_engine.items()) or "none"
    by_metric = calib[off].groupby("metric").size().sort_values(ascending=False)
    metrics = ", ".join(f"{n} {m}" for m, n in by_metric.items()) or "none"
    worst = calib.assign(f=np.maximum(calib["ratio"], 1.0 / calib["ratio"])).sort_values("f").iloc[-1]
    return (f"{int(off.sum())} of {len(calib)} rows are off by more than a factor of {factor:g}: "
            f"{int((off & fitted).sum())} of {int(fitted.sum())} fitted rows and {int((off & ~fitted).sum())} of "
            f"{int((~fitted).sum())} reported-only rows ({reported}); by metric: {metrics}; the worst is "
            f"{worst['id']} ({worst['metric']}, modelled / measured {worst['ratio']:.3g})")


def weakest_rows(df: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` rows the model misses most, for the plain statement of where it is weakest."""
    cols = ["id", "engine", "model", "gpu", "gpus", "in_tokens", "out_tokens", "measured", "predicted", "ratio"]
    return df.head(n)[cols]


def setup_note(setup: LessonSetup) -> str:
    """One line: the lesson's model, instance, and where they come from."""
    return f"Lesson subject: {setup.model} on {setup.instance} ({setup.origin})"


def memory_note(setup: LessonSetup, memory: pd.DataFrame) -> str:
    """One line: the TP degree, how many sequences fit per replica, and whether the model fits."""
    fits = "fits" if bool(memory["fits"].iloc[0]) else "does NOT fit"
    return (f"TP {int(memory['tensor_parallel'].iloc[0])}: "
            f"{int(memory['sequences_that_fit'].iloc[0])} sequences of "
            f"{setup.in_tokens + setup.out_tokens:,.0f} tokens fit per replica ({fits})")


def calibration_note(calib: pd.DataFrame) -> str:
    """One line: rows, GPU types, median error and worst factor of the calibration set."""
    return (f"{len(calib)} rows on {calib['gpu'].nunique()} GPU types: median |error| "
            f"{calib['abs_error'].median():.1%}, worst factor {calib['factor_off'].max():.2f}")


# --------------------------------------------------------------------------------------------
# exercises


def _fmt_row(r) -> str:
    return (f"{r['concurrency']:,.1f} sequences per instance ({r['p95_ttft_ms']:,.0f} ms to the "
            f"first token and {r['p95_tpot_ms']:,.1f} ms per output token at p95)")


def _origin_note(setup: LessonSetup) -> str:
    """A sentence when the setup is not the params file's own (no self-hosted option modelled)."""
    if setup.origin.startswith("documented example"):
        return (f"This params file has no self-hosted option the model covers, so the answers are "
                f"for the {setup.origin} ({setup.model} on {setup.instance}). ")
    return ""


def answer_bounds_concurrency(setup: LessonSetup, bounds: pd.DataFrame) -> Markdown:
    """Exercise: the concurrency the latency bounds allow together, and what binds it.

    ``bounds`` is :func:`bounds_table` (no new search). The binding limit is the serving
    point's: the bound met with no room left, or the KV cache (memory) when the batch is full
    first. Each bound alone allows at least as much as all of them together.
    """
    t = bounds.set_index("variant")
    key = "all the stated bounds" if "all the stated bounds" in t.index else t.index[0]
    r = t.loc[key]
    if np.isnan(r["concurrency"]):
        return Markdown(_origin_note(setup) + f"No load meets {r['bounds']}: {r['note']}")
    lines = [_origin_note(setup) + f"With {r['bounds']}, the load stops at {_fmt_row(r)}, limited by the {r['binding']}. "
             f"Memory would hold {r['max_concurrency_memory']:,.0f} sequences per instance, so "
             f"{r['concurrency'] / r['max_concurrency_memory']:.0%} of the KV slots are in use."]
    for name, o in t.drop(index=key).iterrows():
        if name == key:
            continue
        alone = ("infeasible: " + o["note"]) if np.isnan(o["concurrency"]) else \
            f"{o['concurrency']:,.1f} sequences, limited by the {o['binding']}"
        lines.append(f"- with the {name}: {alone}.")
    if len(lines) > 1:
        lines.insert(1, "\nEach bound on its own:")
    return Markdown("\n".join(lines))


def answer_doubled_prompt(setup: LessonSetup, by_context: pd.DataFrame) -> Markdown:
    """Exercise: concurrency, cost per 1k tokens and cost per request when the prompt doubles.

    Read from :func:`context_length_sweep` (its 1x and 2x rows, no new search). Cost per
    request [USD] = USD per 1k tokens x (in + out tokens) / 1000.
    """
    rows = by_context.set_index("in_tokens")
    one, two = float(round(setup.in_tokens)), float(round(setup.in_tokens * 2))
    if one not in rows.index or np.isnan(rows.loc[one, "concurrency"]):
        return Markdown("This setup's own prompt cannot be served within the bounds, so there is nothing to double.")
    if two not in rows.index:
        return Markdown(f"A {two:,.0f}-token prompt plus the answer exceeds {setup.model}'s context window: "
                "it cannot be doubled.")
    a, b = rows.loc[one], rows.loc[two]
    if np.isnan(b["concurrency"]):
        return Markdown(f"A {two:,.0f}-token prompt cannot be served within the bounds: {b['note']}")

    limits = (f"limited by the {a['binding']} both times" if a["binding"] == b["binding"]
              else f"limited by the {a['binding']}, then by the {b['binding']}")

    def per_request(r, isl):
        return r["usd_per_1k_tokens"] * (isl + setup.out_tokens) / 1000.0
    return Markdown(f"From {one:,.0f} to {two:,.0f} prompt tokens, the concurrency goes from "
            f"{a['concurrency']:,.1f} to **{b['concurrency']:,.1f}** sequences per instance "
            f"({b['concurrency'] / a['concurrency'] - 1:+.0%}; {limits}); the cost per 1k tokens from {a['usd_per_1k_tokens']:.6f} to "
            f"**{b['usd_per_1k_tokens']:.6f} USD** ({b['usd_per_1k_tokens'] / a['usd_per_1k_tokens'] - 1:+.0%}) "
            f"and the cost per request from {per_request(a, one):.5f} to {per_request(b, two):.5f} USD "
            f"({per_request(b, two) / per_request(a, one) - 1:+.0%}): each request carries "
            f"{(two + setup.out_tokens) / (one + setup.out_tokens):.2f} × the tokens.")


def answer_fp8(setup: LessonSetup, levers: pd.DataFrame, memory: pd.DataFrame) -> Markdown:
    """Exercise: why FP8 weights (and KV) change the operating point and the price per token.

    From :func:`levers_table` (the ``bf16`` and ``fp8 + fp8 KV`` rows) and
    :func:`memory_breakdown` at the same TP degree with FP8 weights and KV (formulas only, no
    search): weights [GiB per GPU] halve, the KV cache gets the room they free, and each KV entry
    is half the bytes, so more sequences fit; every decode step streams half the bytes; on GPUs
    with FP8 tensor cores (``fp8_dense_tflops`` in ``gpus.csv``) prefill runs at the FP8 rate.
    """
    t = levers.set_index("variant")
    if "bf16" not in t.index or "fp8 + fp8 KV" not in t.index:
        return Markdown("The levers table has no bf16 and FP8 rows to compare.")
    tp = int(memory["tensor_parallel"].iloc[0])
    fp8 = memory_breakdown(replace(setup, precision="fp8", kv_precision="fp8"), tensor_parallel=tp)
    base = memory_breakdown(replace(setup, precision="bf16", kv_precision="bf16"), tensor_parallel=tp)

    def gib(df, c):
        return float(df.loc[df.component == c, "gib_per_gpu"].iloc[0])
    _, gpu = _hardware(setup)
    text = (f"At TP {tp}, FP8 weights take {gib(fp8, 'weights'):,.1f} GiB per GPU instead of "
            f"{gib(base, 'weights'):,.1f}; the KV cache grows from {gib(base, 'kv cache'):,.1f} to "
            f"{gib(fp8, 'kv cache'):,.1f} GiB and, at half the bytes per entry, holds "
            f"{int(fp8['sequences_that_fit'].iloc[0]):,} sequences per replica instead of "
            f"{int(base['sequences_that_fit'].iloc[0]):,}. Each decode step streams half the weight bytes. ")
    if gpu.fp8_dense_tflops:
        text += (f"The {gpu.name} has FP8 tensor cores ({gpu.fp8_dense_tflops:,.0f} against "
                 f"{gpu.bf16_dense_tflops:,.0f} dense TFLOPS in bf16), so prefill runs "
                 f"{gpu.fp8_dense_tflops / gpu.bf16_dense_tflops:.1f} × faster too. ")
    else:
        text += f"The {gpu.name} has no FP8 tensor cores, so prefill gains nothing. "
    a, b = t.loc["bf16"], t.loc["fp8 + fp8 KV"]
    if np.isnan(a["concurrency"]) or np.isnan(b["concurrency"]):
        bad = "bf16" if np.isnan(a["concurrency"]) else "fp8 + fp8 KV"
        return Markdown(text + f"At the bounds, {bad} is infeasible: {t.loc[bad, 'note']}")
    return Markdown(text + f"At the same bounds the concurrency goes from {a['concurrency']:,.1f} to "
                   f"**{b['concurrency']:,.1f}** and the cost per 1k tokens from "
                   f"{a['usd_per_1k_tokens']:.6f} to **{b['usd_per_1k_tokens']:.6f} USD** "
                   f"({b['usd_per_1k_tokens'] / a['usd_per_1k_tokens'] - 1:+.0%}).")


__all__ = ["WINDOWS", "window_sweep", "window_note", "window_chart", "Lesson", "start", "LessonSetup", "EXAMPLE", "SPECULATIVE_EXAMPLE", "BOUND_WORDS",
           "LOAD_METRICS", "PUBLISHED_CURVE", "MISS_FACTOR", "REPORTED_MISS_REASONS", "BAND_ORDER",
           "lesson_setup", "describe", "base_point", "lesson_tp", "gpu_delivery", "memory_breakdown",
           "decode_roofline", "concurrency_vs_prompt_cv", "prompt_cv_note", "context_length_sweep",
           "context_note", "levers_table", "bounds_note", "latency_under_load", "load_note",
           "bounds_table", "ttft_only_note", "published_curve", "published_note",
           "calibration_summary", "calibration_by_band", "calibration_misses", "misses_note",
           "weakest_rows", "setup_note", "memory_note", "calibration_note", "memory_chart",
           "roofline_chart", "prompt_cv_chart", "context_chart", "levers_chart",
           "latency_load_chart", "calibration_chart", "point_explorer",
           "answer_bounds_concurrency", "answer_doubled_prompt", "answer_fp8"]
