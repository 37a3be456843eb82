"""Serverless compute formulas (AWS Lambda).

References
----------
AWS Lambda pricing: duration is billed in GB-seconds, memory [GB] x billed duration [s].
"""

from __future__ import annotations

import numpy as np

from costlib.core.units import MILLISECONDS_PER_SECOND


def lambda_gb_seconds(invocations, memory_gb, ms_per_invocation):
    """Lambda duration billed for a number of invocations [GB-seconds].

    Parameters
    ----------
    invocations : float or array_like
        [invocations].
    memory_gb : float or array_like
        Configured memory [GB].
    ms_per_invocation : float or array_like
        Billed duration of one invocation [ms].

    Returns
    -------
    float or numpy.ndarray
        ``invocations * memory_gb * ms / 1000`` [GB-s].

    References
    ----------
    AWS Lambda pricing ("Duration cost depends on the amount of memory you allocate",
    priced per GB-second).

    Examples
    --------
    1 M invocations of 200 ms at 1 GB: 1e6 * 1 * 200 / 1000 = 200,000 GB-s.

    >>> float(lambda_gb_seconds(1_000_000, 1.0, 200))
    200000.0
    """
    return np.multiply(np.multiply(invocations, memory_gb), ms_per_invocation) / MILLISECONDS_PER_SECOND


__all__ = ["lambda_gb_seconds"]
