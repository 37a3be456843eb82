"""Network: a request's path as hops, each priced by where its bytes go.

Baseline architecture (the defaults): clients on the internet call an internet-facing
Application Load Balancer in front of application tasks in private subnets spread over two
Availability Zones (AZs). The tasks reach AWS service APIs (Bedrock runtime, CloudWatch Logs,
KMS, OpenSearch Serverless) through a NAT gateway in each AZ -- the article's footgun and the
default of a VPC built with private subnets and NAT -- and DynamoDB through a free gateway
endpoint. A self-hosted fleet and an in-VPC vector store (Aurora, EC2) sit in the same VPC; with
two AZs and no zone affinity half of the calls to them cross an AZ boundary. Responses stream
back to the client over the internet.

Each hop carries bytes derived from tokens, vectors and chunks (:mod:`costlib.formulas.network`)
and is marked ``vpc`` (same VPC, a share crossing AZs), ``nat``, ``privatelink`` (interface
endpoint), ``gateway`` (S3/DynamoDB gateway endpoint, free) or ``internet``. The charges stack:

- NAT gateway: per gateway-hour (one per AZ) plus per GB processed, both directions;
- interface endpoint: per endpoint per AZ-hour plus per GB processed (tiered over the month);
- cross-AZ: per GB in each direction (a byte crossing pays out and in);
- internet egress: per GB out, tiered, first 100 GB free; ingress free;
- ALB: per hour plus per LCU-hour; public IPv4 addresses per hour (NAT and ALB).

Assumptions (not prices) are named as such field by field: bytes per token, stream framing,
request overhead. Charges left out: ALB-to-target cross-AZ traffic (not charged for ALB),
same-Region transfer from NAT to AWS public endpoints (not charged), corpus ingestion traffic.

References
----------
AWS prices: the price tables (``costlib/data/prices/network.csv``), each row with its source.
ALB LCU dimensions: https://aws.amazon.com/elasticloadbalancing/pricing/ (25 new connections/s,
3,000 active connections/min, 1 GB/h processed for EC2/IP targets, 1,000 rule evaluations/s).
The byte, GB and LCU formulas are in :mod:`costlib.formulas.network`; :class:`Hop` is in
:mod:`costlib.bill.plumbing.hops`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from costlib.bill.context import Context, leaf_shares, tiered_price
from costlib.bill.lineitems import LineItem, OptionOutcome, fmt, line_item, num
from costlib.bill.plumbing.hops import PATHS, Hop
from costlib.bill.plumbing.retrieval import retrieval_hops
from costlib.core.schema import Strict
from costlib.core.units import HOURS_PER_MONTH, PER_1M
from costlib.formulas.network import (
    alb_lcu,
    cached_answer_bytes,
    cross_az_billed_gb,
    gb_per_month,
    prompt_bytes,
    streamed_response_bytes,
)


class NetworkSettings(Strict):
    """The ``network:`` block of a params file.

    Attributes
    ----------
    entry : {"alb", "api_gateway_rest", "api_gateway_http", "none"}
        What clients call: an internet-facing ALB (default), an API Gateway REST or HTTP API,
        or nothing priced here.
    availability_zones : int
        AZs the application spans; one NAT gateway and one interface endpoint per service per
        AZ [-]. Default 2 (an assumption: the usual minimum for high availability).
    aws_path : {"nat", "privatelink"}
        How application tasks reach AWS service APIs (Bedrock runtime, CloudWatch Logs, KMS,
        X-Ray, Secrets Manager, OpenSearch Serverless). The lever: ``privatelink``.
    dynamodb_path : {"gateway", "nat"}
        How tasks reach DynamoDB (response cache, chunk store): a free gateway endpoint or NAT.
    model_cross_az_fraction : float
        Share of calls to a self-hosted model (or embedding) fleet that cross an AZ [0-1].
        Default 0.5: two AZs, no zone affinity (an assumption). The lever: 0 (same-AZ
        routing).
    vector_store_cross_az_fraction : float
        Same for an in-VPC vector store (Aurora, EC2) [0-1]; default 0.5 (assumption).
    client_request_bytes : float
        Bytes a client sends per request (the user's message, headers) [bytes]; assumption.
    request_overhead_bytes : float
        HTTP headers and JSON envelope added to every internal call, each way [bytes];
        assumption.
    stream_bytes_per_output_token : float
        Bytes on the wire per streamed output token, framing included [bytes]; assumption
        (one event-stream or server-sent event per token with its headers and JSON wrapper,
        against 4 bytes of text). Measure it for your stack.
    json_bytes_per_vector_dim : float
        Bytes per vector component when a vector travels as JSON text [bytes]; assumption.
    stream_seconds_per_request : float
        How long a client connection stays open per request [s] (ALB active connections);
        assumption.
    nat_gateways : int, optional
        NAT gateways billed; default one per AZ when any hop uses NAT, else none.
    """

    entry: Literal["alb", "api_gateway_rest", "api_gateway_http", "none"] = "alb"
    availability_zones: int = Field(2, ge=1, le=6)
    aws_path: Literal["nat", "privatelink"] = "nat"
    dynamodb_path: Literal["gateway", "nat"] = "gateway"
    model_cross_az_fraction: float = Field(0.5, ge=0, le=1)
    vector_store_cross_az_fraction: float = Field(0.5, ge=0, le=1)
    client_request_bytes: float = Field(2048.0, ge=0)
    request_overhead_bytes: float = Field(1024.0, ge=0)
    stream_bytes_per_output_token: float = Field(100.0, ge=0)
    json_bytes_per_vector_dim: float = Field(10.0, ge=0)
    stream_seconds_per_request: float = Field(10.0, ge=0)
    nat_gateways: int | None = Field(None, ge=0)


# --------------------------------------------------------------------------------------------
# hops


def _model_hops(s: NetworkSettings, ctx: Context, option, up: float, back: float) -> list[Hop]:
    hops = []
    by_kind: dict[str, float] = {}
    for _name, leaf, share in leaf_shares(ctx, option):
        by_kind[leaf.kind] = by_kind.get(leaf.kind, 0.0) + share
    bedrock = by_kind.get("managed_api", 0.0) + by_kind.get("provisioned", 0.0)
    if np.any(np.asarray(bedrock) > 0):
        hops.append(Hop("app -> Bedrock runtime (model)", up, back, bedrock, s.aws_path,
                        "bedrock-runtime"))
    if np.any(np.asarray(by_kind.get("self_hosted", 0.0)) > 0):
        hops.append(Hop("app -> self-hosted model fleet", up, back, by_kind["self_hosted"], "vpc",
                        cross_az_fraction=s.model_cross_az_fraction))
    return hops


def request_hops(s: NetworkSettings, ctx: Context, option, retrieval=None,
                 log_bytes_per_request: float = 0.0) -> list[Hop]:
    """Every hop of one request of ``option``, with bytes per request.

    Parameters
    ----------
    s : NetworkSettings
    ctx : Context
        ``ctx.workload.in_tokens`` is the whole prompt (retrieved context included).
    option : option params model
    retrieval : RetrievalSettings, optional
        Adds embedding and vector-store hops when enabled.
    log_bytes_per_request : float
        Log bytes shipped to CloudWatch Logs per request [bytes] (observability).
    """
    w = ctx.workload
    ovh = s.request_overhead_bytes
    hops = []
    back_client = num(streamed_response_bytes(w.out_tokens, s.stream_bytes_per_output_token))
    if s.entry != "none":
        hops.append(Hop("client <-> entry (internet)", s.client_request_bytes, back_client, 1.0,
                        "internet"))
    up = num(prompt_bytes(w.in_tokens, ovh))
    back = num(streamed_response_bytes(w.out_tokens, s.stream_bytes_per_output_token, ovh))
    hops.extend(_model_hops(s, ctx, option, up, back))
    if getattr(option, "kind", None) == "router" and option.cache is not None:
        item = cached_answer_bytes(w.out_tokens, option.cache.item_kb)
        hops.append(Hop("app -> DynamoDB response cache", ovh, item + ovh, 1.0, s.dynamodb_path,
                        "dynamodb"))
    if retrieval is not None and retrieval.enabled:
        hops.extend(retrieval_hops(retrieval, s, ctx))
    if np.any(np.asarray(log_bytes_per_request) > 0):
        hops.append(Hop("app -> CloudWatch Logs", log_bytes_per_request + ovh, ovh, 1.0,
                        s.aws_path, "logs"))
    return hops


def price_network(settings: NetworkSettings, ctx: Context, option, outcome: OptionOutcome, *,
                  retrieval=None, log_bytes_per_request: float = 0.0,
                  extra_endpoint_services: tuple[str, ...] = ()) -> list[LineItem]:
    """Network line items of one option for a month.

    Parameters
    ----------
    settings : NetworkSettings
    ctx : Context
    option : option params model
    outcome : OptionOutcome
        Not used by the network; kept for the common signature.
    retrieval : RetrievalSettings, optional
    log_bytes_per_request : float
        Bytes logged per request (from observability) [bytes].
    extra_endpoint_services : tuple of str
        Further AWS APIs the tasks call (``kms``, ``xray``, ``secretsmanager``); each needs an
        interface endpoint per AZ under ``aws_path: privatelink``.
    """
    s = settings
    reqs = ctx.requests_per_month
    hops = request_hops(s, ctx, option, retrieval, log_bytes_per_request)
    items: list[LineItem] = []
    nat_gb = 0.0
    pl_gb = 0.0
    pl_services = set(extra_endpoint_services) if s.aws_path == "privatelink" else set()
    nat_used = s.aws_path == "nat" and bool(extra_endpoint_services)
    pending_pl = []
    for hop in hops:
        gb = num(gb_per_month(hop.bytes_out + hop.bytes_back, reqs * hop.share))
        if hop.path == "nat":
            nat_used = True
            nat_gb += gb
            p = ctx.price("nat_gateway", "nat_gateway", "data_processed")
            items.append(line_item("network", f"{hop.name}: NAT gateway data processed", gb, "GB",
                                   p.usd, p.source))
        elif hop.path == "privatelink":
            pl_services.add(hop.service)
            pl_gb += gb
            pending_pl.append((hop, gb))
        elif hop.path == "vpc":
            billed = num(cross_az_billed_gb(gb, hop.cross_az_fraction))
            p = ctx.price("data_transfer", "cross_az", "each_direction")
            items.append(line_item("network", f"{hop.name}: cross-AZ transfer "
                                   f"({fmt(hop.cross_az_fraction, '.0%')} of bytes, billed both ways)",
                                   billed, "GB", p.usd, p.source))
        elif hop.path == "internet":
            out_gb = num(gb_per_month(hop.bytes_back, reqs * hop.share))
            p = tiered_price(ctx, "data_transfer", "internet", "out", out_gb)
            items.append(line_item("network", f"{hop.name}: data transfer out to the internet",
                                   out_gb, "GB", p.usd, p.source))
        # "gateway": S3/DynamoDB gateway endpoints have no hourly or per-GB charge.
    if pending_pl:
        p = tiered_price(ctx, "vpc_endpoint", "interface_endpoint", "data_processed", pl_gb)
        for hop, gb in pending_pl:
            items.append(line_item("network", f"{hop.name}: interface endpoint data processed",
                                   gb, "GB", p.usd, p.source))
    azs = s.availability_zones
    if nat_used:
        n_nat = azs if s.nat_gateways is None else s.nat_gateways
        p = ctx.price("nat_gateway", "nat_gateway", "hour")
        items.append(line_item("network", f"NAT gateways ({n_nat}, one per AZ)",
                               n_nat * HOURS_PER_MONTH, "gateway-hour", p.usd, p.source,
                               fixed=True))
        p = ctx.price("public_ipv4", "public_ipv4_address", "hour")
        items.append(line_item("network", "NAT gateway public IPv4 addresses",
                               n_nat * HOURS_PER_MONTH, "IP-hour", p.usd, p.source, fixed=True))
    if pl_services:
        p = ctx.price("vpc_endpoint", "interface_endpoint", "hour")
        names = ", ".join(sorted(pl_services))
        items.append(line_item("network", f"interface endpoints ({names}) x {azs} AZs",
                               len(pl_services) * azs * HOURS_PER_MONTH, "endpoint-AZ-hour",
                               p.usd, p.source, fixed=True))
    items.extend(_entry_items(s, ctx, hops))
    if not items:
        p = ctx.price("data_transfer", "cross_az", "each_direction")
        items.append(line_item("network", "no priced network hop", 0.0, "GB", p.usd, p.source))
    return items


def _entry_items(s: NetworkSettings, ctx: Context, hops: list[Hop]) -> list[LineItem]:
    reqs = ctx.requests_per_month
    if s.entry == "alb":
        client = [h for h in hops if h.path == "internet"]
        per_req = sum(h.bytes_out + h.bytes_back for h in client)
        # every LCU dimension is proportional to the rate, so the same one is the largest in
        # every step and the time average of the LCUs is the LCUs at the average rate
        lcu = alb_lcu(ctx.traffic.avg_rps, per_req, s.stream_seconds_per_request)
        lcu_hours = num(np.asarray(lcu) * HOURS_PER_MONTH)
        ph = ctx.price("alb", "application_load_balancer", "hour")
        pl = ctx.price("alb", "application_load_balancer", "lcu_hour")
        pip = ctx.price("public_ipv4", "public_ipv4_address", "hour")
        return [
            line_item("network", "Application Load Balancer", HOURS_PER_MONTH, "ALB-hour", ph.usd,
                      ph.source, fixed=True),
            line_item("network", "ALB capacity units", lcu_hours, "LCU-hour", pl.usd, pl.source),
            line_item("network", f"ALB public IPv4 addresses (one per AZ, {s.availability_zones})",
                      s.availability_zones * HOURS_PER_MONTH, "IP-hour", pip.usd, pip.source,
                      fixed=True),
        ]
    if s.entry in ("api_gateway_rest", "api_gateway_http"):
        name = "rest_api" if s.entry == "api_gateway_rest" else "http_api"
        m = reqs / PER_1M
        p = tiered_price(ctx, "api_gateway", name, "requests", m)
        return [line_item("network", f"API Gateway {name.replace('_', ' ')} requests", m,
                          "1M requests", p.usd, p.source)]
    return []


__all__ = ["NetworkSettings", "PATHS", "Hop", "request_hops", "price_network"]
