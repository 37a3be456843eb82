"""Self-hosted serving: a fleet of GPU instances on SageMaker, EKS, ECS or plain EC2.

You rent instances by the hour whether they are busy or not. The monthly bill is instance-hours
(shaped by the fleet policy over the traffic profile), the disks and images behind them, the EKS
control plane where there is one, and the team that keeps it running. The effective price per
token is that bill over the tokens actually served: idle capacity and lost batching both show up
there.

Throughput comes, in order of preference, from (1) ``tokens_per_second_per_instance`` and
``batch_size`` given in the option (the article's worksheet inputs), (2) a measured
throughput-vs-concurrency curve (``measured_curve``), or (3) the throughput model of
:mod:`costlib.formulas.throughput`. A ``batch_size`` given in the option always wins over a derived one.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from costlib.bill.context import Context, Price
from costlib.bill.fleet import Buying, FleetPolicy, billed_curve
from costlib.bill.lineitems import (
    Operations,
    OptionOutcome,
    any_nonzero,
    fmt,
    line_item,
    num,
    operations_items,
)
from costlib.bill.plumbing.renamed import reject_renamed
from costlib.core.errors import CostlibError
from costlib.core.schema import Strict
from costlib.core.units import HOURS_PER_MONTH
from costlib.formulas import commitments as cm
from costlib.formulas import worksheet
from costlib.formulas.fleet import demand_tokens_per_s, fleet_family
from costlib.formulas.worksheet import required_instances
from costlib.formulas.tokens import capacity_tokens_per_s

DEFAULT_EBS_GB_PER_INSTANCE = 200.0
"""Root volume plus a local copy of the weights [GB]; an assumption to set per deployment."""
DEFAULT_IMAGE_GB = 15.0
"""Size of an inference-server container image in ECR [GB]; an assumption to set per deployment."""


class MeasuredCurve(Strict):
    """Benchmark result files of your own deployment, one per concurrency level.

    Attributes
    ----------
    format : {"vllm", "genai-perf"}
        vLLM ``benchmark_serving.py --save-result`` JSON, or GenAI-Perf / AIPerf
        ``profile_export_*.json``.
    files : list of str
        Paths relative to the params file.
    """

    format: Literal["vllm", "genai-perf"]
    files: list[str] = Field(min_length=1)


class SelfHostedOption(Strict):
    """A fleet of instances running an inference server.

    Attributes
    ----------
    platform : {"eks", "ecs", "ec2", "sagemaker"}
        Where the fleet runs. ``sagemaker`` is billed at SageMaker real-time hosting prices
        (``ml.`` instances); the others at EC2 prices, plus the EKS control plane for ``eks``.
    instance : str
        Instance type, e.g. ``p4d.24xlarge`` (``ml.`` prefix optional on SageMaker).
    model : str, optional
        Model served (throughput model catalog name); needed when throughput is derived.
    engine : str
        Serving-engine profile of the throughput model (e.g. ``vllm``).
    precision, kv_precision : str
        Weight and KV-cache precision for the throughput model.
    tensor_parallel : int, optional
        Force the tensor-parallel degree (default: the best that fits).
    speculative : dict, optional
        Speculative decoding settings passed to the throughput model.
    batch_size : float, optional
        Sequences an instance holds at p95; always wins over a derived value.
    tokens_per_second_per_instance : float, optional
        Tokens per second one sequence gets on an instance [tokens/s] (worksheet input).
    measured_curve : MeasuredCurve, optional
        Measured throughput-vs-concurrency to size the fleet from (beats the model).
    usd_per_instance_hour : float, optional
        Your own instance-hour price [USD/h]; default: the price table. (Was
        ``instance_hour_cost``.)
    fleet : FleetPolicy
        How the fleet follows traffic (fixed, autoscaled, scheduled; spot).
    spot_discount_pct : float, optional
        With ``fleet.spot``: percent off the on-demand price you expect to pay on Spot.
    buying : Buying, optional
        How the instance-hours are bought: a commitment for the base of the demand curve,
        the rest On-Demand or Spot with on-demand fallback (:class:`costlib.bill.fleet.Buying`).
        Without it, every instance-hour is On-Demand (or Spot, as above).
    ebs_gb_per_instance : float
        gp3 volume per instance [GB].
    image_gb : float
        Container image size stored in ECR [GB].
    eks_cluster_share : float
        Share of one EKS control plane charged to this workload [0-1].
    operations : Operations
        Engineer time per month.
    """

    kind: Literal["self_hosted"]
    platform: Literal["eks", "ecs", "ec2", "sagemaker"] = "eks"
    instance: str
    model: str | None = None
    engine: str = "vllm"
    precision: str = "bf16"
    kv_precision: str | None = None
    tensor_parallel: int | None = Field(None, ge=1)
    speculative: dict | None = None
    batch_size: float | None = Field(None, gt=0)
    tokens_per_second_per_instance: float | None = Field(None, gt=0)
    measured_curve: MeasuredCurve | None = None
    usd_per_instance_hour: float | None = Field(None, ge=0)
    fleet: FleetPolicy = FleetPolicy()
    spot_discount_pct: float | None = Field(None, ge=0, lt=100)
    buying: Buying | None = None
    ebs_gb_per_instance: float = Field(DEFAULT_EBS_GB_PER_INSTANCE, ge=0)
    image_gb: float = Field(DEFAULT_IMAGE_GB, ge=0)
    eks_cluster_share: float = Field(1.0, ge=0, le=1)
    operations: Operations = Operations()

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data):
        return reject_renamed(data, {"instance_hour_cost": "usd_per_instance_hour"})

    @model_validator(mode="after")
    def _spot_needs_a_discount(self):
        if self.buying is not None:
            if self.spot_discount_pct is not None:
                raise ValueError("spot_discount_pct does not combine with buying: give the Spot "
                                 "discount as buying.spot.discount_pct")
            if self.fleet.spot is not None and self.buying.spot is None:
                raise ValueError("fleet.spot is set with buying: give buying.spot (discount_pct, "
                                 "fallback_share, source, as_of) for the Spot hours")
            if self.platform == "sagemaker" and self.buying.commitment is not None:
                raise ValueError("buying.commitment: EC2 Savings Plans, RIs and Capacity Blocks "
                                 "do not cover SageMaker hosting (SageMaker Savings Plans are not "
                                 "modelled); use usd_per_instance_hour for a committed rate")
            if self.platform == "sagemaker" and self.buying.spot is not None:
                raise ValueError("buying.spot: SageMaker real-time hosting has no Spot capacity; "
                                 "remove it or use platform ec2, ecs or eks")
            return self
        if self.fleet.spot is not None and self.spot_discount_pct is None \
                and self.usd_per_instance_hour is None:
            raise ValueError("fleet.spot is set: give spot_discount_pct (percent off on demand) "
                             "or usd_per_instance_hour, since Spot prices float")
        return self


def resolve_throughput(name: str, opt: SelfHostedOption, ctx: Context) -> dict:
    """Per-sequence tokens/s and batch of an option, and how each was obtained.

    Returns a dict with ``tokens_per_second_per_instance``, ``batch_size`` and
    ``throughput_source`` / ``batch_source`` (``params``, ``measured``, ``model``).
    """
    w = ctx.workload
    if opt.tokens_per_second_per_instance is not None and opt.batch_size is not None:
        return {"tokens_per_second_per_instance": opt.tokens_per_second_per_instance,
                "batch_size": opt.batch_size, "throughput_source": "params",
                "batch_source": "params"}
    if opt.tokens_per_second_per_instance is not None:
        raise CostlibError("tokens_per_second_per_instance is given without batch_size; give "
                           "both (worksheet inputs) or neither (derived by the throughput model)")
    if opt.measured_curve is not None:
        from costlib.tables import measured

        curve = measured.load_curve([ctx.base_dir / f for f in opt.measured_curve.files],
                                    opt.measured_curve.format)
        if opt.batch_size is not None:
            point = min(curve, key=lambda p: abs(p.concurrency - opt.batch_size))
        else:
            point = measured.best_point(curve, w.latency_bounds)
        source = "measured"
    else:
        if opt.model is None:
            raise CostlibError("give tokens_per_second_per_instance and batch_size, a "
                               "measured_curve, or a model for the throughput model")
        from costlib.formulas.throughput import serving_point

        kwargs = dict(instance=opt.instance.removeprefix("ml."), precision=opt.precision,
                      kv_precision=opt.kv_precision, in_tokens=w.in_tokens,
                      out_tokens=w.out_tokens, engine=opt.engine, prompt_cv=w.prompt_cv,
                      tensor_parallel=opt.tensor_parallel, speculative=opt.speculative)
        cap = getattr(w, "max_output_tokens", None)
        if cap is not None:
            kwargs["reserved_out_tokens"] = float(cap)
        if opt.batch_size is not None:
            point = serving_point(opt.model, concurrency=float(opt.batch_size), **kwargs)
        else:
            point = serving_point(opt.model, bounds=w.latency_bounds, **kwargs)
        source = "model"
    # with a batch given, the clients beyond what memory holds queue: the instance still serves
    # only its total tokens/s, so the per-sequence rate is that over the batch asked for
    batch = float(opt.batch_size) if opt.batch_size is not None else float(point.concurrency)
    out = {"tokens_per_second_per_instance": point.total_tokens_per_s / batch,
           "batch_size": batch,
           "throughput_source": source,
           "batch_source": "params" if opt.batch_size is not None else source,
           "p95_ttft_ms": getattr(point, "p95_ttft_ms", None)}
    if source == "model":
        out["serving"] = {
            "load": point.load, "concurrency": point.concurrency, "request_rate_rps": point.request_rate_rps,
            "p50_ttft_ms": point.p50_ttft_ms, "p95_ttft_ms": point.p95_ttft_ms,
            "p50_tpot_ms": point.p50_tpot_ms, "p95_tpot_ms": point.p95_tpot_ms,
            "p95_e2e_latency_ms": point.p95_e2e_latency_ms, "max_concurrency_memory": point.max_concurrency_memory,
            "queued": point.queued, "tensor_parallel": point.tensor_parallel, "replicas": point.replicas,
            "limited_by": point.limited_by, "binding": point.binding}
        out["binding"] = point.binding
    elif source == "measured":
        out["binding"] = (f"the measured point at concurrency {point.concurrency} meeting the bounds"
                          if opt.batch_size is None else "the requested batch (nearest measured point)")
    return out


def _instance_price(opt: SelfHostedOption, ctx: Context):
    if opt.platform == "sagemaker":
        name = opt.instance if opt.instance.startswith("ml.") else "ml." + opt.instance
        price = ctx.price("sagemaker", name, "on_demand", opt.usd_per_instance_hour)
    else:
        price = ctx.price("ec2", opt.instance.removeprefix("ml."), "on_demand",
                          opt.usd_per_instance_hour)
    if opt.fleet.spot is not None and opt.usd_per_instance_hour is None and opt.buying is None:
        factor = 1.0 - np.asarray(opt.spot_discount_pct, dtype=float) / 100.0
        price = Price(num(price.usd * factor),
                      f"{price.source} less {fmt(opt.spot_discount_pct)}% (spot)")
    return price


def fleet_floor_instances(fleet: FleetPolicy):
    """Instances a fleet keeps billed in a month without requests [instances], or None for all.

    ``fixed`` and ``scheduled`` fleets keep the count they are sized for on (all month, or
    whenever the schedule is on) whether requests arrive or not: None, the whole fleet is
    floor. An ``autoscaled`` fleet scales down to ``min_instances`` (capped by
    ``max_instances``): that count, all month.

    Examples
    --------
    >>> fleet_floor_instances(FleetPolicy(policy="autoscaled", min_instances=2))
    2.0
    >>> fleet_floor_instances(FleetPolicy(policy="fixed")) is None
    True
    """
    if fleet.policy != "autoscaled":
        return None
    warm = float(fleet.min_instances)
    if fleet.max_instances is not None:
        warm = min(warm, float(fleet.max_instances))
    return warm


def _floor_part(warm, quantity, floor_quantity=None) -> dict:
    """The floor keywords of :func:`~costlib.bill.lineitems.line_item` for a fleet's item.

    ``warm`` None (a fixed or scheduled fleet): the whole item. Otherwise ``floor_quantity``,
    by default that of instance-hours, ``min(warm * 730, quantity)`` [instance-h].
    """
    if warm is None:
        return {"fixed": True}
    if floor_quantity is None:
        floor_quantity = np.minimum(warm * HOURS_PER_MONTH, quantity)
    return {"floor_quantity": floor_quantity}


_KIND_LABEL = {"compute_savings_plan": "Compute Savings Plan",
               "ec2_instance_savings_plan": "EC2 Instance Savings Plan",
               "reserved_instance": "Reserved Instance", "capacity_block": "Capacity Block"}


def capacity_block_price(opt: SelfHostedOption, ctx: Context) -> Price:
    """The Capacity Block rate of the option's instance [USD/instance-hour].

    ``buying.commitment.usd_per_instance_hour`` when given, else the ``ec2 <instance>
    capacity_block`` row of the price tables in force at the params' date.

    Raises
    ------
    CostlibError
        When neither is there, naming the key to set.
    """
    com = opt.buying.commitment
    if com.usd_per_instance_hour is not None:
        src = ", ".join(x for x in ("stated Capacity Block rate", com.source, com.as_of) if x)
        return Price(num(com.usd_per_instance_hour), src)
    instance = opt.instance.removeprefix("ml.")
    try:
        return ctx.price("ec2", instance, "capacity_block")
    except CostlibError as exc:
        raise CostlibError(f"buying.commitment: no Capacity Block rate for {instance} in force "
                           f"at the params' prices date ({exc.message}); give "
                           f"buying.commitment.usd_per_instance_hour with its source and as_of"
                           ) from None


def buying_items(opt: SelfHostedOption, ctx: Context, levels, hours, on_demand: Price, warm):
    """The instance-hour line items of a fleet under ``buying:``, and what they were built from.

    Parameters
    ----------
    levels, hours : numpy.ndarray
        The fleet's demand curve, shapes (N, K) [instances] and (K,) [h]
        (:func:`costlib.bill.fleet.billed_curve`).
    on_demand : Price
        On-Demand instance-hour price.
    warm : float or None
        :func:`fleet_floor_instances` (None: the whole fleet is floor).

    Returns
    -------
    (items, details, replacement)
        Line items (on demand above the commitment, Spot, committed), a details dict
        (``committed_instances``, rates, ``break_even_utilisation`` ...) and the Price of an
        hour on Spot with fallback (or On-Demand) for Spot replacements.

    Notes
    -----
    The hours above the commitment cost ``r_over = s * r_spot + (1 - s) * r_od`` with ``s`` the
    Spot share and ``r_spot`` :func:`~costlib.formulas.commitments.spot_fallback_usd_per_hour`;
    an ``optimal`` commitment is :func:`~costlib.formulas.commitments.cheapest_commitment` at
    ``r_c`` against ``r_over``. A Capacity Block of ``days`` covers
    :func:`~costlib.formulas.commitments.capacity_block_hours_share` of the month.
    """
    b = opt.buying
    r_od = np.asarray(on_demand.usd, dtype=float)
    n = levels.shape[0]
    if b.spot is not None:
        sp = b.spot
        r_spot = np.asarray(cm.spot_fallback_usd_per_hour(r_od, sp.discount_pct,
                                                          sp.fallback_share))
        share = float(sp.share)
        spot_src = (f"{on_demand.source} less {fmt(sp.discount_pct)}% on Spot, "
                    f"{fmt(sp.fallback_share * 100)}% of Spot hours on demand (stated: "
                    f"{sp.source}, {sp.as_of})")
    else:
        r_spot, share, spot_src = r_od, 0.0, on_demand.source
    r_over = share * r_spot + (1.0 - share) * r_od
    com = b.commitment
    cover = 1.0
    if com is None:
        committed, r_c, src_c = np.zeros(n), None, ""
    else:
        if com.kind == "capacity_block":
            block = capacity_block_price(opt, ctx)
            r_c, src_c = np.asarray(block.usd, dtype=float), block.source
            cover = float(cm.capacity_block_hours_share(com.days))
        elif com.usd_per_instance_hour is not None:
            r_c = np.asarray(com.usd_per_instance_hour, dtype=float)
            src_c = ", ".join(x for x in ("stated committed rate", com.source, com.as_of) if x)
        else:
            r_c = np.asarray(cm.committed_usd_per_hour(r_od, com.discount_pct))
            src_c = (f"{on_demand.source} less a stated {fmt(com.discount_pct)}% "
                     + ", ".join(x for x in (com.source, com.as_of) if x)
                     + (" " if com.source or com.as_of else "")
                     + "(no GPU Savings Plan or RI rate is sourced; at most "
                     + f"{cm.MAX_DISCOUNT_PCT[com.kind]:g}% per AWS)")
        if com.instances == "optimal":
            committed = np.asarray(cm.cheapest_commitment(levels, hours, np.broadcast_to(
                r_c, (n,)), np.broadcast_to(r_over, (n,)))[0], dtype=float).reshape(n)
        else:
            committed = np.full(n, float(com.instances))
    over_c = np.asarray(cm.overflow_instance_hours(levels, hours, committed))
    over_0 = np.asarray(cm.overflow_instance_hours(levels, hours, np.zeros(n)))
    over = cover * over_c + (1.0 - cover) * over_0
    od_hours, spot_hours = num(over * (1.0 - share)), num(over * share)
    if warm is None:
        floor_od = floor_spot = None
    else:
        floor_over = (cover * np.maximum(warm - committed, 0.0) + (1.0 - cover) * warm) \
            * HOURS_PER_MONTH
        floor_od, floor_spot = num(floor_over * (1.0 - share)), num(floor_over * share)
    pol = opt.fleet.policy
    items = [line_item("inference", f"{opt.instance} instance-hours on demand "
                       f"({pol}{', above the commitment' if com is not None else ''})",
                       od_hours, "instance-hour", on_demand.usd, on_demand.source,
                       **_floor_part(warm, od_hours, floor_od))]
    if b.spot is not None:
        items.append(line_item("inference", f"{opt.instance} instance-hours on Spot with "
                               f"on-demand fallback ({pol})", spot_hours, "instance-hour",
                               num(r_spot), spot_src, **_floor_part(warm, spot_hours,
                                                                    floor_spot)))
    details = {"on_demand_usd_per_hour": num(r_od), "overflow_usd_per_hour": num(r_over),
               "spot_instance_hours": spot_hours, "on_demand_instance_hours": od_hours,
               "peak_instances": num(levels.max(axis=1)), "committed_instances": num(committed)}
    if com is not None:
        label = _KIND_LABEL[com.kind] + (
            f", {com.days}-day block{'s back to back' if cover >= 1 else ''}"
            if com.kind == "capacity_block" else f", {com.term_years}-year, "
            f"{com.payment.replace('_', ' ')}")
        committed_hours = num(committed * cover * HOURS_PER_MONTH)
        items.append(line_item("inference", f"{opt.instance} committed instance-hours ({label}; "
                               f"paid whether used or not)", committed_hours, "instance-hour",
                               num(r_c), src_c, fixed=True))
        used = cover * np.asarray(cm.used_committed_instance_hours(levels, hours, committed))
        with np.errstate(invalid="ignore", divide="ignore"):
            details.update({
                "commitment_kind": com.kind, "committed_usd_per_hour": num(r_c),
                "committed_instance_hours": committed_hours,
                "committed_utilisation": num(np.where(committed > 0, used / np.where(
                    committed > 0, committed * cover * HOURS_PER_MONTH, 1.0), np.nan)),
                "break_even_utilisation": num(cm.break_even_utilisation(r_c, r_over)),
                "commitment_coverage_of_month": cover})
    return items, details, Price(num(r_spot) if b.spot is not None else on_demand.usd, spot_src)


def price_self_hosted(name: str, opt: SelfHostedOption, ctx: Context) -> OptionOutcome:
    """Line items of a self-hosted fleet for one month."""
    tp = resolve_throughput(name, opt, ctx)
    capacity = num(capacity_tokens_per_s(tp["tokens_per_second_per_instance"], tp["batch_size"]))
    traffic = ctx.traffic
    tpr_col = np.reshape(np.asarray(ctx.tokens_per_request, dtype=float), (-1, 1))
    cap_col = np.reshape(np.asarray(capacity, dtype=float), (-1, 1))

    def demand(rps, rows):
        t = tpr_col if tpr_col.shape[0] == 1 else tpr_col[rows]
        c = cap_col if cap_col.shape[0] == 1 else cap_col[rows]
        return required_instances(demand_tokens_per_s(rps, t), c, 1.0)

    per_rps = required_instances(demand_tokens_per_s(1.0, tpr_col[:, 0]), cap_col[:, 0], 1.0)
    fleet = fleet_family(traffic, demand, opt.fleet, where=f"options.{name}.fleet",
                         instances_per_rps=per_rps)
    hour = _instance_price(opt, ctx)
    instance_hours = fleet.instance_hours_per_month
    # the floor: a fixed or scheduled fleet whole, an autoscaled one its warm minimum
    warm = fleet_floor_instances(opt.fleet)
    buying_details = None
    if opt.buying is None:
        items = [line_item("inference", f"{opt.instance} instance-hours ({opt.fleet.policy})",
                           instance_hours, "instance-hour", hour.usd, hour.source,
                           **_floor_part(warm, instance_hours))]
        replacement = hour
    else:
        levels, hours = billed_curve(traffic, demand, opt.fleet, fleet)
        items, buying_details, replacement = buying_items(opt, ctx, levels, hours, hour, warm)
    if fleet.spot is not None and any_nonzero(fleet.spot.extra_instance_hours_per_month):
        spot_hours = fleet.spot.extra_instance_hours_per_month
        if buying_details is not None:  # only the hours on Spot are interrupted
            with np.errstate(invalid="ignore", divide="ignore"):
                spot_hours = num(np.where(np.asarray(instance_hours) > 0, spot_hours * np.asarray(
                    buying_details["spot_instance_hours"]) / np.where(
                    np.asarray(instance_hours) > 0, instance_hours, 1.0), 0.0))
        # replacements are in proportion to the instance-hours: the warm ones' share is floor
        warm_spot = None if warm is None else num(np.where(
            np.asarray(instance_hours) > 0, spot_hours * np.minimum(warm * HOURS_PER_MONTH,
                                                                   instance_hours)
            / np.where(np.asarray(instance_hours) > 0, instance_hours, 1.0), 0.0))
        items.append(line_item("failures", f"{opt.instance} spot replacements booting",
                               spot_hours, "instance-hour", replacement.usd, replacement.source,
                               **_floor_part(warm, spot_hours, warm_spot)))
    avg_instances = fleet.avg_billed_instances
    if opt.platform != "sagemaker" and any_nonzero(opt.ebs_gb_per_instance):
        p = ctx.price("ebs", "gp3", "storage")
        ebs_gb = opt.ebs_gb_per_instance * avg_instances
        warm_gb = None if warm is None else num(opt.ebs_gb_per_instance
                                                * np.minimum(warm, avg_instances))
        items.append(line_item("inference", "EBS gp3 volumes", ebs_gb, "GB-month", p.usd,
                               p.source, **_floor_part(warm, ebs_gb, warm_gb)))
    if any_nonzero(opt.image_gb):
        p = ctx.price("ecr", "private_repository", "storage")
        items.append(line_item("inference", "ECR image storage", opt.image_gb, "GB-month",
                               p.usd, p.source, fixed=True))
    if opt.platform == "eks" and any_nonzero(opt.eks_cluster_share):
        p = ctx.price("eks", "cluster", "control_plane_hour")
        items.append(line_item("operations", "EKS control plane",
                               HOURS_PER_MONTH * opt.eks_cluster_share, "cluster-hour", p.usd,
                               p.source, fixed=True))
    items.extend(operations_items(opt.operations))
    p95_tps = num(worksheet.tokens_per_second_at_p95(
        traffic.p95_rps, ctx.workload.in_tokens, ctx.workload.out_tokens))
    details = {
        "instances_p95": num(worksheet.instances_to_provision(p95_tps / capacity)),
        "avg_instances": avg_instances,
        "peak_instances": fleet.peak_billed_instances,
        "utilisation": fleet.billed_utilisation,
        "unserved_fraction": fleet.unserved_fraction,
        "cold_starts_per_month": fleet.cold_starts_per_month,
        "tokens_per_second_per_instance": tp["tokens_per_second_per_instance"],
        "batch_size": tp["batch_size"],
        "throughput_source": tp["throughput_source"],
        "batch_source": tp["batch_source"],
    }
    if tp.get("p95_ttft_ms") is not None:
        details["p95_ttft_ms"] = tp["p95_ttft_ms"]
    details["binding"] = tp.get("binding", "the worksheet inputs given in the params file")
    if "serving" in tp:
        details["serving"] = tp["serving"]
    if buying_details is not None:
        details["buying"] = buying_details
    return OptionOutcome(items, details)


__all__ = ["MeasuredCurve", "SelfHostedOption", "resolve_throughput", "fleet_floor_instances",
           "capacity_block_price", "buying_items", "price_self_hosted"]
