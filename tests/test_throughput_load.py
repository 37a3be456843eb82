"""Latency under load: continuous batching, open and closed loops, the latency bounds.

Oracles are properties of the model (Little's law, monotonicity, a knee at the memory limit) and
queueing results worked by hand (M/M/1 as the one-server Erlang C, Pollaczek-Khinchine).
"""

from __future__ import annotations

import numpy as np
import pytest

from costlib.formulas.throughput import batching, load
from costlib.formulas.throughput.engine import engine_arrays, setup_arrays
from costlib.formulas.throughput.serving import replica_slots, serving_point
from costlib.tables import hardware as catalog


def _replica(model="llama-3.1-8b", gpu="A100-40GB", tp=1, L=2000.0, O=300.0, engine="vllm"):
    m, g = catalog.get_model(model), catalog.get_gpu(gpu)
    eng = catalog.get_engine(engine).for_gpu(g.name, g.memory_gib)
    s = setup_arrays(m, g, tensor_parallel=tp, precision="bf16", kv_precision="bf16", engine=eng)
    p = engine_arrays(eng)
    return s, p, float(replica_slots(s, L, O)), float(s["act_tokens"]), L, O


# ---------------------------------------------------------------- queueing formulas by hand
def test_erlang_c_with_one_server_is_mm1():
    # M/M/1: W = rho S / (1 - rho); rho = 0.8, S = 0.5 s -> 0.8 * 0.5 / 0.2 = 2.0 s
    assert batching.erlang_c_wait_s(1.6, 1, 0.5) == pytest.approx(2.0)
    assert batching.erlang_c_probability(1.6, 1, 0.5) == pytest.approx(0.8)


def test_erlang_c_vectorised_over_servers():
    # M/M/2, a = 1.5: Erlang B2 = 1.5*0.6/(2+0.9) = 0.31034; C = B/(1 - 0.75(1-B)) = 0.64286;
    # W = C S / (c - a) = 0.64286 / 0.5 = 1.2857 s; M/M/1 at a = 0.5 -> 1.0 s
    w = batching.erlang_c_wait_s(np.array([1.5, 0.5]), np.array([2, 1]), 1.0)
    assert w == pytest.approx([1.285714, 1.0], rel=1e-5)
    assert np.isinf(batching.erlang_c_wait_s(2.0, 2, 1.0))  # a = c: unstable


def test_prefill_room_utilisation_and_chunks():
    # 1,000 prompt tokens a step in the 2,048 - 48 = 2,000 the decodes leave: half used
    assert batching.prefill_utilisation(1000.0, 2048.0, 48.0) == pytest.approx(0.5)
    # a 5,000-token prompt in that room takes 2.5 steps; a short one at least one step
    assert batching.prefill_chunks(5000.0, 2048.0, 48.0) == pytest.approx(2.5)
    assert batching.prefill_chunks(10.0, 2048.0, 48.0) == 1.0


def test_closed_loop_admission_wait_is_littles_law():
    # 250 clients, 100 in the engine, 10 requests/s: the other 150 wait 150 / 10 = 15 s
    assert batching.closed_loop_admission_wait_s(250, 100, 10.0) == pytest.approx(15.0)
    assert batching.closed_loop_admission_wait_s(50, 100, 10.0) == 0.0


def test_sequence_slots_paged_versus_reserved():
    # 30,000 KV tokens, 1,000 in, 1,000 out: paged holds 1000 + 500 a sequence -> 20 slots,
    # reserving the whole answer 1000 + 1000 -> 15; max_num_seqs caps both
    assert load.sequence_slots(30_000, 1000, 1000, 256) == pytest.approx(20.0)
    assert load.sequence_slots(30_000, 1000, 1000, 256, out_held_fraction=1.0) == pytest.approx(15.0)
    assert load.sequence_slots(30_000, 10, 10, 256) == pytest.approx(256.0)


# ---------------------------------------------------------------- the engine under load
def test_ttft_rises_with_concurrency_and_jumps_past_the_memory_knee():
    s, p, slots, budget, L, O = _replica()
    below = np.array([1.0, 4.0, 16.0, 0.8 * slots])
    r = load.closed_loop(s, p, below, L, O, slots=slots, budget=budget)
    assert np.all(np.diff(r["ttft_s"]) > 0)
    assert np.all(r["queued"] < 1e-6)
    past = load.closed_loop(s, p, np.array([2.0 * slots]), L, O, slots=slots, budget=budget)
    # beyond memory the extra clients queue: half of them are waiting, and the wait is most of
    # a whole request's time, far above the TTFT just below the knee
    assert past["queued"][0] == pytest.approx(2.0 * slots - past["in_engine"][0], rel=1e-9)
    assert past["ttft_s"][0] > 10 * r["ttft_s"][-1]


def test_time_per_output_token_rises_with_concurrency():
    s, p, slots, budget, L, O = _replica()
    r = load.closed_loop(s, p, np.array([1.0, 8.0, 32.0]), L, O, slots=slots, budget=budget)
    assert np.all(np.diff(r["tpot_s"]) > 0)


def test_closed_and_open_loop_agree_through_littles_law():
    # the closed loop at N clients runs at X; the open loop at rate X then holds N requests
    s, p, slots, budget, L, O = _replica()
    n = np.array([2.0, 8.0, 24.0])
    closed = load.closed_loop(s, p, n, L, O, slots=slots, budget=budget)
    opened = load.open_loop(s, p, closed["x_rps"], L, O, slots=slots, budget=budget)
    assert opened["in_engine"] == pytest.approx(n, rel=0.02)
    assert opened["tpot_s"] == pytest.approx(closed["tpot_s"], rel=1e-9)
    # and X = N / (TTFT + (O - 1) TPOT) for the closed loop itself
    assert closed["x_rps"] == pytest.approx(n / (closed["ttft_s"] + (O - 1) * closed["tpot_s"]), rel=1e-6)


def test_open_loop_above_capacity_is_saturated():
    s, p, slots, budget, L, O = _replica()
    cap = float(load.capacity_rps(s, p, L, O, 0.0, None, slots, budget))
    r = load.open_loop(s, p, np.array([0.5 * cap, 1.2 * cap]), L, O, slots=slots, budget=budget)
    assert not r["saturated"][0] and r["saturated"][1]
    assert np.isfinite(r["ttft95_s"][0]) and np.isinf(r["ttft95_s"][1])


def test_variable_prompts_widen_the_ttft_tail_not_the_mean_step():
    s, p, slots, budget, L, O = _replica()
    fixed = load.open_loop(s, p, np.array([0.3]), L, O, 0.0, slots=slots, budget=budget)
    varied = load.open_loop(s, p, np.array([0.3]), L, O, 1.0, slots=slots, budget=budget)
    assert varied["ttft95_s"][0] > fixed["ttft95_s"][0]
    assert varied["step_s"][0] == pytest.approx(fixed["step_s"][0])


def test_burst_prefills_every_prompt_before_the_last_first_token():
    # 500 requests at once: the mean TTFT is about half the time to prefill them all
    s, p, slots, budget, L, O = _replica("llama-3.1-8b", "H100", 1, 467.0, 256.0, "trtllm")
    b = load.burst(s, p, 500.0, L, O, slots=slots, budget=budget)
    one = load.closed_loop(s, p, np.array([1.0]), L, O, slots=slots, budget=budget)
    assert b["ttft_s"] > 20 * one["ttft_s"][0]
    # twice the requests (still within memory): about twice the prompts ahead of the average one
    b2 = load.burst(s, p, 1000.0, L, O, slots=max(slots, 1000.0), budget=budget)
    assert 1.6 < b2["ttft_s"] / b["ttft_s"] < 2.6


# ---------------------------------------------------------------- the latency bounds
def test_a_per_token_bound_lowers_the_chosen_concurrency():
    kw = dict(instance="p5.48xlarge", in_tokens=2000, out_tokens=500, prompt_cv=0.5)
    ttft_only = serving_point("llama-3.1-70b", bounds={"ttft_p95_ms": 1000}, **kw)
    both = serving_point("llama-3.1-70b", bounds={"ttft_p95_ms": 1000, "tpot_p95_ms": 50}, **kw)
    assert both.concurrency < ttft_only.concurrency
    assert both.total_tokens_per_s < ttft_only.total_tokens_per_s
    assert both.limited_by == "tpot_p95_ms" and both.p95_tpot_ms <= 50 * (1 + 1e-6)
    assert "time per output token" in both.binding


def test_every_stated_bound_is_met_at_the_slo_point():
    bounds = {"ttft_p95_ms": 800, "tpot_p95_ms": 60, "e2e_p95_ms": 30_000}
    sp = serving_point("llama-3.1-70b", instance="p4d.24xlarge", in_tokens=1500, out_tokens=300,
                       bounds=bounds, prompt_cv=0.5)
    assert sp.p95_ttft_ms <= 800 * (1 + 1e-6) and sp.p95_tpot_ms <= 60 * (1 + 1e-6)
    assert sp.p95_e2e_latency_ms <= 30_000 * (1 + 1e-6)
    assert sp.request_rate_rps < sp.capacity_rps
