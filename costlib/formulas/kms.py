"""KMS formulas: API requests for envelope encryption.

References
----------
AWS KMS pricing (requests billed per 10,000). S3 Bucket Keys "reduce request traffic from
Amazon S3 to AWS KMS" (Amazon S3 user guide, "Reducing the cost of SSE-KMS with Amazon S3
Bucket Keys"); the AWS Encryption SDK's data-key caching reuses a data key for a
configurable number of messages (AWS Encryption SDK developer guide, "Data key caching").
"""

from __future__ import annotations

import numpy as np


def kms_requests_per_month(requests_per_month, objects_per_request, objects_per_data_key=1.0):
    """KMS API requests for envelope encryption [requests/month].

    Parameters
    ----------
    requests_per_month : float or array_like
        Application requests [requests/month].
    objects_per_request : float or array_like
        Objects encrypted or decrypted per request [objects/request].
    objects_per_data_key : float or array_like
        Objects served per KMS call (1 = no caching) [objects].

    Returns
    -------
    float or numpy.ndarray
        [KMS requests/month].

    Notes
    -----
    ``requests * objects_per_request / objects_per_data_key``

    References
    ----------
    AWS KMS pricing (per 10,000 requests); S3 Bucket Keys and Encryption SDK data-key caching
    (this module's references).

    Examples
    --------
    10 M requests writing 2 objects each, no caching: 20 M KMS requests; with one data key per
    100 objects: 200,000.

    >>> float(kms_requests_per_month(10e6, 2)), float(kms_requests_per_month(10e6, 2, 100))
    (20000000.0, 200000.0)
    """
    return np.divide(np.multiply(requests_per_month, objects_per_request), objects_per_data_key)


__all__ = ["kms_requests_per_month"]
