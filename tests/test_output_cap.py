"""The output cap (max_tokens) and KV reservation: why a longer window costs for the same requests.

Oracles: the slot formula by hand (KV tokens / (prompt + what is held)), and properties (an
engine that allocates on demand ignores the cap; a reserving one holds fewer sequences as the
cap grows; the default cap is the output itself).
"""

from __future__ import annotations

import pytest

from costlib.bill.estimate import estimate
from costlib.bill.params import load_params, with_overrides
from costlib.core.errors import CostlibError
from costlib.core.paths import PARAMS_DIR
from costlib.formulas.throughput import load
from costlib.formulas.throughput.engine import memory_concurrency, setup_arrays
from costlib.formulas.throughput.serving import replica_slots, serving_point
from costlib.tables import hardware as catalog

KW = dict(instance="p5.48xlarge", in_tokens=1500.0, out_tokens=300.0, prompt_cv=0.5,
          bounds={"ttft_p95_ms": 1000.0, "tpot_p95_ms": 50.0})


def _setup(engine: str, tp: int = 8):
    g = catalog.get_gpu("H100")
    eng = catalog.get_engine(engine).for_gpu(g.name, g.memory_gib)
    return setup_arrays(catalog.get_model("llama-3.1-70b"), g, tensor_parallel=tp,
                        precision="bf16", kv_precision="bf16", memory_gib=g.memory_gib, engine=eng)


def test_a_reserving_engine_holds_the_prompt_plus_the_cap_per_sequence():
    s = _setup("trtllm")
    assert s["out_held"] == 1.0  # engines.yaml: trtllm admits by reservation
    _, kv_bytes = memory_concurrency(s, None, 1500.0, 300.0)
    kv_tokens = float(load.kv_token_capacity(kv_bytes, s["kv_per_token"]))
    # by hand: slots = KV tokens / (prompt + cap), capped by max_num_seqs
    want = min(kv_tokens / (1500.0 + 6692.0), s["max_seqs"])
    assert float(replica_slots(s, 1500.0, 300.0, 6692.0)) == pytest.approx(want, rel=1e-12)
    # without a cap it holds the output itself
    assert float(replica_slots(s, 1500.0, 300.0)) == pytest.approx(
        min(kv_tokens / 1800.0, s["max_seqs"]), rel=1e-12)


def test_an_on_demand_engine_ignores_the_cap():
    s = _setup("vllm")
    assert s["out_held"] == 0.5
    assert float(replica_slots(s, 1500.0, 300.0, 31268.0)) == float(replica_slots(s, 1500.0, 300.0))
    a = serving_point("llama-3.1-70b", engine="vllm", **KW)
    b = serving_point("llama-3.1-70b", engine="vllm", reserved_out_tokens=31268.0, **KW)
    assert (a.concurrency, a.max_concurrency_memory) == (b.concurrency, b.max_concurrency_memory)


def test_a_longer_window_means_fewer_sequences_and_dearer_tokens_when_reserving():
    points = [serving_point("llama-3.1-70b", engine="trtllm",
                            reserved_out_tokens=float(w - 1500), **KW) for w in (8192, 32768)]
    assert points[1].max_concurrency_memory < points[0].max_concurrency_memory
    assert points[1].concurrency <= points[0].concurrency
    assert points[1].total_tokens_per_s < points[0].total_tokens_per_s


def test_the_default_cap_is_the_output_itself():
    a = serving_point("llama-3.1-70b", engine="trtllm", **KW)
    b = serving_point("llama-3.1-70b", engine="trtllm", reserved_out_tokens=300.0, **KW)
    assert (a.concurrency, a.max_concurrency_memory, a.p95_ttft_ms) == (
        b.concurrency, b.max_concurrency_memory, b.p95_ttft_ms)


def test_a_cap_below_the_output_or_beyond_the_window_is_refused():
    with pytest.raises(CostlibError, match="reserved_out_tokens"):
        serving_point("llama-3.1-70b", engine="trtllm", reserved_out_tokens=100.0, **KW)
    with pytest.raises(CostlibError, match="exceeds the 131072-token context window"):
        serving_point("llama-3.1-70b", engine="trtllm", reserved_out_tokens=200_000.0, **KW)
    params = load_params(PARAMS_DIR / "default.yaml")
    with pytest.raises(CostlibError, match="max_output_tokens"):
        with_overrides(params, {"workload.max_output_tokens": 10})


def test_the_params_cap_reaches_a_self_hosted_option_that_derives_its_throughput():
    params = load_params(PARAMS_DIR / "default.yaml")
    base = {o.name: o for o in estimate(params).options}
    capped = {o.name: o for o in estimate(with_overrides(
        params, {"workload.max_output_tokens": 32768 - 1500})).options}
    # vLLM (model-derived, on-demand KV) is unchanged; the managed option is unchanged
    assert capped["p5_vllm_llama31_70b"].monthly_usd == base["p5_vllm_llama31_70b"].monthly_usd
    assert capped["bedrock_llama31_70b"].monthly_usd == base["bedrock_llama31_70b"].monthly_usd


def test_lesson_window_sweep_shows_the_reserving_engine_losing_sequences():
    from costlib.lessons.throughput import LessonSetup, window_sweep

    setup = LessonSetup(model="llama-3.1-70b", instance="p5.48xlarge", in_tokens=1500.0,
                        out_tokens=300.0, bounds={"ttft_p95_ms": 1000.0, "tpot_p95_ms": 50.0})
    table = window_sweep(setup, windows=(8192, 32768))
    vllm = table[table["engine"] == "vllm"]["max_concurrency_memory"].tolist()
    trt = table[table["engine"] == "trtllm"]["max_concurrency_memory"].tolist()
    assert len(vllm) == len(trt) == 2
    assert vllm[0] == vllm[1]
    assert trt[1] < trt[0]
    assert list(table["cap_tokens"][:2]) == [8192 - 1500, 32768 - 1500]
