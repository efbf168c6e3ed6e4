"""Output paths a command was given, checked before its work starts.

A command that would fail to write its result should say so before it spends minutes computing it
(an eval, a data build) and before it touches anything: an output path inside a file, a file path
that is a folder, a folder nobody may write to, or an output that is one of the command's own
inputs (writing it would destroy the input). Pure: `os` and `pathlib` only.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator.errors import UsageError


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path(".")


def _check_parents(path: Path, flag: str) -> None:
    """Every existing ancestor of `path` is a folder, and the nearest one is writable."""
    base = _nearest_existing(path.parent if path.parent != path else path)
    if not base.is_dir():
        raise UsageError(f"{flag} {path}: {base} is a file, so nothing can be written under it")
    if not os.access(base, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: the folder {base} is not writable")


def output_file(path: Path, flag: str) -> Path:
    """`path` can be written as a file (made with its folders if missing), or UsageError naming `flag`."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder; expected a file path")
    if path.exists() and not path.is_file():  # `label ... /dev/stdout | jq` hung: outputs are read back, or replaced
        raise UsageError(f"{flag} {path}: not a regular file (a pipe, a device or a socket); expected a file path")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{flag} {path}: the file exists and is not writable")
    _check_parents(path, flag)
    if not path.exists() and path.parent.is_dir():
        _try_create(path, flag)
    return path


def _try_create(path: Path, flag: str) -> None:
    """Create and remove the file: `os.access` says yes to root everywhere, also where no file can be
    made (/proc, a read-only mount), and the eval then failed after its last case."""
    try:
        with open(path, "x"):
            pass
    except FileExistsError:
        return
    except OSError as err:
        raise UsageError(f"{flag} {path}: cannot create the file ({err.strerror})") from None
    path.unlink()


def output_dir(path: Path, flag: str, files: tuple[str, ...] = ()) -> Path:
    """`path` can be used as an output folder, made now if missing, and each of `files` written in it;
    else UsageError naming `flag`. Made now because `os.access` says yes to root everywhere, also where
    no folder can be made (/proc), and the data build then failed after reading every row."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path}: is a file; expected a folder")
    if path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: the folder is not writable")
    _check_parents(path, flag)
    if not path.exists():
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UsageError(f"{flag} {path}: cannot create the folder ({err.strerror})") from None
    for name in files:  # "train.jsonl" left behind as a folder was found only when writing it
        output_file(path / name, flag)
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet: compare where they would be
        return Path(os.path.abspath(a)) == Path(os.path.abspath(b))


def not_an_input(dest: Path, flag: str, *inputs: tuple[Path, str]) -> None:
    """UsageError when `dest` is the same file as one of `inputs` ((path, what) pairs): writing it would
    overwrite that input."""
    for src, what in inputs:
        if src is not None and _same_file(Path(dest), Path(src)):
            raise UsageError(f"{flag} {dest} is the same file as the {what}; writing {flag} would overwrite it")
