"""Security: AWS KMS keys and requests, Secrets Manager.

Baseline architecture (the defaults): one customer-managed KMS key for the application's data
(log group, vector store, buckets) and no per-request envelope encryption by the application
(``encrypted_writes_per_request: 0``). The article's regulated team that "encrypts
everything" writes one or more KMS-encrypted objects per request (a conversation record in an
SSE-KMS bucket, an audit event): without S3 Bucket Keys or data-key caching each object costs a
KMS request (``objects_per_data_key: 1``); with them, one data key serves many objects.

The 20,000 free KMS requests a month and automatic-rotation charges are not modelled.

References
----------
Prices: ``costlib/data/prices/security.csv`` (KMS key-month and requests, Secrets Manager), each
row with its source. S3 Bucket Keys "reduce request traffic from Amazon S3 to AWS KMS" by
reusing a bucket-level key (Amazon S3 user guide, "Reducing the cost of SSE-KMS with Amazon S3
Bucket Keys"); the AWS Encryption SDK's data-key caching reuses a data key for a configurable
number of messages (AWS Encryption SDK developer guide, "Data key caching").
"""

from __future__ import annotations

from pydantic import Field

from costlib.bill.context import Context
import numpy as np

from costlib.bill.lineitems import LineItem, OptionOutcome, any_nonzero, fmt, line_item, num
from costlib.core.schema import Strict
from costlib.core.units import PER_10K
from costlib.formulas.kms import kms_requests_per_month


class SecuritySettings(Strict):
    """The ``security:`` block of a params file.

    Attributes
    ----------
    kms_keys : int
        Customer-managed KMS keys billed to this workload [keys]; assumption: 1.
    encrypted_writes_per_request : float
        Objects encrypted under a KMS key per request (GenerateDataKey / Encrypt)
        [objects/request].
    encrypted_reads_per_request : float
        Objects decrypted per request (Decrypt) [objects/request].
    objects_per_data_key : float
        Objects one KMS request serves [objects/request]: 1 without caching (SSE-KMS without
        Bucket Keys); larger with S3 Bucket Keys or data-key caching -- the lever.
    secrets : int
        Secrets Manager secrets [secrets].
    secret_calls_per_request : float
        GetSecretValue calls per request [calls/request] (0 when cached in the task).
    """

    kms_keys: int = Field(1, ge=0)
    encrypted_writes_per_request: float = Field(0.0, ge=0)
    encrypted_reads_per_request: float = Field(0.0, ge=0)
    objects_per_data_key: float = Field(1.0, ge=1)
    secrets: int = Field(0, ge=0)
    secret_calls_per_request: float = Field(0.0, ge=0)


def uses_kms_api(settings: SecuritySettings) -> bool:
    """Whether the tasks call KMS on the request path (needs a KMS endpoint under PrivateLink)."""
    return bool(np.any(np.asarray(settings.encrypted_writes_per_request
                                  + settings.encrypted_reads_per_request) > 0))


def price_security(settings: SecuritySettings, ctx: Context, option,
                   outcome: OptionOutcome) -> list[LineItem]:
    """Security line items of one option for a month (always at least the key-months)."""
    s = settings
    reqs = ctx.requests_per_month
    p = ctx.price("kms", "customer_managed_key", "key_month")
    items = [line_item("security", "KMS customer-managed keys", s.kms_keys, "key-month", p.usd,
                       p.source, fixed=True)]
    if uses_kms_api(s):
        n = num(kms_requests_per_month(
            reqs, s.encrypted_writes_per_request + s.encrypted_reads_per_request,
            s.objects_per_data_key))
        p = ctx.price("kms", "customer_managed_key", "requests")
        cached = (f", one data key per {fmt(s.objects_per_data_key)} objects"
                  if np.any(np.asarray(s.objects_per_data_key) > 1) else ", no data-key caching")
        items.append(line_item("security", f"KMS requests (encrypted reads/writes{cached})",
                               n / PER_10K, "10k requests", p.usd, p.source))
    if any_nonzero(s.secrets):
        p = ctx.price("secrets_manager", "secret", "secret_month")
        items.append(line_item("security", "Secrets Manager secrets", s.secrets, "secret-month",
                               p.usd, p.source, fixed=True))
    if any_nonzero(s.secret_calls_per_request):
        p = ctx.price("secrets_manager", "secret", "api_calls")
        items.append(line_item("security", "Secrets Manager API calls",
                               reqs * s.secret_calls_per_request / PER_10K, "10k requests", p.usd,
                               p.source))
    return items
