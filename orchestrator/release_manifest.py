"""Release folders: built whole in a temporary directory, renamed into place, never overwritten,
and described by a manifest of every file's sha256 and size that `verify` checks.

Plain Python (hashlib, os): no MLflow, no models.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from orchestrator.hashing import sha256_file

MANIFEST = "manifest.json"


class ReleaseExists(FileExistsError):
    """A release version is immutable: building it again is refused, never merged or overwritten."""


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.relative_to(root).as_posix() != MANIFEST)


def build_manifest(root: Path, meta: dict | None = None) -> dict:
    """`{..meta, "files": {relative/path: {"sha256", "size_bytes"}}}` over every file but the manifest."""
    files = {p.relative_to(root).as_posix(): {"sha256": sha256_file(p), "size_bytes": p.stat().st_size}
             for p in _files(root)}
    return {**(meta or {}), "files": files}


def write_manifest(root: Path, meta: dict | None = None) -> dict:
    manifest = build_manifest(root, meta)
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def verify(root: Path) -> list[str]:
    """Problems found (empty = the folder matches its manifest): changed, missing and unlisted files."""
    path = root / MANIFEST
    if not path.is_file():
        return [f"{path}: no manifest"]
    try:
        listed = json.loads(path.read_text())["files"]
    except (ValueError, KeyError) as err:
        return [f"{path}: unreadable manifest ({err})"]
    problems = []
    present = {p.relative_to(root).as_posix(): p for p in _files(root)}
    for rel, entry in sorted(listed.items()):
        p = present.get(rel)
        if p is None:
            problems.append(f"missing: {rel}")
        elif p.stat().st_size != entry["size_bytes"]:
            problems.append(f"size differs: {rel} ({p.stat().st_size} bytes, manifest says {entry['size_bytes']})")
        elif sha256_file(p) != entry["sha256"]:
            problems.append(f"sha256 differs: {rel}")
    problems += [f"not in manifest: {rel}" for rel in sorted(set(present) - set(listed))]
    return problems


def build_release(dest: Path, fill: Callable[[Path], dict | None]) -> Path:
    """Run `fill(tmp_dir)` (it writes the files and returns manifest metadata), add the manifest,
    then rename the finished folder to `dest`. An existing `dest` is refused before any work and
    again at the rename, so a half-built or concurrent release never takes its place."""
    if dest.exists():
        raise ReleaseExists(f"{dest} already exists; a release version is never overwritten (choose a new version)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.building-"))
    try:
        meta = fill(tmp)
        write_manifest(tmp, meta)
        if dest.exists():  # appeared while building
            raise ReleaseExists(f"{dest} appeared while this release was being built; nothing was overwritten")
        try:
            os.rename(tmp, dest)
        except OSError as err:
            raise ReleaseExists(f"{dest} could not be claimed ({err}); nothing was overwritten") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest
