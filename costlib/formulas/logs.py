"""Log formulas: bytes logged per request, CloudWatch Logs storage and Logs Insights scans.

Pure functions of numbers (scalars or arrays); :mod:`costlib.bill.plumbing.observability`
prices their results. A month is 730 hours (30.417 days, :mod:`costlib.core.units`).

References
----------
Amazon CloudWatch pricing (https://aws.amazon.com/cloudwatch/pricing/): Logs ingestion per GB,
storage per GB-month, Logs Insights per GB scanned.
"""

from __future__ import annotations

import numpy as np

from costlib.core.units import BYTES_PER_TOKEN_TEXT, DAYS_PER_MONTH

DEFAULT_METADATA_BYTES = 1024.0
"""Structured log line per request without payloads [bytes]; an assumption."""
DEFAULT_BYTES_PER_TOKEN_EVENT = 150.0
"""One token-level trace event (timestamp, ids, token, log-prob) [bytes]; an assumption."""


def log_bytes_per_request(in_tokens, out_tokens, metadata_bytes=DEFAULT_METADATA_BYTES,
                          log_sample_rate=1.0, log_payloads=False, token_level_traces=False,
                          bytes_per_token_event=DEFAULT_BYTES_PER_TOKEN_EVENT,
                          payload_sample_rate=1.0, payload_kept_fraction=1.0, payload_copies=1,
                          bytes_per_token=BYTES_PER_TOKEN_TEXT):
    """Average log bytes ingested per request [bytes].

    Parameters
    ----------
    in_tokens, out_tokens : float or array_like
        Prompt and answer tokens [tokens].
    metadata_bytes : float
        Metadata line [bytes].
    log_sample_rate : float
        Share of requests with a metadata line [0-1].
    log_payloads, token_level_traces : bool
        Whether payloads and per-token events are logged.
    bytes_per_token_event : float
        One token-level event [bytes].
    payload_sample_rate, payload_kept_fraction : float
        Sampling and redaction of payloads and token events [0-1].
    payload_copies : int
        Places writing the same payload [-].
    bytes_per_token : float
        Text bytes per token [bytes].

    Returns
    -------
    float or numpy.ndarray
        [bytes/request].

    Notes
    -----
    ``meta * s_log + s_payload * kept * (copies * payload + traces)`` with
    ``payload = (in + out) * bytes_per_token`` and ``traces = out * bytes_per_token_event``.

    Examples
    --------
    2,000 + 500 tokens, payloads on: 1024 + 2500 * 4 = 11024 bytes; with 500 token events of
    150 bytes: + 75,000 = 86,024; with a 1 % payload sample: 1024 + 0.01 * 85000 = 1874.

    >>> float(log_bytes_per_request(2000, 500, log_payloads=True))
    11024.0
    >>> float(log_bytes_per_request(2000, 500, log_payloads=True, token_level_traces=True))
    86024.0
    >>> float(log_bytes_per_request(2000, 500, log_payloads=True, token_level_traces=True,
    ...                             payload_sample_rate=0.01))
    1874.0
    """
    payload = (np.add(in_tokens, out_tokens) * bytes_per_token * payload_copies
               if log_payloads else 0.0)
    traces = np.multiply(out_tokens, bytes_per_token_event) if token_level_traces else 0.0
    heavy = np.multiply(payload_sample_rate * payload_kept_fraction, np.add(payload, traces))
    return np.multiply(metadata_bytes, log_sample_rate) + heavy


def log_storage_gb_months(ingest_gb_per_month, retention_days, compression_ratio=1.0):
    """Steady-state stored log volume billed per month [GB-month].

    Parameters
    ----------
    ingest_gb_per_month : float or array_like
        Logs ingested [GB/month].
    retention_days : float or array_like
        Retention of the log group [days].
    compression_ratio : float
        Stored (compressed) bytes / ingested bytes [0-1].

    Returns
    -------
    float or numpy.ndarray
        [GB-month].

    Notes
    -----
    ``ingest_gb_per_month / 30.417 * retention_days * compression_ratio`` (a month of 730 h
    is 30.417 days): each day's logs stay ``retention_days``.

    References
    ----------
    Amazon CloudWatch pricing: Logs storage is billed per GB-month archived.

    Examples
    --------
    100 GB a month kept 30 days: 100 / 30.4167 * 30 = 98.63 GB-month

    >>> round(float(log_storage_gb_months(100.0, 30)), 2)
    98.63
    """
    return (np.divide(ingest_gb_per_month, DAYS_PER_MONTH) * np.asarray(retention_days, dtype=float)
            * compression_ratio)


def insights_gb_scanned(ingest_gb_per_month, queries_per_day, days_scanned_per_query):
    """Logs Insights data scanned per month [GB].

    Parameters
    ----------
    ingest_gb_per_month : float or array_like
        Logs ingested [GB/month].
    queries_per_day : float or array_like
        Queries run [1/day].
    days_scanned_per_query : float or array_like
        Days of logs each query scans [days].

    Returns
    -------
    float or numpy.ndarray
        [GB/month].

    Notes
    -----
    ``queries_per_day * 30.417 * (ingest_gb_per_month / 30.417) * days_scanned``
    ``= queries_per_day * ingest_gb_per_month * days_scanned``

    References
    ----------
    Amazon CloudWatch pricing: Logs Insights queries are billed per GB of data scanned.

    Examples
    --------
    100 GB ingested a month, 10 queries a day each scanning a day of logs: 10 * 100 * 1 =
    1,000 GB scanned a month.

    >>> float(insights_gb_scanned(100.0, 10, 1))
    1000.0
    """
    return np.multiply(np.multiply(ingest_gb_per_month, queries_per_day), days_scanned_per_query)


__all__ = ["DEFAULT_METADATA_BYTES", "DEFAULT_BYTES_PER_TOKEN_EVENT", "log_bytes_per_request",
           "log_storage_gb_months", "insights_gb_scanned"]
