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
# # 05 · The network
#
# **The question.** Every request travels: from the client to the load balancer, from the
# application to the model, to the embedding model and the vector store, to the logs, and the
# answer streams back. Which of those hops cost money, who bills them, and how much of it is a
# NAT gateway that PrivateLink would remove?
#
# **The decision it informs.** How the application reaches AWS APIs (NAT gateways or PrivateLink
# interface endpoints), how many Availability Zones (AZs) it spans and whether calls stay in one,
# and what clients call (a load balancer or API Gateway).
#
# The article names the footgun: "ECS tasks call Bedrock over NAT, embed to a managed vector DB
# in another AZ, stream tokens back to a client through API Gateway. You pay multiple times for
# data transfer and NAT." This lesson prices each hop from the params file.

# %% tags=["parameters"]
# Parameters: papermill replaces this cell's values when it builds a report.
params_path = "params/default.yaml"
chart_renderer = "interactive"

# %%
import pandas as pd

from costlib.lessons import network as lesson

pd.set_option("display.max_colwidth", None)
pd.set_option("display.max_rows", 200)
params, result = lesson.start(params_path, chart_renderer)
print(params.title)
lesson.network_status(params)

# %% [markdown]
# ## The model
#
# A request is a list of hops. Each hop carries bytes both ways, derived from tokens: about
# 4 bytes per prompt token plus a request envelope [bytes], and more per streamed output token,
# since each token travels in its own framed event [bytes per token]. A hop's monthly volume
# [GB/month] = (bytes out + bytes back) × share of requests taking it × requests per month /
# 2^30. Then it is priced by where it goes:
#
# - **NAT gateway** [USD/month] = gateways (one per AZ) × 730 h × (price per gateway-hour + price
#   per public IPv4 address-hour) + GB processed, both directions × price per GB.
# - **PrivateLink interface endpoints** [USD/month] = services × AZs × 730 h × price per
#   endpoint-AZ-hour + GB processed × price per GB (tiered over the month). One endpoint per
#   service (Bedrock runtime, CloudWatch Logs, KMS, OpenSearch Serverless, ...) in every AZ.
# - **Cross-AZ transfer** [USD/month] = GB moved × share crossing an AZ × 2 × price per GB: a
#   byte that crosses pays once leaving its AZ and once entering the other.
# - **Internet egress** [USD/month] = GB streamed back to clients × price per GB out (the first
#   100 GB of the month free, then tiers); ingress is free.
# - **The entry point**: an Application Load Balancer [USD/month] = 730 h × price per hour + LCU-hours
#   × price per LCU-hour (an LCU is the largest of new connections, active connections, GB
#   processed and rule evaluations, each against its allowance) + one public IPv4 address per
#   AZ; or API Gateway [USD/month] = requests / 1,000,000 × price per 1M requests (tiered).
#
# Calls to DynamoDB and S3 through a gateway endpoint are free, as are ALB-to-target traffic
# across AZs and a NAT gateway's traffic to AWS endpoints in the same Region (only its per-GB
# processing is billed).

# %% [markdown]
# ## Parameters
#
# The `network:` block as the estimate reads it (defaults filled in):

# %%
lesson.network_block(params)

# %% [markdown]
# and the unit prices it meets, from the params file's price tables (region, date, overrides):

# %%
prices = lesson.network_prices(params)
lesson.prices_table(prices)

# %% [markdown]
# ## Results
#
# **Which hops does a request make, and how many bytes does each carry?** GB a month moved by
# each hop, both directions, for each option (the path of the hop in brackets).

# %%
hops = lesson.hops_table(params)
lesson.hops_chart(hops)

# %%
lesson.hops_note(hops)

# %%
hops.round({"share": 3, "kb_out": 2, "kb_back": 2, "gb_per_month": 1})

# %% [markdown]
# **Who bills the network, and how much of it is fixed?** Each option's monthly network bill
# split by charge. NAT gateway hours, endpoint hours and the load balancer run whatever the
# traffic; the per-GB charges grow with it.

# %%
charges = lesson.network_charges(result)
lesson.charges_chart(charges)

# %%
lesson.charges_note(result, charges)

# %%
lesson.charges_table(charges)

# %% [markdown]
# **What does a NAT gateway cost a month, and what would PrivateLink save?** Each option's
# network priced twice, with AWS APIs reached over NAT and over PrivateLink, everything else
# unchanged.

# %%
nat = lesson.nat_vs_privatelink(params)
lesson.nat_chart(nat)

# %%
lesson.nat_note(params, nat)

# %%
nat.round(2)

# %% [markdown]
# **At what monthly volume does PrivateLink beat NAT?** The charges of the NAT gateways (hours,
# addresses and GB) and of the interface endpoints (hours and GB) for the first managed option,
# as its traffic is scaled from a twentieth to twenty times this file's, against the GB a month
# sent to AWS APIs; both axes logarithmic. NAT's fixed part is the gateways in every AZ, the
# endpoints' fixed part grows with the number of services.

# %%
lesson.crossover_chart(lesson.crossover_curve(params))

# %%
lesson.crossover_note(params)

# %% [markdown]
# **Which entry point costs least at this traffic?** The monthly cost of an Application Load
# Balancer and of API Gateway's HTTP and REST APIs as the traffic grows (dotted line: this file's
# requests). The ALB is mostly a fixed hourly charge; API Gateway bills every request.

# %%
lesson.entry_chart(lesson.entry_curve(params), result.workload["requests_per_month"])

# %%
lesson.entry_note(params, result)

# %% [markdown]
# ## Try it
#
# Change the `network:` block of a copy of the params file and rebuild its report
# (`.venv/bin/costlib report params/yours.yaml`), or try one change on the command line:
# `.venv/bin/costlib estimate params/rag_plumbing.yaml --set network.aws_path=privatelink`.
# The keys that move this lesson:
#
# - `network.aws_path`: `nat` or `privatelink`;
# - `network.availability_zones`: one NAT gateway, and one endpoint per service, in each;
# - `network.model_cross_az_fraction`, `network.vector_store_cross_az_fraction`: 0 routes
#   every in-VPC call within its own AZ;
# - `network.entry`: `alb`, `api_gateway_http`, `api_gateway_rest` or `none`;
# - `network.stream_bytes_per_output_token`: measure it for your stack, it sets the bytes of
#   every answer.

# %% [markdown]
# ## Exercises
#
# Each answer is computed from costlib for this params file; work it out by hand from the price
# table above first.
#
# **1.** What does one more AZ cost under NAT?

# %%
lesson.answer_one_more_az(params)

# %% [markdown]
# **2.** At what monthly GB does a PrivateLink endpoint for Bedrock beat sending the same bytes
# through the NAT gateways? Answer it twice: with the gateways kept for other traffic, and with
# endpoints replacing them for every service the application calls.

# %%
lesson.answer_breakeven(params)

# %% [markdown]
# **3.** What does keeping every call to the self-hosted fleet and the vector store inside its
# own AZ save?

# %%
lesson.answer_same_az(params)

# %% [markdown]
# **4.** Above how many requests a month does an API Gateway HTTP API cost more than the ALB?

# %%
lesson.answer_api_gateway(params)
