"""The one error model: every error a user's input can cause is a `ToolsweepError`.

Its message is one line (or a short list) that names the file, the key path or the row, and what
was expected. `toolsweep`'s `main()` prints `<label>: <message>` and exits 2; with `--debug` (or
TOOLSWEEP_DEBUG=1) it prints the traceback too. Library errors (datasets, pyarrow, llama_cpp, yaml,
json, OS errors on a user-supplied path) are translated where they happen, into one of these.
No heavy imports here: every module, pure or edge, may raise these.
"""

from __future__ import annotations

import os
from pathlib import Path

# The eval layer's errors and the base class live at the bottom layer (evals/ imports nothing from here).
from evals.errors import CaseFileError, InputFileError, ModelFileError, ToolsweepError  # noqa: F401


class ConfigError(ToolsweepError, ValueError):
    """A sweep, family or override that cannot be used; names the file and every bad key."""
    label = "config error"


class DataError(ToolsweepError, ValueError):
    """A data source that cannot be read at all (a bad row is quarantined instead)."""
    label = "data error"


class ReleaseError(ToolsweepError, ValueError):
    """A release folder or manifest that cannot be read."""
    label = "release error"


class UsageError(ToolsweepError, ValueError):
    """A command-line flag or environment setting that cannot be used."""
    label = "usage error"


class StorageError(ToolsweepError, OSError):
    """A folder toolsweep writes to ran out of space or stopped being writable while work ran."""
    label = "storage error"


class TrainingError(ToolsweepError, ValueError):
    """A trial whose training ended in weights no model file can hold (a diverged run)."""
    label = "training error"


class ClusterError(ToolsweepError, ValueError):
    """The Ray cluster at RAY_ADDRESS cannot give what the sweep asks for."""
    label = "cluster error"


# errno -> what the user reads. ENOSPC/EDQUOT/EFBIG: out of room; EROFS/EACCES/EPERM: not writable.
_STORAGE_ERRNOS = {28: "no space left on device", 122: "disk quota exceeded", 27: "file too large for this filesystem",
                   30: "the filesystem became read-only", 13: "permission denied", 1: "operation not permitted"}
# Libraries that wrap the OS error in their own exception (safetensors' Rust writer, pyarrow, a
# converter subprocess's stderr) still carry its text; matched case-insensitively.
_STORAGE_TEXTS = {"no space left on device": 28, "os error 28": 28, "disk quota exceeded": 122,
                  "read-only file system": 30, "os error 30": 30, "file too large": 27}


def storage_failure(err: BaseException) -> tuple[str, str | None] | None:
    """(what went wrong, the file or None) when `err`, or an exception it was raised from, is a
    full or unwritable filesystem; None for anything else. Pure: walks `__cause__`/`__context__`."""
    seen: set[int] = set()
    chain: list[BaseException] = []
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        chain.append(err)
        err = err.__cause__ or err.__context__
    for e in chain:
        if isinstance(e, OSError) and e.errno in _STORAGE_ERRNOS:
            return _STORAGE_ERRNOS[e.errno], e.filename if isinstance(e.filename, str) else None
    for e in chain:
        text = str(e).lower()
        for needle, code in _STORAGE_TEXTS.items():
            if needle in text:
                return _STORAGE_ERRNOS[code], None
    return None


# Below this much free space a write failure is put down to the full disk even when the library
# that failed does not say why (torch.save: "PytorchStreamWriter failed writing file").
NEARLY_FULL_BYTES = 1 << 20


def shown_path(path: Path | str, limit: int = 80, keep: int = 60) -> str:
    """A path as a message shows it: whole up to `limit` characters, else its first `keep` and its length
    (a 5 000-character name filled the terminal)."""
    text = str(path)
    return text if len(text) <= limit else f"{text[:keep]}… ({len(text)} characters)"


def filesystem_state(folder: Path) -> tuple[int | None, bool]:
    """(free bytes, read-only) of the filesystem holding `folder` (or its nearest existing parent)."""
    here = next((p for p in (folder, *folder.parents) if p.exists()), None)
    try:
        st = os.statvfs(here)
    except (OSError, TypeError):
        return None, False
    return st.f_bavail * st.f_frsize, bool(st.f_flag & os.ST_RDONLY)


def storage_reason(err: BaseException, folder: str, stage: str, free_bytes: int | None = None,
                   read_only: bool = False, then: str = "resume the sweep") -> str | None:
    """One line for a trial that failed on storage: what, where and at which stage; None otherwise.
    `free_bytes`/`read_only`: the state of `folder`'s filesystem when the error was caught; `then`: what
    to do once there is room."""
    found = storage_failure(err)
    if found is None and read_only:
        found = (_STORAGE_ERRNOS[30], None)
    if found is None and free_bytes is not None and free_bytes < NEARLY_FULL_BYTES:
        found = (f"{_STORAGE_ERRNOS[28]} ({free_bytes // 1024} KB free; {type(err).__name__}: "
                 f"{str(err).strip().splitlines()[0][:120] if str(err).strip() else 'no message'})", None)
    if found is None:
        return None
    what, path = found
    return (f"{what} during {stage}, writing {path or f'under {folder}'}: "
            f"free space or fix the folder, then {then}")
