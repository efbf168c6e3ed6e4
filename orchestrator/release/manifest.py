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


def verify(root: Path, folder_name: str | None = None) -> list[str]:
    """Problems found (empty = the folder matches its manifest): changed, missing and unlisted files, then
    metadata the files contradict. `folder_name`: the name the folder will have (a release being built)."""
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
    problems = _moved_variants(root, manifest, listed) + problems
    problems += [f"not in manifest: {rel}/ (an empty folder)" for rel in
                 (p.relative_to(root).as_posix() for p in entries if p.is_dir() and not p.is_symlink() and not any(p.iterdir()))
                 if not any(listed_rel.startswith(f"{rel}/") for listed_rel in listed)]  # not where a listed file went missing
    if not problems:  # the files are the ones vouched for: the metadata must say what they say
        problems += metadata_problems(root, manifest, listed, folder_name or root.name)
    return problems


def _moved_variants(root: Path, manifest: dict, listed: dict) -> list[str]:
    """A line naming each variant the manifest lists whose folder is gone, and the unlisted folders
    beside it: a renamed `4k/` gave 36 lines of `missing` and `not in manifest`, none naming the variant."""
    variants = manifest.get("variants")
    if not isinstance(variants, dict):
        return []
    tops = {rel.split("/")[0] for rel in listed}
    strays = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in tops)
    return [f"variant {name!r} has no folder" + (f" (found {', '.join(s + '/' for s in strays)}, which the manifest "
                                                  "does not list: renamed?)" if strays else "")
            for name in variants if not (root / name).is_dir()]


VARIANT_KEYS = {"model_version", "run_id", "trial_id", "sweep"}
FAMILY_ROW_KEYS = {"variant", "name", "context", "rank", "alpha", "eval_set", *FAMILY_TABLE_METRICS}


def metadata_problems(root: Path, manifest: dict, listed: dict, folder_name: str) -> list[str]:
    """What the manifest says that no hash covers, against the files the hashes vouch for: the family
    and version against the folder's name, `variants` and `family_table` (known keys, one entry per
    variant folder, each row's settings against its card_info.json and its metrics against its eval
    report), each eval report against its own per-case records, and each shipped GGUF against the
    sha256 of the file its eval report scored. An edit to any of them passed `verify` before."""
    problems = []
    infos = {}
    for folder in sorted(p for p in root.iterdir() if (p / "promotion" / "card_info.json").is_file()):
        try:
            infos[folder.name] = read_json(folder / "promotion" / "card_info.json", "card input", ReleaseError)
        except ReleaseError as err:
            problems.append(str(err))
    if not infos and not set(manifest) & {"family", "version", "variants", "family_table"}:
        return problems  # a folder of plain files: nothing but the hashes to check
    family, version = manifest.get("family"), manifest.get("version")
    if not (isinstance(family, str) and isinstance(version, str)):
        return problems + ["manifest.json: 'family' and 'version' must be text"]
    if folder_name != f"{family}-{version}":
        problems.append(f"manifest.json: family {family!r} version {version!r}, but the folder is named {folder_name!r} "
                        f"(a release folder is <family>-<version>)")
    variants = manifest.get("variants", {} if not infos else None)
    if not isinstance(variants, dict) or set(variants) != set(infos):
        problems.append(f"manifest.json: 'variants' must name each variant folder once ({sorted(infos)}), got "
                        f"{sorted(variants) if isinstance(variants, dict) else json.dumps(variants)[:60]}")
    else:
        for name, entry in variants.items():
            if set(entry) - VARIANT_KEYS or not {"model_version", "run_id"} <= set(entry):
                problems.append(f"manifest.json: variants[{name!r}] must hold model_version and run_id (keys: "
                                f"{', '.join(sorted(VARIANT_KEYS))}), got {sorted(entry)}")
            problems += _provenance_problems(name, entry, infos[name])
    created = manifest.get("created")
    if created is not None and not _iso_time(created):
        problems.append(f"manifest.json: created {json.dumps(created)[:40]} is no ISO 8601 time")
    rows = manifest.get("family_table", [] if not infos else None)
    if not isinstance(rows, list) or any(not isinstance(r, dict) for r in rows):
        return problems + ["manifest.json: family_table must be a list of row objects"]
    if sorted(str(r.get("variant")) for r in rows) != sorted(infos):
        problems.append(f"manifest.json: family_table must hold one row per variant folder ({sorted(infos)}), got "
                        f"{sorted(str(r.get('variant')) for r in rows)}")
    reports: dict[str, dict[str, object]] = {}  # variant -> eval file name -> its JSON, each file read once
    for variant in infos:
        problems += _report_and_gguf_problems(root, variant, listed, reports.setdefault(variant, {}))
    for row in rows:
        variant = str(row.get("variant"))
        problems += _row_problems(row, infos.get(variant), reports.get(variant, {}))
    return problems


def _provenance_problems(variant: str, entry: dict, info: dict) -> list[str]:
    """The manifest's record of where a variant came from against its hashed card_info.json: a trial id
    edited in the manifest alone passed `verify`."""
    source = info.get("source") if isinstance(info.get("source"), dict) else {}
    pairs = (("trial_id", "trial_id"), ("sweep", "sweep"), ("run_id", "promotion_run_id"))
    return [f"manifest.json: variants[{variant!r}].{key} is {entry[key]!r}, but {variant}/promotion/card_info.json "
            f"says {source[theirs]!r}" for key, theirs in pairs
            if key in entry and theirs in source and entry[key] != source[theirs]]


def _iso_time(value: object) -> bool:
    from datetime import datetime
    try:
        datetime.fromisoformat(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _row_problems(row: dict, info: dict | None, reports: dict[str, object]) -> list[str]:
    name = row.get("name")
    if set(row) != FAMILY_ROW_KEYS:
        return [f"manifest.json: family_table row {name!r}: keys {sorted(set(row) ^ FAMILY_ROW_KEYS)} are "
                f"unknown or missing (a row holds {', '.join(sorted(FAMILY_ROW_KEYS))})"]
    if info is None:
        return []  # the variant mismatch is reported once above
    problems = []
    training = info.get("training") if isinstance(info.get("training"), dict) else {}
    for column, stated in (("name", info.get("name")), ("context", info.get("context")), ("eval_set", info.get("eval_set")),
                           ("rank", training.get("rank")), ("alpha", training.get("alpha"))):
        if row[column] != stated:
            problems.append(f"manifest.json: family_table {name!r} {column} is {row[column]!r}, but "
                            f"{row['variant']}/promotion/card_info.json says {stated!r}")
    quant = info.get("primary_quant")
    try:
        metrics = reports[f"tuned-{quant}.json"]["metrics"]
    except (KeyError, TypeError):
        return problems + [f"manifest.json: family_table row {name!r} names variant {row['variant']!r}, which has no "
                           f"readable eval/tuned-{quant}.json"]
    for column, metric in FAMILY_TABLE_METRICS.items():
        if row[column] != metrics.get(metric):
            problems.append(f"manifest.json: family_table {name!r} {column} is {row[column]!r}, but "
                            f"{row['variant']}/eval/tuned-{quant}.json says {metrics.get(metric)!r}")
    return problems


def _report_and_gguf_problems(root: Path, variant: str, listed: dict, read: dict[str, object]) -> list[str]:
    """Each eval report of a variant against its own records, and each shipped GGUF against the hash its
    report's header records; `read` gets every report's JSON (by file name) for the family-table check."""
    from evals.harness import checked_loaded_report

    problems = []
    for path in sorted((root / variant / "eval").glob("*.json")):
        try:
            read[path.name] = read_json(path, "eval report", ReleaseError)
            report = checked_loaded_report(read[path.name], path, ReleaseError)
        except ReleaseError as err:
            problems.append(str(err))
            continue
        header = report.get("header") or {}
        if not path.name.startswith("tuned-") or not isinstance(header.get("sha256"), str):
            continue  # the base's GGUF is not shipped; reports before 2026-12 record no hash
        rel = f"{variant}/gguf/{header.get('model_file')}"
        if rel not in listed:
            problems.append(f"{variant}/eval/{path.name} scored {header.get('model_file')!r}, which the release does not ship")
        elif listed[rel]["sha256"] != header["sha256"]:
            problems.append(f"{rel} is not the file {variant}/eval/{path.name} scored (its sha256 differs from the "
                            "report's header): the card's numbers would describe another model")
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
        for p in tmp.rglob("*"):  # a release is for others to read: a downloaded adapter came out 0600
            if not p.is_symlink():
                p.chmod(0o755 if p.is_dir() else 0o644)
        write_manifest(tmp, meta)
        problems = verify(tmp, dest.name)  # before the rename: a broken release never takes the version's name
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
