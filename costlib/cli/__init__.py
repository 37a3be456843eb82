"""The ``costlib`` command line: every command, registered here in the order ``--help`` lists them.

``costlib estimate PARAMS [--json] [--floor] [--set dotted.key=value ...]``
    Price every option of a params file for one month, with its floor (the cost at zero traffic)
    and, with a work unit, the cost per unit (:mod:`costlib.cli.estimate`).
``costlib report PARAMS... [--out DIR] [--jobs N]``
    Run every notebook with papermill for each params file into ``outputs/<stem>/``
    (:mod:`costlib.cli.report`).
``costlib levers PARAMS``
    Each of the article's cost levers, before and after (:mod:`costlib.cli.levers`).
``costlib throughput --model M (--instance I | --gpu G) ...``
    Modelled tokens/s and latency of one serving configuration (:mod:`costlib.cli.throughput`).
``costlib prices list|show|refresh``
    The price tables, with sources and as-of dates (:mod:`costlib.cli.prices`).
``costlib diff A [B] [--set dotted.key=value ...] [--all] [--format text|markdown|json|html] [--out FILE]``
    The change of every line item and total between two params files, or one file and its
    overrides (:mod:`costlib.cli.diff`).
``costlib breakeven PARAMS --key KEY --between A B [--lo X --hi Y] [--json] [--chart FILE.svg]``
    The value of one input at which two options cost the same (:mod:`costlib.cli.breakeven`).
``costlib uncertainty PARAMS [--draws N] [--seed S] [--set dotted.key=value ...] [--json]``
    Monte Carlo over the inputs given as distributions: P10/P50/P90 per option and the
    probability that each is the cheapest (:mod:`costlib.cli.uncertainty`).
``costlib sensitivity PARAMS [--option NAME] [--top N] [--set dotted.key=value ...] [--json]``
    How much each input moves every option's total, low to high (:mod:`costlib.cli.sensitivity`).
``costlib buying PARAMS [--option NAME] [--discount-pct X] [--json]``
    Each self-hosted fleet on demand, committed (sized to its demand curve), on a Capacity
    Block, on Spot with fallback, and the mix (:mod:`costlib.cli.buying`).
``costlib tiers PARAMS [--option NAME] [--tolerant-share X] [--usd-per-1k-tpm-month P] [--json]``
    Each managed option under every Bedrock tier and mode, and the cheapest mix
    (:mod:`costlib.cli.tiers`).

Bad input prints one line, ``costlib: error: ...``, to stderr and exits 2, with no traceback.
Each command module imports what it needs inside its handler, so ``--help`` stays light.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from costlib.cli import breakeven as _breakeven
from costlib.cli import buying as _buying
from costlib.cli import diff as _diff
from costlib.cli import estimate as _estimate
from costlib.cli import levers as _levers
from costlib.cli import prices as _prices
from costlib.cli import report as _report
from costlib.cli import sensitivity as _sensitivity
from costlib.cli import throughput as _throughput
from costlib.cli import tiers as _tiers
from costlib.cli import uncertainty as _uncertainty
from costlib.core.errors import EXIT_USAGE, CostlibError

COMMANDS = (_estimate, _report, _levers, _throughput, _prices, _diff, _breakeven,
            _uncertainty, _sensitivity, _buying, _tiers)
"""The command modules; each has ``register(subparsers)``."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message):  # noqa: D401 - argparse API
        raise CostlibError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="costlib", description="What an LLM application on AWS really costs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


_FILES_A_PARAMS_FILE_NAMES = ("overrides file ", "price table ", "traffic CSV ", "measured curve")
"""How messages about a file named inside a params file start (its overrides, traffic CSV,
measured curves): the params file that names it is put in front."""


def _named(message: str, args) -> str:
    """``message`` prefixed with the params file it is about, when it does not name it.

    Errors found while pricing (a region the tables lack, a model without a price) come from
    layers that do not know which file was loaded; the command line does. Only messages that
    start with a key of the params file (``options.x: ...``, ``region: ...``) are prefixed.
    """
    path = getattr(args, "params", None) or getattr(args, "before", None)
    if isinstance(path, (list, tuple)):
        path = path[0] if len(path) == 1 else None
    if path is None or str(path) in message:
        return message
    from costlib.bill.params import Params

    head = message.split(":", 1)[0].split(".", 1)[0].split("[", 1)[0].strip()
    named_by_it = message.startswith(_FILES_A_PARAMS_FILE_NAMES)
    if head not in Params.model_fields and not named_by_it:  # a flag, not the file's
        return message
    return f"{path}: {message}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``costlib`` console script; returns the exit code."""
    args = None
    held: list = []
    show = warnings.showwarning

    def hold(message, category, *rest, **kw):
        """numpy's RuntimeWarnings wait: an error line, if one comes, is the whole answer."""
        if issubclass(category, RuntimeWarning):
            held.append((message, category, *rest))
        else:
            show(message, category, *rest, **kw)

    warnings.showwarning = hold
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        code = int(args.func(args) or 0)
        for w in held:
            show(*w)
        return code
    except CostlibError as exc:
        print(f"costlib: error: {_named(exc.message, args)}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    finally:
        if warnings.showwarning is hold:
            warnings.showwarning = show


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
