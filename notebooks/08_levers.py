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
# # 08 · The levers
#
# **The question.** Of the article's ways to cut cost without wrecking latency, which ones
# apply to this workload, what does each take off the bill, and which inputs move the total most
# if the workload turns out different from the plan?
#
# **The decision it informs.** Where to spend the next week of engineering: on a lever that
# takes a large, certain amount off the bill, or on measuring an input whose uncertainty moves
# the total more than any lever does.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell's values when it builds a report.
params_path = "params/default.yaml"
chart_renderer = "interactive"

# %%
import pandas as pd
from IPython.display import display

from costlib.lessons import levers as lesson

pd.set_option("display.max_colwidth", None)
pd.set_option("display.max_rows", 200)
params, result = lesson.start(params_path, chart_renderer)
print(params.title)

# %% [markdown]
# ## The model
#
# A **lever** is a change to the architecture or the workload, written as params overrides
# (`{"dotted.key": value}`, what `--set` takes). Pulling it re-prices every option, and its
# effect is `after - before` in USD per month for each option it is aimed at; negative is
# cheaper. The levers come from the article's "Practical ways to cut cost":
#
# - **model levers:** a response cache and a router in front of the model, right-sizing the
#   retrieved context, output caps (`max_new_tokens` as a budget), FP8 quantization and
#   speculative decoding on a self-hosted fleet;
# - **plumbing levers:** PrivateLink in place of NAT, inference and vector store in the same
#   AZ, sampled payload logs, KMS data-key caching, retry budgets, and a warm pool in place of a
#   fleet sized for the peak.
#
# A lever applies only when the file has what it acts on: a cache needs a hit rate the file
# states, FP8 needs a GPU with FP8 tensor cores, log sampling needs payload logging switched on.
# Some levers are trade-offs and can raise a bill (PrivateLink bills an endpoint per service per
# AZ-hour; speculative decoding spends draft compute).
#
# The **sensitivity** of the total to an input is its swing: the bill with the input at a high
# value minus the bill at a low value, everything else as the params file says, in USD per month
# and as a percentage of today's bill. Ranking the inputs by the size of their swing, per
# option, says which ones the total depends on most.

# %% [markdown]
# ## Parameters
#
# The levers and the params keys each one sets; the assumptions behind them (the share of
# context kept after deduplication, the output cap, the log sample rate) are documented
# constants of `costlib.whatif.levers`.

# %%
lesson.lever_catalog()

# %% [markdown]
# The sensitivity inputs and their ranges: each input at half and at one and a half times its
# value in this params file (a fraction clipped to 0-1; the traffic scales every rate of the
# profile together, its shape kept; a self-hosted option's batch starts from the batch the
# estimate found and moves that option only).

# %%
report = lesson.lever_report(params)
table = lesson.sensitivity(params, result)
lesson.sensitivity_ranges(table)

# %% [markdown]
# ## Results
#
# **Which levers apply to this file, what does each take off at best, and why do the others not
# apply?** One row per lever: the option it cuts most and by how much, or the reason it does not
# apply here.

# %%
display(lesson.lever_note(report, result))
lesson.lever_status(report)

# %% [markdown]
# **Which levers move this bill, and by how much?** Each bar is the change in one option's
# monthly total when one lever is pulled (negative is cheaper); levers that do not apply and
# options a lever is not aimed at are left out.

# %%
lesson.lever_changes_chart(report)

# %% [markdown]
# Each lever's before and after, per option it targets, with the keys it set:

# %%
lesson.levers_before_after(report)

# %% [markdown]
# **Where does the largest saving come from?** The lever that takes most off the cheapest
# option's bill, pulled alone, line item by line item: from the total before, one bar per line
# item it changes (red up, green down; the eight largest, the rest summed), to the total after.

# %%
change = lesson.largest_lever(params, report, result)
display(lesson.lever_waterfall_note(change))
lesson.lever_waterfall_chart(change)

# %% [markdown]
# The same chart for any change to a params file: `costlib diff PARAMS --set KEY=VALUE --format
# html --out diff.html` draws one waterfall per option whose total moves.

# %% [markdown]
# **Which inputs move the total most?** For each option, the change from today's bill with each
# input at its low and at its high value; the panels list the inputs in the order of the
# cheapest option's ranking.

# %%
display(lesson.sensitivity_note(table, result))
lesson.sensitivity_chart(table)

# %% [markdown]
# The cheapest option's ranking in full, and every option's swing as a percentage of its bill.
# An input with no swing does not enter that option's bill: a latency bound moves only a fleet
# whose throughput the model derives, a batch only the fleet that holds it.

# %%
display(lesson.sensitivity_table(table, result.cheapest))
lesson.sensitivity_ranks(table)

# %% [markdown]
# ## Try it
#
# Pull the plumbing levers by hand and watch every option's total; open the notebook in
# JupyterLab (`make lab`) to use the controls. `costlib levers PARAMS` prints the lever table on
# the command line, and `costlib estimate PARAMS --set workload.out_tokens=200` prices one
# change.

# %% tags=["nbval-ignore-output"]
lesson.lever_explorer(params).box

# %% [markdown]
# ## Exercises
#
# **1.** Take the two levers that save most on the cheapest option and pull them together. Is
# the saving the sum of the two? (Answer below; check it with `costlib estimate PARAMS --set`
# and both levers' keys from the before/after table.)

# %%
lesson.exercise_two_levers(params, report, result)

# %% [markdown]
# **2.** From the sensitivity table, what does one more prompt token per request add to the
# cheapest option's month, and one more answer token? Which is dearer, and what does that say
# about output caps against a shorter prompt? (Divide each swing by the range of tokens it
# spans.)

# %%
lesson.exercise_token_prices(table, result)

# %% [markdown]
# **3.** Which options can FP8 quantization be applied to in this file, and why not the others?
# What does it do to their bills?

# %%
lesson.exercise_quantization(report)
