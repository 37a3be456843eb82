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

# %% [markdown]
# # 07 · Failure modes that multiply cost
#
# **The question.** What do throttling, retries, work thrown away after it was processed,
# Spot interruptions, out-of-memory restarts and cold caches after a deploy add to the bill,
# and what do they take from the traffic served? In particular: **what do naive retries do?**
#
# **The decision it informs.** Which retry policy the clients ship (none, immediate retries,
# or retries with backoff under a budget), how much quota to ask for before a launch, and
# whether to pre-warm caches and run real-time inference on Spot.
#
# The article's warning: "Overzealous retries on 429/5xx: doubled token spend. Add backoff and
# budgets." Whether the tokens are really billed twice depends on who bills a failed attempt,
# and this lesson prices both readings.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell's values when it builds a report.
params_path = "params/default.yaml"
chart_renderer = "interactive"

# %%
import pandas as pd

from costlib.lessons import failures as lesson

pd.set_option("display.max_colwidth", None)
pd.set_option("display.max_rows", 120)
params, result = lesson.start(params_path, chart_renderer)
print(params.title)

# %% [markdown]
# ## The model
#
# Traffic is a week of one-minute steps. Rates are in requests per second, volumes per
# 730-hour month.
#
# - **Admitted rate** [requests/s] = the smaller of requests-per-minute quota / 60 and
#   tokens-per-minute quota / 60 / tokens per request.
# - **Throttled** [requests/s] = demand - admitted rate in each minute where demand is higher.
# - **No retries**: every throttled request is lost (unserved).
# - **Naive retries** (immediate, up to `max_attempts` in all): the minute's quota is already
#   spent, so each retry is throttled too. Retries = (attempts - 1) x throttled; every
#   throttled request is still unserved.
# - **Budgeted retries** (backoff, at most `retry_budget_fraction` of requests): retries =
#   the smaller of the failures and budget x demand; a retry is served when the next minute
#   has spare quota.
# - **Billed again** [requests/month] = retries x share of a throttled attempt billed [0-1] +
#   attempts processed, discarded and retried. A Bedrock 429 is rejected before inference
#   (share 0); a client timeout after the answer was generated is billed in full (share 1).
#   Each costs the request's input and output tokens at the model's prices [USD/request].
# - **Self-hosted fleets** redo work in instance-hours = requests x tokens per request /
#   (tokens/s per instance x 3,600). It is billed only when the fleet is autoscaled; a fixed
#   fleet absorbs it or leaves traffic unserved.
# - **Spot** interruptions = interruptions per instance-month x instance-hours / 730, each
#   recomputing the requests in flight. **OOM restarts** = restarts per instance-month x
#   instance-hours / 730; each takes an instance down for its restart minutes and recomputes
#   its batch.
# - **Cache stampede** [requests/month] = deploys x hit share x requests/s x 60 x cold minutes
#   x (1 - share pre-warmed): answers the cache would have served, generated again.

# %% [markdown]
# ## Parameters
#
# The `failures:` block of this params file as the estimate reads it (defaults filled in),
# with each option's quota and fleet settings.

# %%
lesson.settings_table(params)

# %% [markdown]
# ## Results
#
# ### What do naive retries do?
#
# Retries only matter when something fails, so the managed option is priced under a quota that
# binds at the peak:

# %%
case = lesson.quota_case(params)
print(case.note)

# %% [markdown]
# **What do naive retries do to the bill and to the requests served?** The file priced with
# `failures.retry_policy` set to none, budgeted and naive, under each reading of who bills a
# throttled attempt. Left: what retried attempts add to the bill; right: the share of requests
# never served.

# %%
policies = lesson.retry_policies(params)
lesson.retry_chart(policies)

# %%
lesson.retry_answer(policies, params)

# %%
policies

# %% [markdown]
# **How much traffic does each policy lose as the quota tightens?** The quota swept from 30 %
# to 110 % of the busiest minute's rate, priced in one vectorised pass per policy.

# %%
lesson.quota_chart(lesson.quota_sweep(params))

# %% [markdown]
# ### Work discarded after processing
#
# **What does work thrown away after it was processed cost each option?** Dropped streams,
# a 5xx after generation, a client that cancels: the attempt was billed, and its retry is
# billed again.

# %%
lesson.discarded_chart(lesson.discarded_sweep(params))

# %%
lesson.discarded_note(params)

# %% [markdown]
# ### Restarts: OOM and Spot
#
# **How much fleet capacity do out-of-memory restarts take, down and redone?** Long contexts on
# small GPUs run out of memory; each restart takes the instance down for its restart minutes
# (already inside the billed hours) and recomputes the batch it held.

# %%
lesson.oom_chart(lesson.oom_sweep(params))

# %% [markdown]
# ### Cache stampedes after deploys
#
# **What do cold caches after deploys cost, with and without pre-warming?** A deploy that
# empties the response cache sends its hit traffic to the model until the cache is warm again.

# %%
lesson.stampede_chart(lesson.stampede_sweep(params))

# %% [markdown]
# ## Try it
#
# Copy the params file and change its `failures:` block, or one key at a time with
# `costlib estimate PARAMS --set failures.retry_policy=naive`, then rebuild this lesson with
# `costlib report PARAMS`:
#
# - `retry_policy` (`none`, `budgeted`, `naive`), `max_attempts`, `retry_budget_fraction`;
# - `billed_share_of_throttled_attempts`: 0 for a 429 rejected before inference, 1 when
#   overload shows up as timeouts after generation;
# - `discarded_after_processing_fraction`, from your own metrics;
# - an option's `quota: {requests_per_minute: ..., tokens_per_minute: ...}`;
# - `oom_restarts_per_instance_month`, `oom_restart_min`, and a self-hosted option's
#   `fleet.spot` (with `spot_discount_pct`);
# - `deploys_per_month`, `cold_cache_minutes`, `prewarm_fraction`, `prewarm_keys` for a router
#   with a response cache.

# %% [markdown]
# ## Exercises
#
# **1.** When overload shows up as client timeouts after generation (billed share 1), how much
# more a month do naive retries cost than budgeted ones under the quota above, and do they
# serve more requests?

# %%
lesson.exercise_naive_vs_budgeted(policies)

# %% [markdown]
# **2.** What requests-per-minute quota would throttle nothing, and how many tokens a minute
# is that? (Hint: the busiest minute's rate x 60.)

# %%
lesson.quota_needed(params)

# %% [markdown]
# **3.** With naive retries and the file's own quota, 2 % of served attempts are processed and
# then discarded. What does that add to the managed option's bill a month?

# %%
lesson.exercise_discarded(params)

# %% [markdown]
# **4.** Put the first self-hosted option on Spot with 0.05 interruptions per instance-month
# (the Spot Instance Advisor's "<5 %" band) and its batch in flight. How many instance-hours
# are recomputed a month?

# %%
lesson.exercise_spot(params)
