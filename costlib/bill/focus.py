"""An estimate as FinOps FOCUS rows, so FinOps tools can load a forecast next to real bills.

We follow **FOCUS version 1.2** (ratified 2025-05-29), the newest version whose column texts we
could read: https://github.com/FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec/tree/v1.2/specification/columns .
Versions 1.3 (2025-12) and 1.4 (2026-06-04) exist; their column changes (the Service vs Host
Provider split, first deprecations) are *not* applied here because we have not verified them.

One row per option x line item. Conventions (stated, not part of the spec):

* **A forecast, not a bill.** Every row is ``ChargeCategory = Usage`` for one month; the
  charge and billing periods are that calendar month (``ChargePeriodStart`` = its first day at
  00:00:00Z, ``ChargePeriodEnd`` = the first day of the next month, exclusive, as the spec
  defines). The month is the month of the date the prices are in force on (``prices.as_of``,
  default today), or the one given (``--month``). Costs are our 730-hour month.
* **Costs.** ``BilledCost = EffectiveCost = ContractedCost`` = the line item's monthly USD (a
  committed hour is billed at the committed rate in the forecast); ``ListCost`` uses the table's list price when a params discount or
  override lowered it (``ListUnitPrice x PricingQuantity``), else equals ``BilledCost``.
* **Commitments.** A self-hosted option bought under a Savings Plan or a Reserved Instance
  (``buying: commitment:``) has a line item of committed instance-hours. It becomes two rows, the
  committed hours the fleet uses (``CommitmentDiscountStatus = Used``) and those it leaves idle
  (``Unused``), split by the commitment's utilisation in the option's details; both carry
  ``PricingCategory = Committed``, ``CommitmentDiscountCategory`` ``Spend`` (a Savings Plan: a
  dollar-per-hour commitment) or ``Usage`` (a Reserved Instance), ``CommitmentDiscountType``
  the AWS product name, and an id and name of ours (a forecast has no commitment ARN). A
  Capacity Block is capacity bought for its span, not a discount on usage: its rows keep the
  ``CommitmentDiscount*`` columns null. Every other row has them null; ``PricingCategory`` is
  ``Standard`` (``Dynamic`` for a Spot line item).
* **Identity.** ``BillingAccountId`` is ``costlib-forecast`` (a forecast has no account) and
  ``BillingAccountName`` the params title. ``ProviderName``, ``PublisherName`` and
  ``InvoiceIssuerName`` are ``Amazon Web Services``; a line item that is not an AWS charge
  (engineer time) says ``Internal (not an AWS charge)`` and ``x_AwsCharge`` false.
* **SKUs.** ``SkuId`` is our price-table key ``service/name/dimension`` and ``SkuPriceId`` that
  key with the region, when the line item's price came from a table row; else null. They are
  costlib keys, not AWS SKU codes.
* **Service.** A line item carries no service code, so :func:`service_of` finds it: first the
  price row the item used (same source and unit price), then the words of the item.
* The spec version travels in the column ``x_FocusVersion`` on every row (a CSV has no place
  for comments) and, when written to a file, in a sidecar ``<file>.metadata.json`` shaped like
  the spec's schema metadata (``FocusVersion``, ``ColumnDefinition``).

Custom columns use the spec's ``x_`` prefix (FOCUS 1.2, Column Handling).
"""

from __future__ import annotations

import math
import re
from datetime import date

from costlib.core.errors import CostlibError

__all__ = ["FOCUS_VERSION", "FOCUS_SPEC_URL", "FOCUS_COLUMNS", "MANDATORY_COLUMNS", "X_COLUMNS",
           "SERVICE_CATEGORIES", "SERVICES", "focus_rows", "focus_metadata", "forecast_month",
           "service_of"]

FOCUS_VERSION = "1.2"
FOCUS_SPEC_URL = ("https://github.com/FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec/tree/v1.2/"
                  "specification/columns")

MANDATORY_COLUMNS = (
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost",
    "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory",
    "ServiceName",
)
"""Columns whose feature level is Mandatory in FOCUS 1.2 (``specification/columns/*.md``)."""

FOCUS_COLUMNS = (
    "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ProviderName", "PublisherName", "InvoiceIssuerName",
    "ServiceName", "ServiceCategory", "ServiceSubcategory", "RegionId", "RegionName",
    "SkuId", "SkuPriceId", "PricingCategory", "PricingQuantity", "PricingUnit",
    "ConsumedQuantity", "ConsumedUnit", "ListUnitPrice", "ContractedUnitPrice",
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
    "CommitmentDiscountId", "CommitmentDiscountType", "CommitmentDiscountCategory",
    "CommitmentDiscountStatus", "CommitmentDiscountName",
)
"""The FOCUS 1.2 columns we write, in order (every mandatory one and the conditional and
recommended ones a forecast can fill)."""

X_COLUMNS = ("x_FocusVersion", "x_Option", "x_OptionKind", "x_Category", "x_Source",
             "x_FloorCost", "x_UsageCost", "x_CostlibUnit", "x_AwsCharge")
"""costlib's custom columns (FOCUS requires the ``x_`` prefix)."""

SERVICE_CATEGORIES = (
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
    "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things",
    "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security",
    "Storage", "Web", "Other",
)
"""Allowed values of ServiceCategory (FOCUS 1.2, servicecategory.md)."""

CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
CHARGE_FREQUENCIES = ("One-Time", "Recurring", "Usage-Based")
PRICING_CATEGORIES = ("Standard", "Dynamic", "Committed", "Other")

AWS = "Amazon Web Services"
INTERNAL = "Internal (not an AWS charge)"

#: price-table service -> (ServiceName, ServiceCategory, ServiceSubcategory); the subcategories
#: are FOCUS 1.2 values under their category (servicesubcategory.md)
SERVICES: dict[str, tuple[str, str, str]] = {
    "bedrock": ("Amazon Bedrock", "AI and Machine Learning", "Generative AI"),
    "sagemaker": ("Amazon SageMaker", "AI and Machine Learning", "Machine Learning"),
    "ec2": ("Amazon Elastic Compute Cloud", "Compute", "Virtual Machines"),
    "ebs": ("Amazon Elastic Block Store", "Storage", "Block Storage"),
    "ecr": ("Amazon Elastic Container Registry", "Compute", "Containers"),
    "eks": ("Amazon Elastic Kubernetes Service", "Compute", "Containers"),
    "fargate": ("AWS Fargate", "Compute", "Containers"),
    "lambda": ("AWS Lambda", "Compute", "Serverless Compute"),
    "nat_gateway": ("Amazon Virtual Private Cloud", "Networking", "Network Connectivity"),
    "public_ipv4": ("Amazon Virtual Private Cloud", "Networking", "Network Connectivity"),
    "vpc_endpoint": ("AWS PrivateLink", "Networking", "Network Connectivity"),
    "data_transfer": ("AWS Data Transfer", "Networking", "Network Connectivity"),
    "alb": ("Elastic Load Balancing", "Networking", "Application Networking"),
    "api_gateway": ("Amazon API Gateway", "Integration", "API Management"),
    "cloudwatch_logs": ("Amazon CloudWatch", "Management and Governance", "Observability"),
    "cloudwatch_metrics": ("Amazon CloudWatch", "Management and Governance", "Observability"),
    "cloudwatch_alarms": ("Amazon CloudWatch", "Management and Governance", "Observability"),
    "cloudwatch_dashboards": ("Amazon CloudWatch", "Management and Governance", "Observability"),
    "xray": ("AWS X-Ray", "Management and Governance", "Observability"),
    "kms": ("AWS Key Management Service", "Security", "Secret Management"),
    "secrets_manager": ("AWS Secrets Manager", "Security", "Secret Management"),
    "opensearch_serverless": ("Amazon OpenSearch Service", "Analytics", "Search"),
    "dynamodb": ("Amazon DynamoDB", "Databases", "NoSQL Databases"),
    "aurora_postgresql": ("Amazon Aurora", "Databases", "Relational Databases"),
    "s3": ("Amazon Simple Storage Service", "Storage", "Object Storage"),
    "internal": ("Engineer time", "Other", "Other (Other)"),
    "other": ("Other (costlib line item)", "Other", "Other (Other)"),
}

#: words of a line item -> service, tried in order when no used price row matches
_WORDS: tuple[tuple[str, str], ...] = (
    (r"engineer time", "internal"),
    (r"NAT gateway", "nat_gateway"),
    (r"public IPv4", "public_ipv4"),
    (r"Application Load Balancer|ALB capacity", "alb"),
    (r"interface endpoint|PrivateLink|VPC endpoint", "vpc_endpoint"),
    (r"cross-AZ|data transfer|inter-region", "data_transfer"),
    (r"API Gateway", "api_gateway"),
    (r"CloudWatch Logs", "cloudwatch_logs"),
    (r"CloudWatch custom metric", "cloudwatch_metrics"),
    (r"CloudWatch alarm", "cloudwatch_alarms"),
    (r"CloudWatch dashboard", "cloudwatch_dashboards"),
    (r"X-Ray", "xray"),
    (r"\bKMS\b", "kms"),
    (r"Secrets Manager", "secrets_manager"),
    (r"OpenSearch", "opensearch_serverless"),
    (r"DynamoDB", "dynamodb"),
    (r"Aurora", "aurora_postgresql"),
    (r"\bS3\b", "s3"),
    (r"Lambda", "lambda"),
    (r"Fargate", "fargate"),
    (r"\bEKS\b", "eks"),
    (r"\bEBS\b", "ebs"),
    (r"\bECR\b", "ecr"),
    (r"\bml\.[a-z0-9]+\.", "sagemaker"),
    (r"instance-hours|retried attempts recomputed", "ec2"),
    (r"tokens|embeddings|model unit|retried attempts billed", "bedrock"),
)

REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-2": "US West (Oregon)",
}
"""AWS display names of the regions the tables price (RegionName)."""

_UNITS = {
    "GB": "GB", "GB scanned": "GB", "GB-month": "GB-Months", "GB-second": "GB-Seconds",
    "instance-hour": "Hours", "gateway-hour": "Hours", "IP-hour": "Hours", "ALB-hour": "Hours",
    "cluster-hour": "Hours", "engineer-hour": "Hours", "LCU-hour": "LCU-Hours",
    "OCU-hour": "OCU-Hours", "key-month": "Key-Months", "metric-month": "Metric-Months",
    "alarm-month": "Alarm-Months", "dashboard-month": "Dashboard-Months",
    "1M tokens": "1000000 Tokens", "1M requests": "1000000 Requests",
    "10k requests": "10000 Requests", "1k requests": "1000 Requests", "request": "Requests",
    "1M traces": "1000000 Traces", "1M read request units": "1000000 Read Request Units",
    "1M write request units": "1000000 Write Request Units",
}
"""costlib line-item units -> FOCUS Unit Format (``<quantity> <plural-units>``,
``<singular-unit>-<plural-time-units>``); an unknown unit is kept as it is."""


def forecast_month(result, month: str | date | None = None) -> date:
    """The first day of the month the rows describe.

    ``month`` (``YYYY-MM`` or a date) when given, else the month of the date the prices are in
    force on (``result.prices["in_force_on"]``), else today's month.
    """
    if month is not None:
        if isinstance(month, date):
            return month.replace(day=1)
        try:
            y, m = str(month).split("-")[:2]
            return date(int(y), int(m), 1)
        except (ValueError, TypeError):
            raise CostlibError(f"--month {month!r} is not a month; give YYYY-MM, e.g. 2026-12") from None
    when = (result.prices or {}).get("in_force_on")
    d = date.fromisoformat(when) if when else date.today()
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


def _stamp(d: date) -> str:
    return f"{d.isoformat()}T00:00:00Z"


def _used_match(li, used: list[dict]) -> dict | None:
    """The one price row (of the estimate's used rows) a line item's unit price came from."""
    src = str(li.source)
    hits = [r for r in used if r["source"] and src.startswith(str(r["source"]))
            and math.isclose(float(r["usd"]), float(li.unit_usd), rel_tol=1e-12, abs_tol=0.0)]
    unit = str(li.unit).lower().replace("-", "_").replace(" ", "_")
    for narrow in (lambda r: unit.endswith(str(r["unit"]).removeprefix("usd_per_")),
                   lambda r: str(r["dimension"]).replace("_", " ") in li.item.lower()):
        if len({(r["service"], r["name"], r["dimension"]) for r in hits}) > 1:
            hits = [r for r in hits if narrow(r)] or hits
    if len({(r["service"], r["name"], r["dimension"]) for r in hits}) == 1:
        return hits[0]
    return None


def service_of(li, used: list[dict] | None = None) -> tuple[str, dict | None]:
    """The price-table service of a line item, and the used price row when one matched.

    First the estimate's used price row with the same source and unit price (one service, one
    name and dimension), then the words of the item (:data:`_WORDS`), else ``"other"``.
    """
    row = _used_match(li, used or [])
    if row is not None and row["service"] in SERVICES:
        return row["service"], row
    for pattern, service in _WORDS:
        if re.search(pattern, li.item, flags=re.IGNORECASE):
            return service, None
    return "other", None


def _frequency(li) -> str:
    if li.floor_usd > 0 and math.isclose(li.floor_usd, li.monthly_usd, rel_tol=1e-9):
        return "Recurring"
    return "Usage-Based"


_COMMITMENTS = {
    "Compute Savings Plan": ("Savings Plan", "Spend"),
    "EC2 Instance Savings Plan": ("Savings Plan", "Spend"),
    "Reserved Instance": ("Reserved Instance", "Usage"),
}
"""Commitment label in a committed line item -> (CommitmentDiscountType, ...Category)."""


def _commitment_of(li) -> str | None:
    """The commitment kind named by a committed instance-hours item, or None."""
    m = re.search(r"committed instance-hours \(([^,;]+)", li.item)
    return m.group(1).strip() if m and m.group(1).strip() in _COMMITMENTS else None


def _split_commitment(row: dict, o, kind: str) -> list[dict]:
    """A committed row as its used and unused parts (FOCUS ``CommitmentDiscountStatus``)."""
    util = (o.details.get("buying") or {}).get("committed_utilisation")
    util = min(max(float(util), 0.0), 1.0) if util is not None and math.isfinite(float(util)) else 1.0
    ctype, category = _COMMITMENTS[kind]
    out = []
    for status, share in (("Used", util), ("Unused", 1.0 - util)):
        if share <= 0.0:
            continue
        part = dict(row)
        for col in ("PricingQuantity", "ConsumedQuantity", "BilledCost", "EffectiveCost",
                    "ListCost", "ContractedCost", "x_FloorCost", "x_UsageCost"):
            if part.get(col) is not None:
                part[col] = row[col] * share
        if status == "Unused":
            part["ConsumedQuantity"] = None
            part["ConsumedUnit"] = None
        part.update({"PricingCategory": "Committed",
                     "CommitmentDiscountId": f"costlib-forecast/{o.name}/{kind}",
                     "CommitmentDiscountType": ctype, "CommitmentDiscountCategory": category,
                     "CommitmentDiscountStatus": status,
                     "CommitmentDiscountName": f"{kind} for {o.name} (forecast)",
                     "ChargeDescription": f"{row['ChargeDescription']} [{status.lower()}]"})
        out.append(part)
    return out


def focus_rows(result, month: str | date | None = None) -> list[dict]:
    """One FOCUS 1.2 row per option x line item of an estimate.

    Parameters
    ----------
    result : Estimate
        From :func:`costlib.bill.estimate.estimate`.
    month : str or date, optional
        The forecast month (``YYYY-MM``); default :func:`forecast_month`.

    Returns
    -------
    list of dict
        Keys :data:`FOCUS_COLUMNS` then :data:`X_COLUMNS`; money in USD per month. The
        ``BilledCost`` of an option's rows sums to its ``monthly_usd``.
    """
    start = forecast_month(result, month)
    end = _next_month(start)
    used = list((result.prices or {}).get("used") or [])
    region = result.region
    rows = []
    for o in result.options:
        for li in o.line_items:
            service, price_row = service_of(li, used)
            name, category, subcategory = SERVICES[service]
            aws = service != "internal"
            billed = float(li.monthly_usd)
            unit_usd = float(li.unit_usd)
            list_unit = unit_usd
            if price_row is not None and price_row.get("list_usd") is not None:
                list_unit = float(price_row["list_usd"])
            if unit_usd > 0 and list_unit != unit_usd:
                list_cost = billed * list_unit / unit_usd
            else:
                list_cost = billed
            sku = (f"{price_row['service']}/{price_row['name']}/{price_row['dimension']}"
                   if price_row is not None else None)
            unit = _UNITS.get(li.unit, li.unit)
            quantity = float(li.quantity)
            issuer = AWS if aws else INTERNAL
            rows.append({
                "BillingAccountId": "costlib-forecast",
                "BillingAccountName": result.title,
                "BillingCurrency": "USD",
                "BillingPeriodStart": _stamp(start),
                "BillingPeriodEnd": _stamp(end),
                "ChargePeriodStart": _stamp(start),
                "ChargePeriodEnd": _stamp(end),
                "ChargeCategory": "Usage",
                "ChargeClass": None,
                "ChargeDescription": li.item,
                "ChargeFrequency": _frequency(li),
                "ProviderName": issuer,
                "PublisherName": issuer,
                "InvoiceIssuerName": issuer,
                "ServiceName": name,
                "ServiceCategory": category,
                "ServiceSubcategory": subcategory,
                "RegionId": region,
                "RegionName": REGION_NAMES.get(region),
                "SkuId": sku,
                "SkuPriceId": f"{sku}/{price_row['region']}" if sku else None,
                "PricingCategory": "Dynamic" if re.search(r"\bspot\b", li.item, re.I) else "Standard",
                "PricingQuantity": quantity,
                "PricingUnit": unit,
                "ConsumedQuantity": quantity,
                "ConsumedUnit": unit,
                "ListUnitPrice": list_unit,
                "ContractedUnitPrice": unit_usd,
                "BilledCost": billed,
                "EffectiveCost": billed,
                "ListCost": list_cost,
                "ContractedCost": billed,
                "CommitmentDiscountId": None,
                "CommitmentDiscountType": None,
                "CommitmentDiscountCategory": None,
                "CommitmentDiscountStatus": None,
                "CommitmentDiscountName": None,
                "x_FocusVersion": FOCUS_VERSION,
                "x_Option": o.name,
                "x_OptionKind": o.kind,
                "x_Category": li.category,
                "x_Source": li.source,
                "x_FloorCost": float(li.floor_usd),
                "x_UsageCost": billed - float(li.floor_usd),
                "x_CostlibUnit": li.unit,
                "x_AwsCharge": aws,
            })
            kind = _commitment_of(li)
            if kind is not None:
                rows[-1:] = _split_commitment(rows[-1], o, kind)
    return rows


_TYPES = {"BilledCost": "DECIMAL", "EffectiveCost": "DECIMAL", "ListCost": "DECIMAL",
          "ContractedCost": "DECIMAL", "ListUnitPrice": "DECIMAL", "ContractedUnitPrice": "DECIMAL",
          "PricingQuantity": "DECIMAL", "ConsumedQuantity": "DECIMAL", "x_FloorCost": "DECIMAL",
          "x_UsageCost": "DECIMAL", "BillingPeriodStart": "DATETIME", "BillingPeriodEnd": "DATETIME",
          "ChargePeriodStart": "DATETIME", "ChargePeriodEnd": "DATETIME", "x_AwsCharge": "BOOLEAN"}


def focus_metadata(result, created: str) -> dict:
    """Schema metadata for a FOCUS file, shaped like FOCUS 1.2's schema metadata example.

    ``created`` is the creation time (``YYYY-MM-DDTHH:MM:SSZ``), passed in so the caller
    decides whether it is the clock or a fixed stamp.
    """
    return {
        "FocusVersion": FOCUS_VERSION,
        "FocusSpecification": FOCUS_SPEC_URL,
        "CreationDate": created,
        "DataGenerator": "costlib estimate --format focus (a forecast, not a bill)",
        "Title": result.title,
        "ColumnDefinition": [{"ColumnName": c, "DataType": _TYPES.get(c, "STRING")}
                             for c in FOCUS_COLUMNS + X_COLUMNS],
    }
