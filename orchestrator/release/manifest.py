"""Release folders: built whole in a temporary directory, renamed into place, never overwritten,
and described by a manifest of every file's sha256 and size that `verify` checks.

Plain Python (hashlib, os): no MLflow, no models.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Callable

from orchestrator.errors import ReleaseError
from orchestrator.release.gate import FAMILY_TABLE_METRICS
from orchestrator.hashing import sha256_file
from evals.textio import mapping_at, read_json

MANIFEST = "manifest.json"


class ReleaseExists(ReleaseError, FileExistsError):
    """A release version is immutable: building it again is refused, never merged or overwritten."""


def _files(root: Path, entries: list[Path] | None = None) -> list[Path]:
    """The release's files but the manifest (from `entries`, a walk of `root` already made, if given)."""
    walked = root.rglob("*") if entries is None else entries
    return sorted(p for p in walked if p.is_file() and p.relative_to(root).as_posix() != MANIFEST)


def build_manifest(root: Path, meta: dict | None = None) -> dict:
    """`{..meta, "files": {relative/path: {"sha256", "size_bytes"}}}` over every file but the manifest."""
    files = {p.relative_to(root).as_posix(): {"sha256": sha256_file(p), "size_bytes": p.stat().st_size}
             for p in _files(root)}
    return {**(meta or {}), "files": files}


def write_manifest(root: Path, meta: dict | None = None) -> dict:
    manifest = build_manifest(root, meta)
    try:
        text = json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False)
    except ValueError:  # a NaN in the metadata: JSON cannot hold it, and `verify` would refuse the file
        raise ReleaseError(f"{root}: the release metadata holds a NaN or infinite number; nothing was released") from None
    (root / MANIFEST).write_text(text + "\n")
    return manifest


# What a release manifest holds (orchestrator/recipes/release.py writes it): a misspelt key is not
# read by anything, so it is refused rather than passed over.
MANIFEST_KEYS = {"family", "version", "registered_model", "tracking_uri", "created", "variants", "family_table",
                 "files"}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def manifest_files(manifest: object, path: Path | str) -> dict:
    """The manifest's `files` table, checked: {relative path: {"sha256": hex, "size_bytes": int}}."""
    files = mapping_at(manifest, "files", str(path), ReleaseError)
    unknown = sorted(set(manifest) - MANIFEST_KEYS) if isinstance(manifest, dict) else []
    if unknown:
        raise ReleaseError(f"{path}: unknown key(s) {unknown} (a manifest holds {', '.join(sorted(MANIFEST_KEYS))})")
    if not files:
        raise ReleaseError(f"{path}: 'files' lists no file: an empty release vouches for nothing")
    for rel, entry in files.items():
        if not (isinstance(entry, dict) and set(entry) == {"sha256", "size_bytes"} and isinstance(entry["sha256"], str)
                and isinstance(entry["size_bytes"], int) and not isinstance(entry["size_bytes"], bool)
                and entry["size_bytes"] >= 0):
            raise ReleaseError(f"{path}: files[{rel!r}] must be {{\"sha256\": <hex>, \"size_bytes\": <int>}}, "
                               f"got {json.dumps(entry)[:80]}")
        if not _SHA256.fullmatch(entry["sha256"]):
            raise ReleaseError(f"{path}: files[{rel!r}].sha256 is not a sha256 (64 lower-case hex digits): "
                               f"{entry['sha256'][:80]!r}")
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise ReleaseError(f"{path}: files[{rel!r}] must be a path inside the release folder")
        if not rel or PurePosixPath(rel).as_posix() != rel or rel.startswith("./"):
            raise ReleaseError(f"{path}: files[{rel!r}] must be written as a plain relative path "
                               f"({PurePosixPath(rel).as_posix()!r}); it would be reported missing")
        if rel == MANIFEST:
            raise ReleaseError(f"{path}: files lists {MANIFEST} itself, which cannot hold its own hash")
    _check_variants(manifest, files, path)
    return files


def _check_variants(manifest: dict, files: dict, path: Path | str) -> None:
    """Each variant the manifest names is a folder of the release: a name edited there would pass."""
    variants = manifest.get("variants")
    if variants is None:
        return
    if not isinstance(variants, dict) or any(not isinstance(v, dict) for v in variants.values()):
        raise ReleaseError(f"{path}: 'variants' must map each variant to its registry entry")
    for variant in variants:
        if not any(rel.startswith(f"{variant}/") for rel in files):
            raise ReleaseError(f"{path}: variants names {variant!r}, but the release holds no file under {variant}/")


def verify(root: Path) -> list[str]:
    """Problems found (empty = the folder matches its manifest): changed, missing and unlisted files."""
    path = root / MANIFEST
    if not path.is_file():
        return [f"{path}: no manifest"]
    try:
        manifest = read_json(path, "release manifest", ReleaseError)
        listed = manifest_files(manifest, path)
    except ReleaseError as err:
        return [str(err)]
    problems = []
    entries = sorted(root.rglob("*"))  # one walk of the folder for every check below
    present = {p.relative_to(root).as_posix(): p for p in _files(root, entries)}
    links = [p.relative_to(root).as_posix() for p in entries if p.is_symlink()]
    problems += [f"symbolic link: {rel} (a release holds plain files; a link's target is outside what the "
                 f"manifest vouches for)" for rel in links]
    problems += [f"not a plain file: {p.relative_to(root).as_posix()} (a pipe, socket or device has no content to "
                 "vouch for)" for p in entries if not p.is_symlink() and not p.is_file() and not p.is_dir()]
    for rel, entry in sorted(listed.items()):
        p = present.get(rel)
        if p is None:
            problems.append(f"missing: {rel}")
        elif rel in links:
            continue
        elif not os.access(p, os.R_OK):
            problems.append(f"unreadable: {rel} (permission denied)")
        elif p.stat().st_size != entry["size_bytes"]:
            problems.append(f"size differs: {rel} ({p.stat().st_size} bytes, manifest says {entry['size_bytes']})")
        elif sha256_file(p) != entry["sha256"]:
            problems.append(f"sha256 differs: {rel}")
    problems += [f"not in manifest: {rel}" for rel in sorted(set(present) - set(listed))]
    if not problems:  # the files are the ones vouched for: the metadata must say what they say
        problems += family_table_problems(root, manifest)
    return problems


def family_table_problems(root: Path, manifest: dict) -> list[str]:
    """The manifest's family table against the eval reports it was copied from (files the manifest's
    hashes vouch for): the table is metadata no hash covers, and a number edited there would pass."""
    problems = []
    for row in manifest.get("family_table") or []:
        if not isinstance(row, dict):
            return ["manifest.json: family_table rows must be objects"]
        folder = root / str(row.get("variant", ""))
        try:
            quant = read_json(folder / "promotion" / "card_info.json", "card input", ReleaseError)["primary_quant"]
            metrics = read_json(folder / "eval" / f"tuned-{quant}.json", "eval report", ReleaseError)["metrics"]
        except (ReleaseError, KeyError, TypeError):
            problems.append(f"manifest.json: family_table row {row.get('name')!r} names variant "
                            f"{row.get('variant')!r}, which has no readable promotion/card_info.json and eval report")
            continue
        for column, metric in FAMILY_TABLE_METRICS.items():
            if column in row and row[column] != metrics.get(metric):
                problems.append(f"manifest.json: family_table {row.get('name')!r} {column} is {row[column]!r}, but "
                                f"{row['variant']}/eval/tuned-{quant}.json says {metrics.get(metric)!r}")
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
        problems = verify(tmp)  # before the rename: a broken release never takes the version's name
        if problems:
            raise ReleaseError(f"{dest}: the built release does not verify, nothing was released: {problems[0]}")
        tmp.chmod(0o755)  # mkdtemp makes it 0700: a release is for others to read
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
