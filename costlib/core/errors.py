"""The one exception type a user ever sees.

Anything wrong with a user's input (a params file, a price override, a CSV of traffic, a
command-line flag) raises :class:`CostlibError` with a single line that names the file, the key,
what is wrong and what would be valid. The command line prints that line and exits with code 2,
without a traceback. Bugs in costlib itself stay ordinary exceptions.
"""

from __future__ import annotations

EXIT_USAGE = 2


class CostlibError(Exception):
    """A user-facing error: one line, exit code 2.

    Parameters
    ----------
    message : str
        The whole message, in one line: which file, which key, what is wrong, what is valid.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return self.args[0]


class WholeFileError(CostlibError):
    """A :class:`CostlibError` about the whole params file (its region, its price overrides),
    which a pricer must not report under one option's key."""
