"""Lesson 05, the network (``notebooks/05_network.ipynb``).

The functions the notebook's cells call: the ``network:`` block of a params file, the hops of one
request and their bytes, the network line items grouped by who bills them, NAT gateways against
PrivateLink interface endpoints (what NAT costs, what PrivateLink saves, the monthly GB at which
an endpoint pays for itself), the entry point (ALB against API Gateway) and the exercises'
answers. Prose comes back as :class:`IPython.display.Markdown` built from computed values.

Every cost is read from the estimate (:func:`costlib.bill.estimate.estimate`,
:func:`costlib.whatif.compare.compare`, :func:`costlib.bill.vector.price_many` for curves) or,
for the break-even formulas, from the price rows of the params file's price book
(:func:`costlib.tables.prices.load_price_book`): no price is typed here.

References
----------
How each hop is priced: :mod:`costlib.bill.plumbing.network` (NAT per gateway-hour and per GB,
interface endpoints per endpoint-AZ-hour and per GB, cross-AZ per GB each way, internet egress
per GB out, ALB per hour and per LCU-hour, API Gateway per request); the prices and their
sources: ``costlib/data/prices/network.csv``. The article: "PrivateLink everywhere you can ...
Remove NAT from the hot path", "Putting your fleet and store in different AZs is a silent tax".
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import Markdown

from costlib.bill.params import Params, with_overrides
from costlib.core.units import HOURS_PER_MONTH
from costlib.lessons import Lesson, start
from costlib.lessons.charts import CATEGORY_COLORS, HEIGHT, WIDTH, case_color, dashed_cost_lines

NETWORK_COLOR = CATEGORY_COLORS["network"]
"""The network category's colour (:data:`costlib.lessons.charts.CATEGORY_COLORS`)."""

CHARGES = ("NAT gateway, by the hour", "NAT gateway, per GB", "PrivateLink endpoints, by the hour",
           "PrivateLink endpoints, per GB", "cross-AZ transfer", "internet egress", "entry point")
"""Who bills a network line item, in the order the lesson explains them."""

CHARGE_COLORS = ("#8c4a06", "#c76b0e", "#2f5a82", "#4c78a8", "#f58518", "#ffbf79", "#bab0ac")
"""One colour per charge of :data:`CHARGES`: NAT in dark oranges, endpoints in the blues of
:data:`costlib.lessons.charts.CASE_COLORS` ("after"), the rest in the network orange's shades."""

ENTRIES = {"alb": "Application Load Balancer", "api_gateway_http": "API Gateway HTTP API",
           "api_gateway_rest": "API Gateway REST API"}
"""The entry points the lesson compares: ``network.entry`` value -> words."""

PATH_WORDS = {"nat": "a NAT gateway", "privatelink": "a PrivateLink interface endpoint",
              "vpc": "inside the VPC", "gateway": "a free gateway endpoint",
              "internet": "the internet"}


def _usd(x: float) -> str:
    return f"{x:,.2f} USD"


# --------------------------------------------------------------------------------------------
# the block and its prices


def network_block(params: Params) -> pd.DataFrame:
    """The ``network:`` block as the estimate reads it (defaults filled in): one row per key."""
    block = pd.json_normalize(params.network.model_dump(mode="json"), sep=".").T
    block.columns = ["value"]
    block.index.name = "network."
    block["value"] = ["not set (default)" if v is None or (isinstance(v, float) and np.isnan(v))
                      else str(v) for v in block["value"]]
    return block


@dataclass(frozen=True)
class NetworkPrices:
    """The unit prices of the network for one params file (region, date, overrides applied).

    Attributes
    ----------
    nat_hour : float
        NAT gateway [USD per gateway-hour].
    nat_gb : float
        NAT gateway data processed [USD/GB].
    ipv4_hour : float
        Public IPv4 address [USD per address-hour] (one per NAT gateway, one per ALB node).
    endpoint_hour : float
        Interface endpoint [USD per endpoint per AZ-hour].
    endpoint_gb : float
        Interface endpoint data processed, first tier [USD/GB].
    cross_az_gb : float
        Cross-AZ transfer [USD/GB each direction].
    alb_hour, alb_lcu_hour : float
        ALB [USD/hour], [USD per LCU-hour].
    http_api_1m, rest_api_1m : float
        API Gateway first tier [USD per 1M requests].
    """

    nat_hour: float
    nat_gb: float
    ipv4_hour: float
    endpoint_hour: float
    endpoint_gb: float
    cross_az_gb: float
    alb_hour: float
    alb_lcu_hour: float
    http_api_1m: float
    rest_api_1m: float


def network_prices(params: Params) -> NetworkPrices:
    """The network's unit prices from the params file's price book (its region, date, overrides).

    Source: ``costlib/data/prices/network.csv`` (each row with its source and as-of date).
    """
    from costlib.bill.params import params_base_dir
    from costlib.tables.prices import load_price_book

    base_dir = params_base_dir(params.source_path) if params.source_path is not None else None
    book = load_price_book(params.prices.model_copy(update={"region": params.region}),
                           base_dir=base_dir)
    return NetworkPrices(
        nat_hour=book.usd("nat_gateway", "nat_gateway", "hour"),
        nat_gb=book.usd("nat_gateway", "nat_gateway", "data_processed"),
        ipv4_hour=book.usd("public_ipv4", "public_ipv4_address", "hour"),
        endpoint_hour=book.usd("vpc_endpoint", "interface_endpoint", "hour"),
        endpoint_gb=float(book.tiered_usd("vpc_endpoint", "interface_endpoint", "data_processed",
                                          1.0)),
        cross_az_gb=book.usd("data_transfer", "cross_az", "each_direction"),
        alb_hour=book.usd("alb", "application_load_balancer", "hour"),
        alb_lcu_hour=book.usd("alb", "application_load_balancer", "lcu_hour"),
        http_api_1m=float(book.tiered_usd("api_gateway", "http_api", "requests", 1.0)),
        rest_api_1m=float(book.tiered_usd("api_gateway", "rest_api", "requests", 1.0)),
    )


def prices_table(prices: NetworkPrices) -> pd.DataFrame:
    """The unit prices of :class:`NetworkPrices` as a table: charge, USD, unit."""
    rows = [("NAT gateway", prices.nat_hour, "USD per gateway-hour"),
            ("NAT gateway data processed", prices.nat_gb, "USD per GB"),
            ("public IPv4 address", prices.ipv4_hour, "USD per address-hour"),
            ("interface endpoint", prices.endpoint_hour, "USD per endpoint per AZ-hour"),
            ("interface endpoint data processed (first tier)", prices.endpoint_gb, "USD per GB"),
            ("cross-AZ transfer", prices.cross_az_gb, "USD per GB, each direction"),
            ("Application Load Balancer", prices.alb_hour, "USD per hour"),
            ("ALB capacity unit", prices.alb_lcu_hour, "USD per LCU-hour"),
            ("API Gateway HTTP API (first tier)", prices.http_api_1m, "USD per 1M requests"),
            ("API Gateway REST API (first tier)", prices.rest_api_1m, "USD per 1M requests")]
    return pd.DataFrame(rows, columns=["charge", "usd", "unit"]).set_index("charge")


def network_status(params: Params) -> Markdown:
    """The network block in words: entry, AZs, how AWS APIs are reached, which hops exist."""
    n = params.network
    entry = ENTRIES.get(n.entry, "nothing priced here (entry: none)")
    path = ("NAT gateways, one per AZ" if n.aws_path == "nat"
            else "PrivateLink interface endpoints, one per service per AZ")
    text = (f"In this params file clients reach the application through **{entry}**; the tasks "
            f"span **{n.availability_zones} AZs** and reach AWS service APIs (Bedrock, CloudWatch "
            f"Logs, KMS, OpenSearch Serverless) through **{path}** (`network.aws_path: "
            f"{n.aws_path}`); DynamoDB through {PATH_WORDS[n.dynamodb_path]}.")
    if params.retrieval.enabled:
        text += (" Retrieval is on, so every request also makes an embedding call and a "
                 "vector-store call.")
    else:
        text += (" Retrieval is off (`retrieval.enabled: false`), so there is no embedding or "
                 "vector-store hop; `params/rag_plumbing.yaml` has them.")
    return Markdown(text)


# --------------------------------------------------------------------------------------------
# hops and their bytes


def hops_table(params: Params) -> pd.DataFrame:
    """Every hop of one request, per option, with its bytes and monthly GB.

    The hops are those the estimate prices (:func:`costlib.bill.plumbing.network.request_hops`,
    prompt including the retrieved context, log bytes from the observability block).

    Returns
    -------
    pandas.DataFrame
        ``option``, ``hop``, ``path`` (nat, privatelink, vpc, gateway, internet), ``share`` of
        the option's requests taking the hop [0-1], ``kb_out`` and ``kb_back`` per request
        [kB, 1 kB = 1,000 bytes], ``gb_per_month`` both ways [GB/month] = (out + back) x share x
        requests per month / 2**30 (:func:`costlib.formulas.network.gb_per_month`, GB as AWS
        meters them).
    """
    from costlib.bill.context import Context
    from costlib.bill.params import params_base_dir
    from costlib.bill.plumbing import extra_input_tokens
    from costlib.bill.plumbing.network import request_hops
    from costlib.bill.plumbing.observability import request_log_bytes
    from costlib.bill.traffic import workload_family
    from costlib.core.paths import PARAMS_DIR
    from costlib.formulas.network import gb_per_month

    base_dir = params_base_dir(params.source_path) if params.source_path is not None else PARAMS_DIR
    w = params.workload
    priced = params.model_copy(update={"workload": w.model_copy(
        update={"in_tokens": w.in_tokens + extra_input_tokens(params.plumbing)})})
    ctx = Context(params=priced, traffic=workload_family(priced.workload, base_dir))
    reqs = float(np.asarray(ctx.requests_per_month).reshape(-1)[0])
    log_bytes = request_log_bytes(params.observability, ctx)
    rows = []
    for name, option in params.options.items():
        for hop in request_hops(params.network, ctx, option, params.retrieval, log_bytes):
            share = float(np.asarray(hop.share).reshape(-1)[0])
            out_b, back_b = float(np.asarray(hop.bytes_out)), float(np.asarray(hop.bytes_back))
            rows.append({"option": name, "hop": hop.name, "path": hop.path, "share": share,
                         "kb_out": out_b / 1e3, "kb_back": back_b / 1e3,
                         "gb_per_month": float(gb_per_month(out_b + back_b, share * reqs))})
    return pd.DataFrame(rows)


def hops_chart(hops: pd.DataFrame) -> alt.Chart:
    """Bars: GB a month each hop moves (both ways), one panel row per option, network colour."""
    data = hops.assign(label=hops["hop"] + " (" + hops["path"] + ")")
    return (
        alt.Chart(data)
        .mark_bar(color=NETWORK_COLOR)
        .encode(
            x=alt.X("gb_per_month:Q", title="data moved per month, both ways (gb)"),
            y=alt.Y("label:N", title=None, sort="-x", axis=alt.Axis(labelLimit=360)),
            row=alt.Row("option:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
            tooltip=["option", "hop", "path", alt.Tooltip("kb_out:Q", format=",.1f"),
                     alt.Tooltip("kb_back:Q", format=",.1f"),
                     alt.Tooltip("gb_per_month:Q", format=",.1f")],
        )
        .properties(width=WIDTH - 200, height=alt.Step(18))
        .resolve_scale(y="independent")
    )


def hops_note(hops: pd.DataFrame) -> Markdown:
    """The largest hop by bytes, and how many kB a request moves in all (first option)."""
    first = hops[hops["option"] == hops["option"].iloc[0]]
    top = first.loc[first["gb_per_month"].idxmax()]
    total_kb = float(((first["kb_out"] + first["kb_back"]) * first["share"]).sum())
    return Markdown(
        f"For {top['option']}, one request moves about **{total_kb:,.0f} kB** over all its hops; "
        f"the largest is *{top['hop']}* ({top['kb_out']:,.1f} kB out, {top['kb_back']:,.1f} kB "
        f"back, {top['gb_per_month']:,.0f} GB a month), through {PATH_WORDS[top['path']]}.")


# --------------------------------------------------------------------------------------------
# who bills the network


def charge_of(item: str) -> str:
    """Which charge of :data:`CHARGES` a network line item's label belongs to."""
    if item.endswith("NAT gateway data processed"):
        return CHARGES[1]
    if item.startswith("NAT gateway"):
        return CHARGES[0]
    if item.endswith("interface endpoint data processed"):
        return CHARGES[3]
    if item.startswith("interface endpoints"):
        return CHARGES[2]
    if "cross-AZ" in item:
        return CHARGES[4]
    if "to the internet" in item:
        return CHARGES[5]
    return CHARGES[6]


def network_charges(result) -> pd.DataFrame:
    """Monthly USD of the network per option and charge (every charge listed, zero if absent).

    Returns
    -------
    pandas.DataFrame
        ``option``, ``charge``, ``monthly_usd`` [USD/month].
    """
    frame = result.to_frame()
    net = frame[frame["category"] == "network"]
    net = net.assign(charge=net["item"].map(charge_of))
    sums = net.groupby(["option", "charge"])["monthly_usd"].sum()
    options = list(dict.fromkeys(frame["option"]))
    index = pd.MultiIndex.from_product([options, list(CHARGES)], names=["option", "charge"])
    return sums.reindex(index, fill_value=0.0).reset_index()


def charges_chart(charges: pd.DataFrame) -> alt.Chart:
    """Stacked bars: each option's monthly network bill split by who bills it."""
    data = charges.assign(order=charges["charge"].map({c: i for i, c in enumerate(CHARGES)}))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("monthly_usd:Q", title="network cost per month (usd)"),
            y=alt.Y("option:N", title=None),
            color=alt.Color("charge:N", title="billed by", sort=list(CHARGES),
                            scale=alt.Scale(domain=list(CHARGES), range=list(CHARGE_COLORS))),
            order=alt.Order("order:Q"),
            tooltip=["option", "charge", alt.Tooltip("monthly_usd:Q", format=",.2f")],
        )
        .properties(width=WIDTH, height=alt.Step(36))
    )


def charges_table(charges: pd.DataFrame) -> pd.DataFrame:
    """Monthly USD per charge (rows) and option (columns), with the network total."""
    table = charges.pivot(index="charge", columns="option", values="monthly_usd")
    table = table.reindex(list(CHARGES))
    table.loc["network total"] = table.sum()
    return table.round(2)


def charges_note(result, charges: pd.DataFrame) -> Markdown:
    """Per option: the network total, its share of the bill, and the largest charge."""
    parts = []
    for o in result.options:
        rows = charges[charges["option"] == o.name]
        total = float(rows["monthly_usd"].sum())
        top = rows.loc[rows["monthly_usd"].idxmax()]
        fixed = float(rows[rows["charge"].isin([CHARGES[0], CHARGES[2], CHARGES[6]])
                           ]["monthly_usd"].sum())
        parts.append(f"- **{o.name}**: the network costs {_usd(total)} a month, "
                     f"{100 * total / o.monthly_usd:.1f} % of its bill; the largest charge is "
                     f"{top['charge']} ({_usd(top['monthly_usd'])}), and "
                     f"{_usd(fixed)} of the network is billed by the hour or by the request "
                     "whatever the bytes.")
    return Markdown("\n".join(parts))


# --------------------------------------------------------------------------------------------
# NAT against PrivateLink


def _network_sums(estimate) -> dict:
    frame = estimate.to_frame()
    net = frame[frame["category"] == "network"]
    net = net.assign(charge=net["item"].map(charge_of))
    return {o: g.groupby("charge")["monthly_usd"].sum().to_dict() for o, g in net.groupby("option")}


def nat_vs_privatelink(params: Params) -> pd.DataFrame:
    """Each option's network priced with ``network.aws_path`` = ``nat`` and = ``privatelink``.

    Returns
    -------
    pandas.DataFrame
        Index ``option``; ``nat_hourly_usd`` (gateways and their public IPv4 addresses),
        ``nat_per_gb_usd``, ``network_nat_usd``, ``endpoints_hourly_usd``, ``endpoints_per_gb_usd``,
        ``network_privatelink_usd``, ``saving_usd`` (NAT minus PrivateLink network) and
        ``total_nat_usd``, ``total_privatelink_usd`` (the whole bill) [USD/month].
    """
    from costlib.whatif.compare import compare

    nat = compare(params, {"network.aws_path": "nat"})
    pl = compare(params, {"network.aws_path": "privatelink"}, before=nat.before)
    a, b = _network_sums(nat.after), _network_sums(pl.after)
    totals_a = {o.name: o.monthly_usd for o in nat.after.options}
    totals_b = {o.name: o.monthly_usd for o in pl.after.options}
    rows = []
    for o in params.options:
        na, pb = a.get(o, {}), b.get(o, {})
        rows.append({"option": o, "nat_hourly_usd": na.get(CHARGES[0], 0.0),
                     "nat_per_gb_usd": na.get(CHARGES[1], 0.0),
                     "network_nat_usd": sum(na.values()),
                     "endpoints_hourly_usd": pb.get(CHARGES[2], 0.0),
                     "endpoints_per_gb_usd": pb.get(CHARGES[3], 0.0),
                     "network_privatelink_usd": sum(pb.values()),
                     "saving_usd": sum(na.values()) - sum(pb.values()),
                     "total_nat_usd": totals_a[o], "total_privatelink_usd": totals_b[o]})
    return pd.DataFrame(rows).set_index("option")


def nat_chart(table: pd.DataFrame) -> alt.Chart:
    """Bars: each option's monthly network bill under NAT and under PrivateLink."""
    cases = ("nat", "privatelink")
    data = pd.concat([
        pd.DataFrame({"option": table.index, "path": "nat",
                      "monthly_usd": table["network_nat_usd"].to_numpy()}),
        pd.DataFrame({"option": table.index, "path": "privatelink",
                      "monthly_usd": table["network_privatelink_usd"].to_numpy()}),
    ], ignore_index=True)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("option:N", title=None),
            yOffset=alt.YOffset("path:N", sort=list(cases)),
            x=alt.X("monthly_usd:Q", title="network cost per month (usd)"),
            color=case_color("path", cases, "aws apis reached via"),
            tooltip=["option", "path", alt.Tooltip("monthly_usd:Q", format=",.2f")],
        )
        .properties(width=WIDTH, height=alt.Step(22))
    )


def nat_note(params: Params, table: pd.DataFrame) -> Markdown:
    """What NAT costs a month and what PrivateLink saves, per option, for this params file."""
    p = network_prices(params)
    n = params.network
    azs = n.availability_zones
    gateways = azs if n.nat_gateways is None else n.nat_gateways
    now = "uses NAT" if n.aws_path == "nat" else "uses PrivateLink already"
    lines = [f"This params file {now} (`network.aws_path: {n.aws_path}`). Under NAT, "
             f"{gateways} gateways cost {gateways} × {HOURS_PER_MONTH:g} h × "
             f"({p.nat_hour:g} + {p.ipv4_hour:g} for the public IPv4 address) = "
             f"**{_usd(gateways * HOURS_PER_MONTH * (p.nat_hour + p.ipv4_hour))} a month** before "
             f"a byte moves, and {p.nat_gb:g} USD per GB processed. PrivateLink bills "
             f"{p.endpoint_hour:g} USD per endpoint per AZ-hour "
             f"({_usd(azs * HOURS_PER_MONTH * p.endpoint_hour)} a month per service over "
             f"{azs} AZs) and {p.endpoint_gb:g} USD per GB."]
    for o, r in table.iterrows():
        pct = 100 * r["saving_usd"] / r["total_nat_usd"] if r["total_nat_usd"] else 0.0
        verb = "saves" if r["saving_usd"] >= 0 else "costs"
        lines.append(f"- **{o}**: NAT {_usd(r['nat_hourly_usd'])} by the hour + "
                     f"{_usd(r['nat_per_gb_usd'])} per GB; the network is "
                     f"{_usd(r['network_nat_usd'])} under NAT and "
                     f"{_usd(r['network_privatelink_usd'])} under PrivateLink: PrivateLink "
                     f"{verb} {_usd(abs(r['saving_usd']))} a month "
                     f"({abs(pct):.1f} % of the option's bill).")
    return Markdown("\n".join(lines))


def _traffic_inputs(params: Params, factors) -> dict:
    """``price_many`` inputs scaling every rate of the workload by ``factors`` (shape kept)."""
    w = params.workload
    f = np.asarray(factors, dtype=float)
    out = {"workload.avg_rps": w.avg_rps * f}
    if w.p95_rps is not None:
        out["workload.p95_rps"] = w.p95_rps * f
    if w.traffic is not None:
        for knob in ("peak_rps", "base_rps"):
            if getattr(w.traffic, knob) is not None:
                out[f"workload.traffic.{knob}"] = getattr(w.traffic, knob) * f
    return out


def _first_managed(params: Params) -> str:
    """The first managed (Bedrock) option, else the first that is not a router."""
    for name, opt in params.options.items():
        if opt.kind in ("managed_api", "provisioned"):
            return name
    return _first_plain(params)


def _first_plain(params: Params) -> str:
    """The first option that can be priced alone (not a router, which needs its routes)."""
    for name, opt in params.options.items():
        if opt.kind != "router":
            return name
    return next(iter(params.options))


def crossover_curve(params: Params, factors=None) -> pd.DataFrame:
    """Monthly NAT or PrivateLink charges against the GB a month sent through them.

    The workload's traffic (every rate, its shape kept) is scaled by ``factors`` and the first
    managed option is priced with each ``network.aws_path`` in one
    :func:`costlib.bill.vector.price_many` call per path.

    Returns
    -------
    pandas.DataFrame
        ``factor`` (traffic multiplier [-]), ``path``, ``gb_per_month`` through NAT or the
        endpoints [GB/month], ``monthly_usd`` of those charges (hourly + per GB) [USD/month].
    """
    from costlib.bill.vector import price_many
    from costlib.whatif.compare import _only

    factors = np.geomspace(0.05, 20, 25) if factors is None else np.asarray(factors, float)
    option = _first_managed(params)
    rows = []
    for path in ("nat", "privatelink"):
        variant = _only(with_overrides(params, {"network.aws_path": path}), [option])
        bill = price_many(variant, _traffic_inputs(params, factors))
        gb = np.zeros(len(factors))
        usd = np.zeros(len(factors))
        for item in bill.options[option]:
            if item.category != "network":
                continue
            charge = charge_of(item.item)
            if charge in CHARGES[:4]:
                usd = usd + item.monthly_usd
                if charge in (CHARGES[1], CHARGES[3]):
                    gb = gb + item.quantity
        rows.append(pd.DataFrame({"factor": factors, "path": path, "gb_per_month": gb,
                                  "monthly_usd": usd}))
    return pd.concat(rows, ignore_index=True)


def crossover_chart(curve: pd.DataFrame) -> alt.Chart:
    """Lines: NAT and PrivateLink charges [USD/month] against the GB a month they carry."""
    cases = ("nat", "privatelink")
    return (
        alt.Chart(curve)
        .mark_line(point=True)
        .encode(
            x=alt.X("gb_per_month:Q", title="data through nat or endpoints per month (gb, log scale)",
                    scale=alt.Scale(type="log")),
            y=alt.Y("monthly_usd:Q", title="nat or endpoint charges per month (usd, log scale)",
                    scale=alt.Scale(type="log")),
            color=case_color("path", cases, "aws apis reached via"),
            tooltip=["path", alt.Tooltip("gb_per_month:Q", format=",.0f"),
                     alt.Tooltip("monthly_usd:Q", format=",.2f")],
        )
        .properties(width=WIDTH, height=HEIGHT)
    )


def crossover_note(params: Params) -> Markdown:
    """Where the two curves of :func:`crossover_chart` cross, from :func:`breakeven_gb`."""
    p = network_prices(params)
    azs = params.network.availability_zones
    services = endpoint_services(params)
    fixed_pl = len(services) * azs * HOURS_PER_MONTH * p.endpoint_hour
    fixed_nat = azs * HOURS_PER_MONTH * (p.nat_hour + p.ipv4_hour)
    g = breakeven_gb(p, azs, len(services), nat_stays=False)
    where = ("so PrivateLink is cheaper at any volume" if g == 0
             else f"so PrivateLink is cheaper above **{g:,.0f} GB a month**")
    return Markdown(
        f"{_first_managed(params)} calls {len(services)} AWS services through them "
        f"({', '.join(services) or 'none'}): {len(services)} endpoints × {azs} AZs cost "
        f"{_usd(fixed_pl)} a month by the hour, against {_usd(fixed_nat)} for the NAT gateways "
        f"and their addresses, and each GB costs {p.endpoint_gb:g} USD through an endpoint "
        f"against {p.nat_gb:g} through NAT, {where}. Each further service adds "
        f"{_usd(azs * HOURS_PER_MONTH * p.endpoint_hour)} a month of endpoint hours.")


def endpoint_services(params: Params, option: str | None = None) -> list[str]:
    """The AWS services one option (default the first managed one) reaches through an interface
    endpoint each under PrivateLink, read from the estimate's endpoint line item."""
    from costlib.whatif.compare import compare

    option = option or _first_managed(params)
    after = compare(params, {"network.aws_path": "privatelink"}).after  # routers need their routes
    (priced,) = [o for o in after.options if o.name == option]
    for li in priced.line_items:
        if li.category == "network" and li.item.startswith("interface endpoints ("):
            return li.item.split("(", 1)[1].split(")", 1)[0].split(", ")
    return []


def breakeven_gb(prices: NetworkPrices, azs: int, services: int = 1,
                 nat_stays: bool = True) -> float:
    """Monthly GB above which PrivateLink endpoints cost less than sending the bytes over NAT.

    Parameters
    ----------
    prices : NetworkPrices
    azs : int
        Availability Zones: one endpoint per service per AZ, one NAT gateway per AZ [-].
    services : int
        Interface endpoints added (one per service) [-].
    nat_stays : bool
        True: the NAT gateways stay for other traffic, so only their per-GB charge is saved.
        False: the endpoints replace the gateways, whose hours and addresses are saved too.

    Returns
    -------
    float
        [GB/month]; 0 when PrivateLink is cheaper at any volume, ``inf`` when never.

    Notes
    -----
    Endpoints cost ``services x azs x 730 h x endpoint_hour + G x endpoint_gb``; NAT costs
    ``G x nat_gb`` (plus ``azs x 730 h x (nat_hour + ipv4_hour)`` when the gateways go too).
    They are equal at ``G* = (endpoint hours - NAT hours saved) / (nat_gb - endpoint_gb)``.
    Prices: ``costlib/data/prices/network.csv``.
    """
    fixed_pl = services * azs * HOURS_PER_MONTH * prices.endpoint_hour
    fixed_nat = 0.0 if nat_stays else azs * HOURS_PER_MONTH * (prices.nat_hour + prices.ipv4_hour)
    per_gb = prices.nat_gb - prices.endpoint_gb
    gap = fixed_pl - fixed_nat
    if gap <= 0:
        return 0.0
    return gap / per_gb if per_gb > 0 else float("inf")


# --------------------------------------------------------------------------------------------
# the entry point


def entry_curve(params: Params, factors=None) -> pd.DataFrame:
    """The entry point's monthly cost against requests a month, for ALB and API Gateway.

    Traffic scaled by ``factors`` (shape kept), first option only, one
    :func:`costlib.bill.vector.price_many` call per entry of :data:`ENTRIES`.

    Returns
    -------
    pandas.DataFrame
        ``entry`` (words), ``requests_per_month`` [requests/month], ``monthly_usd`` of the
        entry's line items [USD/month] (ALB hours, LCU-hours and public IPv4 addresses; or API
        Gateway requests).
    """
    from costlib.bill.vector import price_many
    from costlib.whatif.compare import _only

    factors = np.geomspace(0.01, 30, 25) if factors is None else np.asarray(factors, float)
    option = _first_plain(params)
    rows = []
    for entry, words in ENTRIES.items():
        variant = _only(with_overrides(params, {"network.entry": entry}), [option])
        bill = price_many(variant, _traffic_inputs(params, factors))
        usd = np.zeros(len(factors))
        for item in bill.options[option]:
            if item.category == "network" and charge_of(item.item) == CHARGES[6]:
                usd = usd + item.monthly_usd
        rows.append(pd.DataFrame({"entry": words, "requests_per_month": bill.requests_per_month,
                                  "monthly_usd": usd}))
    return pd.concat(rows, ignore_index=True)


def entry_chart(curve: pd.DataFrame, requests_now: float | None = None) -> alt.LayerChart:
    """Lines: the entry point's monthly cost against requests a month (log-log), network colour
    with one dash pattern per entry; a dotted rule at this params file's requests."""
    return dashed_cost_lines(curve, "requests_per_month", "requests per month (log scale)",
                             "entry point cost per month (usd, log scale)", "entry", "entry point",
                             list(ENTRIES.values()), NETWORK_COLOR, requests_now)


def entry_note(params: Params, result) -> Markdown:
    """The three entry points' monthly cost at this file's traffic, cheapest first."""
    from costlib.whatif.compare import compare

    option = _first_plain(params)
    costs = {}
    for entry, words in ENTRIES.items():
        after = compare(params, {"network.entry": entry}, before=result, options=[option]).after
        costs[words] = sum(li.monthly_usd for li in after.options[0].line_items
                           if li.category == "network" and charge_of(li.item) == CHARGES[6])
    order = sorted(costs, key=costs.get)
    reqs = result.workload["requests_per_month"]
    return Markdown(f"At this file's {reqs / 1e6:,.2f} million requests a month (the dotted line): "
                    + "; ".join(f"{w} {_usd(costs[w])}" for w in order)
                    + f". The cheapest entry point here is the {order[0]}.")


# --------------------------------------------------------------------------------------------
# exercises


def answer_one_more_az(params: Params) -> Markdown:
    """Exercise: what one more AZ adds to each option's network bill under NAT.

    Computed by :func:`costlib.whatif.compare.compare` with ``network.aws_path: nat`` and
    ``availability_zones + 1``; the hand check is one more NAT gateway and its public IPv4
    address (730 h x (NAT hour + IPv4 hour)) plus one more ALB address (730 h x IPv4 hour).
    """
    from costlib.whatif.compare import compare

    azs = params.network.availability_zones
    if azs >= 6:
        return Markdown("This params file already spans 6 AZs, the most the schema allows.")
    base = compare(params, {"network.aws_path": "nat"}).after
    p = network_prices(params)
    hand = HOURS_PER_MONTH * (p.nat_hour + p.ipv4_hour)
    if params.network.entry == "alb":
        hand += HOURS_PER_MONTH * p.ipv4_hour
    lines = [f"From {azs} to {azs + 1} AZs under NAT (hand check: one more gateway and its "
             f"address, {HOURS_PER_MONTH:g} h × ({p.nat_hour:g} + {p.ipv4_hour:g})"
             + (f", and one more ALB address, {HOURS_PER_MONTH:g} h × {p.ipv4_hour:g}"
                if params.network.entry == "alb" else "")
             + f" = {_usd(hand)}):"]
    before = _network_sums(base)
    after = _network_sums(compare(params, {"network.aws_path": "nat",
                                           "network.availability_zones": azs + 1},
                                  before=base).after)
    for o in params.options:
        d = sum(after.get(o, {}).values()) - sum(before.get(o, {}).values())
        lines.append(f"- {o}: the network grows by **{_usd(d)} a month**.")
    return Markdown("\n".join(lines))


def answer_breakeven(params: Params) -> Markdown:
    """Exercise: the monthly GB at which a Bedrock endpoint beats sending the bytes over NAT.

    Two cases (:func:`breakeven_gb`): the gateways stay for other traffic (only NAT's per-GB
    charge is saved), and the endpoints for every service the file calls replace them.
    """
    p = network_prices(params)
    azs = params.network.availability_zones
    services = endpoint_services(params)
    stays = breakeven_gb(p, azs, 1, nat_stays=True)
    goes = breakeven_gb(p, azs, len(services), nat_stays=False)
    hops = hops_table(params)
    bedrock = hops[hops["hop"].str.startswith("app -> Bedrock runtime")]
    bedrock_gb = bedrock.groupby("option")["gb_per_month"].sum()
    goes_text = ("PrivateLink is cheaper at any volume" if goes == 0
                 else f"PrivateLink wins above **{goes:,.0f} GB a month**")
    text = (f"With the NAT gateways kept for other traffic, a Bedrock endpoint costs "
            f"{azs} AZs × {HOURS_PER_MONTH:g} h × {p.endpoint_hour:g} = "
            f"{_usd(azs * HOURS_PER_MONTH * p.endpoint_hour)} a month and saves "
            f"{p.nat_gb:g} − {p.endpoint_gb:g} = {p.nat_gb - p.endpoint_gb:g} USD per GB: it pays "
            f"for itself above **{stays:,.0f} GB a month** of Bedrock traffic. Replacing the "
            f"gateways altogether, for {_first_managed(params)}, with {len(services)} endpoints "
            f"({', '.join(services) or 'none'}) in {azs} AZs: {goes_text}.")
    if not bedrock_gb.empty:
        text += " This file sends " + "; ".join(
            f"{o} {gb:,.0f} GB" for o, gb in bedrock_gb.items()) + " a month to Bedrock."
    return Markdown(text)


def answer_same_az(params: Params) -> Markdown:
    """Exercise: what routing every in-VPC call to the same AZ saves (cross-AZ fractions 0)."""
    from costlib.whatif.compare import compare

    c = compare(params, {"network.model_cross_az_fraction": 0.0,
                         "network.vector_store_cross_az_fraction": 0.0})
    by = c.by_category()
    net = by[by["category"] == "network"].set_index("option")["change_usd"]
    hit = {o: -v for o, v in net.items() if v < -1e-9}
    if not hit:
        return Markdown("No option of this params file sends bytes across an AZ inside the VPC "
                        "(no self-hosted fleet or in-VPC vector store): same-AZ routing saves "
                        "nothing here.")
    p = network_prices(params)
    return Markdown(f"Cross-AZ bytes are billed {p.cross_az_gb:g} USD per GB out of one AZ and "
                    f"again into the other. Routing every call to the same AZ saves "
                    + "; ".join(f"{o} **{_usd(v)} a month**" for o, v in hit.items())
                    + "; the options not listed make no cross-AZ call.")


def answer_api_gateway(params: Params) -> Markdown:
    """Exercise: the requests a month above which an API Gateway HTTP API costs more than an ALB.

    Notes
    -----
    HTTP API: requests / 1e6 x price per 1M. ALB: 730 h x (ALB hour + AZs x IPv4 hour) plus its
    LCU-hours, which grow with traffic; the crossing is read off :func:`entry_curve`'s arrays by
    linear interpolation in log space.
    """
    curve = entry_curve(params, np.geomspace(0.001, 1000, 121))
    alb = curve[curve["entry"] == ENTRIES["alb"]].reset_index(drop=True)
    http = curve[curve["entry"] == ENTRIES["api_gateway_http"]].reset_index(drop=True)
    diff = http["monthly_usd"].to_numpy() - alb["monthly_usd"].to_numpy()
    reqs = alb["requests_per_month"].to_numpy()
    idx = np.flatnonzero(np.diff(np.sign(diff)) > 0)
    if idx.size == 0:
        return Markdown("Over the range tried the HTTP API and the ALB do not cross.")
    i = idx[0]
    lx = np.interp(0.0, [diff[i], diff[i + 1]], np.log([reqs[i], reqs[i + 1]]))
    cross = float(np.exp(lx))
    rps = cross / (HOURS_PER_MONTH * 3600)
    now = params.workload.avg_rps
    side = "below" if rps > now else "above"
    return Markdown(f"The HTTP API costs more than the ALB above about **{cross / 1e6:,.1f} million "
                    f"requests a month** ({rps:,.2f} requests/s on average). This file's "
                    f"{now:g} requests/s is {side} that.")


__all__ = ["Lesson", "start", "NETWORK_COLOR", "CHARGES", "CHARGE_COLORS", "ENTRIES",
           "network_block", "NetworkPrices", "network_prices", "prices_table", "network_status",
           "hops_table", "hops_chart", "hops_note", "charge_of", "network_charges",
           "charges_chart", "charges_table", "charges_note", "nat_vs_privatelink", "nat_chart",
           "nat_note", "crossover_curve", "crossover_chart", "crossover_note", "endpoint_services",
           "breakeven_gb",
           "entry_curve", "entry_chart", "entry_note", "answer_one_more_az", "answer_breakeven",
           "answer_same_az", "answer_api_gateway"]
