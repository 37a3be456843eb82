"""Read AWS Price List bulk offer files and refresh the matching rows of the price tables.

The bulk offer file is the public, credential-free JSON the AWS Price List publishes per service
(``https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<offerCode>/current/<region>/index.json``):
``products`` keyed by SKU with ``productFamily`` and ``attributes``, and ``terms.OnDemand`` keyed
by SKU then offer term, each with ``priceDimensions`` (``unit``, ``beginRange``, ``endRange``,
``pricePerUnit.USD``). :func:`parse_offer` maps the products it knows to rows of our tables and
takes the offer's ``publicationDate`` as their as-of date; :func:`refresh` writes the new prices
into the tables, keeping a changed price's old row with a closed window.

Mapped today (anything else in an offer is counted as unmatched and ignored):

* AmazonEC2 ``Compute Instance``, Linux, shared tenancy, no pre-installed software, capacity
  status Used -> (``ec2``, instance type, ``on_demand``, region), ``usd_per_hour``;
* AmazonEC2 ``Storage`` with ``volumeApiName`` gp3 -> (``ebs``, ``gp3``, ``storage``, region),
  ``usd_per_gb_month``;
* AmazonSageMaker ``ML Instance`` with ``component`` Hosting (real-time inference) ->
  (``sagemaker``, ``ml.*``, ``on_demand``, region), ``usd_per_hour``.

Note that a whole-service offer file is large (AmazonEC2 runs to gigabytes); use the
per-region file.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from costlib.core.errors import CostlibError
from costlib.core.inputs import OFFER_MAX_BYTES, read_user_text
from costlib.core.paths import PRICES_DIR
from costlib.tables.price_schema import KEY, TABLE_COLUMNS, _frame, decimal_text
from costlib.tables.prices import check_prices, read_price_csv, table_files

#: Price List ``location`` names of the regions we price (used when ``regionCode`` is absent).
LOCATIONS = {
    "US East (N. Virginia)": "us-east-1",
    "US East (Ohio)": "us-east-2",
    "US West (N. California)": "us-west-1",
    "US West (Oregon)": "us-west-2",
    "EU (Ireland)": "eu-west-1",
    "EU (Frankfurt)": "eu-central-1",
    "EU (London)": "eu-west-2",
    "Asia Pacific (Tokyo)": "ap-northeast-1",
    "Asia Pacific (Sydney)": "ap-southeast-2",
    "Asia Pacific (Singapore)": "ap-southeast-1",
    "Asia Pacific (Mumbai)": "ap-south-1",
    "Canada (Central)": "ca-central-1",
}

CONFIRMED = "; confirmed by "

#: Price List unit -> our unit.
UNIT_MAP = {"Hrs": "usd_per_hour", "GB-Mo": "usd_per_gb_month", "GB": "usd_per_gb"}


def _region(attrs: dict) -> str | None:
    return attrs.get("regionCode") or LOCATIONS.get(attrs.get("location", ""))


def _map_product(offer_code: str, product: dict) -> tuple[str, str, str] | None:
    """(service, name, dimension) for a product we price, else None."""
    fam = product.get("productFamily")
    a = product.get("attributes", {})
    if offer_code == "AmazonEC2" and fam == "Compute Instance":
        if (
            a.get("operatingSystem") == "Linux"
            and a.get("tenancy") == "Shared"
            and a.get("preInstalledSw", "NA") == "NA"
            and a.get("capacitystatus", "Used") == "Used"
            and a.get("licenseModel", "No License required") == "No License required"
            and a.get("marketoption", "OnDemand") == "OnDemand"
            and a.get("instanceType")
        ):
            return "ec2", a["instanceType"], "on_demand"
    if offer_code == "AmazonEC2" and fam == "Storage" and a.get("volumeApiName") == "gp3":
        return "ebs", "gp3", "storage"
    if offer_code == "AmazonSageMaker" and fam == "ML Instance":
        name = a.get("instanceName") or a.get("instanceType", "")
        hosting = a.get("component") == "Hosting" or "-Host:ml." in a.get("usagetype", "")
        if hosting and name.startswith("ml."):
            return "sagemaker", name, "on_demand"
    return None


def _load(offer) -> tuple[dict, str]:
    if isinstance(offer, dict):
        return offer, "offer dict"
    if not isinstance(offer, (str, os.PathLike)):
        raise CostlibError(f"offer: expected the path of an offer file (str or Path) or its parsed "
                           f"JSON (dict), got {type(offer).__name__}")
    text = str(offer)
    if text.startswith(("http://", "https://", "ftp://", "file://")):
        raise CostlibError(f"offer {text}: costlib does not download; fetch the offer file first "
                           f"(curl -o offer.json {text}) and pass its path")
    path = Path(text)
    if not path.exists():
        raise CostlibError(f"offer file {path} not found")
    raw = read_user_text(path, "offer file", OFFER_MAX_BYTES)
    try:
        return json.loads(raw, parse_constant=_no_constant), str(path)
    except json.JSONDecodeError as exc:
        raise CostlibError(f"offer file {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise CostlibError(f"offer file {path}: nested too deeply to be an AWS offer file") from None
    except ValueError as exc:
        raise CostlibError(f"offer file {path}: {exc}") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows; prices must be finite")


def _mapping(value, where: str, key: str) -> dict:
    """``value`` if it is a JSON object, else one line naming the key."""
    if not isinstance(value, dict):
        raise CostlibError(f"{where}: {key}: expected a JSON object, got "
                           f"{type(value).__name__}; not an AWS Price List offer file")
    return value


def _range(value, where: str, key: str, default: float) -> float:
    """A beginRange/endRange: a number, ``"Inf"`` or blank (``default``)."""
    if value is None or value == "":
        return default
    if value == "Inf":
        return math.inf
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise CostlibError(f"{where}: {key}: {value!r} is not a number; expected digits or "
                           f"'Inf'") from None
    if math.isnan(x) or x < 0 or (math.isinf(x) and key.endswith("beginRange")):
        raise CostlibError(f"{where}: {key}: {value!r} must be a non-negative number")
    return x


def parse_offer(path_or_dict) -> pd.DataFrame:
    """Rows in our table format for the products of a bulk offer file that we price.

    Parameters
    ----------
    path_or_dict : str, Path or dict
        An offer file path, an ``https://`` URL, or the parsed JSON.

    Returns
    -------
    pandas.DataFrame
        Columns of the price tables; ``as_of`` is the offer's ``publicationDate``; the
        attribute ``unmatched`` (``df.attrs``) counts on-demand SKUs not mapped.
    """
    offer, where = _load(path_or_dict)
    _mapping(offer, where, "(top level)")
    for field in ("offerCode", "publicationDate", "products", "terms"):
        if field not in offer:
            raise CostlibError(f"{where}: not an AWS Price List offer file (no {field!r})")
    code = offer["offerCode"]
    if not isinstance(code, str):
        raise CostlibError(f"{where}: offerCode: expected a string such as 'AmazonEC2', got "
                           f"{type(code).__name__}")
    try:
        published = datetime.fromisoformat(offer["publicationDate"].replace("Z", "+00:00")).date()
    except (AttributeError, ValueError, TypeError):
        raise CostlibError(f"{where}: publicationDate {offer['publicationDate']!r} is not a timestamp") from None
    source = where if where.startswith("http") else f"AWS Price List bulk offer {code} version {offer.get('version', '?')}"
    terms_all = _mapping(offer["terms"], where, "terms")
    products = _mapping(offer["products"], where, "products")
    on_demand = _mapping(terms_all.get("OnDemand", {}), where, "terms.OnDemand")
    rows, unmatched = [], 0
    for sku, terms in on_demand.items():
        terms = _mapping(terms, where, f"terms.OnDemand.{sku}")
        product = products.get(sku)
        if product is not None:
            product = _mapping(product, where, f"products.{sku}")
            attrs = _mapping(product.get("attributes", {}), where, f"products.{sku}.attributes")
            bad = [k for k, v in attrs.items() if not isinstance(v, str)]
            if bad:
                raise CostlibError(f"{where}: products.{sku}.attributes.{bad[0]}: expected a "
                                   f"string, got {type(attrs[bad[0]]).__name__}")
            if not isinstance(product.get("productFamily", ""), str):
                raise CostlibError(f"{where}: products.{sku}.productFamily: expected a string")
        mapped = _map_product(code, product) if product else None
        region = _region(product.get("attributes", {})) if product else None
        if mapped is None or region is None:
            unmatched += 1
            continue
        service, name, dimension = mapped
        for tkey, term in terms.items():
            at = f"terms.OnDemand.{sku}.{tkey}"
            term = _mapping(term, where, at)
            dims = _mapping(term.get("priceDimensions", {}), where, f"{at}.priceDimensions")
            for dkey, dim in dims.items():
                dat = f"{at}.priceDimensions.{dkey}"
                dim = _mapping(dim, where, dat)
                if not isinstance(dim.get("unit"), (str, type(None))):
                    raise CostlibError(f"{where}: {dat}.unit: expected a string such as 'Hrs'")
                unit = UNIT_MAP.get(dim.get("unit"))
                if unit is None:
                    raise CostlibError(f"{where}: SKU {sku} has unknown price unit {dim.get('unit')!r}")
                try:
                    usd = float(dim["pricePerUnit"]["USD"])
                except (KeyError, TypeError, ValueError):
                    raise CostlibError(f"{where}: SKU {sku} has no numeric USD price") from None
                if not math.isfinite(usd) or usd < 0:
                    raise CostlibError(f"{where}: SKU {sku} has price {usd!r}")
                begin = _range(dim.get("beginRange"), where, f"{dat}.beginRange", 0.0)
                end = _range(dim.get("endRange"), where, f"{dat}.endRange", math.inf)
                rows.append(
                    {
                        "service": service, "name": name, "dimension": dimension, "region": region,
                        "unit": unit, "usd": usd, "tier_start": begin, "tier_end": end,
                        "effective_from": None, "effective_to": None, "source": source, "as_of": published,
                        "notes": f"AWS Price List {code} publicationDate {offer['publicationDate']}, SKU {sku}, "
                                 f"rate {dim.get('rateCode', '?')}: {dim.get('description', '')}".strip(),
                        "origin": where, "line": 0,
                    }
                )  # fmt: skip
    df = _frame(rows)
    check_prices(df)  # two SKUs mapping to one key would be a mapping bug or a bad file
    df.attrs["unmatched"] = unmatched
    df.attrs["publication_date"] = published
    return df


def _write_csv(df: pd.DataFrame, header: list[str], path: Path) -> Path:
    """Write to a temp file beside ``path``; the caller renames it into place."""
    out = df.copy()
    for c in ("usd", "tier_start", "tier_end"):
        out[c] = [
            "" if (c == "tier_start" and v == 0) or (c == "tier_end" and math.isinf(v)) else decimal_text(v)
            for v in out[c]
        ]
    for c in ("as_of", "effective_from", "effective_to"):
        out[c] = [v.isoformat() if isinstance(v, date) else "" for v in out[c]]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        out[header].to_csv(f, index=False, lineterminator="\n")
    return Path(tmp)


def refresh(offer, tables_dir: Path | str | None = None, *, dry_run: bool = False) -> dict:
    """Update the table rows an offer file prices; all files or none are rewritten.

    A row matches a parsed price on (service, name, dimension, region, tier_start) and must be
    in force on the offer's publication date. Same price: the row gets the offer as its source
    and as-of date. Different price: the old row is closed (``effective_to`` = publication date)
    and a new row starts that day. Prices the tables do not have are not added.

    Returns
    -------
    dict
        ``publication_date``, ``matched``, ``changed``, ``confirmed``, ``not_in_tables``,
        ``unmatched_skus``, ``files`` (rewritten) and ``changes`` (one line each).
    """
    parsed = parse_offer(offer)
    published = parsed.attrs["publication_date"]
    tables_dir = Path(tables_dir or PRICES_DIR)
    new_prices = {tuple(r[k] for k in KEY): r for r in parsed.to_dict("records")}
    summary = {
        "publication_date": published.isoformat(), "matched": 0, "changed": 0, "confirmed": 0,
        "not_in_tables": 0, "unmatched_skus": parsed.attrs["unmatched"], "files": [], "changes": [],
    }  # fmt: skip
    seen = set()
    pending: list[tuple[Path, pd.DataFrame, list[str]]] = []
    for path in table_files(tables_dir):
        table = read_price_csv(path)
        header = list(TABLE_COLUMNS)
        out_rows, touched = [], False
        for rec in table.to_dict("records"):
            key = tuple(rec[k] for k in KEY)
            new = new_prices.get(key)
            in_force = (rec["effective_from"] is None or rec["effective_from"] <= published) and (
                rec["effective_to"] is None or published < rec["effective_to"]
            )
            if new is None or not in_force:
                out_rows.append(rec)
                continue
            seen.add(key)
            summary["matched"] += 1
            touched = True
            label = "/".join(str(k) for k in key[:4])
            if math.isclose(rec["usd"], new["usd"], rel_tol=0, abs_tol=1e-12):
                summary["confirmed"] += 1
                base = rec["notes"].split(CONFIRMED)[0]
                out_rows.append({**rec, "source": new["source"], "as_of": published,
                                 "notes": f"{base}{CONFIRMED}{new['notes']}"})  # fmt: skip
                summary["changes"].append(f"{label}: {decimal_text(rec['usd'])} confirmed as of {published}")
            else:
                summary["changed"] += 1
                out_rows.append({**rec, "effective_to": published})
                out_rows.append({**rec, "usd": new["usd"], "source": new["source"], "as_of": published,
                                 "effective_from": published, "effective_to": rec["effective_to"],
                                 "notes": new["notes"]})  # fmt: skip
                summary["changes"].append(
                    f"{label}: {decimal_text(rec['usd'])} -> {decimal_text(new['usd'])} from {published}"
                )
        if touched:
            new_table = _frame(out_rows)
            new_table["origin"] = str(path)
            new_table["line"] = 0
            check_prices(new_table)
            pending.append((path, new_table, header))
    summary["not_in_tables"] = len(set(new_prices) - seen)
    if dry_run or not pending:
        summary["files"] = [str(p) for p, _, _ in pending]
        return summary
    temps = []
    try:
        for path, new_table, header in pending:
            temps.append((_write_csv(new_table, header, path), path))
        for tmp, path in temps:  # every rewritten table must load cleanly before any rename
            read_price_csv(tmp, origin=str(path))
    except Exception:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in temps:
        os.replace(tmp, path)
    summary["files"] = [str(p) for _, p in temps]
    return summary
