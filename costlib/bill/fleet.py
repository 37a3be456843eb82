"""The ``fleet:`` block of a self-hosted option (and the schedule of a provisioned one).

Every knob is checked when the params file loads: a knob set for a policy it does not apply to
is an error then. The defaults are those of :class:`costlib.formulas.fleet.Policy`, the plain
form the fleet simulation reads.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from costlib.core.errors import CostlibError
from costlib.core.schema import Strict
from costlib.core.units import HOURS_PER_MONTH
from costlib.formulas.commitments import MAX_DISCOUNT_PCT, check_capacity_block_days
from costlib.formulas.fleet import Policy, _policy_features
from costlib.formulas.worksheet import instances_to_provision

_DEFAULT = Policy()


class FleetSchedule(Strict):
    """When a ``scheduled`` fleet is on.

    Attributes
    ----------
    hours : (float, float)
        Start and end hour, UTC, in [0, 24]; start after end means the on-period crosses
        midnight (it then belongs to the weekday on which it starts).
    weekdays : list of str
        Days on which an on-period starts: ``mon`` ... ``sun`` (default Monday to Friday).
    prewarm : bool
        True (default): instances are requested ``cold_start_min`` before the start so they
        serve from the start (billed while booting). False: requested at the start, serving
        ``cold_start_min`` later.
    """

    hours: tuple[float, float]
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], min_length=1)
    prewarm: bool = True

    @model_validator(mode="after")
    def _two_different_hours(self):
        h0, h1 = self.hours
        if not (0 <= h0 <= 24 and 0 <= h1 <= 24) or h0 % 24 == h1 % 24:
            raise ValueError(f"hours {[h0, h1]} must be two different UTC hours in [0, 24], "
                             f"e.g. [8, 18]")
        return self


class SpotSettings(Strict):
    """Spot capacity for a self-hosted fleet.

    Attributes
    ----------
    interruptions_per_instance_month : float
        Expected interruptions per instance per 730-hour month [1/(instance*month)]. The AWS
        Spot Instance Advisor publishes a band per instance type and Region (e.g. "<5%" reads
        as <= 0.05); there is no default, take it from the Advisor for your instance.
    in_flight_requests_per_instance : float
        Requests in progress on an instance when it is interrupted, to be recomputed
        [requests]; the effective batch size is a fair reading.
    """

    interruptions_per_instance_month: float = Field(ge=0)
    in_flight_requests_per_instance: float = Field(ge=0)


class FleetPolicy(Strict):
    """The ``fleet:`` block of a self-hosted option.

    Attributes
    ----------
    policy : {"fixed", "autoscaled", "scheduled"}
        ``fixed``: a constant count all month, sized for ``size_for`` of the demand.
        ``autoscaled``: target tracking with delays (see :func:`costlib.formulas.fleet.simulate_fleet`).
        ``scheduled``: a constant count during ``schedule``, zero outside it.
    target_utilisation : float
        ``autoscaled``: instances = ceil(demand instances / target), in (0, 1].
    scale_out_delay_min : float
        ``autoscaled``: from the breach to the instance being requested [min].
    cold_start_min : float
        From request to serving [min]; billed, not serving.
    scale_in_cooldown_min : float
        ``autoscaled``: how long demand must stay lower before instances are removed [min].
    min_instances : int
        Warm minimum (``autoscaled``; also a floor for ``fixed`` and for ``scheduled`` on-hours);
        0 = scale to zero.
    max_instances : int, optional
        Cap on billed instances; demand above it is unserved.
    schedule : FleetSchedule, optional
        ``scheduled``: when the fleet is on (required for that policy only).
    size_for : {"p95", "peak"}
        ``fixed`` and ``scheduled``: the statistic of demand instances (over the window, or
        over the on-hours) the constant count is sized for; p95 is the 95th percentile over
        time of the per-step demand (numpy linear interpolation).
    spot : SpotSettings, optional
        Run on Spot; adds interruption overhead to the result (:func:`costlib.formulas.fleet.spot_overhead`).
    """

    policy: Literal["fixed", "autoscaled", "scheduled"] = "fixed"
    target_utilisation: float = Field(_DEFAULT.target_utilisation, gt=0, le=1)
    scale_out_delay_min: float = Field(_DEFAULT.scale_out_delay_min, ge=0)
    cold_start_min: float = Field(_DEFAULT.cold_start_min, ge=0)
    scale_in_cooldown_min: float = Field(_DEFAULT.scale_in_cooldown_min, ge=0)
    min_instances: int = Field(_DEFAULT.min_instances, ge=0)
    max_instances: int | None = Field(None, ge=1)
    schedule: FleetSchedule | None = None
    size_for: Literal["p95", "peak"] = "p95"
    spot: SpotSettings | None = None

    @model_validator(mode="after")
    def _knobs_fit_the_policy(self):
        """A knob set for a policy it does not apply to is an error, not silently ignored."""
        set_ = self.model_fields_set
        if self.policy == "scheduled" and self.schedule is None:
            raise ValueError("policy 'scheduled' needs schedule: {hours: [start, end] UTC, "
                             "weekdays: [mon, ...]}")
        if self.policy != "scheduled" and "schedule" in set_:
            raise ValueError(f"schedule applies only to policy 'scheduled', not {self.policy!r}; "
                             f"remove it or change policy")
        if self.policy != "autoscaled":
            for knob in ("target_utilisation", "scale_out_delay_min", "scale_in_cooldown_min"):
                if knob in set_:
                    raise ValueError(f"{knob} applies only to policy 'autoscaled', not "
                                     f"{self.policy!r}; remove it or change policy")
        if self.policy == "autoscaled" and "size_for" in set_:
            raise ValueError("size_for applies only to policies 'fixed' and 'scheduled'; "
                             "autoscaled sizes by target_utilisation")
        if self.max_instances is not None and self.max_instances < self.min_instances:
            raise ValueError(f"max_instances {self.max_instances} is below min_instances "
                             f"{self.min_instances}; raise it or lower min_instances")
        return self


# --------------------------------------------------------------------------------------------
# how the instance-hours are bought (issue 14)


def _iso(value):
    """A YAML date (a ``datetime.date``) as ``YYYY-MM-DD`` text; anything else unchanged."""
    return value.isoformat() if hasattr(value, "isoformat") else value


class Commitment(Strict):
    """A commitment under a self-hosted fleet (the ``buying.commitment`` block).

    No per-instance Savings Plan or Reserved Instance rate for a GPU instance could be sourced
    (see ``costlib/data/README.md``): for those kinds the committed rate is a stated input,
    ``discount_pct`` off the On-Demand rate (at most the AWS maximum for the kind,
    :data:`costlib.formulas.commitments.MAX_DISCOUNT_PCT`) or ``usd_per_instance_hour``.
    Capacity Block rates come from ``ec2_commitments.csv`` unless given.

    Attributes
    ----------
    kind : {"compute_savings_plan", "ec2_instance_savings_plan", "reserved_instance", "capacity_block"}
        What is bought.
    term_years : {1, 3}, optional
        Savings Plan or RI term (reported; the rate is the stated one). Not for capacity_block.
    payment : {"no_upfront", "partial_upfront", "all_upfront"}
        Payment option (reported; the stated rate is the effective hourly rate, any upfront
        part spread over the term; the cost of money paid up front is not modelled).
    discount_pct : float, optional
        Stated discount off On-Demand [%].
    usd_per_instance_hour : float, optional
        Stated effective committed rate [USD/instance-hour] (instead of ``discount_pct``).
    instances : int or "optimal"
        Committed instances; ``optimal`` (default): the cheapest count for the fleet's demand
        curve (:func:`costlib.formulas.commitments.cheapest_commitment`). Sized for each
        scenario priced: under ``costlib uncertainty`` that is hindsight, a count chosen
        knowing each draw's traffic; give a number for a commitment made before it is known.
    days : int, optional
        ``capacity_block``: block duration [days], 1-14 or 7-day steps to 182.
    source, as_of : str, optional
        Where the stated rate comes from and when (shown with the line item).
    """

    kind: Literal["compute_savings_plan", "ec2_instance_savings_plan", "reserved_instance",
                  "capacity_block"]
    term_years: Literal[1, 3] | None = None
    payment: Literal["no_upfront", "partial_upfront", "all_upfront"] = "no_upfront"
    discount_pct: float | None = Field(None, ge=0, lt=100)
    usd_per_instance_hour: float | None = Field(None, ge=0)
    instances: int | Literal["optimal"] = "optimal"
    days: int | None = Field(None, ge=1)
    source: str | None = None
    as_of: str | None = None

    @field_validator("as_of", mode="before")
    @classmethod
    def _date_as_text(cls, value):
        return _iso(value)

    @model_validator(mode="after")
    def _rate_fits_the_kind(self):
        if isinstance(self.instances, int) and self.instances < 0:
            raise ValueError(f"instances {self.instances} must be >= 0 or 'optimal'")
        if self.discount_pct is not None and self.usd_per_instance_hour is not None:
            raise ValueError("give discount_pct or usd_per_instance_hour, not both")
        if self.kind == "capacity_block":
            if self.days is None:
                raise ValueError("kind capacity_block needs days (1-14, or 21, 28, ... 182)")
            try:
                check_capacity_block_days(self.days, "days")
            except CostlibError as exc:
                raise ValueError(exc.message) from None
            for knob in ("term_years", "discount_pct"):
                if getattr(self, knob) is not None:
                    raise ValueError(f"{knob} does not apply to a capacity_block (billed up "
                                     f"front per block; Savings Plan and RI discounts do not "
                                     f"apply); remove it")
            return self
        if self.days is not None:
            raise ValueError(f"days applies only to kind capacity_block, not {self.kind!r}")
        if self.term_years is None:
            raise ValueError(f"kind {self.kind} needs term_years: 1 or 3")
        if self.discount_pct is None and self.usd_per_instance_hour is None:
            raise ValueError(f"kind {self.kind}: give discount_pct (percent off On-Demand, at "
                             f"most {MAX_DISCOUNT_PCT[self.kind]:g}) or usd_per_instance_hour: "
                             f"no Savings Plan or RI rate for GPU instances is in the tables")
        if self.discount_pct is not None and self.discount_pct > MAX_DISCOUNT_PCT[self.kind]:
            raise ValueError(f"discount_pct {self.discount_pct:g} is above the {self.kind} "
                             f"maximum AWS advertises, {MAX_DISCOUNT_PCT[self.kind]:g}%")
        return self


class SpotBuying(Strict):
    """Spot for the instance-hours above the commitment (the ``buying.spot`` block).

    Attributes
    ----------
    share : float
        Share of the instance-hours above the commitment asked of Spot [0-1] (default 1).
    discount_pct : float
        Spot price below On-Demand [%]; a stated assumption (Spot prices float), e.g. the
        Spot Instance Advisor's savings figure for the instance and Region.
    fallback_share : float
        Share of the hours asked of Spot that run on demand instead while Spot capacity is
        unavailable [0-1]; a stated assumption (the Advisor publishes interruption bands, not
        this share).
    source, as_of : str
        Where the two figures come from, and when.
    """

    share: float = Field(1.0, ge=0, le=1)
    discount_pct: float = Field(ge=0, lt=100)
    fallback_share: float = Field(ge=0, le=1)
    source: str = Field(min_length=1)
    as_of: str = Field(min_length=1)

    @field_validator("as_of", mode="before")
    @classmethod
    def _date_as_text(cls, value):
        return _iso(value)


class Buying(Strict):
    """How a self-hosted fleet's instance-hours are bought (the ``buying:`` block).

    Without it everything is On-Demand (or Spot with ``fleet.spot`` and
    ``spot_discount_pct``). With it: ``commitment`` carries the base of the demand curve, the
    hours above it are On-Demand, or partly Spot with on-demand fallback (``spot``).
    """

    commitment: Commitment | None = None
    spot: SpotBuying | None = None


def billed_curve(family, demand_instances, policy, summary):
    """A fleet's demand curve: billed instances at each distinct level and hours at each.

    Parameters
    ----------
    family : costlib.formulas.steps.StepFamily
        The N traffic profiles.
    demand_instances : callable
        ``f(rps, rows)`` as for :func:`costlib.formulas.fleet.fleet_family`.
    policy : FleetPolicy
    summary : costlib.formulas.fleet.FleetSummary
        :func:`~costlib.formulas.fleet.fleet_family` of the same arguments.

    Returns
    -------
    (levels, hours)
        ``levels`` shape (N, K) [instances]; ``hours`` shape (K,) [h per 730-hour month].

    Notes
    -----
    ``fixed``: one level, the count, for 730 h. ``scheduled``: the count while billed, 0 the
    rest. ``autoscaled``: the billed series of :func:`~costlib.formulas.fleet.fleet_family`,
    recomputed at its distinct steps (same arithmetic: ``clip(ceil(D / target), min, max)``).
    """
    n = family.n
    if policy.policy == "fixed":
        return (np.asarray(summary.avg_billed_instances, dtype=float).reshape(n, 1),
                np.array([HOURS_PER_MONTH]))
    feats, _ = _policy_features(family.u, family.step_s, policy, family.start_s_of_week,
                                "fleet")
    values, w = family.distinct(*feats)
    hours = w / float(family.n_steps) * HOURS_PER_MONTH
    if policy.policy == "scheduled":
        peak = np.asarray(summary.peak_billed_instances, dtype=float).reshape(n, 1)
        return peak * values[1][None, :], hours
    cap = np.inf if policy.max_instances is None else float(policy.max_instances)
    x = np.asarray(demand_instances(family.rates(values[1]), slice(0, n)), dtype=float)
    levels = np.clip(instances_to_provision(x / policy.target_utilisation),
                     float(policy.min_instances), cap)
    return levels, hours
