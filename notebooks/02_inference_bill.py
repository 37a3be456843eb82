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
# # 02 · The inference bill over real traffic
#
# **The question.** For one workload, what does each way of serving the model cost over a month of
# realistic traffic: a managed API billed per token, provisioned capacity, a self-hosted GPU fleet,
# or a router in front of them?
#
# The worksheet in lesson 00 sized a fleet for a single number, the p95 request rate. Real traffic
# moves: it has quiet nights, busy afternoons, and spikes. A fleet is paid for every hour it runs,
# busy or idle, while a per-token API is paid only for the tokens it serves. This lesson runs every
# option over a whole simulated week, minute by minute, and repeats that week to fill a 730-hour
# month.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell's values when it builds a report.
params_path = "params/default.yaml"
chart_renderer = "interactive"

# %%
import pandas as pd

from costlib.lessons import inference as lesson

pd.set_option("display.max_colwidth", None)  # tables show every cell whole

params, result = lesson.start(params_path, chart_renderer)
print(params.title)
print(result.profile.description)

# %% [markdown]
# ## The traffic
#
# A traffic profile is the request rate in every minute of a week. Three shapes are built in:
# *steady* (the same rate all the time), *diurnal* (a plateau during business hours) and *bursty*
# (a low base with short spikes); a CSV of your own traffic works too. Three numbers summarise it:
# the average rate, which sets the token bill; the 95th percentile over time, which the worksheet
# sizes for; and the peak, which a fleet that must never queue has to carry.
#
# **What does a week of this workload's traffic look like?** The chart shows, for each hour, the
# mean rate and the highest one-minute rate within it.

# %%
lesson.traffic_summary(result)

# %%
lesson.traffic_chart(result)

# %% [markdown]
# ## The options
#
# - **Managed API** (Bedrock on demand): input and output tokens times the model's prices, less
#   what prompt caching and batch inference save. Idle time costs nothing; an account quota caps
#   the requests per minute.
# - **Provisioned throughput**: model units rented by the hour and sized for the peak, optionally
#   only during business hours, with the rest spilling to on-demand prices.
# - **Self-hosted**: a fleet of GPU instances. Each minute needs `rate x tokens per request /
#   (tokens/s per sequence x batch)` instances; the fleet policy decides how many are billed:
#   a fixed count sized for p95 or for the peak, an autoscaler that lags behind the traffic by its
#   scale-out delay and cold start, or a schedule. Disks, images, the EKS control plane and
#   engineer time are added.
# - **Router**: a response cache answers the repeats, the misses go to other options, each priced
#   at the share of the traffic it receives.
#
# Throughput of a self-hosted option comes from the params file when it gives the worksheet inputs
# (`tokens_per_second_per_instance` and `batch_size`), else from a measured benchmark curve, else
# from the throughput model of lesson 03, which picks the highest load that meets every latency
# bound the params file states in `workload.latency` (p95 time to first token, p95 time per output
# token, p95 end-to-end time). The bound that stops the batch growing is the option's *binding
# limit*.

# %% [markdown]
# ## Results
#
# **What does each option cost per month, per request and per 1,000 tokens?**

# %%
lesson.totals_table(result)

# %% [markdown]
# **How is each self-hosted fleet sized?** The instances the worksheet provisions for the p95
# rate (rounded up to whole instances), the instances the fleet policy bills on average and at its
# peak, the sequences each instance holds at once (its concurrency, the worksheet's batch), and the
# limit that binds: a latency bound, memory, or the worksheet inputs the params file gives.

# %%
print(lesson.sizing_note(result, params))
lesson.sizing_table(result, params)

# %% [markdown]
# **Which option is cheapest, and what is each bill made of?** Bars are split by
# cost category. This lesson explains the inference path; the plumbing categories around it
# (retrieval, network, observability, security, failures) are priced too, with the baseline
# architecture of lesson 04, which explains them.

# %%
print(f"cheapest: {result.cheapest}")
lesson.cost_by_option_chart(result)

# %% [markdown]
# Every line item, with the quantity, the unit price and where that price comes from:

# %%
lesson.line_items_table(result)

# %% [markdown]
# **How busy are the self-hosted fleets?** Utilisation is the demand served over the
# capacity billed (the instances of the sizing table above): one minus it is the share of the GPU bill spent idle or booting. Unserved
# demand is traffic that arrived when the serving instances were already full (queued, throttled
# or lost): a fleet that looks cheap but leaves demand unserved is not cheap.

# %%
lesson.fleets_table(result)

# %% [markdown]
# ## The floor: what a month costs with no requests
#
# Part of every bill is paid whether or not anyone calls the model: the NAT gateways and the load
# balancer bill by the hour, encryption keys by the month, a vector store has a minimum capacity,
# and a fleet bills every instance it keeps running. That part is the option's *floor*: what it
# costs in a month with no requests at all, with the provisioned capacity kept. The rest of the
# bill, the *usage* part, grows with the traffic.
#
# A fixed fleet is all floor: it is paid for whole, busy or idle. An autoscaled fleet's floor is
# its warm minimum. A managed API's floor is only the hourly plumbing around it, since the model
# is paid per token. `costlib estimate PARAMS --floor` lists the line items of each floor.
#
# **What does each option cost when no one calls it?**

# %%
print(lesson.floor_note(result))
lesson.floor_table(result)

# %% [markdown]
# The same split as bars: the grey part is paid in an empty month, the blue part only with traffic.

# %%
lesson.floor_chart(result)

# %% [markdown]
# ## The cost of one unit of work
#
# A product team budgets a conversation, a support ticket or an agent task, not a request. When
# the params file describes one in a `work_unit:` block (its turns and the model calls of each
# turn), every option also reports what a unit costs. Two figures answer two questions. The cost
# per unit is the usage part of the bill over the month's units: what one more unit costs. The
# cost per unit *all in* shares the floor over the same units too, so it falls as traffic grows.
#
# **What does one unit of work cost with each option?**

# %%
print(lesson.unit_note(result))
lesson.unit_table(result)

# %% [markdown]
# ## Where does self-hosting break even?
#
# The article's rule of thumb: self-hosting beats a managed API once the fleet reliably holds a
# batch of 4 to 8 sequences per instance. The test below forces each self-hosted option to a batch
# size, asks the throughput model how fast an instance then runs, re-sizes the fleet, and compares
# the monthly bill with each managed option. A batch the GPUs cannot hold in memory is left out.
#
# **At what batch does each self-hosted fleet cost less than each managed option?** Dashed lines are
# the managed bills; a fleet breaks even where its line crosses one.

# %%
sweeps = lesson.breakeven_sweeps(params)
lesson.breakeven_table(result, sweeps)

# %%
lesson.breakeven_chart(result, sweeps)

# %% [markdown]
# Read the table with the price of the managed model in mind. A managed open model at
# a low per-token price (Llama 3.1 70B on Bedrock is 0.72 USD per million tokens in and out) sets a
# bar that even a well-batched fleet may not reach: to match it, one instance has to serve its
# hourly price divided by that per-token price, every second of the month. A premium managed model
# sets a bar several times higher, and a modest batch clears it. Where the table says *none that
# fits*, no batch the hardware can hold in memory breaks even, and the article's rule of thumb does
# not hold at these prices.
#
# Precision moves the bar. FP8 weights halve the bytes every decode step streams and free memory
# for more sequences, so on GPUs with FP8 units (H100, H200, L40S) a fleet can hold far larger
# batches; in scenario B that is what lets a p5 fleet undercut the managed open model, but only at
# batches of hundreds of sequences, never at 4 to 8. `costlib levers PARAMS` prices this and the
# other levers before and after; lesson 04 walks through them.

# %% [markdown]
# ## Where the prices come from
#
# Every unit price above is a row of the price tables with its source and as-of date. These are the
# rows this report used:

# %%
print(lesson.prices_note(result))
lesson.used_prices_table(result)

# %% [markdown]
# ## Try it
#
# Move the sliders to re-price every option and redraw its monthly cost by category; open the notebook in JupyterLab (`make lab`) to use
# them. A command line does the same: `costlib estimate PARAMS --set workload.avg_rps=10`.

# %% tags=["nbval-ignore-output"]
lesson.worksheet_explorer(params).box

# %% [markdown]
# ## Exercises
#
# Each answer is computed from costlib for this params file; work it out by hand from the
# sizing and fleet tables above first.
#
# **1.** Over the week of traffic, what share of each self-hosted fleet's instance-hours serves
# nothing, and what does that idle time cost a month?

# %%
lesson.answer_idle_share(result)

# %% [markdown]
# **2.** A managed bill grows with the traffic; a fixed fleet's does not. At what average rate
# would each managed bill grow to each fixed fleet's bill, and can that fleet carry that rate?
# (Hint: the rate × the self-hosted total / the managed total.)

# %%
lesson.answer_breakeven_rps(result, params)
