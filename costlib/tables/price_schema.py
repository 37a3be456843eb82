"""The format of a price table row: its columns, units, and how a cell is read and written.

Shared by the price book (:mod:`costlib.tables.prices`), the genai-prices import
(:mod:`costlib.tables.genai`) and the AWS Price List refresh (:mod:`costlib.tables.pricelist`).
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from costlib.core.errors import CostlibError

if TYPE_CHECKING:  # pragma: no cover - types only
    import pandas as pd

#: Known units: unit -> the quantity it is priced per (also the quantity of ``tier_start``).
UNITS: dict[str, str] = {
    "usd_per_1m_tokens": "million tokens",
    "usd_per_hour": "hours",
    "usd_per_model_unit_hour": "model-unit hours",
    "usd_per_gb": "GB",
    "usd_per_gb_month": "GB-months",
    "usd_per_gb_second": "GB-seconds",
    "usd_per_gb_hour": "GB-hours (memory)",
    "usd_per_vcpu_hour": "vCPU-hours",
    "usd_per_acu_hour": "ACU-hours",
    "usd_per_ocu_hour": "OCU-hours",
    "usd_per_lcu_hour": "LCU-hours",
    "usd_per_1m_requests": "million requests",
    "usd_per_1m_request_units": "million request units",
    "usd_per_1k_requests": "thousand requests",
    "usd_per_10k_requests": "ten thousand requests",
    "usd_per_1m_messages": "million messages",
    "usd_per_1m_minutes": "million connection-minutes",
    "usd_per_key_month": "key-months",
    "usd_per_secret_month": "secret-months",
    "usd_per_alarm_month": "alarm metric-months",
    "usd_per_dashboard_month": "dashboard-months",
    "usd_per_iops_month": "provisioned IOPS-months",
    "usd_per_mibps_month": "provisioned MiB/s-months",
    "usd_per_1m_traces": "million traces",
    "usd_per_metric_month": "metric-months",
}

REQUIRED_COLUMNS = ("service", "name", "dimension", "region", "unit", "usd", "source", "as_of", "notes")
OPTIONAL_COLUMNS = ("tier_start", "tier_end", "effective_from", "effective_to")
TABLE_COLUMNS = REQUIRED_COLUMNS[:6] + OPTIONAL_COLUMNS + REQUIRED_COLUMNS[6:]
KEY = ("service", "name", "dimension", "region", "tier_start")
SERIES = ("service", "name", "dimension", "region")

def _parse_date(value: str, where: str, column: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CostlibError(f"{where}: {column} {value!r} is not an ISO date (YYYY-MM-DD)") from None


def _parse_number(value: str, where: str, column: str, *, blank: float | None) -> float | None:
    value = value.strip()
    if not value:
        return blank
    try:
        number = float(value)
    except ValueError:
        raise CostlibError(f"{where}: {column} {value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise CostlibError(f"{where}: {column} must be finite and non-negative, got {value!r}")
    return number


ROW_COLUMNS = TABLE_COLUMNS + ("origin", "line")
"""The columns of a checked row: the table's, plus where it was read (``origin``, ``line``)."""


def _frame(rows: list[dict]) -> pd.DataFrame:
    """Rows (dicts of :data:`ROW_COLUMNS`) as a price frame; pandas is imported here only."""
    import pandas as pd

    columns = list(ROW_COLUMNS)
    df = pd.DataFrame(rows, columns=columns)
    df["usd"] = df["usd"].astype(float)
    df["tier_start"] = df["tier_start"].astype(float)
    df["tier_end"] = df["tier_end"].astype(float)
    return df


def decimal_text(value) -> str:
    """A price as plain decimal text without exponent or trailing zeros (``Decimal('10')`` -> '10')."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text
