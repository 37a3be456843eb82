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
HOURS_PER_DAY = 24.0
SECONDS_PER_DAY = HOURS_PER_DAY * SECONDS_PER_HOUR
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
DAYS_PER_MONTH = HOURS_PER_MONTH / HOURS_PER_DAY
MILLISECONDS_PER_SECOND = 1_000.0
BYTES_PER_KB = 1024
"""A KB as AWS uses it for DynamoDB item sizes and Aurora I/O units: 1,024 bytes."""
BYTES_PER_GB = 2**30
"""A GB (GiB) as AWS meters data transfer, storage and logs: 2**30 bytes."""
BYTES_PER_TOKEN_TEXT = 4.0
"""Average bytes of UTF-8 text per token (English, Llama/GPT-style tokenizers). An
approximation, not a fact of any tokenizer: it sizes prompts, answers and chunks in bytes."""
TOKENS_PER_1K = 1_000.0
TOKENS_PER_1M = 1_000_000.0
PER_1M = 1_000_000.0
"""Divisor of prices quoted per million (requests, request units, traces)."""
PER_10K = 10_000.0
"""Divisor of prices quoted per 10,000 requests (KMS, Secrets Manager)."""
DEFAULT_REGION = "us-east-1"
