"""Checks on model files a user points toolsweep at, before a library that would crash on them opens them."""

from __future__ import annotations

from pathlib import Path

from evals.errors import ModelFileError

GGUF_MAGIC = b"GGUF"
GGUF_VERSIONS = (2, 3)  # what llama.cpp reads today (v1 files are refused by it too)


def check_gguf(path: Path | str) -> Path:
    """`path` if it is a readable GGUF file (magic and version), else ModelFileError saying what it is."""
    p = Path(path)
    if not p.exists():
        raise ModelFileError(f"{p}: no such GGUF file")
    if p.is_dir():
        raise ModelFileError(f"{p}: is a directory, expected a .gguf file")
    try:
        with p.open("rb") as f:
            head = f.read(8)
    except OSError as err:
        raise ModelFileError(f"{p}: cannot read the GGUF file ({err.strerror or err})") from None
    if head[:4] != GGUF_MAGIC:
        raise ModelFileError(f"{p}: not a GGUF file (it starts with {head[:4]!r}; a GGUF file starts with b'GGUF')")
    version = int.from_bytes(head[4:8], "little") if len(head) == 8 else None
    if version not in GGUF_VERSIONS:
        raise ModelFileError(f"{p}: GGUF version {version} is not one llama.cpp reads (expected one of "
                             f"{list(GGUF_VERSIONS)}); the file may be truncated")
    return p
