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
# # 09 · The verdict
#
# **The question.** For this workload, which way of serving the model is cheapest, by how much,
# does that agree with what the article concludes for its scenario, and what would have to change
# for the verdict to flip?
#
# **The decision it informs.** Managed API or self-hosted fleet, and how far the traffic can grow
# or shrink before that choice should be revisited.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell's values when it builds a report.
params_path = "params/default.yaml"
chart_renderer = "interactive"

# %%
import pandas as pd
from IPython.display import display

from costlib.lessons import verdict as lesson

pd.set_option("display.max_colwidth", None)
params, result = lesson.start(params_path, chart_renderer)
print(params.title)

# %% [markdown]
# ## The model
#
# Every option is priced as a whole system over a month (730 hours) of the params file's
# traffic: tokens, instances, plumbing, operations, in USD per month. The options fall on two
# sides. **Managed** options bill per token (or per model unit), so a quiet hour costs nothing;
# a cache or router in front of a managed model counts as managed. **Self-hosted** options bill
# every instance-hour the fleet policy keeps, busy or idle.
#
# What would flip the verdict is found on the same bill. Scale every rate of the traffic profile
# by a factor `k` (average, p95, peak and base together, so the shape is kept) and let
# `d(k) = cheapest self-hosted(k) - cheapest managed(k)` in USD per month. The whole bill is
# priced at a grid of factors in one vectorised pass; where `d` changes sign between two grid
# points, bisection on the full estimate narrows the crossing. The grid spans a hundredth to a
# hundred times this file's average rate.
#
# A fleet is billed per whole instance, so `d` jumps each time an instance is added: the
# crossing can sit on such a jump, and the sign can change more than once.
#
# The **idle tax** is the share of a fleet's instance-hours that serve nothing:
# `idle share = 1 - utilisation`, where utilisation is the demand served over the capacity
# billed (requests per second served over instances billed times requests per second one
# instance serves).

# %% [markdown]
# ## Parameters
#
# What the article claims for this params file, from `costlib/data/scenarios.yaml` (keyed by
# the file's name), next to the verdict at the prices in force:

# %%
lesson.claim_note(params, result)

# %% [markdown]
# ## Results
#
# **Which option is cheapest, and by how much?** Every option, cheapest first, with how much
# more each costs than the cheapest.

# %%
display(lesson.verdict_note(result, params))
lesson.verdict_table(result, params)

# %% [markdown]
# **Where does self-hosting start to pay?** The cheapest option of each side across the
# traffic, on log axes; the dashed rule is this params file's average rate, the solid rule the
# crossing when there is one.

# %%
curve = lesson.traffic_curve(params)
crossing = lesson.find_crossing(params, curve)
display(lesson.flip_note(params, crossing, curve))
lesson.crossing_chart(curve, crossing, params.workload.avg_rps)

# %% [markdown]
# The crossing against the cheapest managed option at each rate, and, when the file has more
# than one managed option, against each of them:

# %%
lesson.crossings_table(params, curve)

# %% [markdown]
# **Where does self-hosting tie with the managed API?** The traffic is one thing that could flip
# the verdict; a price is another. Take the cheapest managed API of this file and its cheapest
# self-hosted fleet, and move one input: the managed model's price per 1M input tokens, the
# figure a price cut or a negotiated discount changes. Every other key keeps its value.
#
# Both bills are priced again at each value of the price, on the whole bill; where their
# difference changes sign, bisection on that bill narrows the tie to a part in a billion. It is
# not a straight-line guess: the rest of the bill (plumbing, operations) comes along at every
# value. The range is a tenth to ten times today's price; the dotted rule is today's price, a
# solid rule a tie, a dashed one a step of the bill.

# %%
tie = lesson.tie_breakeven(params, result)
display(lesson.tie_note(tie, result))
lesson.tie_chart(tie)

# %% [markdown]
# A managed price above the tie makes the fleet the cheaper choice; below it, the managed API
# stays ahead. `costlib breakeven PARAMS --key KEY --between A B` solves the same for any
# numeric key of the file, and `--chart FILE.svg` draws this chart.

# %% [markdown]
# **How sure is each option's monthly total?** A params file may give any numeric input as a
# distribution instead of one number (a triangular low, mode and high; a lognormal; a beta for
# a rate such as a cache hit rate; the syntax is in the README under "Uncertain inputs"). Every
# number above uses each input's point value; here the inputs are drawn instead, 10,000 times
# with a fixed seed, and the whole bill is priced for every draw in one vectorised pass.
#
# A bar spans the 10th to the 90th percentile of an option's monthly bill over the draws, the
# tick is the median (P50), the dot the point estimate. The last column of the table says in
# what share of the draws each option is the cheapest: the verdict's confidence, not just its
# answer.

# %%
mc = lesson.uncertainty(params)
display(lesson.uncertainty_note(mc, params))
lesson.uncertainty_chart(mc)

# %%
lesson.uncertainty_table(mc)

# %% [markdown]
# The inputs drawn. A token count read by a self-hosted fleet's throughput model changes the
# concurrency its latency targets allow, and that is solved once per value, so such an input is
# drawn from 16 equally likely values (its quantiles) rather than continuously; the notes under
# the report's chart say so. Inputs are drawn independently: if two of them move together in
# your workload (longer prompts and longer answers), the band is narrower than it should be.

# %%
lesson.uncertain_inputs_table(mc)

# %% [markdown]
# **Which inputs move the cheapest option's total most?** A tornado: each input moved alone from
# a low to a high value, every other input as the file says, both ends priced on the whole bill.
# An input the file gives as a distribution moves from its P10 to its P90; every other input by
# the default range stated, with its reason, in `costlib/data/sensitivity_ranges.yaml` (traffic
# and token counts by half either way, a fleet's batch down to a quarter of what its latency
# targets allow, the NAT or PrivateLink path, log volume, retries). The longest bars are the
# inputs worth measuring before the decision.

# %%
tornado = lesson.sensitivity(params)
display(lesson.sensitivity_note(tornado))
lesson.sensitivity_chart(tornado)

# %% [markdown]
# The three largest swings of every option. A self-hosted fleet moves in whole instances, so its
# swing is a step: a narrow range may move it by nothing, a slightly wider one by an instance.
# `costlib sensitivity PARAMS` prints every row; `costlib uncertainty PARAMS` the bands.

# %%
lesson.sensitivity_table(tornado)

# %% [markdown]
# **How does the idle tax arise?** For each self-hosted fleet of this file, the average
# instances billed, split into the share that serves traffic and the share that idles.

# %%
display(lesson.idle_note(result, params))
lesson.idle_chart(result)

# %%
lesson.fleet_table(result, params)

# %% [markdown]
# **Why does sizing for spikes idle GPUs?** Scenario A's fleet sized for its spikes, over one
# day: the instances the demand needs each minute against the instances billed all day.

# %%
example = lesson.spike_example()
display(lesson.spike_note(example))
lesson.spike_chart(lesson.spike_day(example))

# %% [markdown]
# ## Try it
#
# Move the traffic slider (the whole profile scales with it) and each fleet's batch, and watch
# which option is cheapest; open the notebook in JupyterLab (`make lab`) to use them. The same
# from the command line: `costlib estimate PARAMS --set workload.avg_rps=80`.

# %% tags=["nbval-ignore-output"]
lesson.verdict_explorer(params).box

# %% [markdown]
# ## Exercises
#
# **1.** Double this file's traffic, keeping its shape. Which option is cheapest now, and by
# how much? Does the answer agree with the chart above?

# %%
lesson.exercise_double_traffic(params)

# %% [markdown]
# **2.** In scenario A, halve the spikes to 30 requests/s (`workload.traffic.peak_rps`). How
# many instances does the fleet sized for the spikes need now, how busy is it, and what does it
# cost?

# %%
lesson.exercise_half_spikes(30.0)

# %% [markdown]
# **3.** In scenario C, below what cache hit rate does the response cache stop paying for
# itself against the uncached small model? (Sweep `options.cache_then_llama31_8b.cache.hit_fraction`.)

# %%
lesson.exercise_cache_breakeven()
