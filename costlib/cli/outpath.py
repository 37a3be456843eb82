"""Checks of ``costlib report --out`` made before anything is priced or written.

The report folder of a params file is ``<out>/<stem>/``. ``--out`` must be a folder that exists
or can be created, that costlib may write in, and that is not inside a report folder (a report
built into ``outputs/default`` would nest one report inside another, and the next rebuild of
``outputs/default`` would delete it).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from costlib.core.errors import CostlibError

__all__ = ["check_report_out", "is_report_folder"]

_NOTEBOOK = re.compile(r"^\d\d_.+\.ipynb$")


def is_report_folder(folder: Path) -> bool:
    """True when ``folder`` holds an executed report (``NN_name.ipynb`` notebooks)."""
    try:
        return folder.is_dir() and any(_NOTEBOOK.match(p.name) for p in folder.iterdir())
    except OSError:
        return False


def check_report_out(out: str | Path) -> Path:
    """``out`` as a Path, or one line saying why reports cannot be written there.

    Raises
    ------
    CostlibError
        ``--out`` is a file (or a device), lies under a file (``/dev/null/x``), is inside an
        existing report folder, or its nearest existing folder is not writable.
    """
    out = Path(out)
    label = f"--out {out}"
    full = Path(os.path.abspath(out))
    for folder in (full, *full.parents):
        try:
            st = os.stat(folder)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise CostlibError(f"{label}: cannot use {folder} ({exc.strerror or exc}); give a "
                               f"folder reports can be written in") from None
        if not stat.S_ISDIR(st.st_mode):
            what = "the path" if folder == full else f"{folder}"
            raise CostlibError(f"{label}: {what} is a file, not a folder; give a folder (each "
                               f"report is written to <out>/<params stem>/)")
        if is_report_folder(folder):
            raise CostlibError(f"{label}: {folder} is a report folder; a report inside it would "
                               f"nest one report in another; give the folder that holds the "
                               f"reports (e.g. outputs) or a new one")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise CostlibError(f"{label}: {folder} is not writable; give a folder you can write in")
        break
    return out
