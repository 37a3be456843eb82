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
# # 10 · How the capacity is bought
#
# **The question.** The lessons so far priced every instance-hour on demand and every token at
# the Standard rate. That is the list price, and few large bills pay it. The same fleet costs
# much less committed for a year, or on Spot; the same model call costs half in batch and a
# premium on the Priority tier. Which way of buying fits this workload, and what does each one
# assume?
#
# **The decision it informs.** Whether to commit (and to how many instances), whether the
# requests that can wait should go to a cheaper mode, whether a prompt cache pays at this
# traffic, and which region to run in.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell's values when it builds a report.
params_path = "params/default.yaml"
chart_renderer = "interactive"

# %%
import pandas as pd
from IPython.display import display

from costlib.lessons import buying as lesson

pd.set_option("display.max_colwidth", None)
params, result = lesson.start(params_path, chart_renderer)
print(params.title)

# %% [markdown]
# ## The model
#
# **A committed instance** is paid every hour of the term, busy or idle, at a rate below on
# demand. If `r_c` is the committed rate and `r_od` the on-demand rate [USD/instance-hour], a
# committed instance pays off when the fleet needs it in more than `r_c / r_od` of the hours:
# that share is the commitment's *break-even utilisation*. Over a month in which the fleet needs
# `n_t` instances in hour `t`, committing `c` instances costs
# `c x 730 x r_c + r_od x sum_t max(n_t - c, 0)`: the committed base plus the peaks on demand.
# The cheapest `c` is the level the demand exceeds in exactly `r_c / r_od` of the hours.
#
# **Spot** sells spare capacity at a discount, and takes it back at two minutes' notice. A
# fleet on Spot must fall back to on demand while Spot is short; the share of hours it does is
# an input, stated with its source, like the discount.
#
# **A Bedrock tier** changes the price of the same token: Priority costs more for faster
# service; Flex and batch cost less for requests that can wait seconds or hours. Only the share
# of requests that can wait may move, so that share is an input too. The Reserved tier and
# provisioned throughput sell capacity by the month; they pay when the capacity is used nearly
# all the time.
#
# **A prompt cache** keeps a shared prompt prefix for a time to live that each use refreshes. If
# requests sharing a prefix arrive at random at `lambda` a minute, a request finds the prefix
# cached when the previous one came less than a time to live `ttl` ago, with probability
# `1 - exp(-lambda x ttl)`. For the Claude models in the price tables a hit reads the prefix at a
# tenth of the input price, and a miss writes it at 1.25 times it (2 times for an hour).

# %% [markdown]
# ## Parameters
#
# No Savings Plan or Reserved Instance rate for a GPU instance could be sourced (AWS publishes
# only the largest discount of each kind), nor a Reserved-tier or provisioned-throughput price
# for current Bedrock models: those rows are priced only at a rate someone states, and say so.
# Capacity Block rates come from the price tables with their dates. The lesson assumes that
# this share of requests can wait:

# %%
lesson.TOLERANT_SHARE

# %% [markdown]
# ## Results
#
# **How else could each self-hosted fleet be bought, and what would it cost?** Every way the
# price tables can price, each the fleet's instance-hours and the option's whole monthly bill.
# The Savings Plan and Reserved Instance rows are listed without a price: no rate for a GPU
# instance could be sourced. The sentence says what discount a commitment would need to beat
# the cheapest way that is priced.

# %%
display(lesson.fleet_note(params))
lesson.shown(lesson.fleet_table(params))

# %% [markdown]
# **What would a commitment cost at each discount it might get?** The best commitment (its size
# chosen by the rule above: commit the level the demand exceeds in more than `1 - discount` of
# the hours) for each discount from none to the 66 % AWS advertises for a Compute Savings Plan,
# against on demand (dashed). Read your quoted discount off the x axis. A fixed fleet is needed
# every hour, so it is committed whole at any discount; a fleet that follows bursty traffic
# commits only the instances it keeps most of the month.

# %%
sweep = lesson.commitment_sweep(params)
lesson.commitment_chart(sweep)

# %% [markdown]
# **Which Bedrock tier or mode is cheapest for each managed option?** Every tier and mode the
# price tables can price for the option's model, each the whole monthly bill; the rows that
# cannot be priced say why.

# %%
display(lesson.tier_note(params))
lesson.tier_chart(params)

# %%
lesson.shown(lesson.tier_table(params))

# %% [markdown]
# **How often does a request find its prompt prefix cached?** The share of requests that hit a
# prefix cache against how often requests sharing the prefix arrive, for the two times to live
# Bedrock offers. The curve rises steeply around one request per time to live: a prefix shared
# less often than that is written far more than it is read.

# %%
display(lesson.cache_note())
lesson.cache_hit_chart()

# %% [markdown]
# **What does the same workload cost in another region?** Every option's monthly total in each
# region. A region without a price the bill needs keeps an empty cell and is named with the
# rows it lacks; no price is borrowed from another region.

# %%
display(lesson.regions_note(params))
lesson.regions_table(params)

# %% [markdown]
# ## Try it
#
# From the command line, the same tables for any params file and any assumption:
# `costlib buying PARAMS --discount-pct 30` (a quoted Savings Plan discount; `--spot-discount-pct`
# and `--fallback-share` for your own Spot figures), `costlib tiers PARAMS --tolerant-share 0.6` (every tier and mode, and a Reserved price to try
# with `--usd-per-1k-tpm-month`), `costlib estimate PARAMS --regions us-east-1,us-west-2`.

# %% [markdown]
# ## Exercises
#
# **1.** No Reserved-tier price is published. Below what price per 1,000 tokens a minute per
# month would a reservation, used every minute, beat Standard for each managed option?

# %%
lesson.answer_reserved_breakeven(params)

# %% [markdown]
# **2.** How many requests a minute must share a prefix for a 5-minute cache to hit 90 % of
# them? Work it from `1 - exp(-lambda x ttl)` first.

# %%
lesson.answer_cache_rate(0.9, 5.0)

# %% [markdown]
# **3.** A committed instance at a discount `d` pays off when the fleet needs it in more than
# what share of the hours? Check it against the break-even column of the Capacity Block rows.

# %%
lesson.answer_break_even_share(30.0)

# %% [markdown]
# **4.** As more of the requests can wait, which mix is cheapest, and what does it cost?

# %%
lesson.answer_tolerant_share(params)
