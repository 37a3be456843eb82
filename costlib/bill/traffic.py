"""The ``workload.traffic:`` block and the traffic profile of a params file's workload.

The block is checked whole when the params file is loaded (a knob set for a shape it does not
apply to is an error then, not while pricing); :func:`workload_profile` turns it into the
:class:`~costlib.formulas.traffic.TrafficProfile` every option is priced over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from pydantic import Field, model_validator

from costlib.core.schema import Strict
from costlib.formulas.traffic import TrafficProfile, build_profile

SHAPE_KNOBS = {
    "spikes_per_day": {"bursty"},
    "spike_minutes": {"bursty"},
    "business_hours": {"diurnal"},
    "ramp_minutes": {"diurnal"},
    "weekend_factor": {"diurnal"},
    "base_rps": {"bursty", "diurnal"},
    "csv": {"csv"},
}
"""Which shapes each knob applies to."""


class TrafficSettings(Strict):
    """The ``workload.traffic:`` block of a params file.

    Attributes
    ----------
    shape : {"steady", "diurnal", "bursty", "csv"}
        The traffic pattern (see :mod:`costlib.formulas.traffic`).
    days : int
        Simulated window [days], >= 1. The window repeats to fill the month. Not used by
        ``csv`` (the file sets the window).
    step_s : int
        Resolution [s], 1..60, and a whole number of steps per day. Not used by ``csv``.
    seed : int
        Seed of the numpy ``Generator`` that places ``bursty`` spikes. Same settings give a
        byte-identical profile.
    peak_rps : float, optional
        Highest per-step rate [requests/s]: the spike height (``bursty``) or the
        business-hours plateau (``diurnal``). For ``steady`` it must equal the average.
    base_rps : float, optional
        Rate between spikes (``bursty``) or outside business hours (``diurnal``)
        [requests/s].
    spikes_per_day : int, optional
        ``bursty``: spikes per day (default 4), one per equal slot of the day.
    spike_minutes : float, optional
        ``bursty``: length of each spike [min] (default 10), rounded to whole steps.
    business_hours : (float, float), optional
        ``diurnal``: opening and closing hour, UTC, in [0, 24] (default 9, 17). Opening after
        closing means the plateau crosses midnight UTC.
    ramp_minutes : float, optional
        ``diurnal``: length of the linear ramp centred on the opening and on the closing hour
        [min] (default 60; 0 = a square step).
    weekend_factor : float, optional
        ``diurnal``: multiplier of the business-hours excess (``peak - base``) on days 5 and
        6 of the window, Saturday and Sunday (default 1 = weekends like weekdays).
    csv : str, optional
        ``csv``: path of the CSV, relative to the params file's folder.
    """

    shape: Literal["steady", "diurnal", "bursty", "csv"] = "steady"
    days: int = Field(7, ge=1, le=366)
    step_s: int = Field(60, ge=1, le=60)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    peak_rps: float | None = Field(None, gt=0)
    base_rps: float | None = Field(None, ge=0)
    spikes_per_day: int | None = Field(None, ge=1)
    spike_minutes: float | None = Field(None, gt=0)
    business_hours: tuple[float, float] | None = None
    ramp_minutes: float | None = Field(None, ge=0)
    weekend_factor: float | None = Field(None, ge=0)
    csv: str | None = None

    @model_validator(mode="after")
    def _knobs_fit_the_shape(self):
        """A knob set for a shape it does not apply to is an error, not silently ignored."""
        for knob, shapes in SHAPE_KNOBS.items():
            if getattr(self, knob) is not None and self.shape not in shapes:
                raise ValueError(f"{knob} applies only to shape {' or '.join(sorted(shapes))}, "
                                 f"not {self.shape!r}; remove it or change shape")
        if self.shape == "csv":
            for knob in ("days", "step_s"):
                if knob in self.model_fields_set:
                    raise ValueError(f"{knob} does not apply to shape 'csv': the file sets the "
                                     f"window and step; remove it")
            if not self.csv:
                raise ValueError("shape 'csv' needs csv: <path of a CSV with columns minute,rps "
                                 "(or timestamp/second, requests)>")
        return self


def workload_profile(workload, base_dir: Path | None = None) -> TrafficProfile:
    """The traffic profile of a workload (``params.workload``).

    Without a ``traffic`` block the profile is ``steady`` when ``p95_rps`` is absent or equal to
    ``avg_rps``, and a ``diurnal`` business-hours plateau matched to both otherwise.
    """
    w = workload
    settings = w.traffic
    if settings is None:
        steady = w.p95_rps is None or abs(w.p95_rps - w.avg_rps) <= 1e-12 * w.avg_rps
        settings = TrafficSettings(shape="steady" if steady else "diurnal")
    return build_profile(settings, avg_rps=w.avg_rps, p95_rps=w.p95_rps, base_dir=base_dir,
                         where="workload.traffic")


def workload_family(workload, base_dir: Path | None = None):
    """:func:`workload_profile` as a :class:`~costlib.formulas.steps.StepFamily`.

    Its rates may be arrays of N scenarios (``avg_rps``, ``p95_rps``, the block's
    ``peak_rps`` / ``base_rps``): N profiles of one pattern.
    """
    from costlib.formulas.steps import build_family

    w = workload
    settings = w.traffic
    if settings is None:
        avg = np.asarray(w.avg_rps, dtype=float)
        p95 = None if w.p95_rps is None else np.asarray(w.p95_rps, dtype=float)
        steady = p95 is None or bool(np.all(np.abs(p95 - avg) <= 1e-12 * avg))
        settings = TrafficSettings(shape="steady" if steady else "diurnal")
    return build_family(settings, avg_rps=w.avg_rps, p95_rps=w.p95_rps, base_dir=base_dir,
                        where="workload.traffic")
