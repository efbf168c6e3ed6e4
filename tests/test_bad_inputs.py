"""The bad-input corpus: broken inputs through the real CLI (`orchestrator.cli.main`, in process).

Each case asserts the exit code, that no traceback reaches the user, and that the message names the
offending file, key or row. Data cases also assert the exact counts: rows read = rows kept +
rows quarantined (by reason) + rows not sampled. Categories: sweep YAMLs, `--set` overrides, family
files, toolsets, training data, eval case files, GGUF files, release folders and manifests, eval
reports, anonymiser inputs, sweep folders and teacher endpoint answers.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import yaml

from orchestrator.cli import main
from orchestrator.search.space import apply_params

ROOT = Path(__file__).resolve().parent.parent
STARTER = (ROOT / "data/starter/train.jsonl").read_text(encoding="utf-8").splitlines()
_STARTER_TOOLSET = (ROOT / "data/toolsets/starter.yaml").read_text(encoding="utf-8")
DEV_CASE = json.loads((ROOT / "evals/sets/dev.jsonl").read_text(encoding="utf-8").splitlines()[0])


@dataclass
class Case:
    category: str
    name: str
    build: Callable[[Path], list[str]]       # writes its files under tmp, returns the argv
    names: list[str]                         # what the message must mention (may use {tmp})
    rc: int = 2
    counts: dict | None = None               # data cases: {"read": n, "kept": n, "quarantined": {check: n}}
    extra: Callable[[Path], None] | None = field(default=None)  # further assertions on tmp


def _sweep_dict(tmp: Path, **over) -> dict:
    cfg = {"name": "bad-input", "model": {"base": "tiny"}, "output_dir": str(tmp / "runs"),
           "data": {"sources": {"starter": {"path": str(ROOT / "data/starter/train.jsonl")}},
                    "eval": str(ROOT / "evals/sets/dev.jsonl"), "leakage": {"check": False}},
           "tracking": {"uri": f"sqlite:///{tmp}/mlruns/mlflow.db", "artifact_root": str(tmp / "mlruns/artifacts")},
           "search": {"storage_path": str(tmp / "ray")}}
    return apply_params(cfg, {key.replace("__", "."): value for key, value in over.items()})


def _yaml(tmp: Path, data, name: str = "sweep.yaml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def check(tmp: Path, **over) -> list[str]:
    return ["check-config", str(_yaml(tmp, _sweep_dict(tmp, **over)))]


def raw_config(text: bytes | str, cmd: str = "check-config") -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        path = tmp / "sweep.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return [cmd, str(path)]
    return build


def with_set(*sets: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        argv = check(tmp)
        for s in sets:
            argv += ["--set", s]
        return argv
    return build


def family(data_of: Callable[[Path], object]) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        return ["family", str(_yaml(tmp, data_of(tmp), "family.yaml"))]
    return build


def toolset(text: str | None) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        path = tmp / "toolset.yaml"
        if text is not None:
            path.write_text(text, encoding="utf-8")
        return ["make-data", "--toolset", str(path), "--count", "3", "--out", str(tmp / "out.jsonl")]
    return build


def data_source(content: bytes | Callable[[Path], Path] | None, suffix: str = ".jsonl") -> Callable[[Path], list[str]]:
    """`toolsweep data` on one source: bytes written to a file, a callable that makes the path, or None (absent)."""
    def build(tmp: Path) -> list[str]:
        if callable(content):
            path = content(tmp)
        else:
            path = tmp / f"source{suffix}"
            if content is not None:
                path.write_bytes(content)
        cfg = _sweep_dict(tmp)
        cfg["data"]["sources"] = {"src": {"path": str(path)}}
        return ["data", str(_yaml(tmp, cfg)), "--out", str(tmp / "data-out")]
    return build


def _data_out_with_folder(tmp: Path) -> list[str]:
    """`toolsweep data` whose --out holds a folder named train.jsonl (found only after the build, as a crash)."""
    (tmp / "data-out" / "train.jsonl").mkdir(parents=True)
    return ["data", str(_yaml(tmp, _sweep_dict(tmp))), "--out", str(tmp / "data-out")]


def _data_out_over_its_source(tmp: Path) -> list[str]:
    """`toolsweep data --out` the folder of the train.jsonl it reads: the mix replaced its source, and
    every row not sampled was gone."""
    (tmp / "data-out").mkdir()
    (tmp / "data-out" / "train.jsonl").write_bytes(_lines(*STARTER[:3]))
    cfg = _sweep_dict(tmp)
    cfg["data"]["sources"] = {"mine": {"path": str(tmp / "data-out" / "train.jsonl")}}
    return ["data", str(_yaml(tmp, cfg)), "--out", str(tmp / "data-out")]


def _source_kept(tmp: Path) -> None:
    assert (tmp / "data-out" / "train.jsonl").read_bytes() == _lines(*STARTER[:3])


def _same_source_twice(tmp: Path) -> list[str]:
    (tmp / "rows.jsonl").write_bytes(_lines(*STARTER[:3]))
    cfg = _sweep_dict(tmp)
    cfg["data"]["sources"] = {"src": {"path": str(tmp / "rows.jsonl")}, "again": {"path": str(tmp / "." / "rows.jsonl")}}
    return ["data", str(_yaml(tmp, cfg)), "--out", str(tmp / "data-out")]


def _data_out_under_proc(tmp: Path) -> list[str]:
    """`toolsweep data --out` where even root cannot make a folder (os.access says yes to root)."""
    return ["data", str(_yaml(tmp, _sweep_dict(tmp))), "--out", "/proc/toolsweep-nope"]


def _two_sources(tmp: Path, broken: bytes) -> list[str]:
    """`toolsweep data` on the starter rows plus a source `broken` holding `broken`."""
    (tmp / "broken.jsonl").write_bytes(broken)
    cfg = _sweep_dict(tmp)
    cfg["data"]["sources"]["broken"] = {"path": str(tmp / "broken.jsonl")}
    return ["data", str(_yaml(tmp, cfg)), "--out", str(tmp / "data-out")]


def _csv_rows(n: int) -> bytes:
    import csv
    import io
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["messages", "tools"])
    for line in STARTER[:n]:
        row = json.loads(line)
        writer.writerow([json.dumps(row["messages"]), json.dumps(row.get("tools") or [])])
    return buf.getvalue().encode()


def _lines(*rows: str | bytes, sep: bytes = b"\n") -> bytes:
    return sep.join(r if isinstance(r, bytes) else r.encode() for r in rows) + sep


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _row_with(mutate: Callable[[dict], None], index: int = 0) -> str:
    row = json.loads(STARTER[index])
    mutate(row)
    return json.dumps(row)


def _empty_user(row: dict) -> None:
    next(m for m in row["messages"] if m["role"] == "user")["content"] = "   "


def _no_user(row: dict) -> None:
    row["messages"] = [m for m in row["messages"] if m["role"] != "user"]


def _text_parts(row: dict) -> None:
    turn = next(m for m in row["messages"] if m["role"] == "user")
    words = turn["content"].split(" ")
    turn["content"] = [{"type": "text", "text": " ".join(words[:2]) + " "}, {"type": "text", "text": " ".join(words[2:])}]


def _image_part(row: dict) -> None:
    next(m for m in row["messages"] if m["role"] == "user")["content"] = [
        {"type": "text", "text": "What is in this picture?"}, {"type": "image_url", "image_url": {"url": "cat.png"}}]


def _misspelt_schema_type(row: dict) -> None:
    row["tools"][0]["function"]["parameters"]["type"] = "strng"


def cases_file(content: bytes | None, model: str = "nope.gguf") -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        path = tmp / "cases.jsonl"
        if content is not None:
            path.write_bytes(content)
        return ["eval", str(tmp / model), "--cases", str(path)]
    return build


def _case_with(mutate: Callable[[dict], None]) -> str:
    case = json.loads(json.dumps(DEV_CASE))
    mutate(case)
    return json.dumps(case)


def gguf(content: bytes | None, is_dir: bool = False) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        path = tmp / "model.gguf"
        if is_dir:
            path.mkdir()
        elif content is not None:
            path.write_bytes(content)
        return ["eval", str(path), "--cases", str(ROOT / "evals/sets/dev.jsonl"), "--limit", "1"]
    return build


def release(manifest: bytes | None, make_dir: bool = True) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        folder = tmp / "rel"
        if make_dir:
            folder.mkdir()
            (folder / "card.md").write_text("card\n")
            if manifest is not None:
                (folder / "manifest.json").write_bytes(manifest)
        return ["verify", str(folder)]
    return build


def report(a: bytes | None, b: bytes | None = None) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        pa, pb = tmp / "a.json", tmp / "b.json"
        if a is not None:
            pa.write_bytes(a)
        pb.write_bytes(b if b is not None else (a or b"{}"))
        return ["compare", str(pa), str(pb)]
    return build


def _report(ids: list[str]) -> bytes:
    return json.dumps({"metrics": {"tool_f1": 0.5}, "cases": [{"id": i, "kind": "call", "scenario": "s"} for i in ids]}).encode()


def anonymise(src: bytes | None, known: str | None = None, key: bool = True, extra: list[str] = ()) -> Callable:
    def build(tmp: Path) -> list[str]:
        path = tmp / "in.jsonl"
        if src is not None:
            path.write_bytes(src)
        argv = ["anonymise", str(path), str(tmp / "out.jsonl"), "--key-env",
                "TOOLSWEEP_TEST_KEY" if key else "TOOLSWEEP_TEST_UNSET_KEY", *extra]
        if known is not None:
            (tmp / "known.txt").write_text(known, encoding="utf-8")
            argv += ["--known", str(tmp / "known.txt")]
        return argv
    return build


def sweep_dir(state: bytes | None, cmd: str = "resume") -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        folder = tmp / "ray" / "x-20260101-000000"
        folder.mkdir(parents=True)
        if state is not None:
            (folder / "toolsweep_sweep.json").write_bytes(state)
        return [cmd, str(folder)]
    return build


def _same_file(cmd: str) -> Callable[[Path], list[str]]:
    """label / anonymise given their input as the output: refused before anything is written."""
    def build(tmp: Path) -> list[str]:
        src = tmp / "in.jsonl"
        src.write_text('{"user": "weather in Oslo?", "tools": []}\n')
        if cmd == "label":
            return ["label", str(src), str(src), "--endpoint", "http://127.0.0.1:9"]
        return ["anonymise", str(src), str(tmp / "." / "in.jsonl"), "--key-env", "TOOLSWEEP_TEST_KEY"]
    return build


def _nothing_built_beside(tmp: Path) -> None:
    assert sorted(p.name for p in tmp.iterdir()) == [], sorted(p.name for p in tmp.iterdir())


def _input_kept(tmp: Path) -> None:
    assert (tmp / "in.jsonl").read_text() == '{"user": "weather in Oslo?", "tools": []}\n'


def _eval_out_under_a_file(tmp: Path) -> list[str]:
    (tmp / "afile").write_text("x")
    return ["eval", str(tmp / "nope.gguf"), "--cases", str(ROOT / "evals/sets/dev.jsonl"), "--out", str(tmp / "afile/report")]


def _release_link(tmp: Path) -> list[str]:
    from orchestrator.release.manifest import write_manifest

    folder = tmp / "rel"
    folder.mkdir()
    (folder / "card.md").write_text("card\n")
    write_manifest(folder, {})
    (tmp / "outside.md").write_text("card\n")
    (folder / "card.md").unlink()
    (folder / "card.md").symlink_to(tmp / "outside.md")  # same bytes, but not the release's own file
    return ["verify", str(folder)]


class _Teacher(http.server.BaseHTTPRequestHandler):
    answer: bytes = b""
    status: int = 200

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        if 300 <= type(self).status < 400:
            self.send_header("Location", "http://localhost:1/elsewhere")
        self.end_headers()
        self.wfile.write(type(self).answer)

    def log_message(self, *args):
        pass


def teacher(answer: bytes | None, src: bytes | None = b'{"user": "weather in Oslo?", "tools": []}\n',
            status: int = 200, raw_src: bool = False, flags: tuple[str, ...] = ()) -> Callable:
    """`toolsweep label` against a local endpoint that gives `answer` with `status` (None: nothing
    listens), with no retries (the retry waits are tested in test_teacher.py)."""
    def build(tmp: Path) -> list[str]:
        path = tmp / "requests.jsonl"
        if raw_src:
            path.write_bytes(src)
        elif src is not None:
            tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
                "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
            rows = [json.loads(line) for line in src.decode().splitlines() if line.strip()]
            path.write_text("".join(json.dumps({**r, "tools": tools}) + "\n" for r in rows))
        if answer is None:
            endpoint = "http://127.0.0.1:9"  # discard port: nothing answers
        else:
            handler = type("Handler", (_Teacher,), {"answer": answer, "status": status})
            server = http.server.HTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            endpoint = f"http://127.0.0.1:{server.server_port}"
        return ["label", str(path), str(tmp / "labelled.jsonl"), "--endpoint", endpoint, "--timeout", "5",
                "--retries", "0", *flags]
    return build


def _rejected(reason: str) -> Callable[[Path], None]:
    def extra(tmp: Path) -> None:
        rejects = [json.loads(line) for line in (tmp / "labelled.rejects.jsonl").read_text().splitlines()]
        assert len(rejects) == 1 and reason in json.dumps(rejects[0])
        assert (tmp / "labelled.jsonl").read_text() == ""
    return extra


def _kept_row(tmp: Path) -> None:
    assert (tmp / "labelled.jsonl").read_text() == '{"id": "kept"}\n'


def _chat(message: dict) -> bytes:
    return json.dumps({"choices": [{"message": message}]}).encode()


CASES = [
    # --- sweep YAMLs ----------------------------------------------------------------------------
    # a fuzz of the smoke sweep's leaves (2026-12-08): each ended in an "unexpected" error
    Case("sweep yaml", "a base model written as a list", lambda tmp: check(tmp, model__base=[]),
         ["model.base", "valid string"]),
    # accepted by check-config: values no run could use (a C int overflowed at the trial), booleans as numbers
    Case("sweep yaml", "a LoRA rank of 2**63", lambda tmp: check(tmp, train__lora__rank=2 ** 63),
         ["train.lora.rank", "less than or equal to 4096"]),
    Case("sweep yaml", "a LoRA alpha of 2**63", lambda tmp: check(tmp, train__lora__alpha=2 ** 63),
         ["train.lora.alpha", "is more than 1000000"]),
    Case("sweep yaml", "an eval context past any int32", lambda tmp: check(tmp, eval__n_ctx=2 ** 40),
         ["eval.n_ctx", "less than or equal to 1048576"]),
    Case("sweep yaml", "a rung weight written as true", lambda tmp: check(
        tmp, search__objectives={"tool_f1": "max"}, search__rung_weights={"tool_f1": True}),
         ["search.rung_weights", "tool_f1: expected a number, got the boolean true"]),
    Case("sweep yaml", "a search range bound written as true", lambda tmp: check(
        tmp, search_space={"train.learning_rate": {"loguniform": [1e-5, True]}}),
         ["search_space.train.learning_rate.loguniform", "got a boolean in [1e-05, true]"]),
    Case("sweep yaml", "a data path longer than the filesystem allows",
         lambda tmp: check(tmp, data__sources__starter__path="a" * 5000),
         ["data.sources.starter.path", "(5000 characters)", "File name too long"]),
    Case("sweep yaml", "an output folder name longer than the filesystem allows",
         lambda tmp: check(tmp, output_dir=str(tmp / ("b" * 300))), ["output_dir", "File name too long"]),
    Case("sweep yaml", "a chat template path longer than the filesystem allows",
         lambda tmp: check(tmp, model__chat_template="c" * 400), ["model.chat_template", "File name too long"]),
    Case("sweep yaml", "a base model path longer than the filesystem allows",
         lambda tmp: check(tmp, model__base="/" + "d" * 400), ["model.base", "File name too long"]),
    Case("sweep yaml", "a search-space choice of a data file that does not exist",
         lambda tmp: check(tmp, search_space={"data.eval": {"choice": [str(ROOT / "evals/sets/dev.jsonl"),
                                                                          str(tmp / "nope.jsonl")]}}),
         ["search_space.data.eval", "nope.jsonl", "does not exist"]),
    Case("sweep yaml", "a search space over where the sweep writes",
         lambda tmp: check(tmp, search_space={"output_dir": {"choice": ["a", "b"]}}),
         ["search_space key 'output_dir'", "the same for every trial"]),
    # accepted by check-config, found only once a sweep had started Ray and built the base (probe, 2026-12-06)
    Case("sweep yaml", "an ASHA grace period past the last epoch", lambda tmp: check(tmp, search__grace_period=3),
         ["search.grace_period 3", "most epochs a trial runs (1"]),
    Case("sweep yaml", "a negative rung weight", lambda tmp: check(tmp, search__objectives={"tool_f1": "max"},
                                                                  search__rung_weights={"tool_f1": -1.0}),
         ["rung_weights must be >= 0"]),
    Case("sweep yaml", "rung weights all 0", lambda tmp: check(tmp, search__objectives={"tool_f1": "max"},
                                                              search__rung_weights={"tool_f1": 0.0}),
         ["rung_weights are all 0"]),
    Case("sweep yaml", "every source at weight 0", lambda tmp: check(tmp, data__mix__total=20,
                                                                    data__sources__starter__weight=0.0),
         ["every source has weight 0"]),
    Case("sweep yaml", "the eval set is the training file", lambda tmp: check(
        tmp, data__eval=str(ROOT / "data/starter/train.jsonl")), ["data", "is the training source 'starter'"]),
    Case("sweep yaml", "a tracking URI that is a bare folder", lambda tmp: check(tmp, tracking__uri="mlruns"),
         ["tracking.uri", "'mlruns'", "sqlite:///"]),
    Case("sweep yaml", "an SQLite URI with two slashes", lambda tmp: check(tmp, tracking__uri="sqlite://mlruns/m.db"),
         ["tracking.uri", "three slashes"]),
    Case("sweep yaml", "an empty experiment name", lambda tmp: check(tmp, tracking__experiment=" "),
         ["tracking.experiment", "needs a name"]),
    Case("sweep yaml", "mix ratios whose largest draws sum past 1", lambda tmp: check(
        tmp, data__mix__total=40, search_space={"data.mix.no_tool_ratio": {"uniform": [0.6, 0.75]},
                                                "data.mix.honesty_ratio": {"uniform": [0.2, 0.3]}}),
         ["no_tool_ratio and data.mix.honesty_ratio", "0.75 and 0.3"]),
    Case("sweep yaml", "an Optuna storage whose driver is not installed", lambda tmp: check(
        tmp, search__optuna_storage="mysql://nohost/db"), ["search.optuna_storage", "cannot be opened"]),
    Case("sweep yaml", "an eval context too small for the dev prompts", lambda tmp: check(tmp, eval__n_ctx=256),
         ["eval.n_ctx: 256 tokens cannot hold dev case"]),
    Case("sweep yaml", "a source folder without a dataset", lambda tmp: check(
        tmp, data__sources__starter__path=str(ROOT / "data/starter")), ["data.sources.starter.path", "without a dataset"]),
    Case("sweep yaml", "a LoRA target module the base lacks", lambda tmp: check(
        tmp, train__lora__target_modules=["q_prj", "v_proj"]), ["train.lora.target_modules", "['q_prj']"]),
    Case("sweep yaml", "every row longer than train.max_length once rendered", lambda tmp: [
        "data", str(_yaml(tmp, _sweep_dict(tmp, train__max_length=64))), "--out", str(tmp / "mix"), "--render"],
         ["the training mix holds no rows", "over_max_length", "train.max_length 64"]),
    # messages a probe found unclear (2026-12-06): pydantic's per-union-member and per-tuple-slot noise
    Case("sweep yaml", "an empty file", raw_config(b"# nothing but a comment\n"), ["sweep.yaml", "the file is empty"]),
    Case("sweep yaml", "a misspelt LoRA preset", lambda tmp: check(tmp, train__lora__target_modules="all_linear"),
         ["train.lora.target_modules: got 'all_linear'", "'attention-mlp' or 'all-linear'"]),
    Case("sweep yaml", "a uniform range without its bounds", lambda tmp: check(
        tmp, data__mix__total=40, search_space={"data.mix.no_tool_ratio": {"uniform": []}}),
         ["search_space.data.mix.no_tool_ratio: uniform needs [low, high]"]),
    Case("sweep yaml", "no objective", lambda tmp: check(tmp, search__objectives={}),
         ["search.objectives: name at least one objective"]),
    Case("sweep yaml", "an infinite learning rate", lambda tmp: check(tmp, train__learning_rate=float("inf")),
         ["train.learning_rate", "finite number"]),
    Case("sweep yaml", "a distribution of no known kind",
         lambda tmp: check(tmp, search_space={"train.lora.rank": {"gaussian": [8, 2]}}),
         ["search_space.train.lora.rank", "expected one distribution"]),
    Case("sweep yaml", "an integer too long to read", raw_config("name: x\nseed: " + "9" * 5000 + "\n"),
         ["sweep.yaml", "not valid YAML", "4300 digits"]),
    Case("sweep yaml", "not UTF-8", raw_config(b"name: x\nseed: \xff\n"), ["sweep.yaml", "not UTF-8", "line 2"]),
    Case("sweep yaml", "YAML syntax error", raw_config("name: [x\n"), ["sweep.yaml", "not valid YAML"]),
    Case("sweep yaml", "top level is a list", raw_config("- name: x\n"), ["sweep.yaml", "mapping"]),
    Case("sweep yaml", "a key twice (the first section would be lost)",
         raw_config("name: x\ntrain:\n  epochs: 2\nseed: 1\ntrain:\n  learning_rate: 0.001\n"),
         ["sweep.yaml:5:1", "duplicate key 'train'", "first at line 2"]),
    Case("sweep yaml", "a boolean for a number", lambda t: check(t, train__lora__rank=True),
         ["train.lora.rank", "boolean true"]),
    Case("sweep yaml", "a negative seed", lambda t: check(t, seed=-1), ["seed", "greater than or equal to 0"]),
    Case("sweep yaml", "a name that climbs out of output_dir", lambda t: check(t, name="../elsewhere"),
         ["name", "'../elsewhere'", "letters, digits"]),
    Case("sweep yaml", "empty file", raw_config(""), ["sweep.yaml", "name"]),
    Case("sweep yaml", "a directory", lambda t: ["check-config", str(t)], [str("{tmp}"), "is a directory"]),
    Case("sweep yaml", "missing file", lambda t: ["check-config", str(t / "nope.yaml")], ["nope.yaml", "no such"]),
    Case("sweep yaml", "a family file given for a sweep file", raw_config(
        "family: smol\nversion: '0.1'\nvariants:\n  4k: sweeps/smoke4k.yaml\n"),
         ["a family file (family, variants), not a sweep config", "toolsweep family"]),
    Case("sweep yaml", "a toolset given for a sweep file", raw_config(_STARTER_TOOLSET),
         ["sweep.yaml", "a toolset (tools, intents, ...), not a sweep config", "make-data --toolset"]),
    Case("sweep yaml", "unknown key", lambda t: check(t, train__lora__rnak=8), ["train.lora.rnak", "unknown key"]),
    Case("sweep yaml", "wrong type", lambda t: check(t, train__epochs="many"), ["train.epochs"]),
    Case("sweep yaml", "unknown quant type", lambda t: check(t, quantize__types=["q3_xs"]), ["quantize.types", "q3_xs"]),
    Case("sweep yaml", "unknown objective", lambda t: check(t, search__objectives={"vibes": "max"}),
         ["search.objectives", "vibes"]),
    Case("sweep yaml", "source name with a dot", lambda t: check(t, data__sources={"a.b": {"path": "x.jsonl"}}),
         ["data.sources", "a.b"]),
    Case("sweep yaml", "reversed bounds", lambda t: check(t, search_space={"train.learning_rate": {"loguniform": [1e-3, 1e-5]}}),
         ["train.learning_rate", "low < high"]),
    Case("sweep yaml", "loguniform from 0", lambda t: check(t, search_space={"train.learning_rate": {"loguniform": [0, 1e-3]}}),
         ["train.learning_rate", "positive low bound"]),
    Case("sweep yaml", "choice of strings for an int", lambda t: check(t, search_space={"train.lora.rank": {"choice": ["8", "16"]}}),
         ["train.lora.rank", "'8'"]),
    Case("sweep yaml", "continuous range over an int", lambda t: check(t, search_space={"train.lora.rank": {"uniform": [4, 32]}}),
         ["train.lora.rank"]),
    Case("sweep yaml", "randint reaching 0", lambda t: check(t, search_space={"train.batch_size": {"randint": [0, 4]}}),
         ["train.batch_size", "greater than 0"]),
    Case("sweep yaml", "ratio domain above 1", lambda t: check(t, data__mix__total=16,
                                                                search_space={"data.mix.no_tool_ratio": {"uniform": [0.2, 1.4]}}),
         ["data.mix.no_tool_ratio", "1.4"]),
    Case("sweep yaml", "a word for a range bound", lambda t: check(t, search_space={"train.learning_rate": {"uniform": [1e-4, "high"]}}),
         ["search_space.train.learning_rate.uniform.1:", "valid number"]),
    Case("sweep yaml", "more CPUs and lanes than the machine has", lambda t: check(t, resources__cpus_per_trial=512, eval__lanes=512),
         ["note: resources.cpus_per_trial: 512 CPUs per trial, but this machine has", "note: eval.lanes: 512 lanes"], rc=0),
    Case("sweep yaml", "a grace period as long as every trial", lambda t: check(t, train__epochs=0.5, search__num_samples=4),
         ["note: search.grace_period: no trial reports at more than 1 epoch rung(s)", "ASHA stops no trial early"], rc=0),
    Case("sweep yaml", "leakage knobs beside check: false",
         lambda t: check(t, data__leakage={"check": False, "eval_sets": ["evals/sets/test.jsonl"], "ngram": 6}),
         ["note: data.leakage.check is false", "data.leakage.eval_sets, data.leakage.ngram take no effect"], rc=0),
    Case("sweep yaml", "empty choice", lambda t: check(t, search_space={"train.lora.rank": {"choice": []}}),
         ["train.lora.rank", "at least one"]),
    Case("sweep yaml", "top_layers above the base's layer count", lambda t: check(t, train__lora__top_layers=3),
         ["train.lora.top_layers: 3", "2 decoder layers of tiny"]),
    Case("sweep yaml", "top_layers domain reaching above the layer count",
         lambda t: check(t, model__base="smollm2-135m", search_space={"train.lora.top_layers": {"randint": [8, 40]}}),
         ["search_space 'train.lora.top_layers': 40", "30 decoder layers of smollm2-135m"]),
    Case("sweep yaml", "search key names no field", lambda t: check(t, search_space={"train.lora.rnak": {"choice": [8]}}),
         ["train.lora.rnak", "names no config field"]),
    Case("sweep yaml", "missing data source", lambda t: check(t, data__sources={"s": {"path": str(t / "nope.jsonl")}}),
         ["data.sources.s.path", "nope.jsonl", "does not exist"]),
    Case("sweep yaml", "missing eval set", lambda t: check(t, data__eval=str(t / "nope.jsonl")),
         ["data.eval", "nope.jsonl"]),
    Case("sweep yaml", "eval set with a broken line",
         lambda t: (t / "dev.jsonl").write_text(json.dumps(DEV_CASE) + "\n{oops\n") and check(t, data__eval=str(t / "dev.jsonl")),
         ["data.eval", "dev.jsonl:2", "not valid JSON"]),
    Case("sweep yaml", "missing leakage eval set", lambda t: check(t, data__leakage={"eval_sets": [str(t / "gone.jsonl")]}),
         ["data.leakage.eval_sets[0]", "gone.jsonl"]),
    Case("sweep yaml", "empty base model", lambda t: check(t, model__base=""), ["model.base: empty"]),
    Case("sweep yaml", "a learning rate that cannot train", lambda t: check(t, train__learning_rate=1e10),
         ["train.learning_rate", "less than or equal to 1"]),
    Case("sweep yaml", "a prefill chunk larger than the context", lambda t: check(t, eval__n_batch=8192),
         ["eval", "n_batch 8192 is larger than n_ctx"]),
    Case("sweep yaml", "a quant type listed twice", lambda t: check(t, quantize={"types": ["q4_k_m", "q4_k_m"]}),
         ["quantize.types", "['q4_k_m'] listed more than once"]),
    Case("sweep yaml", "a guard listed twice", lambda t: check(t, promote={"guards": ["parse_success", "parse_success"]}),
         ["promote.guards", "listed more than once"]),
    Case("sweep yaml", "a misspelt track", lambda t: check(t, data__sources={"s": {"path": str(ROOT / "data/starter/train.jsonl"),
                                                                                "track": "honsty"}}),
         ["data.sources.s.track", "did you mean 'honesty'"]),
    Case("sweep yaml", "split on a local file", lambda t: check(t, data__sources={"s": {"path": str(ROOT / "data/starter/train.jsonl"),
                                                                                   "split": "test"}}),
         ["data.sources.s", "split applies to a hub dataset or a DatasetDict folder"]),
    Case("sweep yaml", "a generator knob on another generator", lambda t: check(t, data__sources={"s": {"generate": {
        "kind": "judgment", "count": 5, "target_tokens": 4096}}}),
         ["data.sources.s.generate", "target_tokens applies only to kind long_context"]),
    Case("sweep yaml", "section-level search space draw", lambda t: check(t, search_space={"train.lora": {"choice": [{"rank": 8}]}}),
         ["search_space key 'train.lora' names a section, not a field"]),
    Case("sweep yaml", "a switch written as a word", lambda t: check(t, data__leakage={"check": "no"}),
         ["data.leakage.check: expected true or false, got 'no'"]),
    Case("sweep yaml", "unknown chat template", lambda t: check(t, model__chat_template="chatml-nope"),
         ["model.chat_template", "chatml-nope"]),
    Case("sweep yaml", "chat template that does not parse",
         lambda t: (t / "t.jinja").write_text("{% for m in messages %}{{ m.content }") and check(
             t, model__chat_template=str(t / "t.jinja")), ["model.chat_template", "t.jinja", "not a Jinja template that parses"]),
    Case("sweep yaml", "chat template without generation markers",
         lambda t: (t / "t.jinja").write_text("{% for m in messages %}{{ m.content }}{% endfor %}") and check(
             t, model__chat_template=str(t / "t.jinja")), ["model.chat_template", "marks no assistant tokens"]),
    Case("sweep yaml", "chat template that raises on a tool call",
         lambda t: (t / "t.jinja").write_text("{% generation %}{% endgeneration %}{{ raise_exception('no tools') }}")
         and check(t, model__chat_template=str(t / "t.jinja")), ["model.chat_template", "raises", "no tools"]),
    Case("sweep yaml", "base model folder missing", lambda t: check(t, model__base=str(t / "models/nope")),
         ["model.base", "does not exist"]),
    Case("sweep yaml", "promotion set missing", lambda t: check(t, promote__eval_set=str(t / "p.jsonl")),
         ["promote.eval_set", "p.jsonl"]),
    Case("sweep yaml", "promotion cannot reach min_cases",
         lambda t: check(t, promote__mode="auto", promote__min_cases=1000), ["promote.min_cases", "1000"]),
    Case("sweep yaml", "dev slice cannot measure the objective",
         lambda t: check(t, search__dev_cases=1, search__objectives={"fabrication_rate": "min"}),
         ["search.dev_cases", "fabrication_rate"]),
    # --- from a blind probe of check-config (402 configs) ----------------------------------------
    Case("sweep yaml", "YAML nested thousands deep", raw_config("name: x\nextra: " + "[" * 3000 + "]" * 3000 + "\n"),
         ["sweep.yaml", "nested too deeply"]),
    Case("sweep yaml", "--set value nested thousands deep", with_set("train.epochs=" + "[" * 3000 + "]" * 3000),
         ["train.epochs", "nested too deeply"]),
    Case("sweep yaml", "the promotion set is a training source",
         lambda t: check(t, promote__eval_set=str(ROOT / "data/starter/train.jsonl")),
         ["promote.eval_set", "training source 'starter'"]),
    Case("sweep yaml", "promotion cases longer than eval.n_ctx",
         lambda t: check(t, promote__mode="auto", promote__eval_set=str(ROOT / "evals/sets/long_28k.jsonl"),
                         promote__guards=[], promote__min_cases=1),
         ["eval.n_ctx", "promotion case 'long_28k-"]),
    Case("sweep yaml", "on_shortfall fail with a quota the sources cannot fill",
         lambda t: check(t, data__mix={"total": 400, "no_tool_ratio": 0.9, "on_shortfall": "fail"}),
         ["data.mix.on_shortfall", "quota"]),
    Case("sweep yaml", "a search space that draws every source weight as 0",
         lambda t: check(t, data__mix={"total": 64}, data__sources__more={"path": str(ROOT / "data/starter/heldout.jsonl")},
                         search_space={"data.sources.starter.weight": {"choice": [0, 1]},
                                       "data.sources.more.weight": {"uniform": [0, 1]}}),
         ["every source weight can be drawn as 0"]),
    Case("sweep yaml", "an objective searched the wrong way",
         lambda t: check(t, search__objectives={"tool_f1": "max", "fabrication_rate": "max"}),
         ["search.objectives", "fabrication_rate: max (better is min)"]),
    Case("sweep yaml", "the primary metric listed as a guard", lambda t: check(t, promote__guards=["tool_f1"]),
         ["promote", "guards list the primary metric 'tool_f1'"]),
    Case("sweep yaml", "a filter check skipped twice",
         lambda t: check(t, data__filter={"skip": ["stale_state", "stale_state"]}), ["data.filter.skip", "more than once"]),
    Case("sweep yaml", "a LoRA target listed twice", lambda t: check(t, train__lora__target_modules=["q_proj", "q_proj"]),
         ["train.lora.target_modules", "more than once"]),
    Case("sweep yaml", "tiny shapes whose heads do not divide", lambda t: check(t, model__tiny__hidden_size=66),
         ["model.tiny", "not a multiple of num_attention_heads"]),
    Case("sweep yaml", "tiny shapes set for another base",
         lambda t: check(t, model__base="smollm2-135m", model__tiny__hidden_size=128),
         ["model.tiny", "read only when model.base is 'tiny'"]),
    Case("sweep yaml", "an empty output folder", lambda t: check(t, output_dir=""), ["output_dir", "empty"]),
    Case("sweep yaml", "an empty artifact root", lambda t: check(t, tracking__artifact_root=""),
         ["tracking.artifact_root", "empty"]),
    Case("sweep yaml", "more dev cases asked for than the dev set holds (a note)",
         lambda t: check(t, search__dev_cases=1000), ["note: search.dev_cases: 1000 is more than the 192 cases"], rc=0),
    Case("sweep yaml", "data.max_eval_cases too few to measure the objectives",
         lambda t: check(t, data__max_eval_cases=1, search__objectives={"fabrication_rate": "min"}),
         ["data.max_eval_cases", "fabrication_rate"]),
    Case("sweep yaml", "sweep asks for a GPU this machine lacks (no MLflow run made)",
         lambda t: ["sweep", str(_yaml(t, _sweep_dict(t, resources__gpus_per_trial=1)))],
         ["resources.gpus_per_trial"], extra=lambda t: _no_mlflow(t)),
    Case("sweep yaml", "trial asks for more memory than the machine has",
         lambda t: ["trial", str(_yaml(t, _sweep_dict(t, resources__memory_gb_per_trial=100000)))],
         ["resources.memory_gb_per_trial"], extra=lambda t: _no_mlflow(t)),
    Case("sweep yaml", "output folder inside a file", lambda t: (t / "f").write_text("x") and check(t, output_dir=str(t / "f" / "runs")),
         ["output_dir", "cannot be created"]),
    # --- --set overrides --------------------------------------------------------------------------
    Case("override", "no '='", with_set("train.epochs"), ["train.epochs", "key.path=value"]),
    Case("override", "empty key", with_set("=3"), ["'=3'", "dotted key"]),
    Case("override", "a misspelt source name", with_set("data.sources.startr.weight=1"),
         ["data.sources.startr.weight", "no source named 'startr'", "the sources are starter"]),
    Case("override", "empty key part", with_set("train..epochs=2"), ["train..epochs"]),
    Case("override", "value not YAML", with_set("train.epochs=[1"), ["train.epochs=[1", "not valid YAML"]),
    Case("override", "into a scalar", with_set("name.x=1"), ["name.x", "not a section"]),
    Case("override", "unknown key", with_set("train.lora.rnak=8"), ["train.lora.rnak", "unknown key"]),
    Case("override", "wrong type", with_set("train.lora.rank=abc"), ["train.lora.rank"]),
    # --- command-line flags ----------------------------------------------------------------------
    Case("flags", "--limit 0", lambda t: ["eval", "m.gguf", "--limit", "0"], ["--limit", "of at least 1"]),
    Case("flags", "--n-ctx below the prefill chunk", lambda t: ["eval", "m.gguf", "--n-ctx", "10"],
         ["--n-ctx 10: n_batch 64 is larger than n_ctx 10; a prefill chunk must fit the context (the prefill "
          "chunk is fixed at 64 tokens here; raise --n-ctx)"]),
    Case("flags", "--count not a number", lambda t: ["make-data", "--honesty", "--count", "many"], ["--count", "'many'"]),
    Case("flags", "--count beyond what a generator holds in memory", lambda t: ["make-data", "--honesty", "--count",
                                                                                  "1000000000"],
         ["--count", "from 1 to 1000000, got 1000000000"]),
    Case("flags", "--make-data out not .jsonl",
         lambda t: ["make-data", "--honesty", "--count", "2", "--out", str(t / "x.txt")], ["--out", ".jsonl"]),
    # --- family files -----------------------------------------------------------------------------
    Case("family", "a variant file missing", family(lambda t: {"family": "f", "version": "1", "variants": [str(t / "v.yaml")]}),
         ["v.yaml", "no such"]),
    Case("family", "not a mapping", family(lambda t: ["a", "b"]), ["family.yaml", "mapping"]),
    Case("family", "a sweep file given as the family file", family(lambda t: {"name": "s", "train": {"epochs": 1}}),
         ["family.yaml", "a sweep config", "not a family file", "toolsweep sweep"]),
    Case("family", "a version with a slash", family(lambda t: {"family": "f", "version": "1/2", "variants": ["x"]}),
         ["family.yaml", "version", "'1/2'"]),
    Case("family", "unknown key", family(lambda t: {"family": "f", "version": "1", "variants": ["x"], "colour": 1}),
         ["colour", "unknown key"]),
    Case("family", "no variants", family(lambda t: {"family": "f", "version": "1", "variants": []}),
         ["variants", "at least one"]),
    Case("family", "variant with a missing promotion set",
         family(lambda t: {"family": "f", "version": "1",
                           "variants": [str(_yaml(t, _sweep_dict(t, promote__eval_set=str(t / "nope.jsonl")), "v.yaml"))]}),
         ["nope.jsonl"]),
    # --- toolsets ---------------------------------------------------------------------------------
    Case("toolset", "missing", toolset(None), ["toolset.yaml", "no such"]),
    Case("toolset", "not YAML", toolset("tools: [\n"), ["toolset.yaml", "not valid YAML"]),
    Case("toolset", "wrong shape", toolset("tools: 3\n"), ["toolset.yaml", "tools"]),
    Case("toolset", "a sweep file given as the toolset", toolset((ROOT / "sweeps/smoke.yaml").read_text(encoding="utf-8")),
         ["toolset.yaml", "a sweep config (name, data, ", "not a toolset", "starter.yaml"]),
    Case("toolset", "a family file given as the toolset", toolset("family: smol\nversion: '0.1'\nvariants:\n  4k: a.yaml\n"),
         ["toolset.yaml", "a family file (family, variants), not a toolset"]),
    Case("toolset", "a tool name a model cannot call", toolset(
        (ROOT / "data/toolsets/starter.yaml").read_text(encoding="utf-8").replace("  run_shell:\n", "  run shell:\n", 1)),
         ["toolset.yaml", "'run shell'", "letters, digits"]),
    # a broken template is found at load time even where a small draw would never pick it (the last request)
    Case("toolset", "an unknown slot in the last request", toolset(_STARTER_TOOLSET.replace(
        '"Look up today\'s weather in {city}."]', '"Look up today\'s weather in {town}."]', 1)),
         ["toolset.yaml", "intents.weather.requests[11]", "unknown slot {town}"]),
    Case("toolset", "more distractors than there are other tools", toolset(re.sub(
        r"(?m)^distractors: \d+", "distractors: 50", _STARTER_TOOLSET, count=1)),
         ["toolset.yaml", "distractors 50", "at most"]),
    Case("toolset", "an unbalanced brace", toolset(_STARTER_TOOLSET.replace(
        '"Tell me the weather in {city}."', '"Tell me the weather in {city."', 1)), ["toolset.yaml", "unbalanced"]),
    Case("toolset", "a range written high to low", toolset(_STARTER_TOOLSET.replace("{range: [-5, 33]}", "{range: [33, -5]}", 1)),
         ["toolset.yaml", "intents.weather.slots.temp.range", "[33, -5] is empty"]),
    Case("toolset", "a slot of no known kind", toolset(_STARTER_TOOLSET.replace("{range: [-5, 33]}", "{gauss: [0, 1]}", 1)),
         ["toolset.yaml", "intents.weather.slots.temp", "expected a pool name"]),
    Case("toolset", "make-data --long-context beyond what can be generated",
         lambda tmp: ["make-data", "--long-context", "99999999999", "--out", str(tmp / "l.jsonl")],
         ["--long-context", "2048 to 262144"]),
    Case("toolset", "make-data --tokenizer that is not a tokenizer", lambda tmp: [
        "make-data", "--long-context", "4096", "-n", "1", "--tokenizer", str(ROOT / "README.md"), "--out",
        str(tmp / "l.jsonl")], ["--tokenizer", "README.md", "not a tokenizer.json"]),
    Case("toolset", "make-data --tokenizer that does not exist", lambda tmp: [
        "make-data", "--long-context", "4096", "-n", "1", "--tokenizer", str(tmp / "nope.json"), "--out",
        str(tmp / "l.jsonl")], ["--tokenizer", "nope.json", "no such file"],
         extra=lambda tmp: _nothing_built_beside(tmp)),
    Case("toolset", "make-data --max-retries without --honesty", lambda tmp: [
        "make-data", "--long-context", "4096", "--max-retries", "3", "--out", str(tmp / "l.jsonl")],
         ["--max-retries applies only with --honesty", "long-context"]),
    Case("cases", "arg_rules for a tool the case does not offer",
         cases_file(_case_with(lambda c: c.update(arg_rules={"get_wether": {"city": {"casefold": True}}})).encode()),
         ["cases.jsonl:1", "arg_rules for 'get_wether'", "not among the case's tools"]),
    Case("cases", "a case that cannot fit the context, refused before the model loads", cases_file(_case_with(
        lambda c: c["messages"][-1].update(content="word " * 40000)).encode()),
         ["cases.jsonl", "needs at least", "more than --n-ctx 4096"]),
    Case("cases", "an empty id", cases_file(_case_with(lambda c: c.update(id="")).encode()),
         ["cases.jsonl:1", "non-empty string"]),
    Case("cases", "an expected call named by a list (a fuzz of dev cases: TypeError)", cases_file(_case_with(
        lambda c: c.update(expected={"calls": [{"name": ["get_weather"], "arguments": {}}]})).encode()),
         ["cases.jsonl:1", "an expected call's 'name' must be a tool's name (a string), got [\"get_weather\"]"]),
    # --- training data ----------------------------------------------------------------------------
    Case("data", "train.jsonl left in --out as a folder", _data_out_with_folder,
         ["--out", "train.jsonl: is a folder; expected a file path"]),
    Case("data", "--out where no folder can be made", _data_out_under_proc,
         ["--out /proc/toolsweep-nope", "cannot create the folder"]),
    Case("data", "--out the folder of its own source", _data_out_over_its_source,
         ["--out", "train.jsonl is the same file as the data source 'mine'", "overwrite"], extra=_source_kept),
    # JSON keeps a key's last value: the first conversation, the first text, the schema's `required` were
    # dropped without a trace (and an argument given twice in an object-form call skipped its schema check)
    Case("data", "a key given twice: in the row, a message, a tool schema, a call's arguments", data_source(_lines(
        STARTER[0].replace('"messages": ', '"messages": [], "messages": ', 1),
        STARTER[1].replace('"content": ', '"content": "first", "content": ', 1),
        STARTER[2].replace('"required": [', '"required": [], "required": [', 1),
        STARTER[3].replace('"arguments": {', '"arguments": {"command": 5, ', 1), STARTER[4])), [], rc=0,
         counts={"read": 5, "kept": 1, "quarantined": {"duplicate_key": 4}},
         extra=lambda t: _quarantine_says(t, "the key 'messages' appears twice")),
    Case("data", "byte-order mark on the first row", data_source(b"\xef\xbb\xbf" + _lines(STARTER[0], STARTER[1])), [], rc=0,
         counts={"read": 2, "kept": 2, "quarantined": {}}),
    Case("data", "CRLF line ends", data_source(_lines(STARTER[0], STARTER[1], sep=b"\r\n")), [], rc=0,
         counts={"read": 2, "kept": 2, "quarantined": {}}),
    Case("data", "one row not UTF-8", data_source(_lines(STARTER[0], STARTER[1].encode()[:-20] + b"\xff\xfe" + STARTER[1].encode()[-20:],
                                                          STARTER[2])), [], rc=0,
         counts={"read": 3, "kept": 2, "quarantined": {"not_utf8": 1}}, extra=lambda t: _quarantine_says(t, "line 2")),
    Case("data", "an empty user turn", data_source(_lines(STARTER[0], _row_with(_empty_user, 1))), [], rc=0,
         counts={"read": 2, "kept": 1, "quarantined": {"empty_user_turn": 1}}),
    Case("data", "no user turn", data_source(_lines(_row_with(_no_user, 0), STARTER[1])), [], rc=0,
         counts={"read": 2, "kept": 1, "quarantined": {"no_user_turn": 1}}),
    Case("data", "a broken JSON line", data_source(_lines(STARTER[0], '{"messages": [', STARTER[2])), [], rc=0,
         counts={"read": 3, "kept": 2, "quarantined": {"malformed_json": 1}}),
    Case("data", "a JSON array line", data_source(_lines("[1, 2]", STARTER[2])), [], rc=0,
         counts={"read": 2, "kept": 1, "quarantined": {"not_an_object": 1}}),
    Case("data", "an unknown format", data_source(_lines('{"text": "hello"}', STARTER[2])), [], rc=0,
         counts={"read": 2, "kept": 1, "quarantined": {"unrecognised_format": 1}}),
    Case("data", "a bare NaN, and a line nested too deeply", data_source(_lines(
        STARTER[0].replace('"content": "', '"weight": NaN, "content": "', 1), "[" * 5000 + "]" * 5000, STARTER[2])), [], rc=0,
         counts={"read": 3, "kept": 1, "quarantined": {"malformed_json": 2}},
         extra=lambda t: _quarantine_says(t, "NaN is not a JSON value")),
    Case("data", "content parts: text joined, an image part quarantined", data_source(_lines(
        _row_with(_text_parts, 0), _row_with(_image_part, 1), STARTER[2])), [], rc=0,
         counts={"read": 3, "kept": 2, "quarantined": {"non_text_content": 1}},
         extra=lambda t: _parts_joined_image_quarantined(t)),
    Case("data", "a tool defined twice, a tool schema that is not JSON Schema", data_source(_lines(
        _row_with(lambda r: r["tools"].append(r["tools"][0]), 0), _row_with(_misspelt_schema_type, 1), STARTER[2])),
         [], rc=0, counts={"read": 3, "kept": 1, "quarantined": {"duplicate_tool": 1, "invalid_tool_schema": 1}},
         extra=lambda t: _quarantine_says(t, "'strng'")),
    Case("data", "trace rows: a list as a call's round, a string as history, a timestamp past year 9999", data_source(_lines(
        '{"session_id": "s", "timestamp": 0, "user": "Plan it.", "calls": [{"name": "f", "round": [1]}], "answer": "Done."}',
        '{"session_id": "s", "timestamp": 0, "user": "Plan it.", "history": "earlier", "calls": [], "answer": "Done."}',
        '{"session_id": "s", "timestamp": 1e300, "user": "Plan it.", "calls": [], "answer": "Done."}', STARTER[2])),
         [], rc=0, counts={"read": 4, "kept": 1, "quarantined": {"bad_structure": 2, "bad_timestamp": 1}},
         extra=lambda t: _quarantine_says(t, "'round' is a JSON list")),
    Case("data", "empty file", data_source(b""), ["source.jsonl", "empty"]),
    Case("data", "blank lines only", data_source(b"\n \r\n\n"), ["source.jsonl", "blank lines"]),
    Case("data", "missing file", data_source(None), ["data.sources.src.path", "source.jsonl", "does not exist"]),
    Case("data", "directory without a dataset", data_source(lambda t: (t / "d").mkdir() or (t / "d" / "x.txt").write_text("x") and t / "d"),
         ["data.sources.src.path", "without a dataset"]),
    Case("data", "empty directory", data_source(lambda t: (t / "e").mkdir() or t / "e"), ["data.sources.src.path", "empty folder"]),
    Case("data", "corrupt Parquet", data_source(b"PAR1 this is not parquet PAR1", suffix=".parquet"),
         ["source.parquet", "cannot read"]),
    # a dataset in a format toolsweep does not read (Alpaca's instruction rows): refused by name before any row is built
    Case("data", "a source in no format toolsweep reads (Alpaca rows)", data_source(_lines(*(json.dumps(
        {"instruction": "Say the weather in Oslo.", "input": "", "output": "Cold."}) for i in range(3)))),
         ["source.jsonl", "none of its first 3 rows", "input, instruction, output", "'conversations'", "(xlam)"]),
    # sources no row of which could be read passed every check before the build (which then failed after reading)
    Case("data", "pretty-printed JSON objects", data_source(b"".join(
        json.dumps(json.loads(r), indent=2).encode() + b"\n" for r in STARTER[:2])),
         ["source.jsonl", "none of its first 20 lines is a JSON object", "line 1", "one JSON object per line"]),
    Case("data", "CR-only line ends", data_source(_lines(*STARTER[:3], sep=b"\r")),
         ["source.jsonl", "its only line is not a JSON object", "bare CR"]),
    Case("data", "the same file listed as two sources", _same_source_twice,
         ["rows.jsonl", "reads the same data as sources.", "duplicate"]),
    # an xLAM source whose rows are all irrelevance rows (no answers): read, and every row quarantined by name
    Case("data", "an xLAM source of irrelevance rows only", data_source(_lines(*(json.dumps(
        {"id": i, "query": "weather in Oslo?", "tools": "[]", "answers": "[]"}) for i in range(3)))),
         ["the training mix holds no rows", "src/no_reply 3"]),
    Case("data", "a declared format the rows are not in", lambda tmp: ["check-config", str(_yaml(tmp, {
        **_sweep_dict(tmp), "data": {**_sweep_dict(tmp)["data"], "sources": {"starter": {
            "path": str(ROOT / "data/starter/train.jsonl"), "format": "sharegpt"}}}}))],
         ["data.sources.starter.path", "format is sharegpt", "'conversations'"]),
    Case("data", "format xlam on rows with answers but no query", lambda tmp: ["check-config", str(_yaml(tmp, {
        **_sweep_dict(tmp), "data": {**_sweep_dict(tmp)["data"], "sources": {"src": {
            "path": str(_write(tmp / "w2c.jsonl", _lines(json.dumps({"question": "q", "answers": "[]", "tools": "[]"})))),
            "format": "xlam"}}}}))], ["data.sources.src.path", "format is xlam", "'query' and 'answers'"]),
    Case("data", "a weighted source with no usable row", lambda tmp: _two_sources(tmp, _lines(*(_row_with(
        lambda r: r.update(tools=[])) for _ in range(1)), _row_with(lambda r: r.update(tools=[]), 1))),
         ["data source 'broken' (weight 1) has no usable row", "set its weight to 0"]),
    Case("data", "a CSV source with JSON columns", data_source(_csv_rows(4), suffix=".csv"), [], rc=0,
         counts={"read": 4, "kept": 4, "quarantined": {}}),
    # --- eval case files --------------------------------------------------------------------------
    Case("cases", "missing", cases_file(None), ["cases.jsonl", "no such"]),
    Case("cases", "empty", cases_file(b""), ["cases.jsonl", "no cases"]),
    Case("cases", "not UTF-8", cases_file(json.dumps(DEV_CASE).encode() + b"\n\xff\xfe\n"), ["cases.jsonl:2", "UTF-8"]),
    Case("cases", "broken JSON line", cases_file(b'{"id": \n'), ["cases.jsonl:1", "not valid JSON"]),
    Case("cases", "missing key", cases_file(_case_with(lambda c: c.pop("tools")).encode()), ["cases.jsonl:1", "tools"]),
    Case("cases", "messages not a list", cases_file(_case_with(lambda c: c.update(messages="hi")).encode()),
         ["cases.jsonl:1", "messages"]),
    Case("cases", "a message not an object", cases_file(_case_with(lambda c: c["messages"].insert(0, "hi")).encode()),
         ["cases.jsonl:1", "message 0"]),
    Case("cases", "ends on an assistant turn",
         cases_file(_case_with(lambda c: c["messages"].append({"role": "assistant", "content": "x"})).encode()),
         ["cases.jsonl:1", "last message"]),
    Case("cases", "tools not a list", cases_file(_case_with(lambda c: c.update(tools={"a": 1})).encode()),
         ["cases.jsonl:1", "'tools'"]),
    Case("cases", "expected call not offered",
         cases_file(_case_with(lambda c: c.update(expected={"calls": [{"name": "nope", "arguments": {}}]})).encode()),
         ["cases.jsonl:1", "'nope'"]),
    Case("cases", "unknown expected behaviour",
         cases_file(_case_with(lambda c: c.update(expected={"behaviour": "be_nice"})).encode()), ["cases.jsonl:1", "be_nice"]),
    Case("cases", "id not a string", cases_file(_case_with(lambda c: c.update(id=[1])).encode()), ["cases.jsonl:1", "'id'"]),
    Case("cases", "duplicate ids", cases_file((json.dumps(DEV_CASE) + "\n" + json.dumps(DEV_CASE) + "\n").encode()),
         ["cases.jsonl", "appears 2 times"]),
    Case("cases", "a JSON array line", cases_file(f"[{json.dumps(DEV_CASE)}]\n".encode()),
         ["cases.jsonl:1", "a JSON list, expected one case object"]),
    Case("cases", "a bare NaN", cases_file(_case_with(lambda c: c.update(weight=0)).replace('"weight": 0', '"weight": NaN').encode()),
         ["cases.jsonl:1", "NaN is not a JSON value"]),
    Case("cases", "nested too deeply", cases_file(("[" * 5000 + "]" * 5000 + "\n").encode()), ["cases.jsonl:1", "nested too deeply"]),
    Case("cases", "an unknown role", cases_file(_case_with(lambda c: c["messages"][0].update(role="robot")).encode()),
         ["cases.jsonl:1", "message 0", "'robot'"]),
    Case("cases", "an image content part", cases_file(_case_with(
        lambda c: c["messages"][-1].update(content=[{"type": "image_url", "image_url": {"url": "x.png"}}])).encode()),
         ["cases.jsonl:1", "message 1", "'image_url'"]),
    Case("cases", "a user turn with no text", cases_file(_case_with(lambda c: c["messages"][-1].update(content=None)).encode()),
         ["cases.jsonl:1", "message 1", "no text"]),
    Case("cases", "a tool result nothing called", cases_file(_case_with(
        lambda c: c["messages"].append({"role": "tool", "content": "42"})).encode()), ["cases.jsonl:1", "message 2", "tool result"]),
    # written by a probe of case files no one here wrote (2026-12-06): each was accepted, crashed the
    # scorer after the model ran, or failed in the chat template after the model loaded
    Case("cases", "a system turn after the first", cases_file(_case_with(
        lambda c: c["messages"].insert(1, {"role": "system", "content": "Be brief."})).encode()),
         ["cases.jsonl:1", "message 1 is a system turn"]),
    Case("cases", "no user turn", cases_file(_case_with(lambda c: c.update(messages=[
        c["messages"][0], {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "get_ticket", "arguments": {"ticket_id": "DOCS-1"}}}]},
        {"role": "tool", "content": "{}"}])).encode()), ["cases.jsonl:1", "no user turn"]),
    Case("cases", "a result answering a call id no call made", cases_file(_case_with(lambda c: c["messages"].extend([
        {"role": "assistant", "content": "", "tool_calls": [{"id": "t1", "type": "function", "function": {
            "name": "get_ticket", "arguments": {"ticket_id": "DOCS-1"}}}]},
        {"role": "tool", "tool_call_id": "t999", "content": "{}"}])).encode()), ["cases.jsonl:1", "message 3", "'t999'"]),
    Case("cases", "an earlier call whose arguments are not JSON", cases_file(_case_with(lambda c: c["messages"].extend([
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
            "name": "get_ticket", "arguments": "{ticket_id: DOCS-1}"}}]},
        {"role": "tool", "content": "{}"}])).encode()), ["cases.jsonl:1", "message 2, tool call 0", "not JSON"]),
    Case("cases", "an Anthropic tool_use block in a user turn", cases_file(_case_with(lambda c: c["messages"].append(
        {"role": "user", "content": [{"type": "tool_use", "id": "t1", "name": "get_ticket", "input": {}}]})).encode()),
         ["cases.jsonl:1", "'tool_use' block out of place"]),
    Case("cases", "expected calls and a behaviour", cases_file(_case_with(
        lambda c: c["expected"].update(behaviour="honest_report")).encode()), ["cases.jsonl:1", "both 'calls' and 'behaviour'"]),
    Case("cases", "an unknown key in expected", cases_file(_case_with(
        lambda c: c["expected"].update(no_tool=True)).encode()), ["cases.jsonl:1", "'no_tool'"]),
    Case("cases", "an unknown key in an expected call", cases_file(_case_with(
        lambda c: c["expected"]["calls"][0].update(argumentz={})).encode()), ["cases.jsonl:1", "'argumentz'"]),
    Case("cases", "an expected argument the tool does not declare", cases_file(_case_with(
        lambda c: c["expected"]["calls"][0]["arguments"].update(colour="red")).encode()),
         ["cases.jsonl:1", "['colour']", "not among the tool's parameters"]),
    Case("cases", "arg_rules: a tolerance that is no number", cases_file(_case_with(lambda c: c.update(arg_rules={
        "calendar_create_event": {"duration_min": {"tolerance": "big"}}})).encode()), ["cases.jsonl:1", "tolerance", "'big'"]),
    Case("cases", "arg_rules: any_of that is no list", cases_file(_case_with(lambda c: c.update(arg_rules={
        "calendar_create_event": {"title": {"any_of": "Team sync"}}})).encode()), ["cases.jsonl:1", "any_of must be a list"]),
    Case("cases", "arg_rules for an argument the tool lacks", cases_file(_case_with(lambda c: c.update(arg_rules={
        "calendar_create_event": {"titel": {"casefold": True}}})).encode()), ["cases.jsonl:1", "no parameter 'titel'"]),
    Case("cases", "a number too large for a double", cases_file(_case_with(lambda c: c.update(weight=0)).replace(
        '"weight": 0', '"weight": 1e999').encode()), ["cases.jsonl:1", "too large for a double"]),
    Case("cases", "a tool defined twice", cases_file(_case_with(lambda c: c["tools"].append(c["tools"][1])).encode()),
         ["cases.jsonl:1", "'get_ticket'", "twice"]),
    Case("cases", "a tool schema that is not JSON Schema", cases_file(_case_with(_misspelt_schema_type).encode()),
         ["cases.jsonl:1", "not a valid JSON Schema", "'strng'"]),
    Case("cases", "expected arguments that break the tool's schema", cases_file(_case_with(
        lambda c: c["expected"]["calls"][0]["arguments"].update(ticket_id=141)).encode()),
         ["cases.jsonl:1", "'get_ticket'", "ticket_id", "not of type 'string'"]),
    Case("cases", "an unknown BFCL category", lambda t: ["eval", str(t / "m.gguf"), "--bfcl", "simple_java"],
         ["--bfcl", "'simple_java'", "simple_python"]),
    # --- GGUF files -------------------------------------------------------------------------------
    Case("gguf", "missing", gguf(None), ["model.gguf", "no such"]),
    Case("gguf", "a directory", gguf(None, is_dir=True), ["model.gguf", "directory"]),
    Case("gguf", "a text file", gguf(b"hello, I am not a model\n"), ["model.gguf", "not a GGUF"]),
    Case("gguf", "empty", gguf(b""), ["model.gguf", "not a GGUF"]),
    Case("gguf", "unknown version", gguf(b"GGUF\x63\x00\x00\x00" + b"\x00" * 64), ["model.gguf", "version 99"]),
    Case("gguf", "truncated after the header", gguf(b"GGUF\x03\x00\x00\x00" + b"\x00" * 8), ["model.gguf", "could not load"]),
    # --- release folders and manifests --------------------------------------------------------------
    Case("release", "no such folder", release(None, make_dir=False), ["rel", "no such release folder"]),
    Case("release", "no manifest", release(None), ["manifest.json", "no manifest"], rc=1),
    Case("release", "manifest not JSON", release(b"{files"), ["manifest.json", "not valid JSON"], rc=1),
    Case("release", "manifest not UTF-8", release(b'{"files": "\xff"}'), ["manifest.json", "UTF-8"], rc=1),
    Case("release", "files not a mapping", release(b'{"files": ["card.md"]}'), ["manifest.json", "'files' must be a mapping"], rc=1),
    Case("release", "an entry without sha256", release(b'{"files": {"card.md": {"size_bytes": 5}}}'),
         ["manifest.json", "card.md", "sha256"], rc=1),
    Case("release", "a path outside the folder", release(b'{"files": {"../x": {"sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size_bytes": 1}}}'),
         ["manifest.json", "../x"], rc=1),
    Case("release", "a misspelt manifest key", release(b'{"fmaily": "x", "files": {"card.md": {"sha256": "ee5a8aebf57ef226f9b73e086350e212d563474aca1576db0f4960021004664f", "size_bytes": 5}}}'),
         ["manifest.json", "unknown key(s) ['fmaily']"], rc=1),
    Case("release", "a manifest that lists no file", release(b'{"files": {}}'), ["manifest.json", "lists no file"], rc=1),
    Case("release", "a sha256 that is not one", release(b'{"files": {"card.md": {"sha256": "abc", "size_bytes": 5}}}'),
         ["manifest.json", "card.md", "not a sha256"], rc=1),
    Case("release", "a path written with ./", release(b'{"files": {"./card.md": {"sha256": "ee5a8aebf57ef226f9b73e086350e212d563474aca1576db0f4960021004664f", "size_bytes": 5}}}'),
         ["manifest.json", "./card.md", "must be written as a plain relative"], rc=1),
    Case("release", "a manifest that lists itself", release(b'{"files": {"card.md": {"sha256": "ee5a8aebf57ef226f9b73e086350e212d563474aca1576db0f4960021004664f", "size_bytes": 5}, "manifest.json": {"sha256": "ee5a8aebf57ef226f9b73e086350e212d563474aca1576db0f4960021004664f", "size_bytes": 5}}}'),
         ["manifest.json", "cannot hold its own hash"], rc=1),
    Case("release", "a variant with no folder", release(b'{"variants": {"4k": {}}, "files": {"card.md": {"sha256": "ee5a8aebf57ef226f9b73e086350e212d563474aca1576db0f4960021004664f", "size_bytes": 5}}}'),
         ["manifest.json", "variants names '4k'", "no file under 4k/"], rc=1),
    # --- eval reports (compare) -------------------------------------------------------------------
    Case("report", "missing", report(None, b"{}"), ["a.json", "no such"]),
    Case("report", "not JSON", report(b"nope"), ["a.json", "not valid JSON"]),
    Case("report", "not a report", report(b'{"rows": []}'), ["a.json", "metrics"]),
    Case("report", "no shared cases", report(_report(["x1", "x2"]), _report(["y1"])), ["a.json", "b.json", "share no case ids"]),
    Case("report", "a record whose counts contradict its calls", report(_report(["x1"]), json.dumps({
        "metrics": {"tool_f1": 0.5}, "cases": [{"id": "x1", "kind": "call", "scenario": "s", "tp": 5, "fp": 0, "fn": 1,
                                                "parse_ok": True, "parsed_calls": [], "expected": [{"name": "f"}]}]}).encode()),
         ["b.json", "case 'x1'", "tp 5 + fp 0 counts 5 answered call(s), but parsed_calls holds 0"]),
    Case("report", "one id, two different cases", report(
        json.dumps({"metrics": {}, "cases": [{"id": "c1", "kind": "call", "scenario": "s", "expected": []}]}).encode(),
        json.dumps({"metrics": {}, "cases": [{"id": "c1", "kind": "call", "scenario": "s",
                                              "expected": [{"name": "f", "arguments": {}}]}]}).encode()),
         ["a.json", "b.json", "case 'c1' has a different expected in each report"]),
    # --- anonymiser inputs --------------------------------------------------------------------------
    Case("anonymise", "key variable unset", anonymise(b"{}\n", key=False), ["TOOLSWEEP_TEST_UNSET_KEY"]),
    Case("anonymise", "input missing", anonymise(None), ["in.jsonl", "no such"]),
    Case("anonymise", "input line not JSON", anonymise(b'{"a": 1}\n{oops\n'), ["in.jsonl:2", "not JSON"]),
    Case("anonymise", "input not UTF-8", anonymise(b'{"a": "\xff"}\n'), ["in.jsonl", "UTF-8"]),
    Case("anonymise", "known file with an unknown kind", anonymise(b"{}\n", known="Priya\ncity: Lisbon\n"),
         ["known.txt:2", "city"]),
    Case("anonymise", "unknown detector to disable", anonymise(b"{}\n", extra=["--disable", "faces"]), ["--disable", "faces"]),
    Case("anonymise", "a row that is an array", anonymise(b'{"a": 1}\n[1, 2]\n'), ["in.jsonl:2", "a JSON array", "nothing written"]),
    Case("anonymise", "a row that is null", anonymise(b'null\n'), ["in.jsonl:1", "a JSON null"]),
    Case("anonymise", "an empty input", anonymise(b"\n\n"), ["in.jsonl", "no rows", "nothing written"]),
    Case("anonymise", "a known line with a kind and no token", anonymise(b"{}\n", known="Priya\nname:\n"),
         ["known.txt:2", "'name:'", "no token"]),
    Case("anonymise", "the key given in place of the variable's name", lambda tmp: [
        "anonymise", str(tmp / "in.jsonl"), str(tmp / "out.jsonl"), "--key-env", "hunter2/secret"],
         ["--key-env", "not a variable name"]),
    # --- sweep folders (resume, status) -------------------------------------------------------------
    Case("sweep dir", "no state file", sweep_dir(None), ["x-20260101-000000", "not a toolsweep sweep directory"]),
    Case("sweep dir", "no such folder", lambda tmp: ["status", str(tmp / "nope")], ["nope", "no such directory"]),
    Case("sweep dir", "the state file itself", lambda tmp: (sweep_dir(b"{}")(tmp), ["status", str(
        tmp / "ray" / "x-20260101-000000" / "toolsweep_sweep.json")])[1], ["is a file", "the folder that holds it"]),
    Case("sweep dir", "state not JSON", sweep_dir(b"{oops", cmd="status"), ["toolsweep_sweep.json", "not valid JSON"]),
    Case("sweep dir", "state without a config", sweep_dir(b'{"parent_run_id": "r"}'), ["toolsweep_sweep.json", "'config'"]),
    # --- teacher endpoint answers (each bad answer is one rejected row, with its reason) -----------------
    Case("teacher", "requests file missing", teacher(b"{}", src=None), ["requests.jsonl", "no such"]),
    # An endpoint that answered no request stops the run (exit 3, rows kept for --resume), never exit 0.
    Case("teacher", "nothing listens", teacher(None), ["unreachable", "--resume"], rc=3, extra=_rejected("unreachable")),
    Case("teacher", "answer not JSON", teacher(b"<html>oops</html>"), ["not JSON"], rc=3, extra=_rejected("not JSON")),
    Case("teacher", "an error object in a 200 answer", teacher(b'{"error": {"message": "overloaded"}}'),
         ["error in the answer: overloaded"], rc=3, extra=_rejected("overloaded")),
    # Another JSON API at the URL fails every row alike: an endpoint failure (--resume resends), not a reject.
    Case("teacher", "no choices", teacher(b'{"id": "x", "object": "chat.completion"}'), ["no chat completion", "--resume"],
         rc=3, extra=_rejected("no choices[0].message")),
    Case("teacher", "a models list at the URL", teacher(b'{"data": [{"id": "m"}]}'), ["no chat completion", "--endpoint"],
         rc=3, extra=_rejected("no chat completion")),
    Case("teacher", "a redirect", teacher(b"{}", status=302), ["HTTP 302", "redirects to http://localhost:1/elsewhere",
                                                               "--endpoint"], rc=2),
    Case("teacher", "answer not UTF-8 (a Latin-1 proxy page)", teacher(b"<html>caf\xe9</html>"), ["not UTF-8"], rc=3,
         extra=_rejected("not UTF-8")),
    Case("teacher", "HTTP 401", teacher(b'{"error": "bad key"}', status=401), ["HTTP 401", "--api-key-env"], rc=2),
    Case("teacher", "HTTP 404 (a model the server does not know)", teacher(b'{"error": "no model teacher"}', status=404),
         ["HTTP 404", "--model"], rc=2),
    Case("teacher", "an answer cut off at max_tokens",
         teacher(json.dumps({"choices": [{"message": {"content": "The weather in Par"}, "finish_reason": "length"}]}).encode()),
         [], rc=0, extra=_rejected("truncated")),
    Case("teacher", "a call written as text in a format no parser reads",
         teacher(_chat({"content": "<|python_tag|>get_weather city=Oslo"})), [], rc=0, extra=_rejected("python_tag")),
    Case("teacher", "the request file is a JSON array", teacher(b"{}", src=b'[{"user": "hi", "tools": []}]\n', raw_src=True),
         ["requests.jsonl", "JSON array"]),
    Case("teacher", "dest already holds labelled rows", lambda tmp: (
        (tmp / "labelled.jsonl").write_text('{"id": "kept"}\n'), teacher(b"{}")(tmp))[1],
         ["labelled.jsonl holds 1 rows", "--resume", "--overwrite"], extra=lambda tmp: _kept_row(tmp)),
    Case("teacher", "a call to a tool not offered, written as JSON text",
         teacher(_chat({"content": '{"name": "delete_everything", "arguments": {}}'})), [], rc=0,
         extra=_rejected("'delete_everything' is not an offered tool")),
    Case("teacher", "calls in two fences, the second to a tool not offered",
         teacher(_chat({"content": '```json\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n```\n'
                                   '```json\n{"name": "rm_rf", "arguments": {}}\n```'})), [], rc=0,
         extra=_rejected("'rm_rf' is not an offered tool")),
    Case("teacher", "a stray value in an array of calls",
         teacher(_chat({"content": '[{"name": "get_weather", "arguments": {"city": "Oslo"}}, "junk"]'})), [], rc=0,
         extra=_rejected("no call")),
    Case("teacher", "a tool schema with a remote $ref", teacher(_chat({"content": "ok"}), src=json.dumps(
        {"user": "hi", "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {
            "city": {"$ref": "http://10.255.255.1/x.json"}}}}}]}).encode() + b"\n", raw_src=True), [], rc=0,
         extra=_rejected("points outside the schema")),
    Case("teacher", "an id of another type", teacher(_chat({"content": "ok"}), src=b'{"user": "hi", "id": true}\n'), [],
         rc=0, extra=_rejected("'id' must be a non-empty string or an integer")),
    Case("teacher", "the key given in place of the variable's name", teacher(_chat({"content": "ok"}),
                                                                              flags=("--api-key-env", "sk-live-123 456")),
         ["--api-key-env takes the name of an environment variable", "not printed"]),
    Case("teacher", "a call to a tool not offered",
         teacher(_chat({"tool_calls": [{"function": {"name": "rm_rf", "arguments": "{}"}}]})), [], rc=0,
         extra=_rejected("not an offered tool")),
    Case("teacher", "arguments not JSON",
         teacher(_chat({"tool_calls": [{"function": {"name": "get_weather", "arguments": "{city"}}]})), [], rc=0,
         extra=_rejected("arguments are not JSON")),
    Case("teacher", "arguments off the schema",
         teacher(_chat({"tool_calls": [{"function": {"name": "get_weather", "arguments": "{\"city\": 3}"}}]})), [], rc=0,
         extra=_rejected("do not fit its schema")),
    # --- outputs that would overwrite an input or cannot be written (refused before any work) ----------
    Case("outputs", "label: dest is the input", _same_file("label"), ["in.jsonl", "same file as the input"],
         extra=_input_kept),
    Case("outputs", "anonymise: dest is the input", _same_file("anonymise"), ["in.jsonl", "same file as the input"],
         extra=_input_kept),
    Case("outputs", "eval --out under a file", _eval_out_under_a_file, ["--out", "afile", "is a file"]),
    Case("outputs", "make-data --out longer than the filesystem allows",   # no check named it: the CLI's own line
         lambda tmp: ["make-data", "--toolset", str(ROOT / "data/toolsets/starter.yaml"), "-n", "3",
                      "--out", str(tmp / ("e" * 300 + ".jsonl"))], ["eeee…", "characters)", "File name too long"]),
    Case("outputs", "release --version that leaves the folder",
         lambda tmp: ["release", "--family", "fam", "--version", "../../escaped", "--out", str(tmp / "rel")],
         ["--version", "'../../escaped'"]),
    Case("teacher", "--api-key-env names an unset variable",
         lambda tmp: ["label", "in.jsonl", str(tmp / "o.jsonl"), "--endpoint", "http://127.0.0.1:9", "--api-key-env",
                      "TOOLSWEEP_TEST_UNSET_KEY"], ["--api-key-env", "TOOLSWEEP_TEST_UNSET_KEY"]),
    Case("teacher", "--endpoint not a URL",
         lambda tmp: ["label", "in.jsonl", str(tmp / "o.jsonl"), "--endpoint", "not-a-url"], ["--endpoint", "http://"]),
    Case("teacher", "--timeout below 0",
         lambda tmp: ["label", "in.jsonl", str(tmp / "o.jsonl"), "--endpoint", "http://127.0.0.1:9", "--timeout", "-1"],
         ["--timeout", "from 0.001 to"]),
    # --- whole files in another format, and text JSON cannot hold ------------------------------------------
    Case("data", "a gzip file named .jsonl", data_source(b"\x1f\x8b\x08\x00" + bytes(40)), ["source.jsonl", "gzip"]),
    Case("data", "a pretty-printed JSON array", data_source(("[\n  " + STARTER[0] + ",\n  " + STARTER[1] + "\n]\n").encode()),
         ["source.jsonl", "a JSON array"]),
    Case("data", "UTF-16 text", data_source(_lines(STARTER[0], STARTER[1]).decode().encode("utf-16")),
         ["source.jsonl", "UTF-16"]),
    Case("data", "a lone surrogate escape", data_source(_lines(STARTER[0].replace('"content": "', '"content": "\\ud800', 1),
                                                                 STARTER[1])), [], rc=0,
         counts={"read": 2, "kept": 1, "quarantined": {"malformed_json": 1}}),
    Case("cases", "a lone surrogate escape",
         cases_file(_case_with(lambda c: c["messages"][0].update(content="hi \ud800")).replace("\\\\ud800", "\\ud800").encode()),
         ["cases.jsonl:1", "lone surrogate"]),
    # --- reports, manifests, sweep folders ----------------------------------------------------------------
    Case("report", "a metric that is text", report(json.dumps({"metrics": {"tool_f1": "high"}, "cases": [
        {"id": "c1", "kind": "call", "scenario": "s"}]}).encode()), ["a.json", "metrics.tool_f1", "'high'"]),
    Case("report", "one case id twice", report(_report(["c1", "c1"])), ["a.json", "'c1' has two records"]),
    Case("report", "a score field of the wrong type", report(json.dumps({"metrics": {}, "cases": [
        {"id": "c1", "kind": "call", "scenario": "s", "tp": "lots"}]}).encode()), ["a.json", "case 'c1'", "'tp'"]),
    Case("release", "a manifest naming a file twice", release(b'{"files": {"card.md": {"sha256": "x", "size_bytes": 5},'
                                                              b' "card.md": {"sha256": "y", "size_bytes": 5}}}'),
         ["manifest.json", "'card.md' appears twice"], rc=1),
    Case("release", "a symbolic link", _release_link, ["symbolic link: card.md"], rc=1),
    Case("sweep dir", "state without Tune's storage", sweep_dir(b'{"parent_run_id": "r", "config": {}}', cmd="status"),
         ["toolsweep_sweep.json", "'storage'"]),
]


def _no_mlflow(tmp: Path) -> None:
    assert not (tmp / "mlruns").exists(), "an MLflow store was made before the checks passed"
    assert not (tmp / "ray").exists(), "Ray storage was made before the checks passed"


def _parts_joined_image_quarantined(tmp: Path) -> None:
    _quarantine_says(tmp, "'image_url'")
    kept = [json.loads(line) for line in (tmp / "data-out" / "train.jsonl").read_text().splitlines()]
    asked = [m["content"] for r in kept for m in r["messages"] if m["role"] == "user"]
    assert json.loads(STARTER[0])["messages"][1]["content"] in asked, asked  # the two text parts, joined


def _quarantine_says(tmp: Path, text: str) -> None:
    rows = [json.loads(line) for line in (tmp / "data-out" / "quarantine.jsonl").read_text().splitlines()]
    assert any(text in r["reason"] for r in rows), rows


def _check_counts(tmp: Path, counts: dict) -> None:
    info = json.loads((tmp / "data-out" / "stages.json").read_text())
    stages = {s["stage"]: s for s in info["stages"]}
    quarantined: dict[str, int] = {}
    for s in info["stages"]:
        for check_name, n in s["by_check"].items():
            quarantined[check_name] = quarantined.get(check_name, 0) + n
    kept, not_sampled = stages["mix"]["rows_out"], sum(s["not_sampled"] for s in info["stages"])
    assert stages["read"]["rows_in"] == counts["read"]
    assert kept == counts["kept"] and quarantined == counts["quarantined"]
    assert stages["read"]["rows_in"] == kept + sum(quarantined.values()) + not_sampled
    assert info["unaccounted"] == []


@pytest.mark.parametrize("case", CASES, ids=[f"{c.category}: {c.name}" for c in CASES])
def test_bad_input(case: Case, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TOOLSWEEP_TEST_KEY", "not-a-secret-but-long-enough")
    monkeypatch.delenv("TOOLSWEEP_TEST_UNSET_KEY", raising=False)
    monkeypatch.delenv("TOOLSWEEP_DEBUG", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    argv = case.build(tmp_path)
    try:
        rc = main(argv)
    except SystemExit as exit_:  # argparse's own one-line usage errors
        rc = exit_.code
    out, err = capsys.readouterr()
    said = out + err
    assert rc == case.rc, said[-3000:]
    assert "Traceback" not in said and "unexpected;" not in said, said[-3000:]
    for name in case.names:
        assert name.replace("{tmp}", str(tmp_path)) in said, f"{name!r} not in:\n{said[-3000:]}"
    if case.counts is not None:
        _check_counts(tmp_path, case.counts)
    if case.extra is not None:
        case.extra(tmp_path)


def test_the_corpus_covers_every_category_with_sixty_inputs():
    per_category: dict[str, int] = {}
    for c in CASES:
        per_category[c.category] = per_category.get(c.category, 0) + 1
    assert len(CASES) >= 60
    assert set(per_category) >= {"sweep yaml", "override", "family", "toolset", "data", "cases", "gguf", "release",
                                 "teacher"}


def test_debug_flag_prints_the_traceback(tmp_path, capsys):
    rc = main(["check-config", str(tmp_path / "nope.yaml"), "--debug"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" in err and "nope.yaml: no such sweep file" in err
