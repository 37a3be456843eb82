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
# # 04 · Retrieval and context
#
# **The question.** A RAG assistant does work before the model sees a word: it embeds the
# question, searches a vector store, and pastes the chunks it finds into the prompt. What does
# that cost a month, which part of it is fixed whatever the traffic, and what does the pasted
# context add to the model's own bill?
#
# **The decision it informs.** Which vector store to run at your corpus size, how much context
# to keep per prompt, and whether the glue code around the model should run on Lambda or on
# always-on Fargate tasks.
#
# The article puts it bluntly: RAG can add "2k tokens of low-signal stuff to every request", and
# those tokens are billed by the model, not by the retrieval service. This lesson prices each
# piece from the params file, line item by line item.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell's values when it builds a report.
params_path = "params/default.yaml"
chart_renderer = "interactive"

# %%
import pandas as pd

from costlib.lessons import retrieval as lesson

pd.set_option("display.max_colwidth", None)
pd.set_option("display.max_rows", 200)
case = lesson.retrieval_case(lesson.start(params_path, chart_renderer))
print(case.params.title)
lesson.retrieval_status(case)

# %% [markdown]
# ## The model
#
# Every item below is a monthly quantity times a unit price from the price tables (each row
# with its source and as-of date). A month is 730 hours; requests per month come from the
# workload's traffic.
#
# - **Query embeddings** [USD/month] = requests per month × query tokens per request
#   [tokens] / 1,000,000 × embedding price [USD per 1M tokens].
# - **Re-ingestion embeddings** [USD/month] = chunks in the corpus × share re-embedded per month
#   × tokens per chunk / 1,000,000 × the same price.
# - **The vector store** bills capacity that holds the index in memory. An HNSW index needs
#   about 1.1 × (4 × dimensions + 8 × links) bytes per vector.
#   - *OpenSearch Serverless*: OCUs [OCU] = indexing OCUs + search OCUs, each search replica
#     holding the index in 6 GiB OCUs; never fewer than the floor (2 OCUs with standby
#     replicas). Cost = OCUs × 730 h × price per OCU-hour, plus storage [GB-month].
#   - *Aurora Serverless v2 with pgvector*: ACUs [ACU] = index memory / (2 GiB × share of
#     memory for the index), at least the minimum capacity, in 0.5-ACU steps; × 730 h × price
#     per ACU-hour, plus storage and I/O.
#   - *In-process index*: every application task holds a copy of the index in its own memory
#     [GB-hours on Fargate]; the chunk text lives in DynamoDB (request units and storage).
# - **Retrieved context** [tokens per request] = chunks per request × tokens per chunk × share
#   kept after deduplication. It is added to every prompt, so the model bills it under
#   *inference* [USD per 1M input tokens], and a self-hosted fleet serves longer prompts: fewer
#   sequences fit in memory, prefill takes longer, and more instances are needed.
# - **Pre/post-processing**: Lambda [USD/month] = requests / 1,000,000 × price per 1M requests
#   + requests × memory [GB] × billed duration [s] × price per GB-second; Fargate [USD/month] =
#   tasks × 730 h × (vCPUs × price per vCPU-hour + GB × price per GB-hour), whatever the traffic.

# %% [markdown]
# ## Parameters
#
# The `retrieval:` block as the estimate reads it, defaults filled in (the defaults are the
# baseline architecture described in `costlib/bill/plumbing/retrieval.py`):

# %%
lesson.retrieval_block(case.params)

# %% [markdown]
# ## Results
#
# **What does retrieval cost a month, and which line item is it made of?** The items of the
# first option (embeddings, the store and the glue compute are the same for every option: they
# run before the model). The retrieved context is not in this chart: it is billed under
# inference, further down.

# %%
items = lesson.retrieval_items(case.result)
lesson.retrieval_chart(items)

# %%
lesson.retrieval_note(case, items)

# %%
items.round({"quantity": 3, "unit_usd": 6, "monthly_usd": 2})

# %% [markdown]
# **Which vector store is cheapest at this corpus size?** Each store's monthly cost (capacity,
# storage, reads and writes; embeddings excluded) as the corpus grows, both axes logarithmic.
# A flat stretch is a floor: capacity billed whether the index needs it or not.

# %%
stores = lesson.store_curve(case)
lesson.store_chart(stores, case.params.retrieval.corpus_chunks)

# %%
lesson.store_note(case)

# %% [markdown]
# **What do the retrieved tokens cost under inference?** Each option's inference bill as the
# share of the retrieved chunks kept goes from none to all of them. A managed model's bill grows
# in a straight line with the tokens; a self-hosted fleet's grows in steps, an instance at a
# time, as longer prompts lower the load each instance can carry within the latency bounds.

# %%
lesson.context_chart(lesson.context_curve(case))

# %%
context = lesson.context_table(case)
lesson.context_note(case, context)

# %%
context.round(2)

# %% [markdown]
# **Should the glue code run on Lambda or on Fargate?** Lambda bills every request; Fargate
# tasks bill every hour. Their monthly cost against the traffic, with this block's memory,
# duration and task sizes (the dotted line is this file's traffic).

# %%
lesson.processing_chart(lesson.processing_curve(case), case.result.workload["requests_per_month"])

# %%
lesson.processing_note(case)

# %% [markdown]
# ## Try it
#
# Change the `retrieval:` block of a copy of the params file and rebuild its report
# (`.venv/bin/costlib report params/yours.yaml`), or try one change on the command line:
# `.venv/bin/costlib estimate params/rag_plumbing.yaml --set retrieval.context_kept_fraction=0.5`.
# The keys that move this lesson most:
#
# - `retrieval.context_kept_fraction` (or `chunks_per_request`, `tokens_per_chunk`): the context
#   every prompt carries, billed under inference;
# - `retrieval.vector_store.kind` and `corpus_chunks`: which store, and whether the corpus
#   outgrows its floor;
# - `retrieval.embedding.dims`: smaller vectors, a smaller index and fewer bytes per request;
# - `retrieval.processing.kind`: `lambda`, `fargate` or `none`.

# %% [markdown]
# ## Exercises
#
# Each answer is computed from costlib for this params file; work it out by hand from the
# tables above first.
#
# **1.** What does the OpenSearch Serverless floor cost a month, and how large can the corpus
# grow before the collection needs more OCUs?

# %%
lesson.answer_ocu_floor(case)

# %% [markdown]
# **2.** Deduplicating and summarising the chunks keeps half of the retrieved tokens. What does
# that save each option a month, and in which category does the saving show?

# %%
lesson.answer_half_context(case)

# %% [markdown]
# **3.** The article suggests smaller embeddings ("384 often works fine"); Titan Text Embeddings
# V2 offers 256. What do 256-dimension embeddings save, and why so little below the floor?

# %%
lesson.answer_dims(case)

# %% [markdown]
# **4.** Above how many requests a month do the Fargate tasks cost less than Lambda?

# %%
lesson.answer_processing_breakeven(case)
