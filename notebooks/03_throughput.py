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
# breaking the latency bounds. Both are easy to overestimate. Where do they come from, and which
# decisions (context length, latency bounds, precision) move them?
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
import pandas as pd

from costlib.lessons import throughput as lesson

pd.set_option("display.max_colwidth", None)  # tables show every cell whole

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
# 4. **Load.** Other requests' prompt chunks slow every decode step (the time per output token,
#    TPOT); a new request waits for the step in flight, for the prompts ahead of it (an M/G/1
#    queue), for its own prefill and, when the KV cache is full, for a free sequence slot. Two
#    forms: a *closed loop* of N clients, each sending its next request when its last one ends
#    (requests/s X solves N = X × (TTFT + (out − 1) × TPOT); clients beyond memory queue for a
#    slot), as benchmarks publish it; and an *open loop* of Poisson arrivals at a rate, as
#    production traffic comes.
# 5. **Variable prompts and the bounds.** `in_tokens` is a mean; prompt lengths follow a lognormal
#    with coefficient of variation `prompt_cv`. The spread of prompts and of queueing delays gives
#    the p95 of the time to first token (TTFT), of the time per output token and of the
#    end-to-end time. The operating point is the highest open-loop rate at which every p95 the
#    params file bounds stays within its bound; its concurrency is the batch the bill uses.
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
# lever, and why the next question (how big a batch the latency bounds allow) matters so much.

# %%
lesson.roofline_chart(lesson.decode_roofline(setup))

# %% [markdown]
# ## Latency under load
#
# A user waiting for an answer sees two delays, and a third follows from them:
#
# * **time to first token** (TTFT): queueing, the prefill of the prompt, and, once the KV cache is
#   full, the wait for a free sequence slot;
# * **time per output token** (TPOT): how fast the answer streams, one decode step per token, and
#   a step gets slower the more sequences it carries;
# * **end-to-end time**: TTFT + (output tokens − 1) × TPOT, the wait for the whole answer.
#
# The params file states a p95 bound on any or all of them, in one block:
# `workload.latency: {ttft_p95_ms: .., tpot_p95_ms: .., e2e_p95_ms: ..}` (it replaces the single
# `p95_latency_ms` target, which still loads as a TTFT bound). The operating point must meet all the
# stated bounds; the one it meets with no room left is the binding limit.
#
# A bound on the time to first token alone is not enough. Unless prefill itself is slow, a new
# request below the memory knee finds a free slot at once, so its first token comes quickly
# however many others are decoding; nothing stops the load from climbing until the KV cache is
# nearly full. By then every decode step carries as many sequences as memory holds, and each token
# of the answer waits for one of those steps: the answer streams far slower than anyone reads
# (this setup's numbers follow, with what each bound allows). A bound on the time per output token
# is what stops the load at a batch where the answer still streams at reading speed.

# %%
print(lesson.bounds_note(setup))

# %% [markdown]
# **How do the p95 time to first token and time per output token grow with load, and where does
# memory run out?** A closed loop of clients on one instance of this setup, both axes logarithmic.
# The dashed vertical line is the memory knee: the sequences the KV cache holds per instance
# (`max_concurrency_memory`). Past it, extra clients wait for a slot, so the time to first token
# shoots up while the time per output token stops growing (the batch is full). Dotted lines are
# the setup's p95 bounds.

# %%
load_curve = lesson.latency_under_load(setup)
print(lesson.load_note(setup, load_curve))
lesson.latency_load_chart(load_curve, bounds=setup.bounds)

# %% [markdown]
# **What does each bound allow on its own?** The same setup at its stated bounds, and at each one
# alone (a time-to-first-token bound alone is always shown). The operating point is found in an
# open loop (Poisson arrivals), so its concurrency is close to, not exactly at, where the closed-loop
# lines above cross a bound.

# %%
bounds = lesson.bounds_table(setup)
print(lesson.ttft_only_note(setup, bounds))
bounds.drop(columns=["note", "limited_by"]).round(
    {"concurrency": 1, "p95_ttft_ms": 0, "p95_tpot_ms": 1, "p95_e2e_s": 1, "total_tokens_per_s": 0,
     "usd_per_1k_tokens": 6})

# %% [markdown]
# **Does the model reproduce a published latency-under-load curve?** NVIDIA's NIM benchmarking guide
# publishes one configuration (model, GPUs and lengths printed below) at a range of fixed
# concurrencies, from a single client to well past the point where its KV cache is full. The lines
# are the model for that same configuration, the points the published figures, the dashed line the
# model's memory knee for it. NIM's serving engine is not stated and NIM has no profile of its own:
# it is predicted with the TensorRT-LLM profile, and its rows are *not* part of the fit, so this is
# a test on data the model has not seen. The guide does not say which statistic its columns are;
# they are recorded, and modelled, as means.

# %%
published, published_points = lesson.published_curve()
print(lesson.published_note(published, published_points))
lesson.latency_load_chart(published, published_points)

# %% [markdown]
# **How large are the model's errors, by metric and by load?** Every published row the model
# predicts, grouped by metric and by the concurrency band it was measured at (for open-loop rows,
# the requests in flight by Little's law), the fitted TensorRT-LLM rows beside the reported-only
# rows of other engines (NIM, LMDeploy, vLLM), which are predicted with a borrowed profile and
# never fitted. Errors are |modelled / measured − 1|; the worst factor is how far the furthest row
# is off, either way.

# %%
calib = lesson.calibration_summary()
lesson.calibration_by_band(calib).round(3)

# %% [markdown]
# The rows the model misses by more than a factor of 2, grouped by why. Time to first token is
# the hardest metric: it is a queueing delay, and near a knee (of memory or of the highest rate
# the engine sustains) a small error in where the knee lies becomes a large error in the wait.
# The reported-only misses come from engines the model borrows a profile for, and from benchmarks
# that send their requests differently from the way the model assumes traffic arrives.

# %%
print(lesson.misses_note(calib))
lesson.calibration_misses(calib).round({"lowest_ratio": 3, "highest_ratio": 3})

# %% [markdown]
# ## What moves the operating point
#
# **How large a batch do the latency bounds allow when prompts vary?** Long prompts are costly
# to prefill and make everyone behind them wait, so a wider spread of prompt lengths raises the p95
# time to first token and, through the prefill chunks mixed into the decode steps, the p95 time
# per output token. How much the feasible batch falls depends on which bound binds: when the time
# per output token binds, the prompt spread matters less than when the time to first token does.

# %%
by_cv = lesson.concurrency_vs_prompt_cv(setup)
print(lesson.prompt_cv_note(by_cv))
lesson.prompt_cv_chart(by_cv)

# %%
by_cv.drop(columns=["note", "limited_by"]).round(
    {"concurrency": 1, "p95_ttft_ms": 0, "p95_tpot_ms": 1, "total_tokens_per_s": 1, "usd_per_1k_tokens": 6})

# %% [markdown]
# **What does a longer context cost?** Each request's KV cache grows with its context, so fewer
# sequences fit, prefill takes longer, and the latency bounds bind sooner. A request always costs
# more; a token need not, since prompt tokens are prefilled in bulk far more cheaply than answer
# tokens are made, so the cost per 1k tokens can fall before it rises. Missing points are contexts
# this setup cannot serve within the bounds.

# %%
by_context = lesson.context_length_sweep(setup)
print(lesson.context_note(by_context, setup.out_tokens))
lesson.context_chart(by_context)

# %%
by_context.drop(columns=["note", "limited_by"]).round(
    {"concurrency": 1, "p95_ttft_ms": 0, "p95_tpot_ms": 1, "total_tokens_per_s": 1, "usd_per_1k_tokens": 6})

# %% [markdown]
# **Why does a longer window cost, even for the same requests?** A request carries an output
# cap (its `max_tokens`). An engine that reserves KV memory when it admits a request
# (TensorRT-LLM's default scheduler guarantees a started request is never evicted) holds the
# prompt plus the whole cap, not the answer actually written; an engine that allocates KV blocks
# as tokens are made (vLLM's paged cache) holds only what exists. When the cap is left at the
# context window, going from an 8k to a 32k window multiplies what a reserving engine holds per
# sequence, so fewer sequences fit, more requests wait for admission, and the price per token
# rises, for exactly the same prompts and answers. Set `workload.max_output_tokens` to the cap
# your clients send; the default is `out_tokens` (requests capped at what they use).

# %%
by_window = lesson.window_sweep(setup)
lesson.window_note(by_window)

# %%
lesson.window_chart(by_window)

# %%
by_window.drop(columns=["note", "binding"]).round(
    {"concurrency": 1, "p95_ttft_ms": 0, "p95_tpot_ms": 1, "total_tokens_per_s": 1,
     "usd_per_1k_tokens": 6})

# %% [markdown]
# **Which levers lower the price per token at the same latency bounds?** Smaller weights and KV
# entries leave more room for sequences and shorten each decode step. FP8 also doubles the tensor
# rate on GPUs that have FP8 units (H100, H200, L4, L40S), which speeds prefill; weight-only int8
# and int4 do not, so when prefill is what binds they help less. Speculative
# decoding (a small draft model proposes tokens, the large one verifies several at once) cuts the
# time per token at small batches and can cost throughput at large ones; its acceptance rate here
# is an illustrative assumption, not a measurement.

# %%
levers = lesson.levers_table(setup)
lesson.levers_chart(levers)

# %%
levers.round({"concurrency": 1, "total_tokens_per_s": 1, "p95_ttft_ms": 0, "tpot_ms": 2, "p95_tpot_ms": 2,
              "usd_per_1k_tokens": 6})

# %% [markdown]
# ## How close is the model to published measurements?
#
# Each point is one published row (engine, model, GPUs, input and output lengths, load, metric;
# source and date in `costlib/data/benchmarks.csv` and `costlib/data/benchmarks_load.csv`); on the
# dashed line the model would be exact. The test suite holds the fitted rows to a median error per
# metric and allows no fitted row off by more than a factor of 2 but the named, explained misses
# listed above.

# %%
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
# * **vLLM is not calibrated on its own.** The vLLM profile borrows the efficiency factors fitted
#   on TensorRT-LLM; its memory settings are vLLM's own defaults and accounting. The vLLM rows in
#   the calibration set are reported, not fitted. Expect vLLM throughput to be off by more than the
#   fitted errors suggest, in either direction.
# * **Knees.** Time to first token is a queueing delay: near the memory knee, or near the highest
#   rate the engine sustains, a small error in where the knee lies is a large error in the wait
#   (the misses table above). Read a p95 time to first token close to a knee as an order of
#   magnitude.
# * **Memory-edge deployments.** When the weights fill most of the GPU (a 70B model in FP8 on one
#   80 GB H100, row T14-15) the result hangs on the few GiB the engine keeps for itself; the fixed
#   runtime allowance is uncertain, and vLLM's own logs vary widely.
# * **PCIe GPUs and small GPUs.** L40S groups talk over PCIe. The A10G (g5) has no vendor
#   dense-compute figure (the one in `gpus.csv` is an analysis tool's value), so prefill and time to
#   first token on g5 are the least certain numbers here, and no A10G benchmark is in the
#   calibration set.
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
# and instance, shows the operating point and redraws latency against load with the point marked
# (a diamond on both panels). The bound sliders start at what one request at a time can meet, so
# a longer prompt raises them. In a report the controls show as they were built;
# open the notebook in JupyterLab (`make lab`) to use them.

# %% tags=["nbval-ignore-output"]
lesson.point_explorer(setup, lesson.latency_under_load).box

# %% [markdown]
# ## Exercises
#
# Each answer is computed from costlib for this setup, from the tables above (no new search);
# work it out from them by hand first.
#
# **1.** How many sequences per instance do the latency bounds allow, and what binds: the time
# to first token, the time per output token, or memory?

# %%
lesson.answer_bounds_concurrency(setup, bounds)

# %% [markdown]
# **2.** The prompt doubles (say, retrieval pastes in as much again). How do the concurrency, the
# cost per 1k tokens and the cost per request change?

# %%
lesson.answer_doubled_prompt(setup, by_context)

# %% [markdown]
# **3.** Why do FP8 weights (with an FP8 KV cache) change the answer so much? Look at the memory,
# the bytes each decode step streams, and the GPU's tensor cores.

# %%
lesson.answer_fp8(setup, levers, memory)
