"""AWS Spot Instance Advisor readings (``costlib/data/spot_advisor.csv``).

One row per (region, instance type, OS): the savings of Spot against On-Demand [%] and the
interruption-frequency band (``<5%``, ``5-10%``, ``10-15%``, ``15-20%``, ``>20%``), with source
and as-of date. The Advisor summarises the month before its date; both figures move month to
month.

References
----------
.. [1] AWS, "Spot Instance Advisor", https://aws.amazon.com/ec2/spot/instance-advisor/, feed
   https://spot-bid-advisor.s3.amazonaws.com/spot-advisor-data.json.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from costlib.core.errors import CostlibError
from costlib.core.names import unknown_name_message
from costlib.core.paths import SPOT_ADVISOR_CSV

BAND_UPPER = {"<5%": 0.05, "5-10%": 0.10, "10-15%": 0.15, "15-20%": 0.20, ">20%": None}
"""Upper end of each interruption band [-]; ``>20%`` has none."""


@dataclass(frozen=True)
class SpotReading:
    """One Advisor reading: ``savings_pct`` [%] and ``band`` for an instance in a region."""

    region: str
    instance: str
    savings_pct: float
    band: str
    source: str
    as_of: str

    @property
    def band_upper(self) -> float | None:
        """Upper end of the interruption band [-], None for ``>20%``."""
        return BAND_UPPER[self.band]


def spot_reading(instance: str, region: str, os: str = "Linux") -> SpotReading:
    """The Advisor reading of ``instance`` in ``region``.

    Raises
    ------
    CostlibError
        When the table has no row for it (listing the instances it has for the region).

    Examples
    --------
    >>> r = spot_reading("p4d.24xlarge", "us-east-1")
    >>> r.savings_pct, r.band, r.as_of
    (67.0, '10-15%', '2025-06-28')
    """
    with open(SPOT_ADVISOR_CSV, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["region"] == region and r["os"] == os]
    hit = [r for r in rows if r["instance_type"] == instance]
    if not hit:
        if not rows:
            raise CostlibError(f"{SPOT_ADVISOR_CSV.name}: no Spot Advisor reading for region "
                               f"{region!r}; give the Spot discount and fallback share")
        raise CostlibError(f"{SPOT_ADVISOR_CSV.name}: "
                           + unknown_name_message("instance", instance,
                                                  [r["instance_type"] for r in rows])
                           + "; give the Spot discount and fallback share")
    r = hit[-1]
    return SpotReading(region, instance, float(r["savings_vs_on_demand_pct"]),
                       r["interruption_band"], r["source"], r["as_of"])


__all__ = ["BAND_UPPER", "SpotReading", "spot_reading"]
