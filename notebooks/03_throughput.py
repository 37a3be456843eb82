# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · What a GPU really delivers
#
# **The question.** A self-hosted fleet is sized by two numbers the worksheet asks for: how many
# tokens per second one instance produces, and how many requests it can hold at once without
# breaking the latency target. Both are easy to overestimate. Where do they come from, and which
# decisions (context length, latency target, precision) move them?
#
# This lesson opens the throughput model behind those two numbers. It derives them from the GPU's
# datasheet, the model's shape and the serving engine's settings, with a handful of efficiency
# factors fitted once against published benchmarks, and it shows where that model is weak.
# Everything below is computed by `costlib.formulas.throughput`; the notebook only narrates.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell's values when it builds a report.
params_path = "params/default.yaml"
chart_renderer = "interactive"

# %%
from costlib.lessons import throughput as lesson

params, _ = lesson.start(params_path, chart_renderer)
setup = lesson.lesson_setup(params)
print(params.title)
print(lesson.setup_note(setup))

# %% [markdown]
# ## The model
#
# One *replica* is a group of GPUs that holds one copy of the model (tensor parallelism splits each
# layer across the group); an instance runs as many replicas as fit its GPUs. Per replica:
#
# 1. **Memory.** weights [bytes] = parameters × bytes per weight (the embedding table and output
#    head stay 16-bit when the rest is quantized). The engine also keeps activations for its
#    largest forward pass, the sampler's logits and a fixed runtime allowance. vLLM gives the KV
#    cache `gpu_memory_utilization` × device memory minus all of that.
#    KV per token [bytes] = 2 × layers × KV heads × head dim × bytes per element, and the
#    memory-limited concurrency is KV room / (KV per token × (in + out tokens)).
# 2. **Decode step** over a batch of *c* sequences [s] = max(bytes read / achieved bandwidth,
#    FLOPs / achieved compute) + all-reduce time + a fixed per-step overhead + a per-sequence
#    overhead. Bytes read are the weights once per step plus every sequence's KV cache.
# 3. **Prefill** [s]: the prompt's FLOPs at achieved compute (2 × parameters × prompt tokens plus
#    attention), mixed into the decode steps.
# 4. **Closed loop at concurrency c**: requests/s = c / (out × t_step + c × t_prefill); output
#    tokens/s = requests/s × out. Other requests' prefills slow the decode and queue in front of
#    a new prompt (an M/G/1 queue).
# 5. **Variable prompts.** `in_tokens` is a mean; prompt lengths follow a lognormal with
#    coefficient of variation `prompt_cv`. The p95 prompt and the p95 queueing delay give the p95
#    time to first token (TTFT). The feasible concurrency is the largest that keeps it under the
#    target.
# 6. **Cost** [USD per 1k tokens] = instance price per hour / (total tokens/s × 3600 / 1000), for
#    an instance kept busy.
#
# "Achieved" means peak × an efficiency factor. The factors are few, global per engine, and
# fitted once against the calibration set at the end of this lesson.

# %% [markdown]
# ## Parameters
#
# The model, hardware, engine and workload this lesson uses (the first self-hosted option in the
# params file that names a model, with the file's workload; a documented example otherwise):

# %%
lesson.describe(setup)

# %% [markdown]
# ## Results
#
# **What does one GPU of this instance deliver, on paper and in practice?** The datasheet gives
# peaks; the fitted efficiencies say how much of each a serving engine really reaches.

# %%
lesson.gpu_delivery(setup).round(2)

# %% [markdown]
# **Where does a GPU's memory go?** Weights come first and are fixed by the model and precision.
# What the engine keeps besides them is small; the rest is the KV cache, and that bounds how many
# sequences can be in flight at this context length.

# %%
memory = lesson.memory_breakdown(setup)
print(lesson.memory_note(setup, memory))
lesson.memory_chart(memory)

# %%
memory[["component", "gib_per_gpu"]].round(3)

# %% [markdown]
# **Is a decode step limited by memory or by compute?** Every step streams all the weights once,
# whatever the batch, so a small batch wastes compute; the compute line rises with the batch and
# only crosses the memory line at large batches. That is why batching is the main throughput
# lever, and why the next question (how big a batch the latency target allows) matters so much.

# %%
lesson.roofline_chart(lesson.decode_roofline(setup))

# %% [markdown]
# **How large a batch does the latency target allow when prompts vary?** Long prompts are costly
# to prefill and make everyone behind them wait. With identical prompts the limit is often memory;
# as the spread of prompt lengths grows, the p95 time to first token binds first and the feasible
# batch falls. The small production batches the article warns about (2 to 4 rather than 8 to 16)
# come out of this curve for realistic, varied prompts; nobody typed them in.

# %%
by_cv = lesson.concurrency_vs_prompt_cv(setup)
lesson.prompt_cv_chart(by_cv)

# %%
by_cv.drop(columns="note").round({"p95_ttft_ms": 0, "total_tokens_per_s": 1, "usd_per_1k_tokens": 6})

# %% [markdown]
# **What does a longer context cost?** Each request's KV cache grows with its context, so fewer
# sequences fit, prefill takes longer, and the latency target binds sooner. Throughput falls and
# the price of a token rises, at the same hardware and the same latency target. Missing points are
# contexts this setup cannot serve within the target.

# %%
by_context = lesson.context_length_sweep(setup)
lesson.context_chart(by_context)

# %%
by_context.drop(columns="note").round({"p95_ttft_ms": 0, "total_tokens_per_s": 1, "usd_per_1k_tokens": 6})

# %% [markdown]
# **Which levers lower the price per token at the same latency target?** Smaller weights and KV
# entries leave more room for sequences and shorten each decode step. FP8 also doubles the tensor
# rate on GPUs that have FP8 units (H100, H200, L4, L40S), which speeds prefill; weight-only int8
# and int4 do not, so when the time to first token is what binds they help little. Speculative
# decoding (a small draft model proposes tokens, the large one verifies several at once) cuts the
# time per token at small batches and can cost throughput at large ones; its acceptance rate here
# is an illustrative assumption, not a measurement.

# %%
levers = lesson.levers_table(setup)
lesson.levers_chart(levers)

# %%
levers.round({"total_tokens_per_s": 1, "p95_ttft_ms": 0, "tpot_ms": 2, "usd_per_1k_tokens": 6})

# %% [markdown]
# **How close is the model to published measurements?** Each point is one published benchmark
# (engine, model, GPUs, input and output lengths, source and date in `costlib/data/benchmarks.csv`);
# on the dashed line the model would be exact. The test suite fails if the median error exceeds
# 25% or any row is off by more than a factor of 2.

# %%
calib = lesson.calibration_summary()
print(lesson.calibration_note(calib))
lesson.calibration_chart(calib)

# %%
calib[["id", "engine", "model", "gpu", "gpus", "in_tokens", "out_tokens", "metric", "measured",
       "predicted", "ratio"]].round({"measured": 2, "predicted": 2, "ratio": 3})

# %% [markdown]
# ### Where the model is weakest
#
# Read any number from this lesson with these limits in mind:
#
# * **vLLM is not calibrated on its own.** No published vLLM result with a stated GPU, input and
#   output length and concurrency was found beyond one single-request row, so the vLLM profile
#   borrows the efficiency factors fitted on TensorRT-LLM. Its memory settings are vLLM's own
#   defaults and accounting. Expect vLLM throughput to be off by more than the calibration errors
#   suggest, in either direction.
# * **Memory-edge deployments.** When the weights fill most of the GPU (a 70B model in FP8 on one
#   80 GB H100, row T14-15) the result hangs on a few GiB that the engine keeps for itself; the
#   model over-predicts that row the most. The fixed runtime allowance is uncertain between about
#   0.05 and 1.8 GiB per GPU in vLLM's own logs.
# * **PCIe GPUs and small GPUs.** L40S groups talk over PCIe; rows with tensor parallelism there are
#   over-predicted (up to a factor of about 2). A10G (g5) has no vendor dense-compute figure
#   (70 TFLOPS is an analysis tool's value), so prefill and time to first token on g5 are the
#   least certain numbers here, and no A10G benchmark is in the calibration set.
# * **Short, saturated online runs** (row T14s-30) carry HTTP and scheduling costs the roofline
#   does not see.
# * **Quantized kernels** are assumed to reach the same share of bandwidth as bf16; weight-only
#   int8/int4 kernels are often slower in practice, so those rows of the levers table are
#   optimistic.
#
# The rows the model misses most:

# %%
lesson.weakest_rows(calib).round({"measured": 2, "predicted": 2, "ratio": 3})

# %% [markdown]
# ## Try it
#
# Move the controls: each change calls `costlib.formulas.throughput.serving_point` for this lesson's model
# and instance and shows the operating point. In a report the controls show as they were built;
# open the notebook in JupyterLab (`make lab`) to use them.

# %% tags=["nbval-ignore-output"]
lesson.point_explorer(setup).box
