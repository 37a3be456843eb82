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
from costlib.bill.fleet import FleetPolicy
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
    if opt.fleet.spot is not None and opt.usd_per_instance_hour is None:
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
    items = [line_item("inference", f"{opt.instance} instance-hours ({opt.fleet.policy})",
                       instance_hours, "instance-hour", hour.usd, hour.source,
                       **_floor_part(warm, instance_hours))]
    if fleet.spot is not None and any_nonzero(fleet.spot.extra_instance_hours_per_month):
        spot_hours = fleet.spot.extra_instance_hours_per_month
        # replacements are in proportion to the instance-hours: the warm ones' share is floor
        warm_spot = None if warm is None else num(np.where(
            np.asarray(instance_hours) > 0, spot_hours * np.minimum(warm * HOURS_PER_MONTH,
                                                                   instance_hours)
            / np.where(np.asarray(instance_hours) > 0, instance_hours, 1.0), 0.0))
        items.append(line_item("failures", f"{opt.instance} spot replacements booting",
                               spot_hours, "instance-hour", hour.usd, hour.source,
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
    return OptionOutcome(items, details)


__all__ = ["MeasuredCurve", "SelfHostedOption", "resolve_throughput", "fleet_floor_instances",
           "price_self_hosted"]
