"""Units and calendar conventions shared by every formula.

A month is 730 hours (8,760 hours a year / 12), the convention AWS uses on its pricing pages and
that the AWS Pricing Calculator applies to hourly prices. Money is USD. Data sizes: AWS meters a
GB as 2**30 bytes, so ``BYTES_PER_GB`` is 2**30.
"""

from __future__ import annotations

HOURS_PER_MONTH = 730.0
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_MINUTE = 60.0
MINUTES_PER_HOUR = 60.0
SECONDS_PER_MONTH = HOURS_PER_MONTH * SECONDS_PER_HOUR
DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0
BYTES_PER_GB = 2**30
TOKENS_PER_1K = 1_000.0
TOKENS_PER_1M = 1_000_000.0
DEFAULT_REGION = "us-east-1"
