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


def test_verify_flags_a_pipe_and_a_negative_size(tmp_path):
    import os

    dest = build_release(tmp_path / "fam-1.0", fill_two_files)
    os.mkfifo(dest / "pipe")
    assert verify(dest) == ["not a plain file: pipe (a pipe, socket or device has no content to vouch for)"]
    (dest / "pipe").unlink()
    manifest = json.loads((dest / MANIFEST).read_text())
    manifest["files"]["README.md"]["size_bytes"] = -1
    (dest / MANIFEST).write_text(json.dumps(manifest))
    assert "must be" in verify(dest)[0]


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


def test_a_build_that_does_not_verify_never_takes_the_version(tmp_path):
    from orchestrator.errors import ReleaseError

    def with_a_link(tmp: Path) -> dict:
        fill_two_files(tmp)
        (tmp / "card.md").symlink_to(tmp / "README.md")   # verify refuses links
        return {}

    with pytest.raises(ReleaseError, match="does not verify"):
        build_release(tmp_path / "fam-1.0", with_a_link)
    with pytest.raises(ReleaseError, match="NaN"):
        build_release(tmp_path / "fam-1.0", lambda tmp: fill_two_files(tmp) and {"tool_f1": float("nan")})
    assert list(tmp_path.iterdir()) == []        # no folder, no leftovers: the version is still free
    def private_file(tmp: Path) -> dict:
        meta = fill_two_files(tmp)
        (tmp / "4k" / "gguf" / "m-q4_k_m.gguf").chmod(0o600)  # as an MLflow download of the adapter came out
        return meta

    dest = build_release(tmp_path / "fam-1.0", private_file)
    assert dest.stat().st_mode & 0o777 == 0o755   # readable by the people it is released to
    assert (dest / "4k" / "gguf" / "m-q4_k_m.gguf").stat().st_mode & 0o777 == 0o644


def test_release_cards_read_only_numbers_the_cases_measured(tmp_path):
    from fake_reports import report
    from orchestrator.errors import ReleaseError
    from orchestrator.recipes.release import variant_info

    folder = tmp_path / "4k"
    (folder / "eval").mkdir(parents=True)
    (folder / "promotion").mkdir()
    tuned, base = report({"single_tool": (9, 10)}), report({"single_tool": (5, 10)})
    (folder / "promotion" / "card_info.json").write_text(json.dumps({"primary_quant": "q4_k_m", "quant_types": ["q4_k_m"]}))
    (folder / "promotion" / "vs_base.json").write_text("[]")
    (folder / "promotion" / "decision.json").write_text("{}")
    (folder / "eval" / "base-q4_k_m.json").write_text(json.dumps(base))
    tuned["metrics"]["tool_f1"] = 0.5                     # the summary edited, the cases not
    (folder / "eval" / "tuned-q4_k_m.json").write_text(json.dumps(tuned))
    with pytest.raises(ReleaseError, match=r"tuned-q4_k_m.json: tool_f1: the summary says 0.5, the per-case records give 0.9"):
        variant_info(folder, "fam", "1.0")
    (folder / "eval" / "tuned-q4_k_m.json").write_text(json.dumps(tuned).replace('"tool_f1": 0.5', '"tool_f1": NaN', 1))
    with pytest.raises(ReleaseError, match=r"tuned-q4_k_m.json: not valid JSON \(NaN"):
        variant_info(folder, "fam", "1.0")


def test_verify_checks_the_family_table_against_the_reports_it_was_copied_from(tmp_path):
    from fake_reports import report
    from orchestrator.release.gate import family_rows

    tuned = report({"single_tool": (9, 10)})

    def fill(tmp: Path) -> dict:
        (tmp / "4k" / "eval").mkdir(parents=True)
        (tmp / "4k" / "promotion").mkdir()
        (tmp / "4k" / "eval" / "tuned-q4_k_m.json").write_text(json.dumps(tuned))
        (tmp / "4k" / "promotion" / "card_info.json").write_text(json.dumps({
            "primary_quant": "q4_k_m", "name": "fam-4k", "context": 4096, "eval_set": "test.jsonl",
            "training": {"rank": 16, "alpha": 32}, "source": {"sweep": "s", "trial_id": "335dd155",
                                                              "promotion_run_id": "r"}}))
        rows = family_rows({"4k": {"name": "fam-4k", "context": 4096, "metrics": tuned["metrics"], "rank": 16,
                                   "alpha": 32, "eval_set": "test.jsonl"}})
        return {"family": "fam", "version": "1.0", "variants": {"4k": {"model_version": 1, "run_id": "r"}},
                "family_table": rows}

    dest = build_release(tmp_path / "fam-1.0", fill)
    assert verify(dest) == []
    manifest = json.loads((dest / MANIFEST).read_text())
    manifest["family_table"][0]["tool_f1"] = 0.99          # metadata no file hash covers
    (dest / MANIFEST).write_text(json.dumps(manifest))
    assert verify(dest) == [f"manifest.json: family_table 'fam-4k' tool_f1 is 0.99, but 4k/eval/tuned-q4_k_m.json "
                            f"says {tuned['metrics']['tool_f1']!r}"]
    for edit, problem in [  # every other piece of metadata no hash covers (a blind probe: each passed before)
            (lambda m: m["family_table"][0].update(context=32768), "context is 32768, but 4k/promotion/card_info.json"),
            (lambda m: m["family_table"][0].update(eval_set="dev.jsonl"), "eval_set is 'dev.jsonl'"),
            (lambda m: m.update(family_table=[]), "one row per variant folder"),
            (lambda m: m["family_table"].append(dict(m["family_table"][0])), "one row per variant folder"),
            (lambda m: m["family_table"][0].update(tool_fl=m["family_table"][0].pop("tool_f1")), "unknown or missing"),
            (lambda m: m.update(variants={}), "'variants' must name each variant folder"),
            (lambda m: m["variants"]["4k"].update(bogus=1), "variants['4k'] must hold"),
            (lambda m: m.update(version="9.9"), "but the folder is named 'fam-1.0'"),
            # a second blind probe: provenance edited in the manifest alone, a creation time that is none
            (lambda m: m["variants"]["4k"].update(trial_id="deadbeef"),
             "variants['4k'].trial_id is 'deadbeef', but 4k/promotion/card_info.json says '335dd155'"),
            (lambda m: m["variants"]["4k"].update(run_id="other"), "variants['4k'].run_id is 'other'"),
            (lambda m: m.update(created="not a date"), 'created "not a date" is no ISO 8601 time')]:
        edited = json.loads(json.dumps(manifest))
        edited["family_table"][0]["tool_f1"] = tuned["metrics"]["tool_f1"]
        edit(edited)
        (dest / MANIFEST).write_text(json.dumps(edited))
        assert any(problem in p for p in verify(dest)), (problem, verify(dest))
    (dest / MANIFEST).write_text(json.dumps(manifest | {"family_table": [
        {**manifest["family_table"][0], "tool_f1": tuned["metrics"]["tool_f1"]}]}))
    assert verify(dest) == []
    (dest / "4k").rename(dest / "8k")  # a renamed variant: one line names it before the file-by-file ones
    assert verify(dest)[0] == "variant '4k' has no folder (found 8k/, which the manifest does not list: renamed?)"


def test_verify_checks_each_shipped_gguf_is_the_file_its_report_scored(tmp_path):
    from fake_reports import report
    from orchestrator.release.gate import family_rows

    tuned = report({"single_tool": (9, 10)})
    tuned["header"] = {"model_file": "fam-4k-q4_k_m.gguf", "sha256": hashlib.sha256(b"GGUF-real").hexdigest(), "seed": 0}

    def fill(tmp: Path, gguf: bytes = b"GGUF-real") -> dict:
        for sub in ("eval", "promotion", "gguf"):
            (tmp / "4k" / sub).mkdir(parents=True)
        (tmp / "4k" / "gguf" / "fam-4k-q4_k_m.gguf").write_bytes(gguf)
        (tmp / "4k" / "eval" / "tuned-q4_k_m.json").write_text(json.dumps(tuned))
        (tmp / "4k" / "promotion" / "card_info.json").write_text(json.dumps({
            "primary_quant": "q4_k_m", "name": "fam-4k", "context": 4096, "eval_set": "t", "training": {"rank": 8, "alpha": 16}}))
        rows = family_rows({"4k": {"name": "fam-4k", "context": 4096, "metrics": tuned["metrics"], "rank": 8, "alpha": 16,
                                   "eval_set": "t"}})
        return {"family": "fam", "version": "1.0", "variants": {"4k": {"model_version": 1, "run_id": "r"}},
                "family_table": rows}

    assert verify(build_release(tmp_path / "a" / "fam-1.0", fill)) == []
    from orchestrator.errors import ReleaseError
    with pytest.raises(ReleaseError, match="fam-4k-q4_k_m.gguf is not the file 4k/eval/tuned-q4_k_m.json scored"):
        build_release(tmp_path / "b" / "fam-1.0", lambda tmp: fill(tmp, b"GGUF-truncated"))
