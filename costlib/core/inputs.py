"""Reading a user's input file safely: a size cap, regular files only, UTF-8, in one line.

Every way in that reads a file a user names (a params file, a price-overrides CSV, a traffic
CSV, a measured-curve file, an offer file) goes through :func:`read_user_text`, so a directory,
a character device (``/dev/zero``), a FIFO, an oversized file or a file that is not UTF-8 is
refused with one :class:`~costlib.core.errors.CostlibError` line before anything is parsed.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

from costlib.core.errors import CostlibError

__all__ = ["PARAMS_MAX_BYTES", "TABLE_MAX_BYTES", "OFFER_MAX_BYTES", "read_user_text",
           "check_finite"]

PARAMS_MAX_BYTES = 1_000_000
"""Largest params file read [bytes] (1 MB; the shipped ones are a few kB)."""

TABLE_MAX_BYTES = 8_000_000
"""Largest overrides, traffic or measured-curve CSV read [bytes] (8 MB)."""

OFFER_MAX_BYTES = 1_000_000_000
"""Largest AWS offer file read [bytes] (1 GB; the full EC2 offer is several GB, so a regional
or filtered offer is what ``prices refresh --offer`` takes)."""


def _article(what: str) -> str:
    return "an" if what[:1] in "aeiou" else "a"


def _size(n: int) -> str:
    return f"{n / 1e6:g} MB"


def read_user_text(path: str | Path, what: str, max_bytes: int, where: str | None = None) -> str:
    """The text of a user's file, or one line saying why it cannot be read.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What the file is, for the message ("params file", "price overrides file").
    max_bytes : int
        The cap [bytes]; at most ``max_bytes + 1`` bytes are ever read.
    where : str, optional
        A prefix naming where the path was given (``"params/x.yaml: prices.overrides_file"``).

    Raises
    ------
    CostlibError
        Missing, not a regular file (a directory, a device, a FIFO), larger than the cap, not
        UTF-8 (a UTF-16 file included) or unreadable.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise CostlibError(f"{what}: expected a path (str or pathlib.Path), got "
                           f"{type(path).__name__} {path!r}"[:300])
    p = Path(path)
    label = str(p) if not where else where if str(p) in where else f"{where} ({p})"
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise CostlibError(f"{label}: no such {what}") from None
    except (OSError, ValueError) as exc:
        raise CostlibError(f"{label}: cannot read the {what} ({type(exc).__name__}: "
                           f"{getattr(exc, 'strerror', None) or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise CostlibError(f"{label}: is a directory; give the path of {_article(what)} {what}")
    if not stat.S_ISREG(st.st_mode):
        raise CostlibError(f"{label}: is not a regular file (a device, FIFO or socket); give the "
                           f"path of a {what}")
    if st.st_size > max_bytes:
        raise CostlibError(f"{label}: the {what} is {_size(st.st_size)}, over the "
                           f"{_size(max_bytes)} cap")
    try:
        with open(p, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise CostlibError(f"{label}: cannot read the {what} ({exc.strerror or exc})") from None
    if len(raw) > max_bytes:
        raise CostlibError(f"{label}: the {what} is over the {_size(max_bytes)} cap")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(raw) > 1 and b"\x00" in raw[:64]):
        raise CostlibError(f"{label}: the {what} looks like UTF-16 (or binary); save it as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CostlibError(f"{label}: the {what} is not UTF-8 (byte 0x{raw[exc.start]:02x} at "
                           f"offset {exc.start}); save it as UTF-8") from None
    return text.removeprefix("\ufeff")


def check_finite(value, label: str) -> float:
    """``float(value)``, or one line if it is not a finite number.

    Raises
    ------
    CostlibError
        ``"<label>: must be a finite number (got inf)"``.
    """
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        raise CostlibError(f"{label}: must be a finite number (got {value!r})"[:300]) from None
    if not math.isfinite(x):
        raise CostlibError(f"{label}: must be a finite number (got {x})")
    return x
