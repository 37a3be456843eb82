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
# # 01 · Prices and where they come from
#
# **The question.** Every figure in a report is a quantity times a price. Where does each price come
# from, how old is it, and what would the bill be if it were different?
#
# A monthly total printed to the cent looks authoritative. It is only as good as the prices under it,
# and a price has two things besides its value: a **source** (who published it) and a **date** (when
# that source said so). AWS changes prices, adds regions, and retires models. A price without a date
# cannot be checked, and an old one may be wrong without anyone noticing.
#
# This lesson opens the price tables behind every costlib report. It shows which rows this params
# file's estimate used, how old the tables are, the prices that changed (the June 2025 cut of GPU
# instance prices), how regions compare, what discounts and override files do, how the tables are
# refreshed from the AWS Price List, and what is missing from them.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell's values when it builds a report.
params_path = "params/default.yaml"
chart_renderer = "interactive"

# %%
import pandas as pd

from costlib.lessons import prices as lesson

pd.set_option("display.max_colwidth", None)  # tables show every cell whole

params, result = lesson.start(params_path, chart_renderer)
book = lesson.book_for(params)
print(params.title)
print(f"region {params.region}; prices in force on {book.as_of}")

# %% [markdown]
# ## The model: one price per row
#
# The prices live in CSV files under `costlib/data/prices/`, one file per family of services
# (`ec2.csv`, `sagemaker.csv`, `bedrock.csv`, `network.csv`, `observability.csv`, `security.csv`,
# `datastores.csv`, `compute.csv`). Each row states exactly one fact:
#
# | column | meaning |
# |---|---|
# | `service`, `name`, `dimension` | what is priced: `ec2` / `p5.48xlarge` / `on_demand`, `nat_gateway` / `nat_gateway` / `data_processed` |
# | `region` | the AWS region the price holds in; a look-up never borrows another region's price |
# | `unit`, `usd` | the price, e.g. `usd_per_hour`, `usd_per_gb`, `usd_per_1m_tokens` |
# | `tier_start`, `tier_end` | for graduated prices, the monthly quantity the rate applies to (blank: from 0, open) |
# | `effective_from`, `effective_to` | when the price is in force (blank: open); a change closes the old row and opens a new one |
# | `source`, `as_of` | the URL the figure was read from, and the date that source carries |
#
# A line item of a report is then
#
#     monthly usd = quantity per month [unit] x usd [usd per unit],
#
# and the age of a price on the day the report prices for is
#
#     age [days] = prices.as_of - as_of.
#
# A price that changed keeps both rows. Here is the p5.48xlarge on-demand price in us-east-1: one row
# until the June 2025 cut, one from then on, each with its own source.

# %%
lesson.history("ec2", "p5.48xlarge", "on_demand", region="us-east-1")

# %% [markdown]
# ### Bedrock per-token prices come from genai-prices
#
# Bedrock lists well over a hundred models, each with input, output, cache and batch prices. Rather
# than retype them, costlib imports the per-token prices of the pinned `genai-prices` package (from the
# pydantic project). The package ships its price data inside it, so the import needs no network and
# gives the same rows on every run. Each imported price is mapped to the Bedrock model id users pass
# (`meta.llama3-1-70b-instruct-v1:0`) and gets an as-of date from
# `costlib/data/prices/meta/genai_prices_asof.csv`.
#
# `bedrock.csv` adds what genai-prices does not have (batch prices, provisioned throughput, embedding
# models, Llama 3.1 405B) and corrects it where a dated source disagrees: a table row replaces the
# imported row with the same service, name, dimension and region.

# %%
lesson.bedrock_sources(book)

# %% [markdown]
# Where the as-of date of an imported price comes from (the `basis` column of that file):
# `prices_checked` is the date genai-prices' own price file gives as the last check of the model's
# prices; `recorded` means the price file gives no check date, and the date is when the price was
# recorded there; `package_release` means neither was found, so the release date of the pinned
# package stands in. That last date is only the latest the price can be as of: such a price may be
# older than it looks, and the age warning cannot tell.

# %%
lesson.genai_asof_summary()[["basis", "prices", "earliest_as_of", "latest_as_of"]]

# %% [markdown]
# ## Parameters
#
# The `prices:` block of a params file chooses the region (the top-level `region`), the day whose
# prices are in force (`as_of`), the age above which a used price gets a warning (`max_age_days`),
# an optional override file and discounts per service.
#
# Every committed params file pins `prices.as_of`. Without it the report would price for *today*: a
# price window that closes, or a price passing the age limit, would change the report from one day to
# the next with nothing in the repository changed. Pinning makes a report reproducible; moving the
# date forward is then a deliberate, reviewable change.

# %%
lesson.price_settings(params)

# %% [markdown]
# ## Results
#
# **Which prices did this estimate use, where do they come from, and how old are they?** One line
# per price row the estimate looked up, oldest first. `age_days` counts from the row's as-of date to
# the day the prices are in force for.

# %%
used = lesson.used_prices(result, params.prices.max_age_days)
print(lesson.used_prices_note(result, used, params.prices.max_age_days))
used

# %% [markdown]
# The report repeats the age check as warnings, one line per price older than the limit. An old
# price is not necessarily wrong (many AWS prices have not moved in years), but it is the first
# thing to check.

# %%
warnings = result.prices["warnings"]
print(f"{len(warnings)} warning(s)")
for line in warnings:
    print("warning:", line)

# %% [markdown]
# **How old are the tables?** Rows in force on this params file's date, counted by the year of their
# source's as-of date.

# %%
lesson.age_chart(book)

# %%
lesson.age_summary(book, book.as_of, params.prices.max_age_days).round({"median_age_days": 0, "share_older_pct": 1})

# %% [markdown]
# Infrastructure prices (NAT gateways, logs, KMS...) come mostly from infracost's test outputs,
# dated by their last change; they are old because these AWS prices rarely move. The EC2 rows come
# from Karpenter's price tables, generated from the AWS Pricing API. The imported Bedrock rows look
# young partly because of the `package_release` dates above.

# %% [markdown]
# ## Prices that changed
#
# In June 2025 AWS cut the on-demand prices of its P4 and P5 GPU instances. The tables keep the
# price before and after. The exact day of the cut was not found in a dated AWS source, so the new
# rows start on the day the first Karpenter price table showed them.
#
# **How much cheaper did the P4 and P5 instances get?**

# %%
cut = lesson.gpu_price_cut()
cut[["instance", "before_usd_per_hour", "before_as_of", "changed_on", "after_usd_per_hour", "after_as_of", "cut_pct"]].round({"cut_pct": 2})

# %%
lesson.price_cut_chart(cut)

# %% [markdown]
# A report pinned to a date before the cut prices these instances at the old rate; one pinned after
# it uses the new rate. SageMaker hosting for `ml.p4d` and `ml.p5` was also cut, but no dated source
# for the new SageMaker prices was found: their old rows end at the cut and nothing follows (see
# *what is not in the tables* below).
#
# Every other price change recorded in the tables and the genai-prices import, one line per model
# and day:

# %%
lesson.change_summary(lesson.price_changes()).round({"min_change_pct": 2, "max_change_pct": 2})

# %% [markdown]
# ## Regions
#
# Prices differ by region for many services, and a model or instance type may not be offered in a
# region at all. costlib never falls back to another region's price: asking for a price the tables
# do not have in your region is an error that lists the regions that have it.
#
# **Do the GPU instances cost the same in us-east-1 and us-west-2?** The instances priced in both.

# %%
comparison = lesson.region_comparison(book, ("us-east-1", "us-west-2"))
print(lesson.region_note(comparison))
comparison.round({"difference_pct": 6})

# %%
lesson.region_chart(comparison, ("us-east-1", "us-west-2"))

# %% [markdown]
# The two columns come from different sources and dates (Karpenter's price table for us-east-1, the
# SkyPilot catalog for us-west-2), so a match is two independent readings agreeing. A difference in
# the last decimal, as on p4d.24xlarge, is one source rounding to five decimals, not a price
# difference. Other services (Bedrock models, plumbing) are mostly priced for us-east-1 only: a
# params file for another region stops at the first price the tables lack there.

# %% [markdown]
# ## Discounts and override files
#
# Few large accounts pay list prices. A params file can say so in two ways:
#
# - `prices.discounts_pct`: percent off per service, for an enterprise discount, a savings plan
#   rate or a spot price. The price used is $\text{usd} = \text{list usd} \times (1 - \text{pct} / 100)$.
# - `prices.overrides_file`: a CSV of rows in the table format, with your own source and as-of date
#   (a quote, a contract). Each row replaces the table rows of the same service, name, dimension and
#   region, or adds a name the tables lack.
#
# Either way the report marks the prices it changed and keeps the list price beside them.
#
# **What would a 20 % discount on this estimate's main services do to each option's bill?** The 20 %
# is an input for the example, not a rate AWS publishes.

# %%
discounts = lesson.example_discounts(result, 20.0)
print(f"prices.discounts_pct = {discounts}")
discount = lesson.discount_effect(params, discounts)
discount.totals.round(2)

# %%
lesson.discount_chart(discount)

# %%
discount.overridden[["service", "name", "dimension", "list_usd", "usd", "unit", "override"]]

# %% [markdown]
# An override file works on rows. As an example we write one that puts back, for each price this
# estimate used, the row that was in force on 1 May 2025, before the GPU cut: the file a team would
# keep if its contract had fixed those prices then. The rows keep their original source and date, so
# the age warning still applies to them. The file is written to a temporary folder, never to the
# package's tables.

# %%
example_params, pinned, note = lesson.pin_example(params)
if note:
    print(note)
pinned[["service", "name", "dimension", "region", "unit", "usd", "as_of", "source"]]

# %%
override, note = lesson.override_example(example_params, pinned)
print(note)
override.totals.round(2) if override is not None else None

# %% [markdown]
# ## Bedrock prices side by side
#
# **What does Bedrock charge per million tokens for a few model families?** Input and output on
# demand, prompt-cache reads and writes, and batch inference; an empty cell means no dated source
# gives that price (the model may not offer it). The Claude rows are the in-region prices, which cost
# 10 % more than the same models through a global cross-region profile (`global.` ids).

# %%
bedrock = lesson.lesson_bedrock_prices(params, book)
lesson.bedrock_token_prices_wide(bedrock, missing="")

# %%
lesson.bedrock_prices_chart(bedrock)

# %% [markdown]
# ## Keeping the tables fresh
#
# AWS publishes every price in the Price List bulk offer files: public JSON, one file per service and
# region, no credentials needed. `costlib prices refresh --offer FILE` reads one, maps the products
# it knows (EC2 instances on Linux with shared tenancy, gp3 volumes, SageMaker hosting instances) to
# table rows, and takes the offer's publication date as their as-of date. A price that is unchanged
# gets the new source and date; a price that changed gets its old row closed and a new row opened,
# exactly like the GPU cut above. All tables are rewritten or none.
#
# Here is what it would do with the small excerpt committed for the tests
# (`tests/fixtures/pricelist/`), run as a dry run: nothing is written.

# %%
parsed, changes, summary = lesson.refresh_preview(lesson.EXAMPLE_OFFER)
print(lesson.refresh_note(summary))
parsed

# %%
changes

# %% [markdown]
# A broken offer file changes nothing; the command stops with one line saying what is wrong:

# %%
print(lesson.refresh_error(lesson.BAD_OFFER))

# %% [markdown]
# On the command line: `costlib prices refresh --offer FILE_OR_URL --dry-run` to preview, without
# `--dry-run` to write; `costlib prices list --service ec2 --json` prints every price with its source
# and as-of date.

# %% [markdown]
# ## What is not in the tables, and why
#
# A price that could not be found in a dated source is left out rather than guessed. A params file
# that needs it stops with an error naming what is missing; you can then supply the figure in an
# override file, with your own source. The first lines are found by comparing the tables with each
# other; the rest are figures looked for and not found.

# %%
lesson.not_in_tables(book)

# %% [markdown]
# ## Try it
#
# Move a slider to take a percentage off a service, or pick the day whose prices are in force, and
# every option is re-priced: the chart redraws each option's bill at list prices and at yours. Open the notebook in JupyterLab (`make lab`) to use the controls. The
# command line does the same: `costlib estimate PARAMS --set prices.as_of=2025-06-22`.

# %% tags=["nbval-ignore-output"]
lesson.price_explorer(params).box

# %% [markdown]
# ## Exercises
#
# Each answer is computed from costlib for this params file; work it out by hand from the
# table of used prices above first.
#
# **1.** Which is the oldest price this estimate used, where does it come from, and how old is it
# on the day the prices are in force?

# %%
lesson.answer_oldest_price(result, used)

# %% [markdown]
# **2.** How many of the used prices are past `prices.max_age_days`, and in how many days does
# the next one pass it?

# %%
lesson.answer_age_limit(used, params.prices.max_age_days)

# %% [markdown]
# **3.** A team negotiates 20 % off its GPU instances, and nothing else. What does that do to
# each self-hosted option's monthly total, and does the cheapest option change? (Hint: only the
# instance-hours line items move.)

# %%
lesson.answer_instance_discount(params, result, 20.0)
