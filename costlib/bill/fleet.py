"""The ``fleet:`` block of a self-hosted option (and the schedule of a provisioned one).

Every knob is checked when the params file loads: a knob set for a policy it does not apply to
is an error then. The defaults are those of :class:`costlib.formulas.fleet.Policy`, the plain
form the fleet simulation reads.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from costlib.core.schema import Strict
from costlib.formulas.fleet import Policy

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
