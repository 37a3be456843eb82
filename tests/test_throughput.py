"""Tests for costlib.formulas.throughput: catalogs, roofline formulas, serving model, levers."""

import math

import numpy as np
import pytest

from costlib.core import paths
from costlib.core.errors import CostlibError
from costlib.formulas.throughput import serving_point
from costlib.tables import hardware as catalog
from costlib.formulas.throughput import roofline
from costlib.formulas.throughput.levers import compare_levers, usd_per_1k_tokens

P4D_USD_PER_HOUR = 21.957642  # aws-prices-inference.md §2 (Karpenter price table, 2025-06-23); used only as a scale


# ---------------------------------------------------------------- catalogs
def test_params_total_llama31_8b():
    # per layer: attn 4096*4096 + 2*4096*1024 + 4096*4096 = 41,943,040
    #            mlp 3*4096*14336 = 176,160,768 ; norms 2*4096 = 8,192  -> 218,112,000
    # 32 layers = 6,979,584,000 ; embeddings + head 2*128256*4096 = 1,050,673,152 ; final norm 4,096
    # total = 8,030,261,248 (equals the Hugging Face num_parameters of Llama 3.1 8B)
    assert catalog.get_model("llama-3.1-8b").params_total == 8_030_261_248


def test_params_total_llama31_70b():
    # published HF num_parameters 70,553,706,496 (fact sheet §3 cross-check)
    assert catalog.get_model("Llama-3.1-70B").params_total == 70_553_706_496


def test_params_mixtral_published():
    # Mistral AI, "Mixtral of experts" (2023-12-11): 46.7B total, 12.9B used per token
    m = catalog.get_model("mixtral-8x7b")
    assert m.params_total == pytest.approx(46.7e9, rel=0.01)
    assert m.params_active == pytest.approx(12.9e9, rel=0.01)


def test_gpu_catalog_dense_not_sparse():
    # H100 SXM dense BF16 989.4 and FP8 1978.9 TFLOPS (sparse are 2x); L4 dense = 242 sparse / 2
    assert catalog.get_gpu("h100").bf16_dense_tflops == 989.4
    assert catalog.get_gpu("H100").fp8_dense_tflops == 1978.9
    assert catalog.get_gpu("L4").bf16_dense_tflops == 121
    assert catalog.get_gpu("A100-40GB").fp8_dense_tflops is None


def test_gpu_names_match_instances_csv():
    accel = {i.accelerator for i in catalog.instances().values()}
    assert accel <= set(catalog.gpus())


def test_catalog_csvs_have_provenance():
    import csv
    for path in (paths.GPUS_CSV, paths.MODELS_CSV, paths.BENCHMARKS_CSV):
        for row in csv.DictReader(open(path)):
            assert row["source"].startswith("https://"), (path.name, row)
            assert row["as_of"], (path.name, row)


def test_get_instance_ml_prefix():
    assert catalog.get_instance("ml.p4d.24xlarge") == catalog.get_instance("p4d.24xlarge")


def test_get_model_unknown_closest():
    with pytest.raises(CostlibError, match="closest valid: llama-3.1-70b"):
        catalog.get_model("llama-3.1-70")


def test_bytes_per_element_unknown():
    with pytest.raises(CostlibError, match="unknown precision 'fp4'"):
        catalog.bytes_per_element("fp4")


# ---------------------------------------------------------------- formulas
def test_weight_bytes_linearity():
    # int4 stores a quarter of bf16's bytes; fp8 half
    b = roofline.weight_bytes(70e9, 2.0)
    assert roofline.weight_bytes(70e9, 0.5) == pytest.approx(b / 4)
    assert roofline.weight_bytes(np.array([1e9, 2e9]), 1.0).tolist() == [1e9, 2e9]


def test_kv_cache_bytes_per_token_llama70b():
    # 2 * 80 layers * 8 kv heads * 128 dims * 2 bytes = 327,680 B (320 KiB); fp8 half
    assert roofline.kv_cache_bytes_per_token(80, 8, 128, 2.0) == 327_680
    assert roofline.kv_cache_bytes_per_token(80, 8, 128, 1.0) == 163_840


def test_kv_cache_capacity_free_vs_total():
    # 80 GiB GPU, 16 GiB weights, 2 GiB reserve, f = 0.9
    # free : 0.9 * (80 - 16 - 2) GiB = 55.8 GiB ; total: 0.9*80 - 16 - 2 = 54 GiB
    gib = 2**30
    free = roofline.kv_cache_capacity_bytes_per_gpu(80, 16 * gib, 2, 0.9, True)
    total = roofline.kv_cache_capacity_bytes_per_gpu(80, 16 * gib, 2, 0.9, False)
    assert free / gib == pytest.approx(55.8)
    assert total / gib == pytest.approx(54.0)
    assert roofline.kv_cache_capacity_bytes_per_gpu(24, 30 * gib, 0, 0.9, False) == 0.0


def test_max_concurrent_sequences_hand():
    # 160 GiB / (327,680 B * 2,500 tokens) = 171,798,691,840 / 819,200,000 = 209.7 -> 209
    assert roofline.max_concurrent_sequences(160 * 2**30, 327_680, 2_500) == 209


def test_max_concurrent_sequences_monotone_in_context():
    c = roofline.max_concurrent_sequences(100e9, 131_072, np.array([1000, 2000, 4000, 8000]))
    assert np.all(np.diff(c) < 0)


def test_moe_experts_touched_fraction():
    # 1 token: k/E = 2/8 ; 2 tokens: 1 - (6/8)^2 = 0.4375 ; dense: 1
    assert roofline.moe_experts_touched_fraction(1, 8, 2) == pytest.approx(0.25)
    assert roofline.moe_experts_touched_fraction(2, 8, 2) == pytest.approx(0.4375)
    assert roofline.moe_experts_touched_fraction(5, 1, 1) == 1.0


def test_allreduce_time_s_hand():
    # TP8, 4 MiB, 450 GB/s, 10 us: 10e-6 + 2*7/8 * 4,194,304 / 450e9 = 10e-6 + 16.31e-6 = 26.31 us
    assert roofline.allreduce_time_s(4 * 2**20, 8, 450, 10) == pytest.approx(26.31e-6, rel=1e-3)
    assert roofline.allreduce_time_s(4 * 2**20, 1, 450, 10) == 0.0


def test_forward_pass_time_s_memory_and_compute_bound():
    # memory bound: 16e9 B / 2039e9 B/s = 7.847 ms ; compute bound: 1e15 FLOP / 312e12 = 3.205 s
    assert roofline.forward_pass_time_s(16e9, 1.0, 1, 2039, 312, 1, 1) == pytest.approx(16e9 / 2039e9)
    assert roofline.forward_pass_time_s(1.0, 1e15, 1, 2039, 312, 1, 1) == pytest.approx(1e15 / 312e12)
    # TP2 halves both
    assert roofline.forward_pass_time_s(16e9, 1.0, 2, 2039, 312, 1, 1) == pytest.approx(16e9 / 2039e9 / 2)


def test_speculative_tokens_per_step():
    # (1 - 0.8^5) / (1 - 0.8) = (1 - 0.32768) / 0.2 = 3.3616 ; alpha 1 -> k+1 ; alpha 0 -> 1
    assert roofline.speculative_tokens_per_step(0.8, 4) == pytest.approx(3.3616)
    assert roofline.speculative_tokens_per_step(1.0, 4) == 5
    assert roofline.speculative_tokens_per_step(0.0, 4) == 1


def test_lognormal_quantile_properties():
    assert roofline.lognormal_quantile(2000, 0.0) == pytest.approx(2000)
    q = roofline.lognormal_quantile(2000, np.array([0.25, 0.5, 1.0]))
    assert np.all(np.diff(q) > 0) and q[0] > 2000


def test_mg1_mean_wait_hand():
    # rho 0.5, E[S] 0.1 s, CV 1: 0.5*0.1*(1+1)/(2*0.5) = 0.1 s ; rho >= 1 -> inf
    assert roofline.mg1_mean_wait_s(0.5, 0.1, 1.0) == pytest.approx(0.1)
    assert math.isinf(roofline.mg1_mean_wait_s(1.0, 0.1, 1.0))
    assert roofline.mg1_wait_quantile_s(0.01, 0.001) == 0.0


def test_output_tokens_per_s_hand():
    # 16*500 / (500*0.03 + 16*0.2) = 8000 / 18.2 = 439.56
    assert roofline.output_tokens_per_s(16, 500, 0.03, 0.2) == pytest.approx(8000 / 18.2)


def test_usd_per_1k_tokens_hand():
    # 21.96 $/h / (3600 tok/s * 3600 s / 1000) = 21.96 / 12,960 = 0.0016944
    assert usd_per_1k_tokens(21.96, 3600.0) == pytest.approx(21.96 / 12_960)


# ---------------------------------------------------------------- serving model
def test_serving_point_worksheet_identity():
    sp = serving_point("llama-3.1-8b", gpu="H100", gpus=1, in_tokens=1000, out_tokens=200, concurrency=16)
    assert sp.tokens_per_second_per_instance * sp.batch_size == pytest.approx(sp.total_tokens_per_s)
    # total = output * (in + out) / out
    assert sp.total_tokens_per_s == pytest.approx(sp.output_tokens_per_s * 1200 / 200)
    assert sp.method == "modelled"


def test_serving_point_concurrency_monotone():
    pts = [serving_point("llama-3.1-8b", gpu="A100-80GB", gpus=1, in_tokens=1000, out_tokens=300, concurrency=c)
           for c in (1, 4, 16, 64)]
    tps = [p.output_tokens_per_s for p in pts]
    tpot = [p.tpot_ms for p in pts]
    assert tps == sorted(tps) and tpot == sorted(tpot)


def test_serving_point_batch1_tpot_bandwidth_floor():
    # one sequence can never decode faster than streaming the weights at peak bandwidth:
    # 8B bf16 ≈ 16.06e9 B (minus the 1.05e9 B gathered embedding) / 2039e9 B/s ≈ 7.4 ms
    sp = serving_point("llama-3.1-8b", gpu="A100-80GB", gpus=1, in_tokens=100, out_tokens=100, concurrency=1)
    assert sp.tpot_ms > (8_030_261_248 - 128256 * 4096) * 2 / 2039e9 * 1e3


def test_serving_point_memory_h200_more_than_h100():
    # TensorRT-LLM memory semantics, as in the benchmark rows T14-15/T14-16 (410 vs 2,585 tok/s)
    kw = dict(precision="fp8", in_tokens=1000, out_tokens=1000, concurrency=1, tensor_parallel=1, engine="trtllm")
    h100 = serving_point("llama-3.1-70b", gpu="H100", gpus=1, **kw)
    h200 = serving_point("llama-3.1-70b", gpu="H200", gpus=1, **kw)
    assert h200.max_concurrency_memory > 3 * h100.max_concurrency_memory


def test_serving_point_ml_prefix_same_as_ec2():
    kw = dict(in_tokens=2000, out_tokens=500, concurrency=8)
    assert serving_point("llama-3.1-70b", instance="ml.p4d.24xlarge", **kw).output_tokens_per_s == \
        serving_point("llama-3.1-70b", instance="p4d.24xlarge", **kw).output_tokens_per_s


def test_serving_point_scenario_b_e2e_infeasible():
    # 500 tokens in 1 s needs 2 ms/token; a 70B bf16 decode pass must stream its weights:
    # 141.1e9 B / (8 GPUs * 3350e9 B/s) = 5.26 ms > 2 ms even at 100% bandwidth on p5.
    assert 70_553_706_496 * 2 / (8 * 3350e9) > 2e-3
    with pytest.raises(CostlibError, match="no load meets the latency bounds .* p95 end-to-end time is"):
        serving_point("llama-3.1-70b", instance="p5.48xlarge", in_tokens=2000, out_tokens=500,
                      bounds={"e2e_p95_ms": 1000})


def test_serving_point_scenario_b_ttft_feasible():
    sp = serving_point("llama-3.1-70b", instance="p5.48xlarge", in_tokens=2000, out_tokens=500,
                       bounds={"ttft_p95_ms": 1000}, prompt_cv=0.5)
    assert sp.concurrency >= 1 and sp.p95_ttft_ms <= 1000 * (1 + 1e-6)


def test_serving_point_variable_prompts_lower_batch():
    kw = dict(instance="p4d.24xlarge", in_tokens=2000, out_tokens=500, bounds={"ttft_p95_ms": 1000})
    fixed = serving_point("llama-3.1-70b", prompt_cv=0.0, **kw)
    variable = serving_point("llama-3.1-70b", prompt_cv=1.0, **kw)
    assert variable.concurrency < fixed.concurrency
    assert variable.limited_by == "ttft_p95_ms"


def test_serving_point_context_doubling_p4d():
    # Done criterion: doubling the context of Llama 3.1 70B on p4d.24xlarge lowers the feasible
    # concurrency and raises the cost per 1k tokens (same SLO: p95 TTFT 2 s, prompt CV 0.5).
    kw = dict(instance="p4d.24xlarge", out_tokens=500, bounds={"ttft_p95_ms": 2000}, prompt_cv=0.5)
    short = serving_point("llama-3.1-70b", in_tokens=2000, **kw)
    long = serving_point("llama-3.1-70b", in_tokens=4000, **kw)
    assert long.max_concurrency_memory < short.max_concurrency_memory
    assert long.concurrency < short.concurrency
    # the same request costs more: an instance-hour serves fewer of them (per 1k tokens it need
    # not: the longer prompt's tokens are prefilled in bulk, cheaply)
    assert long.request_rate_rps < short.request_rate_rps


def test_serving_point_too_big_model():
    with pytest.raises(CostlibError, match="does not fit"):
        serving_point("llama-3.1-70b", gpu="L4", gpus=1, in_tokens=1000, out_tokens=100, concurrency=1)


def test_serving_point_bad_inputs():
    with pytest.raises(CostlibError, match="exactly one of concurrency"):
        serving_point("llama-3.1-8b", gpu="H100", in_tokens=10, out_tokens=10)
    with pytest.raises(CostlibError, match="exactly one of concurrency .*got concurrency, rate"):
        serving_point("llama-3.1-8b", gpu="H100", in_tokens=10, out_tokens=10, concurrency=1, rate=2.0)
    with pytest.raises(CostlibError, match="ttft_p95_ms is -5"):
        serving_point("llama-3.1-8b", gpu="H100", in_tokens=10, out_tokens=10, bounds={"ttft_p95_ms": -5})
    with pytest.raises(CostlibError, match="unknown instance"):
        serving_point("llama-3.1-8b", instance="p4.24xl", in_tokens=10, out_tokens=10, concurrency=1)
    with pytest.raises(CostlibError, match="context window"):
        serving_point("llama-2-70b", instance="p5.48xlarge", in_tokens=4000, out_tokens=500, concurrency=1)


def test_serving_point_tensor_parallel_fixed():
    sp = serving_point("llama-3.1-8b", instance="p4d.24xlarge", in_tokens=1000, out_tokens=200,
                       concurrency=16, tensor_parallel=2)
    assert (sp.tensor_parallel, sp.replicas) == (2, 4)


# ---------------------------------------------------------------- levers
def test_levers_quantization_raises_memory_concurrency():
    rows = compare_levers("llama-3.1-70b", usd_per_hour=P4D_USD_PER_HOUR, instance="p4d.24xlarge",
                          in_tokens=2000, out_tokens=500, concurrency=8)
    by = {r["variant"]: r for r in rows}
    assert by["int4 + fp8 KV"]["max_concurrency_memory"] > by["bf16"]["max_concurrency_memory"]
    # fewer weight bytes per decode step -> faster at the same concurrency -> cheaper
    assert by["int8 + fp8 KV"]["usd_per_1k_tokens"] < by["bf16"]["usd_per_1k_tokens"]


def test_speculative_decoding_helps_small_batch_only():
    spec = dict(acceptance_rate=0.8, num_speculative_tokens=4, draft_model="llama-3.1-8b")
    kw = dict(instance="p5.48xlarge", in_tokens=2000, out_tokens=500, tensor_parallel=8)
    base1 = serving_point("llama-3.1-70b", concurrency=1, **kw)
    spec1 = serving_point("llama-3.1-70b", concurrency=1, speculative=spec, **kw)
    assert spec1.tpot_ms < base1.tpot_ms
    base_big = serving_point("llama-3.1-70b", concurrency=128, **kw)
    spec_big = serving_point("llama-3.1-70b", concurrency=128, speculative=spec, **kw)
    assert spec_big.output_tokens_per_s / base_big.output_tokens_per_s < \
        spec1.output_tokens_per_s / base1.output_tokens_per_s


# ---------------------------------------------------------------- memory model (physical, not fitted)
GIB = 2**30


def test_stored_weight_bytes_fp8_keeps_embedding_and_head_16bit():
    # Llama 3.1 70B: E = 128,256 * 8,192 = 1,050,673,152 ; fp8 blocks (P - 2E) * 1 + 2E * 2
    # = 68,452,360,192 + 4,202,692,608 = 72,655,052,800 bytes ; bf16 is plain P * 2
    e = 128_256 * 8_192
    assert roofline.stored_weight_bytes(70_553_706_496, e, 1.0) == 72_655_052_800
    assert roofline.stored_weight_bytes(70_553_706_496, e, 2.0) == 70_553_706_496 * 2


def test_activation_bytes_per_gpu_hand():
    # Llama 3.1 70B, 8192 tokens, TP4: 8192 * (2*8192 + 3*28672/4) * 2 = 8192 * 37,888 * 2 = 620,756,992
    assert roofline.activation_bytes_per_gpu(8192, 8192, 28672, 4) == 620_756_992
    # linear in tokens
    assert roofline.activation_bytes_per_gpu(4096, 8192, 28672, 4) == 620_756_992 / 2


def test_activation_and_sampler_near_vllm_log():
    # vLLM PR #10511 (2024-12-14) log, Llama-3-8B on one H100, 8192 batched tokens (pre-chunked-prefill
    # default = max_model_len 8192), 256 sequences: "PyTorch activation peak memory 1.26GiB".
    # ours: 8192*(8192+43008)*2 = 838,860,800 B ; sampler 256*128256*2*4 = 262,668,288 B -> 1.026 GiB
    ours = (roofline.activation_bytes_per_gpu(8192, 4096, 14336, 1) + roofline.sampler_bytes(256, 128256)) / GIB
    assert ours == pytest.approx(1.026, abs=0.001)
    assert abs(ours / 1.26 - 1) < 0.25


def test_engine_for_gpu_vllm_large_gpu_defaults():
    # vllm/engine/arg_utils.py get_batch_defaults: >= 70 GiB and not A100 -> 8192 tokens, 1024 seqs
    v = catalog.get_engine("vllm")
    assert (v.max_batched_tokens, v.max_num_seqs) == (2048, 256)
    h100 = v.for_gpu("H100", 80.0)
    assert (h100.max_batched_tokens, h100.max_num_seqs) == (8192, 1024)
    a100 = v.for_gpu("A100-80GB", 80.0)
    assert (a100.max_batched_tokens, a100.max_num_seqs) == (2048, 256)


def test_serving_point_8b_bf16_fits_g5_xlarge():
    # The lead's bug: Llama 3.1 8B bf16 on one 24 GB A10G (g5.xlarge) with vLLM must fit.
    # vLLM accounting per GPU (engines.yaml vllm profile, GPU < 70 GiB):
    #   budget    0.9 * 22.35 GiB                         = 20.1150 GiB
    #   weights   8,030,261,248 * 2 B = 16,060,522,496 B  = 14.9574 GiB
    #   act.      2048 * (2*4096 + 3*14336) * 2 = 209,715,200 B = 0.1953 GiB
    #   sampler   256 * 128,256 * 2 * 4 = 262,668,288 B    = 0.2446 GiB
    #   fixed     0.2 GiB (vLLM log "non_torch_memory takes 0.20GiB")
    #   KV        20.1150 - 14.9574 - 0.1953 - 0.2446 - 0.2 = 4.5177 GiB
    # one sequence of 1500 + 400 tokens holds 1900 * 131,072 B = 249,036,800 B
    # vLLM's paged cache fills on demand: a running sequence holds its prompt and half its
    # answer on average, 1500 + 400/2 = 1700 tokens = 222,822,400 B
    # -> floor(4.5177 * 2**30 / 222,822,400) = floor(21.77) = 21 sequence slots
    kv_gib = 0.9 * 22.35 - 16_060_522_496 / GIB - 209_715_200 / GIB - 262_668_288 / GIB - 0.2
    assert kv_gib == pytest.approx(4.5177, abs=1e-3)
    assert math.floor(kv_gib * GIB / (1700 * 131_072)) == 21
    sp = serving_point("llama-3.1-8b", instance="g5.xlarge", in_tokens=1500, out_tokens=400,
                       bounds={"ttft_p95_ms": 2000})
    assert sp.max_concurrency_memory == 21
    assert 0 < sp.concurrency <= 21
    # Cross-check against vLLM's own log on a 22.07 GiB A10 (oracle-samples/oci-data-science-ai-samples,
    # ai-quick-actions/troubleshooting-tips.md, 2025-03-25): 14.99 GiB weights leave "4.60GiB" for KV.
    # Same arithmetic on 22.07 GiB: 0.9*22.07 - 14.9574 - 0.1953 - 0.2446 - 0.2 = 4.2657 GiB, within 10%.
    assert abs((0.9 * 22.07 - 14.9574 - 0.1953 - 0.2446 - 0.2) / 4.60 - 1) < 0.10


def test_serving_point_70b_bf16_does_not_fit_g5_12xlarge():
    # 4 x 22.35 GiB = 89.4 GiB of A10G memory < 70,553,706,496 * 2 B = 131.4 GiB of bf16 weights
    assert 4 * 22.35 * GIB < 70_553_706_496 * 2
    with pytest.raises(CostlibError, match="does not fit"):
        serving_point("llama-3.1-70b", instance="g5.12xlarge", in_tokens=1500, out_tokens=400, concurrency=1)


def test_memory_concurrency_more_kv_room_on_bigger_gpu():
    # property: same model and engine, more device memory -> at least as many sequences
    kw = dict(in_tokens=1500, out_tokens=400, concurrency=1)
    small = serving_point("llama-3.1-8b", gpu="A10G", gpus=1, **kw)
    big = serving_point("llama-3.1-8b", gpu="L40S", gpus=1, **kw)
    assert big.max_concurrency_memory > small.max_concurrency_memory
