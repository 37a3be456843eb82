"""Lesson 03, what a GPU really delivers (``notebooks/03_throughput.ipynb``).

Tidy tables that explain the throughput model, and the lesson's charts and controls (built in
:mod:`costlib.lessons.charts` and :mod:`costlib.lessons.widgets`, re-exported here so the
notebook calls only this module). Every table function only calls the model (:mod:`costlib.formulas.throughput.serving`, ``roofline``,
``levers``, ``calibration``) and arranges its answers as a pandas DataFrame; nothing is computed
in the notebook. Functions never raise for an infeasible point: a configuration that does not fit
or cannot meet the latency target becomes a row with ``NaN`` numbers and a ``note``, so the
notebook runs for any params file.

The lesson's subject is :class:`LessonSetup`: the first self-hosted option of a params file that
names a ``model``, or, failing that, the documented example :data:`EXAMPLE` (Llama 3.1 70B on
p4d.24xlarge) with the params file's workload.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from costlib.core.errors import CostlibError
from costlib.lessons import Lesson, start
from costlib.lessons.charts import (calibration_chart, context_chart, levers_chart, memory_chart,
                                    prompt_cv_chart, roofline_chart)
from costlib.lessons.widgets import point_explorer
from costlib.formulas.throughput import calibration
from costlib.tables import hardware as catalog
from costlib.formulas.throughput import roofline
from costlib.formulas.throughput.levers import compare_levers, usd_per_1k_tokens
from costlib.formulas.throughput.engine import (engine_arrays, pass_bytes_flops, pass_time_s,
                                               runtime_reserve_gib, setup_arrays)
from costlib.formulas.throughput.serving import ServingPoint, serving_point


@dataclass(frozen=True)
class LessonSetup:
    """What the lesson is about: one model on one instance, one workload and latency target."""

    model: str
    instance: str
    precision: str = "bf16"
    kv_precision: str | None = None
    engine: str = "vllm"
    tensor_parallel: int | None = None
    in_tokens: float = 2000.0
    out_tokens: float = 500.0
    p95_latency_ms: float = 1000.0
    latency_target: str = "ttft"
    prompt_cv: float = 0.5
    usd_per_hour: float = math.nan
    origin: str = ""

    def serving_kwargs(self, **override) -> dict:
        """Keyword arguments of :func:`serving_point` for this setup (``override`` wins)."""
        kw = dict(instance=self.instance, precision=self.precision, kv_precision=self.kv_precision,
                  engine=self.engine, tensor_parallel=self.tensor_parallel, in_tokens=self.in_tokens,
                  out_tokens=self.out_tokens, prompt_cv=self.prompt_cv)
        kw.update(override)
        if "concurrency" not in kw:
            kw.setdefault("p95_latency_ms", self.p95_latency_ms)
            kw.setdefault("latency_target", self.latency_target)
        return kw


#: The documented example used when a params file has no self-hosted option naming a model: the
#: article's scenario-B class (Llama-70B, about 2k in / 500 out, 1 s p95 to first token, p4d).
EXAMPLE = LessonSetup(model="llama-3.1-70b", instance="p4d.24xlarge", in_tokens=2000, out_tokens=500,
                      p95_latency_ms=1000, prompt_cv=0.5, origin="documented example")


def lesson_setup(params, price_book=None) -> LessonSetup:
    """The lesson's setup from a loaded params file.

    Uses the first self-hosted option that names a ``model`` (its instance, precision, KV
    precision, engine, TP) with the params workload; otherwise :data:`EXAMPLE` on the params
    workload's latency target. The instance-hour price is the EC2 on-demand price from the price
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
                                out_tokens=w.out_tokens, p95_latency_ms=w.p95_latency_ms,
                                latency_target=w.latency_target, prompt_cv=w.prompt_cv,
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
    """The setup's own operating point at its p95 target: (ServingPoint, "") or (None, reason)."""
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
    """The largest concurrency that meets the p95 target, as prompt lengths vary more.

    The TP degree is held at :func:`lesson_tp` so the curve shows the prompt mix alone.
    Columns: prompt_cv, concurrency, max_concurrency_memory, p95_ttft_ms, limited_by,
    total_tokens_per_s, usd_per_1k_tokens, note.
    """
    rows, tp = [], lesson_tp(setup)
    for cv in prompt_cvs:
        sp, err = _try_point(setup.model, **setup.serving_kwargs(prompt_cv=float(cv), tensor_parallel=tp))
        rows.append(_row(sp, err, setup, prompt_cv=float(cv)))
    return pd.DataFrame(rows)


def context_length_sweep(setup: LessonSetup, multipliers=(0.5, 1.0, 2.0, 4.0, 8.0)) -> pd.DataFrame:
    """Feasible concurrency and cost per 1k tokens as the prompt grows (same SLO and output).

    Columns: in_tokens, context_tokens, concurrency, max_concurrency_memory, p95_ttft_ms,
    limited_by, total_tokens_per_s, usd_per_1k_tokens, note. Prompts beyond the model's context
    window are skipped.
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


def _row(sp: ServingPoint | None, err: str, setup: LessonSetup, **keys) -> dict:
    if sp is None:
        return dict(**keys, concurrency=np.nan, max_concurrency_memory=np.nan, p95_ttft_ms=np.nan,
                    limited_by="infeasible", total_tokens_per_s=np.nan, usd_per_1k_tokens=np.nan, note=err)
    return dict(**keys, concurrency=sp.concurrency, max_concurrency_memory=sp.max_concurrency_memory,
                p95_ttft_ms=sp.p95_ttft_ms, limited_by=sp.limited_by, total_tokens_per_s=sp.total_tokens_per_s,
                usd_per_1k_tokens=usd_per_1k_tokens(setup.usd_per_hour, sp.total_tokens_per_s), note="")


#: Illustrative speculative-decoding setting (an assumption to vary, not a measured figure).
SPECULATIVE_EXAMPLE = {"acceptance_rate": 0.7, "num_speculative_tokens": 4, "draft_model": "llama-3.1-8b"}


def levers_table(setup: LessonSetup, speculative: dict | None = SPECULATIVE_EXAMPLE) -> pd.DataFrame:
    """Cost per 1k tokens at the same SLO for weight/KV precisions and speculative decoding.

    Rows: bf16, fp8 + fp8 KV, int8 + fp8 KV, int4 + fp8 KV, and (when the model is larger than
    the draft and shares its vocabulary) bf16 + speculative decoding with ``speculative``.
    Columns: variant, concurrency, total_tokens_per_s, p95_ttft_ms, tpot_ms, usd_per_1k_tokens, note.
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
                            tpot_ms=np.nan, usd_per_1k_tokens=np.nan, note=r["error"]))
        else:
            out.append(dict(variant=r["variant"], concurrency=r["concurrency"], total_tokens_per_s=r["total_tokens_per_s"],
                            p95_ttft_ms=r["p95_ttft_ms"], tpot_ms=r["tpot_ms"],
                            usd_per_1k_tokens=r.get("usd_per_1k_tokens", np.nan), note=""))
    return pd.DataFrame(out)


def calibration_summary() -> pd.DataFrame:
    """Per-row calibration errors (:func:`calibration.calibration_table`), worst first."""
    df = calibration.calibration_table()
    df["factor_off"] = np.maximum(df["ratio"], 1.0 / df["ratio"])
    return df.sort_values("factor_off", ascending=False, kind="stable").reset_index(drop=True)


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


__all__ = ["Lesson", "start", "LessonSetup", "EXAMPLE", "SPECULATIVE_EXAMPLE", "lesson_setup",
           "describe", "base_point", "lesson_tp", "gpu_delivery", "memory_breakdown",
           "decode_roofline", "concurrency_vs_prompt_cv", "context_length_sweep", "levers_table",
           "calibration_summary", "weakest_rows", "setup_note", "memory_note",
           "calibration_note", "memory_chart", "roofline_chart", "prompt_cv_chart",
           "context_chart", "levers_chart", "calibration_chart", "point_explorer"]
