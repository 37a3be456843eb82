"""Network: a request's path as hops, each priced by where its bytes go.

Baseline architecture (the defaults): clients on the internet call an internet-facing
Application Load Balancer in front of application tasks in private subnets spread over two
Availability Zones (AZs). The tasks reach AWS service APIs (Bedrock runtime, CloudWatch Logs,
KMS, OpenSearch Serverless) through a NAT gateway in each AZ -- the article's footgun and the
default of a VPC built with private subnets and NAT -- and DynamoDB through a free gateway
endpoint. A self-hosted fleet and an in-VPC vector store (Aurora, EC2) sit in the same VPC; with
two AZs and no zone affinity half of the calls to them cross an AZ boundary. Responses stream
back to the client over the internet.

Each hop carries bytes derived from tokens, vectors and chunks (see :func:`hop_bytes`) and is
marked ``vpc`` (same VPC, a share crossing AZs), ``nat``, ``privatelink`` (interface endpoint),
``gateway`` (S3/DynamoDB gateway endpoint, free) or ``internet``. The charges stack:

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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from costlib.core.errors import CostlibError
from costlib.bill.lineitems import LineItem, OptionOutcome, line_item
from costlib.core.schema import Strict
from costlib.bill.context import Context, Price, leaf_shares, price_or_error, tiered_price
from costlib.core.units import BYTES_PER_GB, HOURS_PER_MONTH

BYTES_PER_TOKEN_TEXT = 4.0
"""Average bytes of UTF-8 text per token (English, Llama/GPT-style tokenizers); an
approximation, the same one :mod:`costlib.bill.options.router` uses to size cached answers."""

FLOAT32_BYTES = 4.0
"""Bytes of one float32 vector component (a fact of the format)."""

ALB_NEW_CONNECTIONS_PER_LCU = 25.0
"""New connections per second in one ALB LCU (AWS ELB pricing page)."""
ALB_ACTIVE_CONNECTIONS_PER_LCU = 3000.0
"""Active connections (sampled per minute) in one ALB LCU (AWS ELB pricing page)."""
ALB_GB_PER_HOUR_PER_LCU = 1.0
"""Processed GB per hour in one ALB LCU for EC2/IP/container targets (AWS ELB pricing page)."""

PATHS = ("vpc", "nat", "privatelink", "gateway", "internet")


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


@dataclass(frozen=True)
class Hop:
    """One leg of a request's path and back.

    Attributes
    ----------
    name : str
        ``"app -> Bedrock runtime"`` and the like.
    bytes_out, bytes_back : float
        Bytes sent and received per request that takes this hop [bytes].
    share : float
        Share of the option's requests that take the hop [0-1].
    path : str
        One of :data:`PATHS`.
    service : str
        AWS service endpoint name for ``privatelink`` hops (one interface endpoint each).
    cross_az_fraction : float
        For ``vpc`` hops: share of the bytes crossing an AZ [0-1].
    """

    name: str
    bytes_out: float
    bytes_back: float
    share: float
    path: str
    service: str = ""
    cross_az_fraction: float = 0.0


# --------------------------------------------------------------------------------------------
# formulas


def gb_per_month(bytes_per_request, requests_per_month):
    """Data volume of a per-request payload over a month [GB/month].

    Parameters
    ----------
    bytes_per_request : float or array_like
        Bytes per request [bytes].
    requests_per_month : float or array_like
        [requests/month].

    Returns
    -------
    float or numpy.ndarray
        [GB/month], with 1 GB = 2**30 bytes as AWS meters it.

    Notes
    -----
    ``gb = bytes_per_request * requests_per_month / 2**30``

    References
    ----------
    AWS meters data in GB of 2**30 bytes (:mod:`costlib.core.units`).

    Examples
    --------
    1 MiB for each of 1,024 requests is 1 GiB:

    >>> float(gb_per_month(2**20, 1024))
    1.0
    """
    return np.multiply(bytes_per_request, requests_per_month) / BYTES_PER_GB


def cross_az_billed_gb(gb_moved, cross_az_fraction):
    """GB billed for inter-AZ transfer: each crossing byte pays going out and coming in [GB].

    Notes
    -----
    ``billed_gb = 2 * gb_moved * cross_az_fraction``, priced at the per-GB
    ``data_transfer/cross_az/each_direction`` rate (0.01 USD/GB each way in us-east-1).

    References
    ----------
    AWS EC2 data-transfer pricing ("data transferred between AZs ... charged at $0.01/GB in
    each direction"), as encoded by infracost's ``data_transfer`` resource (x2).

    Examples
    --------
    100 GB moved, half of it across AZs: 2 * 100 * 0.5 = 100 GB billed.

    >>> float(cross_az_billed_gb(100.0, 0.5))
    100.0
    """
    return 2.0 * np.multiply(gb_moved, cross_az_fraction)


def alb_lcu(rps, bytes_per_request, stream_seconds_per_request, connections_per_request=1.0):
    """ALB load-balancer capacity units in use at a request rate [LCU].

    Parameters
    ----------
    rps : float or array_like
        Request rate [requests/s].
    bytes_per_request : float or array_like
        Bytes through the load balancer per request, both directions [bytes].
    stream_seconds_per_request : float
        Time a connection stays open per request [s].
    connections_per_request : float
        New connections per request (1: no keep-alive reuse; an assumption).

    Returns
    -------
    float or numpy.ndarray
        [LCU], the largest of the dimensions below (rule evaluations assumed within the 10
        free rules).

    Notes
    -----
    ``max(rps * c / 25, rps * t / 3000, rps * 3600 * bytes / 2**30 / 1)``: new connections
    per second, active connections (Little's law: rate x duration), GB processed per hour.

    References
    ----------
    AWS Elastic Load Balancing pricing (LCU definition).

    Examples
    --------
    10 rps, 10 s streams, 50,000 bytes each: new connections 10 / 25 = 0.4; active
    10 * 10 / 3000 = 0.0333; bytes 10 * 3600 * 50000 / 2**30 = 1.6764 GB/h -> 1.6764 LCU

    >>> round(float(alb_lcu(10.0, 50_000, 10.0)), 4)
    1.6764
    """
    rps = np.asarray(rps, dtype=float)
    new = rps * connections_per_request / ALB_NEW_CONNECTIONS_PER_LCU
    active = rps * stream_seconds_per_request / ALB_ACTIVE_CONNECTIONS_PER_LCU
    gb_h = rps * 3600.0 * np.asarray(bytes_per_request, dtype=float) / BYTES_PER_GB
    out = np.maximum(np.maximum(new, active), gb_h / ALB_GB_PER_HOUR_PER_LCU)
    return float(out) if out.ndim == 0 else out


def prompt_bytes(in_tokens, overhead_bytes=0.0, bytes_per_token=BYTES_PER_TOKEN_TEXT):
    """Bytes of a prompt sent to a model endpoint [bytes].

    Notes
    -----
    ``in_tokens * bytes_per_token + overhead_bytes``

    Examples
    --------
    >>> float(prompt_bytes(2000, 1024))
    9024.0
    """
    return np.multiply(in_tokens, bytes_per_token) + overhead_bytes


def streamed_response_bytes(out_tokens, stream_bytes_per_output_token, overhead_bytes=0.0):
    """Bytes of a streamed answer [bytes].

    Notes
    -----
    ``out_tokens * stream_bytes_per_output_token + overhead_bytes``

    Examples
    --------
    >>> float(streamed_response_bytes(500, 100.0, 1024))
    51024.0
    """
    return np.multiply(out_tokens, stream_bytes_per_output_token) + overhead_bytes


# --------------------------------------------------------------------------------------------
# hops


def _model_hops(s: NetworkSettings, ctx: Context, option, up: float, back: float) -> list[Hop]:
    hops = []
    by_kind: dict[str, float] = {}
    for _name, leaf, share in leaf_shares(ctx, option):
        by_kind[leaf.kind] = by_kind.get(leaf.kind, 0.0) + share
    bedrock = by_kind.get("managed_api", 0.0) + by_kind.get("provisioned", 0.0)
    if bedrock > 0:
        hops.append(Hop("app -> Bedrock runtime (model)", up, back, bedrock, s.aws_path,
                        "bedrock-runtime"))
    if by_kind.get("self_hosted", 0.0) > 0:
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
    back_client = float(streamed_response_bytes(w.out_tokens, s.stream_bytes_per_output_token))
    if s.entry != "none":
        hops.append(Hop("client <-> entry (internet)", s.client_request_bytes, back_client, 1.0,
                        "internet"))
    up = float(prompt_bytes(w.in_tokens, ovh))
    back = float(streamed_response_bytes(w.out_tokens, s.stream_bytes_per_output_token, ovh))
    hops.extend(_model_hops(s, ctx, option, up, back))
    if getattr(option, "kind", None) == "router" and option.cache is not None:
        item = (option.cache.item_kb * 1000.0 if option.cache.item_kb
                else w.out_tokens * BYTES_PER_TOKEN_TEXT)
        hops.append(Hop("app -> DynamoDB response cache", ovh, item + ovh, 1.0, s.dynamodb_path,
                        "dynamodb"))
    if retrieval is not None and retrieval.enabled:
        from costlib.bill.plumbing.retrieval import retrieval_hops

        hops.extend(retrieval_hops(retrieval, s, ctx))
    if log_bytes_per_request > 0:
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
        gb = float(gb_per_month(hop.bytes_out + hop.bytes_back, reqs * hop.share))
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
            billed = float(cross_az_billed_gb(gb, hop.cross_az_fraction))
            p = ctx.price("data_transfer", "cross_az", "each_direction")
            items.append(line_item("network", f"{hop.name}: cross-AZ transfer "
                                   f"({hop.cross_az_fraction:.0%} of bytes, billed both ways)",
                                   billed, "GB", p.usd, p.source))
        elif hop.path == "internet":
            out_gb = float(gb_per_month(hop.bytes_back, reqs * hop.share))
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
                               n_nat * HOURS_PER_MONTH, "gateway-hour", p.usd, p.source))
        p = ctx.price("public_ipv4", "public_ipv4_address", "hour")
        items.append(line_item("network", "NAT gateway public IPv4 addresses",
                               n_nat * HOURS_PER_MONTH, "IP-hour", p.usd, p.source))
    if pl_services:
        p = ctx.price("vpc_endpoint", "interface_endpoint", "hour")
        names = ", ".join(sorted(pl_services))
        items.append(line_item("network", f"interface endpoints ({names}) x {azs} AZs",
                               len(pl_services) * azs * HOURS_PER_MONTH, "endpoint-AZ-hour",
                               p.usd, p.source))
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
        lcu = alb_lcu(ctx.profile.rps, per_req, s.stream_seconds_per_request)
        lcu_hours = float(np.mean(lcu)) * HOURS_PER_MONTH
        ph = ctx.price("alb", "application_load_balancer", "hour")
        pl = ctx.price("alb", "application_load_balancer", "lcu_hour")
        pip = ctx.price("public_ipv4", "public_ipv4_address", "hour")
        return [
            line_item("network", "Application Load Balancer", HOURS_PER_MONTH, "ALB-hour", ph.usd,
                      ph.source),
            line_item("network", "ALB capacity units", lcu_hours, "LCU-hour", pl.usd, pl.source),
            line_item("network", f"ALB public IPv4 addresses (one per AZ, {s.availability_zones})",
                      s.availability_zones * HOURS_PER_MONTH, "IP-hour", pip.usd, pip.source),
        ]
    if s.entry in ("api_gateway_rest", "api_gateway_http"):
        name = "rest_api" if s.entry == "api_gateway_rest" else "http_api"
        m = reqs / 1e6
        p = tiered_price(ctx, "api_gateway", name, "requests", m)
        return [line_item("network", f"API Gateway {name.replace('_', ' ')} requests", m,
                          "1M requests", p.usd, p.source)]
    return []
