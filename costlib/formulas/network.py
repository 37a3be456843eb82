"""Network formulas: bytes per request from tokens, GB per month, cross-AZ GB, ALB capacity.

Pure functions of numbers (scalars or arrays); the network pricer
(:mod:`costlib.bill.plumbing.network`) turns their results into line items. Data sizes follow
:mod:`costlib.core.units`: a GB is 2**30 bytes, text is ``BYTES_PER_TOKEN_TEXT`` bytes a token.

References
----------
ALB LCU dimensions: AWS Elastic Load Balancing pricing,
https://aws.amazon.com/elasticloadbalancing/pricing/ (25 new connections/s, 3,000 active
connections/min, 1 GB/h processed for EC2/IP targets, 1,000 rule evaluations/s).
Cross-AZ transfer: AWS EC2 on-demand pricing, "Data Transfer within the same AWS Region"
(0.01 USD/GB in each direction).
"""

from __future__ import annotations

import numpy as np

from costlib.core.units import BYTES_PER_GB, BYTES_PER_KB, BYTES_PER_TOKEN_TEXT, SECONDS_PER_HOUR

ALB_NEW_CONNECTIONS_PER_LCU = 25.0
"""New connections per second in one ALB LCU (AWS ELB pricing page)."""
ALB_ACTIVE_CONNECTIONS_PER_LCU = 3000.0
"""Active connections (sampled per minute) in one ALB LCU (AWS ELB pricing page)."""
ALB_GB_PER_HOUR_PER_LCU = 1.0
"""Processed GB per hour in one ALB LCU for EC2/IP/container targets (AWS ELB pricing page)."""


def gb_per_month(bytes_per_request, requests_per_month):
    """Data volume of a per-request payload over a month [GB/month].

    Parameters
    ----------
    bytes_per_request : float or array_like
        Bytes per request [bytes].
    requests_per_month : float or array_like
        [requests/month].

    Returns
    -------
    float or numpy.ndarray
        [GB/month], with 1 GB = 2**30 bytes as AWS meters it.

    Notes
    -----
    ``gb = bytes_per_request * requests_per_month / 2**30``

    References
    ----------
    AWS meters data in GB of 2**30 bytes (:mod:`costlib.core.units`).

    Examples
    --------
    1 MiB for each of 1,024 requests is 1 GiB:

    >>> float(gb_per_month(2**20, 1024))
    1.0
    """
    return np.multiply(bytes_per_request, requests_per_month) / BYTES_PER_GB


def cross_az_billed_gb(gb_moved, cross_az_fraction):
    """GB billed for inter-AZ transfer: each crossing byte pays going out and coming in [GB].

    Parameters
    ----------
    gb_moved : float or array_like
        Bytes moved between the two ends, both directions [GB].
    cross_az_fraction : float or array_like
        Share of those bytes that cross an AZ boundary [0-1].

    Returns
    -------
    float or numpy.ndarray
        [GB] to price at the per-GB ``data_transfer/cross_az/each_direction`` rate.

    Notes
    -----
    ``billed_gb = 2 * gb_moved * cross_az_fraction``

    References
    ----------
    AWS EC2 data-transfer pricing ("data transferred between AZs ... charged at $0.01/GB in
    each direction"), as encoded by infracost's ``data_transfer`` resource (x2).

    Examples
    --------
    100 GB moved, half of it across AZs: 2 * 100 * 0.5 = 100 GB billed.

    >>> float(cross_az_billed_gb(100.0, 0.5))
    100.0
    """
    return 2.0 * np.multiply(gb_moved, cross_az_fraction)


def alb_lcu(rps, bytes_per_request, stream_seconds_per_request, connections_per_request=1.0):
    """ALB load-balancer capacity units in use at a request rate [LCU].

    Parameters
    ----------
    rps : float or array_like
        Request rate [requests/s].
    bytes_per_request : float or array_like
        Bytes through the load balancer per request, both directions [bytes].
    stream_seconds_per_request : float
        Time a connection stays open per request [s].
    connections_per_request : float
        New connections per request (1: no keep-alive reuse; an assumption).

    Returns
    -------
    float or numpy.ndarray
        [LCU], the largest of the dimensions below (rule evaluations assumed within the 10
        free rules).

    Notes
    -----
    ``rps * max(c / 25, t / 3000, 3600 * bytes / 2**30 / 1)``: new connections
    per second, active connections (Little's law: rate x duration), GB processed per hour.

    References
    ----------
    AWS Elastic Load Balancing pricing (LCU definition).

    Examples
    --------
    10 rps, 10 s streams, 50,000 bytes each: new connections 10 / 25 = 0.4; active
    10 * 10 / 3000 = 0.0333; bytes 10 * 3600 * 50000 / 2**30 = 1.6764 GB/h -> 1.6764 LCU

    >>> round(float(alb_lcu(10.0, 50_000, 10.0)), 4)
    1.6764
    """
    rps = np.asarray(rps, dtype=float)
    # every dimension is the rate times a per-request figure: take the largest figure first
    new = np.asarray(connections_per_request, dtype=float) / ALB_NEW_CONNECTIONS_PER_LCU
    active = np.asarray(stream_seconds_per_request, dtype=float) / ALB_ACTIVE_CONNECTIONS_PER_LCU
    gb_h = (SECONDS_PER_HOUR * np.asarray(bytes_per_request, dtype=float) / BYTES_PER_GB
            / ALB_GB_PER_HOUR_PER_LCU)
    out = rps * np.maximum(np.maximum(new, active), gb_h)
    return float(out) if out.ndim == 0 else out


def text_bytes(tokens, bytes_per_token=BYTES_PER_TOKEN_TEXT):
    """Bytes of a text of ``tokens`` tokens [bytes].

    Parameters
    ----------
    tokens : float or array_like
        [tokens].
    bytes_per_token : float
        [bytes/token]; default ``BYTES_PER_TOKEN_TEXT`` (4, an approximation for English).

    Returns
    -------
    float or numpy.ndarray
        ``tokens * bytes_per_token`` [bytes].

    Examples
    --------
    A 300-token answer: 300 * 4 = 1200 bytes.

    >>> float(text_bytes(300))
    1200.0
    """
    return np.multiply(tokens, bytes_per_token)


def prompt_bytes(in_tokens, overhead_bytes=0.0, bytes_per_token=BYTES_PER_TOKEN_TEXT):
    """Bytes of a prompt sent to a model endpoint [bytes].

    Parameters
    ----------
    in_tokens : float or array_like
        Prompt tokens [tokens].
    overhead_bytes : float
        Headers and JSON envelope [bytes].
    bytes_per_token : float
        [bytes/token].

    Returns
    -------
    float or numpy.ndarray
        ``in_tokens * bytes_per_token + overhead_bytes`` [bytes].

    Examples
    --------
    2,000 tokens and 1,024 bytes of envelope: 2000 * 4 + 1024 = 9024

    >>> float(prompt_bytes(2000, 1024))
    9024.0
    """
    return np.multiply(in_tokens, bytes_per_token) + overhead_bytes


def streamed_response_bytes(out_tokens, stream_bytes_per_output_token, overhead_bytes=0.0):
    """Bytes of a streamed answer on the wire [bytes].

    Parameters
    ----------
    out_tokens : float or array_like
        Answer tokens [tokens].
    stream_bytes_per_output_token : float
        Bytes per streamed token, event framing included [bytes/token].
    overhead_bytes : float
        Headers and envelope of the response [bytes].

    Returns
    -------
    float or numpy.ndarray
        ``out_tokens * stream_bytes_per_output_token + overhead_bytes`` [bytes].

    Examples
    --------
    500 tokens at 100 bytes each, 1,024 bytes of headers: 50,000 + 1,024 = 51,024

    >>> float(streamed_response_bytes(500, 100.0, 1024))
    51024.0
    """
    return np.multiply(out_tokens, stream_bytes_per_output_token) + overhead_bytes


def vector_json_bytes(dims, json_bytes_per_dim):
    """Bytes of an embedding vector sent as JSON text [bytes].

    Parameters
    ----------
    dims : float or array_like
        Vector dimensions [-].
    json_bytes_per_dim : float
        Characters per component as JSON text (digits, sign, comma) [bytes].

    Returns
    -------
    float or numpy.ndarray
        ``dims * json_bytes_per_dim`` [bytes].

    Examples
    --------
    1,024 dimensions at 10 bytes each: 10,240 bytes.

    >>> float(vector_json_bytes(1024, 10.0))
    10240.0
    """
    return np.multiply(dims, json_bytes_per_dim)


def cached_answer_bytes(out_tokens, item_kb=None, bytes_per_token=BYTES_PER_TOKEN_TEXT):
    """Size of one cached answer in a response cache [bytes].

    Parameters
    ----------
    out_tokens : float
        Answer tokens [tokens], used when ``item_kb`` is not given.
    item_kb : float, optional
        Size given in the params file [KB], 1 KB = 1,024 bytes (as DynamoDB counts item
        sizes).
    bytes_per_token : float
        [bytes/token].

    Returns
    -------
    float
        ``item_kb * 1024`` if given, else ``out_tokens * bytes_per_token`` [bytes].

    References
    ----------
    DynamoDB developer guide, "DynamoDB read and write operations" (item sizes in KB).

    Examples
    --------
    >>> cached_answer_bytes(300), cached_answer_bytes(300, item_kb=2.5)
    (1200.0, 2560.0)
    """
    if item_kb:
        return _num(np.asarray(item_kb, dtype=float) * BYTES_PER_KB)
    return _num(np.asarray(out_tokens, dtype=float) * bytes_per_token)


def _num(x):
    return float(x) if np.ndim(x) == 0 else x


__all__ = ["ALB_NEW_CONNECTIONS_PER_LCU", "ALB_ACTIVE_CONNECTIONS_PER_LCU",
           "ALB_GB_PER_HOUR_PER_LCU", "gb_per_month", "cross_az_billed_gb", "alb_lcu",
           "text_bytes", "prompt_bytes", "streamed_response_bytes", "vector_json_bytes",
           "cached_answer_bytes"]
