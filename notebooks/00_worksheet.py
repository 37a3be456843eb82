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
# # 00 · The sizing worksheet
#
# **The question.** Before you choose between paying per token and renting GPUs, what does each way
# of serving *this* workload cost per month, and why?
#
# This first lesson runs the four-line worksheet from the article *The real cost breakdown of running
# LLM apps on AWS*. It is deliberately small: one workload, a managed API priced per token, and a
# self-hosted fleet sized by arithmetic. Later lessons replace each simplification with a model of
# its own: real traffic shapes, the throughput a GPU really delivers, and the plumbing around the
# model.
#
# Everything below is computed by `costlib`; this notebook only narrates. Change the params file (or
# the parameters cell) and run it again to get your own numbers.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell's values when it builds a report.
params_path = "params/default.yaml"
chart_renderer = "interactive"

# %%
import pandas as pd

from costlib.lessons import worksheet as lesson

pd.set_option("display.max_colwidth", None)  # tables show every cell whole

params, result = lesson.start(params_path, chart_renderer)
print(params.title)

# %% [markdown]
# ## The model
#
# The worksheet needs six inputs: tokens in and out per request, the average and the 95th-percentile
# request rate, a latency target, and for a self-hosted fleet the throughput of one instance and the
# batch it can really hold at that latency. Then four formulas:
#
# 1. tokens per request = `in_tokens + out_tokens` [tokens]
# 2. tokens per second at p95 = `p95_rps × tokens per request` [tokens/s]
# 3. required instances = tokens per second at p95 / (`tokens_per_second_per_instance × batch_size`)
#    [instances], rounded up to whole instances
# 4. effective price per 1k tokens = (`instance_hour_cost × instances`) / (tokens per second
#    served × 3600 / 1000) [USD per 1k tokens]
#
# A managed API needs none of this: the bill is tokens times the per-token price. The worksheet
# matters because the self-hosted fleet is paid by the hour whether it is busy or not.

# %% [markdown]
# ## Parameters
#
# The workload this report is about:

# %%
lesson.workload_table(params)

# %% [markdown]
# ## Results
#
# **What do the four formulas give for each self-hosted option?** The fleet is sized for the p95
# rate, and the price per 1k tokens is shown twice: at the p95 rate (the fleet fully used, the best
# case) and at the month's average rate (what the bill works out to).

# %%
lesson.worksheet_table(params, result)

# %% [markdown]
# **Which option costs least per month, and what is its bill made of?** Each bar is one
# option's monthly total, split by cost category.

# %%
lesson.totals_table(result)

# %%
lesson.cost_by_option_chart(result)

# %% [markdown]
# **How fast does the self-hosted price per token fall as the batch it holds grows?** The
# article warns that production batches are often 2 to 4, not 8 to 16: the left of this chart is
# where many fleets really live. The managed option is flat, because its price does not depend on
# your batching. This chart keeps the worksheet's simplification (each sequence keeps its
# tokens/s whatever the batch), so it shows only the options whose params give
# `tokens_per_second_per_instance`; lesson 02 repeats the question with the throughput model,
# where bigger batches also slow each sequence down.

# %%
batch_curve = lesson.batch_curve_frame(params)
lesson.batch_curve_chart(batch_curve)

# %% [markdown]
# ## Try it
#
# Move the sliders: `costlib` re-prices every option and redraws the monthly cost by option and
# category, with the totals below it. In a report the controls show as they were built; open the notebook in JupyterLab (`make lab`) to use them.

# %% tags=["nbval-ignore-output"]
lesson.worksheet_explorer(params).box

# %% [markdown]
# ## Exercises
#
# Each answer is computed from costlib for this params file; work it out by hand from the
# worksheet table above first.
#
# **1.** With the worksheet's simplification (tokens/s per sequence fixed whatever the batch)
# and the fleet fully used, at what batch does a self-hosted option's price per 1k tokens equal
# the managed one? (Hint: solve formula 4 for the batch with one instance.)

# %%
lesson.answer_managed_batch(params, result)

# %% [markdown]
# **2.** What p95 rate does one more instance than the worksheet provisions let each fleet
# carry, and what does it add to the bill?

# %%
lesson.answer_one_more_instance(params, result)

# %% [markdown]
# **3.** The fleet is sized for p95, but the bill is paid at the month's average rate. How many
# times dearer is a token at the average rate than at p95?

# %%
lesson.answer_average_premium(params, result)
