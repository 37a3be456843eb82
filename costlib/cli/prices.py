"""``costlib prices ...``: list every price with its provenance; refresh the tables.

``register(subparsers)`` adds the ``prices`` command to the main parser; each leaf sets
``func`` (called with the parsed args, returning an exit code). ``python -m costlib.cli.prices``
runs it standalone. A :class:`~costlib.core.errors.CostlibError` prints one line and exits 2.
The price tables (and pandas, pydantic, yaml) are imported inside the handlers, so building the
command line stays light.

``costlib prices refresh --offer FILE`` updates the tables from an AWS Price List offer file;
``costlib prices refresh --bedrock`` rewrites the imported Bedrock table from the installed
(pinned) genai-prices package (:func:`costlib.tables.genai.write_bedrock_table`).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from costlib.core.errors import CostlibError

if TYPE_CHECKING:  # pragma: no cover - types only
    from costlib.tables.prices import PriceSettings

LIST_COLUMNS = ["service", "name", "dimension", "region", "unit", "usd", "tier_start", "tier_end",
                "effective_from", "effective_to", "source", "as_of", "overridden", "override", "output_dims", "notes"]  # fmt: skip


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``prices list`` and ``prices refresh`` to an argparse subparsers object."""
    prices = subparsers.add_parser("prices", help="list the prices the workbook uses, or refresh them")
    sub = prices.add_subparsers(dest="prices_command", required=True, parser_class=type(prices))

    ls = sub.add_parser("list", help="print every price with its source and as-of date")
    ls.add_argument("--service", help="only this service (e.g. ec2, bedrock)")
    ls.add_argument("--region", help="only this region (e.g. us-east-1)")
    ls.add_argument("--params", type=Path, help="apply the prices: block of this params file (overrides, discounts, as_of)")
    ls.add_argument("--as-of", type=date.fromisoformat, help="prices in force on this date (default today)")
    ls.add_argument("--json", action="store_true", help="a JSON list of row objects instead of a table")
    ls.set_defaults(func=cmd_list)

    show = sub.add_parser("show", help="look one price up, as a report would (errors name the closest valid names)")
    show.add_argument("service")
    show.add_argument("name")
    show.add_argument("dimension", nargs="?")
    show.add_argument("--params", type=Path)
    show.add_argument("--region")
    show.set_defaults(func=cmd_show)

    ref = sub.add_parser("refresh", help="update the tables from an AWS Price List bulk offer file, "
                                         "or the imported Bedrock table from genai-prices")
    source = ref.add_mutually_exclusive_group(required=True)
    source.add_argument("--offer", help="offer file path or https URL (per-region index.json)")
    source.add_argument("--bedrock", action="store_true",
                        help="rewrite prices/imported/bedrock_genai_prices.csv from the installed genai-prices")
    ref.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    ref.add_argument("--tables-dir", type=Path, help=argparse.SUPPRESS)
    ref.set_defaults(func=cmd_refresh)
    return prices


def _settings(params: Path | None, region: str | None = None, as_of: date | None = None) -> tuple[PriceSettings, Path | None]:
    import yaml

    from costlib.tables.prices import PriceSettings, price_settings

    base_dir = None
    settings = PriceSettings()
    if params is not None:
        from costlib.core.inputs import PARAMS_MAX_BYTES, read_user_text

        if not params.exists():
            raise CostlibError(f"params file {params} not found")
        text = read_user_text(params, "params file", PARAMS_MAX_BYTES)
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise CostlibError(f"{params}: not valid YAML ({str(exc).splitlines()[0]})") from None
        except RecursionError:
            raise CostlibError(f"{params}: nested too deeply to read; a params file is a few "
                               f"levels of mappings") from None
        if not isinstance(doc, dict):
            raise CostlibError(f"{params}: expected a mapping at the top level")
        block = doc.get("prices")
        if block is not None and not isinstance(block, dict):
            raise CostlibError(f"{params}: prices: expected a mapping (region:, as_of:, "
                               f"overrides_file:, discounts_pct:), got {type(block).__name__}")
        settings = price_settings(block, where=str(params))
        base_dir = params.parent
    update = {k: v for k, v in {"region": region, "as_of": as_of}.items() if v is not None}
    return settings.model_copy(update=update), base_dir


def _jsonable(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value == float("inf"):
        return None
    return value


def cmd_list(args) -> int:
    from costlib.tables.prices import load_price_book

    settings, base_dir = _settings(args.params, as_of=args.as_of)
    book = load_price_book(settings, base_dir=base_dir)
    df = book.table()
    if args.service:
        if args.service not in set(df["service"]):
            book.names(args.service)  # raises with the closest valid names
        df = df[df["service"] == args.service]
    if args.region:
        regions = set(book.table()["region"])
        if args.region not in regions:
            from costlib.core.names import unknown_name_message

            raise CostlibError(unknown_name_message("region", args.region, regions))
        df = df[df["region"] == args.region]
    df = df[LIST_COLUMNS]
    if args.json:
        rows = [{k: _jsonable(v) for k, v in rec.items()} for rec in df.to_dict("records")]
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(f"# {len(df)} prices in force on {book.as_of}; columns: service name dimension region usd unit tier as_of source")
    for r in df.itertuples(index=False):
        tier = "" if r.tier_start == 0 and r.tier_end == float("inf") else f" [{r.tier_start:g}, {r.tier_end:g})"
        flag = f" OVERRIDDEN({r.override})" if r.overridden else ""
        print(f"{r.service}\t{r.name}\t{r.dimension}\t{r.region}\t{r.usd:g}\t{r.unit}{tier}\t{r.as_of}\t{r.source}{flag}")
    for line in book.skipped:
        print(f"# not imported: {line}", file=sys.stderr)
    return 0


def cmd_show(args) -> int:
    from costlib.tables.prices import load_price_book

    settings, base_dir = _settings(args.params, region=args.region)
    book = load_price_book(settings, base_dir=base_dir)
    if args.dimension is None:
        table = book.table()
        mine = table[(table["service"] == args.service) & (table["name"] == args.name)]
        dims = sorted(set(mine.loc[mine["region"] == book.region, "dimension"])) or sorted(set(mine["dimension"]))
        if not dims:
            book.names(args.service)
            from costlib.core.names import unknown_name_message

            raise CostlibError(unknown_name_message(f"{args.service} name", args.name, book.names(args.service)))
    else:
        dims = [args.dimension]
    for dim in dims:
        for r in book.tiers(args.service, args.name, dim):
            print(f"{r['service']} {r['name']} {r['dimension']} {r['region']}: {r['usd']:g} {r['unit']} "
                  f"(as of {r['as_of']}; {r['source']})")
    for line in book.summary_lines():
        print(line)
    return 0


def cmd_refresh(args) -> int:
    if args.bedrock:
        return _refresh_bedrock(args)
    from costlib.tables.pricelist import refresh

    summary = refresh(args.offer, args.tables_dir, dry_run=args.dry_run)
    verb = "would change" if args.dry_run else "changed"
    print(
        f"offer published {summary['publication_date']}: {summary['matched']} table rows matched "
        f"({summary['changed']} {verb}, {summary['confirmed']} confirmed); "
        f"{summary['not_in_tables']} offer prices not in the tables; {summary['unmatched_skus']} SKUs not mapped"
    )
    for line in summary["changes"]:
        print(f"  {line}")
    for path in summary["files"]:
        print(f"  {'would rewrite' if args.dry_run else 'rewrote'} {path}")
    return 0


def _refresh_bedrock(args) -> int:
    """``prices refresh --bedrock``: the imported Bedrock table from the installed genai-prices."""
    from costlib.core.paths import GENAI_BEDROCK_CSV, PRICES_DIR
    from costlib.tables.genai import write_bedrock_table

    path = GENAI_BEDROCK_CSV
    if args.tables_dir is not None:
        path = args.tables_dir / GENAI_BEDROCK_CSV.relative_to(PRICES_DIR)
    summary = write_bedrock_table(path, dry_run=args.dry_run)
    if not summary["changed"]:
        verb = "unchanged"
    else:
        verb = "would rewrite" if args.dry_run else "rewrote"
    print(f"genai-prices Bedrock rows: {summary['rows']}; {verb} {summary['path']}")
    for line in summary["skipped"]:
        print(f"  not imported: {line}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``costlib prices ...`` through the one command line (same errors, same exit codes)."""
    from costlib.cli import main as costlib_main

    return costlib_main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(["prices", *sys.argv[1:]]))
