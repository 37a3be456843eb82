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
# # 06 · Observability and security
#
# **The question.** What do the logs, metrics, traces and encryption around the model cost for
# this workload, and what should the team log and how long should it keep it?
#
# **The decision it informs.** Whether to log prompts and answers, whether to trace every
# generated token, what share of requests to keep as exemplars, the retention of the log
# group, and whether KMS encrypts each object with its own request or a cached data key.
#
# The article warns that token-level traces and payload logging can make CloudWatch ingestion
# the third largest line item, and that a KMS call on every write makes it worse. This lesson
# prices both on the params file in force and shows which knob moves them.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell's values when it builds a report.
params_path = "params/default.yaml"
chart_renderer = "interactive"

# %%
import pandas as pd

from costlib.lessons import observability as lesson

pd.set_option("display.max_colwidth", None)
pd.set_option("display.max_rows", 120)
params, result = lesson.start(params_path, chart_renderer)
print(params.title)

# %% [markdown]
# ## The model
#
# Every item below is a monthly quantity times a unit price from the price tables. The items do
# not depend on how the model is served, so every option of a params file carries the same ones.
#
# - **Bytes logged per request** [bytes/request] = metadata line [bytes] x share of requests
#   logged [-] + payload sample rate [-] x share kept after redaction [-] x (copies [-] x
#   (prompt + answer tokens) [tokens] x 4 [bytes/token] + answer tokens [tokens] x bytes per
#   token event [bytes]). A metadata line is about a kilobyte; a prompt of a few thousand
#   tokens is many kilobytes, and one event per generated token adds a hundred-odd bytes per
#   token. That is why logging prompts multiplies the bytes.
# - **Ingestion** [USD/month] = bytes per request x requests a month / 2^30 [GB/month] x
#   price per GB ingested [USD/GB].
# - **Storage** [USD/month] = GB ingested a month / 30.417 [days/month] x retention [days] x
#   stored/ingested bytes after compression [-] x price per GB-month [USD/GB-month]: each
#   day's logs stay for the retention period.
# - **Logs Insights** [USD/month] = queries a day [1/day] x GB ingested a month x days each
#   query scans [days] x price per GB scanned [USD/GB].
# - **Metrics, alarms, dashboards** [USD/month] = count x price per metric-, alarm- or
#   dashboard-month. **X-Ray** [USD/month] = requests x trace sample rate / 10^6 x price per
#   million traces.
# - **KMS** [USD/month] = keys x price per key-month + requests x objects encrypted or
#   decrypted per request / objects per data key x price per 10,000 requests / 10,000. With
#   envelope encryption one KMS call makes a data key; S3 Bucket Keys and the Encryption SDK's
#   data-key cache let one data key serve many objects.
# - **Secrets Manager** [USD/month] = secrets x price per secret-month + calls x price per
#   10,000 calls / 10,000 (zero calls when the task caches the secret).

# %% [markdown]
# ## Parameters
#
# The `observability:` and `security:` blocks of this params file, as the estimate reads them
# (defaults filled in), and the unit prices the lesson uses with their sources.

# %%
lesson.settings_table(params)

# %%
lesson.prices_table(params)

# %%
print(lesson.unpriced_note(params))

# %% [markdown]
# ## Results
#
# **How many bytes does one request write to the logs at each logging level?** Each bar is the
# bytes per request with metadata only, with the prompt and answer, and with one event per
# generated token as well (the file's sampling, redaction and copies kept).

# %%
levels = lesson.bytes_by_level(params, result)
lesson.bytes_chart(levels)

# %%
levels

# %% [markdown]
# **What does each logging level cost a month, and is it ingestion, storage or queries?**
# The same three levels, priced by the bill with every other key as filed.

# %%
lesson.cost_by_level_chart(lesson.cost_by_level(params))

# %%
lesson.logging_answer(params, result)

# %% [markdown]
# **How much does sampling payloads save, at each retention?** Payloads and token traces on,
# priced for every sample rate from none to all requests and three retention periods in one
# vectorised pass.

# %%
sampled, note = lesson.sample_rate_sweep(params), lesson.heavy_logging(params)[1]
print(note)
lesson.sample_rate_chart(sampled)

# %%
lesson.sample_answer(sampled, params)

# %% [markdown]
# **Where does observability rank in each option's bill?** Rank 1 is the largest category;
# the article's warning is a rank of 3 or better. Next to a large model's token bill a high rank
# can still be a small share.

# %%
lesson.rank_table(params)

# %% [markdown]
# **What do KMS requests cost as one data key serves more objects?** The security category
# priced for each number of objects one KMS request serves.

# %%
kms, kms_note = lesson.kms_sweep(params), lesson.kms_file(params)[1]
print(kms_note)
lesson.kms_chart(kms)

# %%
lesson.kms_answer(kms)

# %% [markdown]
# ## Try it
#
# Copy the params file and change its `observability:` and `security:` blocks, then run
# `costlib estimate PARAMS` (or `--set observability.payload_sample_rate=0.01` to try one
# value) and rebuild this lesson with `costlib report PARAMS`:
#
# - `log_payloads`, `token_level_traces`: what is logged per request;
# - `payload_sample_rate`, `payload_kept_fraction`: keep redacted exemplars, not every byte;
# - `payload_copies: 2` when Bedrock model-invocation logging writes the same payload again;
# - `retention_days`, `storage_compression_ratio`, `insights_queries_per_day`;
# - `custom_metrics`, `alarms`, `dashboards`, `trace_sample_rate` (with their prices when the
#   tables have none);
# - `security.encrypted_writes_per_request`, `objects_per_data_key` (S3 Bucket Keys or a
#   data-key cache), `secrets`, `secret_calls_per_request`.

# %% [markdown]
# ## Exercises
#
# **1.** Log the prompt and answer of every request, without token traces. What is the monthly
# CloudWatch Logs ingestion bill? Work it out from the bytes per request and the price per GB,
# then check it below.

# %%
lesson.exercise_payload_ingestion(params)

# %% [markdown]
# **2.** With payloads and token traces on, what payload sample rate keeps log ingestion
# within twice the metadata-only bill? (Hint: set metadata + s x heavy bytes = 2 x metadata.)

# %%
lesson.exercise_sample_rate(params)

# %% [markdown]
# **3.** A compliance rule asks for a year of logs. What does storage cost at 365 days of
# retention, and does ingestion change?

# %%
lesson.exercise_retention(params)

# %% [markdown]
# **4.** What do KMS requests cost a month without data-key caching, and with one data key
# per 1,000 objects?

# %%
lesson.exercise_kms(params)
