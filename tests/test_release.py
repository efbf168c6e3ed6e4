"""Release folders: manifest of sha256 + size, verify catches tampering, atomic build, no overwrite."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.release.manifest import MANIFEST, ReleaseExists, build_manifest, build_release, verify

ROOT = Path(__file__).resolve().parent.parent


def fill_two_files(tmp: Path) -> dict:
    (tmp / "4k" / "gguf").mkdir(parents=True)
    (tmp / "4k" / "gguf" / "m-q4_k_m.gguf").write_bytes(b"GGUF" + bytes(range(10)))
    (tmp / "README.md").write_text("# family\n")
    return {"family": "fam", "version": "1.0"}


def test_manifest_lists_sha256_and_size(tmp_path):
    dest = build_release(tmp_path / "releases" / "fam-1.0", fill_two_files)
    manifest = json.loads((dest / MANIFEST).read_text())
    assert manifest["family"] == "fam" and manifest["version"] == "1.0"
    assert manifest["files"] == {
        "4k/gguf/m-q4_k_m.gguf": {"sha256": hashlib.sha256(b"GGUF" + bytes(range(10))).hexdigest(), "size_bytes": 14},
        "README.md": {"sha256": hashlib.sha256(b"# family\n").hexdigest(), "size_bytes": 9},
    }
    assert verify(dest) == []
    assert build_manifest(dest)["files"] == manifest["files"]


def test_verify_detects_tampering_missing_and_extra_files(tmp_path):
    dest = build_release(tmp_path / "fam-1.0", fill_two_files)
    gguf = dest / "4k" / "gguf" / "m-q4_k_m.gguf"
    data = bytearray(gguf.read_bytes())
    data[5] ^= 0xFF  # same size, different bytes
    gguf.write_bytes(bytes(data))
    assert verify(dest) == ["sha256 differs: 4k/gguf/m-q4_k_m.gguf"]
    (dest / "README.md").write_text("# family, edited\n")
    (dest / "extra.txt").write_text("x")
    gguf.unlink()
    assert verify(dest) == ["missing: 4k/gguf/m-q4_k_m.gguf", "size differs: README.md (17 bytes, manifest says 9)",
                            "not in manifest: extra.txt"]
    (dest / MANIFEST).unlink()
    assert verify(dest) == [f"{dest / MANIFEST}: no manifest"]


def test_existing_version_is_never_overwritten(tmp_path):
    dest = build_release(tmp_path / "fam-1.0", fill_two_files)
    before = (dest / MANIFEST).read_text()
    called = []
    with pytest.raises(ReleaseExists, match="never overwritten"):
        build_release(dest, lambda tmp: called.append(tmp) or {})
    assert called == [] and (dest / MANIFEST).read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fam-1.0"]


def test_failed_build_leaves_nothing_behind(tmp_path):
    def broken(tmp: Path) -> dict:
        (tmp / "half.gguf").write_bytes(b"x")
        raise RuntimeError("download failed")

    with pytest.raises(RuntimeError, match="download failed"):
        build_release(tmp_path / "fam-2.0", broken)
    assert list(tmp_path.iterdir()) == []


def test_version_claimed_while_building_is_not_overwritten(tmp_path):
    dest = tmp_path / "fam-3.0"

    def racing(tmp: Path) -> dict:
        fill_two_files(tmp)
        dest.mkdir()
        (dest / "theirs.txt").write_text("other build")
        return {}

    with pytest.raises(ReleaseExists, match="appeared while"):
        build_release(dest, racing)
    assert [p.name for p in dest.iterdir()] == ["theirs.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fam-3.0"]


def test_cli_verify_exit_codes(tmp_path):
    dest = build_release(tmp_path / "fam-1.0", fill_two_files)
    ok = subprocess.run([sys.executable, "-m", "orchestrator.cli", "verify", str(dest)], cwd=ROOT,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "2 files match manifest.json" in ok.stdout
    (dest / "README.md").write_text("tampered")
    bad = subprocess.run([sys.executable, "-m", "orchestrator.cli", "verify", str(dest)], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert "size differs: README.md" in bad.stdout
