"""The data generator commands through the real CLI."""

import json
from pathlib import Path

from tests.helpers import toolsweep

ROOT = Path(__file__).resolve().parent.parent




def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_help_lists_the_data_commands():
    res = toolsweep("--help")
    assert res.returncode == 0 and "anonymise" in res.stdout and "label" in res.stdout
    res = toolsweep("anonymise", "--help")
    said = " ".join(res.stdout.split())  # argparse wraps the text to the terminal's width
    assert "environment variable" in said and "shell history" in said


def test_make_data_toolset_and_honesty(tmp_path):
    res = toolsweep("make-data", "--toolset", "data/toolsets/starter.yaml", "--count", "70", "--out",
                     str(tmp_path / "ts.jsonl"))
    assert res.returncode == 0, res.stderr
    rows = _rows(tmp_path / "ts.jsonl")
    assert len(rows) == 70 and len({r["scenario"] for r in rows}) == 7
    res = toolsweep("make-data", "--honesty", "-n", "20", "--max-retries", "1", "--out", str(tmp_path / "h.jsonl"))
    assert res.returncode == 0, res.stderr
    rows = _rows(tmp_path / "h.jsonl")
    assert len(rows) == 20 and all(r["meta"]["track"] == "honesty" and r["meta"]["retries"] <= 1 for r in rows)


def test_make_data_bad_toolset_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("system_prompt: x\njoiners: [' and ']\nmix: {single_tool: 1}\ntools: {}\n")
    res = toolsweep("make-data", "--toolset", str(bad), "--out", str(tmp_path / "x.jsonl"))
    assert res.returncode == 2 and f"config error: {bad}: 1 problem(s) in the toolset:\n  - tools:" in res.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_make_data_long_context(tmp_path):
    res = toolsweep("make-data", "--long-context", "16384", "-n", "1", "--out", str(tmp_path / "l.jsonl"))
    assert res.returncode == 0, res.stderr
    (row,) = _rows(tmp_path / "l.jsonl")
    assert 0.95 * 16384 <= row["meta"]["tokens"] <= 16384 and f"max {row['meta']['tokens']}" in res.stdout


def test_anonymise_reads_the_key_from_the_environment_and_refuses_survivors(tmp_path):
    src, dest, known = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "known.txt"
    src.write_text(json.dumps({"messages": [{"role": "user", "content": "Mail Priya at priya@corp.example.com"}]}) + "\n")
    known.write_text("Priya\n")
    res = toolsweep("anonymise", str(src), str(dest), "--key-env", "ANON_KEY", "--known", str(known))
    assert res.returncode == 2 and "ANON_KEY is unset" in res.stderr and not dest.exists()
    res = toolsweep("anonymise", str(src), str(dest), "--key-env", "ANON_KEY", "--known", str(known),
                     env={"ANON_KEY": "k1-test-key-0123456789"})
    assert res.returncode == 0, res.stderr
    assert "priya" not in dest.read_text().lower() and "email" in res.stdout and "name" in res.stdout
    dest.unlink()
    res = toolsweep("anonymise", str(src), str(dest), "--key-env", "ANON_KEY", "--known", str(known),
                     "--disable", "name", env={"ANON_KEY": "k1-test-key-0123456789"})
    assert res.returncode == 2 and "a name value would survive" in res.stderr and not dest.exists()


def test_label_with_an_unreachable_endpoint_stops_and_resumes(tmp_path):
    src = tmp_path / "raw.jsonl"
    from orchestrator.data.generators.starter import TOOLS
    src.write_text(json.dumps({"user": "Weather in Oslo?", "tools": [TOOLS["get_weather"]]}) + "\nnot json\n")
    argv = ["label", str(src), str(tmp_path / "out.jsonl"), "--endpoint", "http://127.0.0.1:9", "--timeout", "5",
            "--retries", "0"]
    res = toolsweep(*argv)
    assert res.returncode == 3, res.stderr   # no request reached the teacher: not a success
    assert "no request reached the teacher" in res.stderr and "--resume" in res.stderr
    rejects = _rows(tmp_path / "out.rejects.jsonl")
    assert [r["line"] for r in rejects] == [1, 2] and (tmp_path / "out.jsonl").read_text() == ""
    assert [r["retry"] for r in rejects] == [True, False]
    assert "2 rows: 0 labelled" in res.stdout
    res = toolsweep(*argv)   # a rerun must not empty what is there
    assert res.returncode == 2 and "--resume" in res.stderr and len(_rows(tmp_path / "out.rejects.jsonl")) == 2
    res = toolsweep(*argv, "--resume")   # sends the failed row again, keeps the bad input's reject
    assert res.returncode == 3 and "1 already done, skipped" in res.stdout
    assert [r["line"] for r in _rows(tmp_path / "out.rejects.jsonl")] == [2, 1]


def test_anonymise_refuses_a_short_key_and_never_prints_one_given_in_place_of_a_name(tmp_path):
    src, dest = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"messages": [{"role": "user", "content": "Mail priya@corp.example.com"}]}) + "\n")
    for key in ("a", "   ", "short-key-12345"):
        res = toolsweep("anonymise", str(src), str(dest), "--key-env", "ANON_KEY", env={"ANON_KEY": key})
        assert res.returncode == 2 and not dest.exists(), res.stderr
        assert ("unset or empty" if not key.strip() else "use at least 16 random characters") in res.stderr
    res = toolsweep("anonymise", str(src), str(dest), "--key-env", "s3cr3t-v@lue/9Xq")
    assert res.returncode == 2 and "not a variable name" in res.stderr and "s3cr3t" not in res.stderr + res.stdout
