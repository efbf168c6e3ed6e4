"""The data stages, run in order, with a count table that accounts for every row.

read → normalise → filter → dedupe → cap → mix [→ render]

- read: raw records of every source (`orchestrator.data.sources`; JSONL blank lines are not rows);
- normalise: one internal row per record (`normalise.py`); unreadable rows quarantined;
- filter: quality rules (`filters.py`); the first rule a row breaks quarantines it;
- dedupe: global exact dedupe (`dedupe.py`); later copies quarantined as "duplicate of <id>";
- cap: per-session cap for sources with `max_per_session`;
- mix: quotas per category and source (`mix.py`); rows not chosen are counted as not sampled;
- render: run by the trial with the real tokenizer (`orchestrator.train.trainer.tokenize`): a row whose
  rendering exceeds `train.max_length` is quarantined, not truncated.

Invariant, per stage: rows_in == rows_out + quarantined + not_sampled, and each stage's rows_in is
the previous stage's rows_out; `unaccounted()` returns the stages where that fails (tests require
none). Quarantined rows carry `{source, row, id, stage, check, reason, raw}`.

Fingerprint: `config_sha256` hashes the canonical JSON of the data config that decides the mix
(sources, mix, filter, dedupe) together with each local source file's sha256 (and a toolset source's
YAML file's); `file_sha256` hashes
the written training file; `fingerprint` = sha256 of "<file_sha256>:<config_sha256>".
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from orchestrator.config import DataConfig, SourceConfig
from orchestrator.data.dedupe import cap_sessions, dedupe
from orchestrator.data.filters import row_problem
from orchestrator.data.mix import MixSpec, build_mix, category
from orchestrator.data.normalise import Reject, normalise
from orchestrator.data.quarantine import Quarantine
from orchestrator.hashing import sha256_file

Reader = Callable[[str, SourceConfig], Iterable[tuple[int, str | dict]]]


@dataclass
class DataResult:
    rows: list[dict]
    quarantine: Quarantine
    stages: list[dict]
    mix_table: list[dict]
    config_sha256: str
    source_sha256: dict[str, str | None] = field(default_factory=dict)
    source_paths: dict[str, str] = field(default_factory=dict)  # a local path, or the hub id
    not_sampled: list[str] = field(default_factory=list)  # ids of good rows the mix did not choose

    def stage(self, name: str) -> dict:
        return next(s for s in self.stages if s["stage"] == name)


def _stage(name: str, rows_in: int, rows_out: int, quarantine: Quarantine, not_sampled: int = 0) -> dict:
    by_check = quarantine.counts(name)
    return {"stage": name, "rows_in": rows_in, "rows_out": rows_out, "quarantined": sum(by_check.values()),
            "not_sampled": not_sampled, "by_check": dict(sorted(by_check.items()))}


def unaccounted(stages: list[dict]) -> list[str]:
    """Stages where rows appear or vanish; [] when every row is accounted for."""
    bad, prev_out = [], None
    for s in stages:
        if s["rows_in"] != s["rows_out"] + s["quarantined"] + s["not_sampled"]:
            bad.append(f"{s['stage']}: {s['rows_in']} in != {s['rows_out']} out + {s['quarantined']} quarantined "
                       f"+ {s['not_sampled']} not sampled")
        if prev_out is not None and s["rows_in"] != prev_out:
            bad.append(f"{s['stage']}: {s['rows_in']} in != {prev_out} out of the stage before")
        prev_out = s["rows_out"]
    return bad


def file_sha256(path: Path) -> str | None:
    """sha256 of a file, or of a directory's files (relative names and bytes, sorted); None if absent."""
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            h.update(p.relative_to(path).as_posix().encode() + b"\0" + p.read_bytes())
    else:
        return None
    return h.hexdigest()


def config_sha256(cfg: DataConfig, source_sha: dict[str, str | None]) -> str:
    part = cfg.model_dump(mode="json", include={"sources", "mix", "filter", "dedupe"})
    hashed = {"config": part, "source_sha256": source_sha}
    # A toolset source's rows are decided by its YAML file as much as by the config that names it: an
    # edited request template left this hash alone. (Only where there is one: other configs keep their hash.)
    toolsets = {n: file_sha256(Path(s.generate.toolset)) for n, s in cfg.sources.items()
                if s.generate is not None and s.generate.toolset is not None}
    if toolsets:
        hashed["toolset_sha256"] = toolsets
    blob = json.dumps(hashed, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


# The check a row gets when reading it raised something no rule names (a key of a type nothing expects):
# the row is quarantined with the error's text, and counted, like every other bad row.
UNREADABLE = "unreadable_row"


def _unforeseen(err: Exception) -> str:
    return f"cannot be read ({type(err).__name__}: {err})"


def run_stages(cfg: DataConfig, read: Reader) -> DataResult:
    """Every stage up to the mix; `read(name, source)` yields a source's raw records."""
    q = Quarantine()
    stages = []
    records = [(name, i, raw) for name, src in cfg.sources.items() for i, raw in read(name, src)]
    stages.append(_stage("read", len(records), len(records), q))

    rows = []
    for name, i, raw in records:
        src = cfg.sources[name]
        try:
            rows.append(normalise(raw, name, i, src.format, src.track))
        except Reject as rej:
            q.add(name, i, "normalise", rej.check, rej.reason, raw)
        except Exception as err:  # a shape no rule foresaw: one quarantined row, not a failed build
            q.add(name, i, "normalise", UNREADABLE, _unforeseen(err), raw)
    stages.append(_stage("normalise", len(records), len(rows), q))

    raw_of = {f"{name}:{i}": raw for name, i, raw in records}
    kept = []
    for row in rows:
        try:
            problem = row_problem(row, cfg.filter.stale_after_s, cfg.filter.skip)
        except Exception as err:
            problem = (UNREADABLE, _unforeseen(err))
        if problem:
            q.add(row["meta"]["source"], row["meta"]["row"], "filter", problem[0], problem[1], raw_of[row["id"]])
        else:
            kept.append(row)
    stages.append(_stage("filter", len(rows), len(kept), q))

    if cfg.dedupe.enabled:
        weight_zero = frozenset(n for n, s in cfg.sources.items() if cfg.mix.total is not None and s.weight == 0)
        unique, dups = dedupe(kept, weight_zero)
        for row, first in dups:
            q.add(row["meta"]["source"], row["meta"]["row"], "dedupe", "duplicate", f"duplicate of {first}",
                  raw_of[row["id"]])
    else:
        unique = kept
    stages.append(_stage("dedupe", len(kept), len(unique), q))

    capped, over = cap_sessions(unique, {n: s.max_per_session for n, s in cfg.sources.items()}, cfg.mix.seed)
    for row, why in over:
        q.add(row["meta"]["source"], row["meta"]["row"], "cap", "over_session_cap", why, raw_of[row["id"]])
    stages.append(_stage("cap", len(unique), len(capped), q))

    spec = MixSpec(cfg.mix.total, {n: s.weight for n, s in cfg.sources.items()}, cfg.mix.no_tool_ratio,
                   cfg.mix.honesty_ratio, cfg.mix.seed, cfg.mix.on_shortfall)
    mixed, not_sampled, table = build_mix(capped, spec)
    stages.append(_stage("mix", len(capped), len(mixed), q, not_sampled=len(not_sampled)))

    source_sha = {n: (file_sha256(Path(s.path)) if s.path else None) for n, s in cfg.sources.items()}
    paths = {n: str(s.path) if s.path else s.hub for n, s in cfg.sources.items()}
    return DataResult(mixed, q, stages, table, config_sha256(cfg, source_sha), source_sha, paths,
                      [r["id"] for r in not_sampled])


def add_render_stage(result: DataResult, kept: list[dict]) -> None:
    """Record the trial's render stage: `kept` are the rows within max_length (the rest were
    quarantined by the renderer with stage "render")."""
    stage = _stage("render", len(result.rows), len(kept), result.quarantine)
    result.stages = [s for s in result.stages if s["stage"] != "render"] + [stage]
    result.rows = kept


def empty_mix_problem(result: DataResult, max_length: int) -> str | None:
    """Why nothing is left to train, or None when rows are: the quarantine's reasons, and the one
    knob that usually causes it (every row longer than train.max_length once rendered). A source
    given weight that has no usable row is a problem too: the mix would quietly be another mix
    (a dataset in a format toolsweep does not read ends that way, every row quarantined)."""
    if result.rows:
        return _empty_source_problem(result) or _empty_category_problem(result, max_length)
    counts = result.quarantine.counts()
    by_source = Counter(f"{r['source']}/{r['check']}" for r in result.quarantine.rows)  # which source lost rows, why
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(by_source.items(), key=lambda kv: -kv[1])) or "none quarantined"
    hint = (f"; every row that reached rendering is longer than train.max_length {max_length}: raise it"
            if counts and max(counts, key=counts.get) == "over_max_length" else "")
    return f"the training mix holds no rows (quarantined: {reasons}){hint}"


def _empty_source_problem(result: DataResult) -> str | None:
    """A weighted source with no row left: none usable before the mix, or every row the mix drew for
    it quarantined when rendered (a long-context source longer than train.max_length: the track
    silently left training, exit 0)."""
    available: Counter = Counter()
    selected: Counter = Counter()
    weight: dict[str, float] = {}
    for t in result.mix_table:
        available[t["source"]] += t["available"]
        selected[t["source"]] += t.get("selected", 0)
        weight[t["source"]] = max(weight.get(t["source"], 0), t["weight"] or 0)
    kept = Counter(r["meta"]["source"] for r in result.rows)
    empty = [src for src in weight if weight[src] > 0 and (available[src] == 0 or (selected[src] and not kept[src]))]
    if not empty:
        return None
    said = []
    for src in empty:
        why = Counter(r["check"] for r in result.quarantine.rows if r["source"] == src)
        reasons = ", ".join(f"{k} {v}" for k, v in why.most_common(3)) or "no rows read"
        said.append(f"data source {src!r} (weight {weight[src]:g}) has no usable row ({reasons})")
    return "; ".join(said) + "; fix the source or set its weight to 0"


def _empty_category_problem(result: DataResult, max_length: int) -> str | None:
    """A mix category (tool, no_tool, honesty) the mix drew rows for, every one of them quarantined when
    rendered: 60 tools offered 6 at a time rendered past max_length, all 200 tool rows left, and a
    no_tool_ratio of 0.2 trained as 1.0 with exit 0."""
    drawn: Counter = Counter()
    for t in result.mix_table:
        if t["category"] != "all":  # no mix at all (every row): the source check covers it
            drawn[t["category"]] += t.get("selected", 0)
    if not drawn:
        return None
    kept = Counter(category(r) for r in result.rows)
    kept["any"] = kept["tool"] + kept["no_tool"]  # no no-tool ratio set: tool and no-tool rows are one category
    lost = [c for c in drawn if drawn[c] and not kept[c]]
    if not lost:
        return None
    rendered = Counter(r["check"] for r in result.quarantine.rows if r.get("stage") == "render")
    why = ", ".join(f"{k} {v}" for k, v in rendered.most_common(3)) or "none at rendering"
    hint = f"; raise train.max_length {max_length}, or offer fewer tools per row" if "over_max_length" in rendered else ""
    return (f"the mix drew {', '.join(f'{drawn[c]} {c}' for c in lost)} row(s) and rendering quarantined every one "
            f"({why}{hint}): the trial would train without that category")


def train_jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def summary(result: DataResult) -> dict:
    """Shares of the final rows per category and source."""
    n = len(result.rows) or 1
    cats: dict[str, int] = {}
    srcs: dict[str, int] = {}
    for r in result.rows:
        cats[category(r)] = cats.get(category(r), 0) + 1
        srcs[r["meta"]["source"]] = srcs.get(r["meta"]["source"], 0) + 1
    return {"rows": len(result.rows),
            "by_category": {k: {"rows": v, "share": round(v / n, 4)} for k, v in sorted(cats.items())},
            "by_source": dict(sorted(srcs.items()))}


def write_outputs(result: DataResult, out_dir: Path) -> dict:
    """train.jsonl, quarantine.jsonl, stages.json, stages.md into `out_dir`; returns paths and digests."""
    out_dir.mkdir(parents=True, exist_ok=True)
    train = out_dir / "train.jsonl"
    train.write_text(train_jsonl(result.rows), encoding="utf-8")
    quarantine = out_dir / "quarantine.jsonl"
    quarantine.write_text(result.quarantine.jsonl(), encoding="utf-8")
    file_sha = hashlib.sha256(train.read_bytes()).hexdigest()
    fingerprint = hashlib.sha256(f"{file_sha}:{result.config_sha256}".encode()).hexdigest()
    info = {"file_sha256": file_sha, "config_sha256": result.config_sha256, "fingerprint": fingerprint,
            "source_sha256": result.source_sha256, "source_paths": result.source_paths,
            "stages": result.stages, "mix": result.mix_table,
            "summary": summary(result), "unaccounted": unaccounted(result.stages)}
    (out_dir / "stages.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    (out_dir / "stages.md").write_text(stage_markdown(result), encoding="utf-8")
    return {"train": train, "quarantine": quarantine, "stages_file": out_dir / "stages.json", **info}


def stage_markdown(result: DataResult) -> str:
    lines = ["| stage | in | out | quarantined | not sampled | reasons |", "|---|---:|---:|---:|---:|---|"]
    for s in result.stages:
        reasons = ", ".join(f"{k} {v}" for k, v in s["by_check"].items())
        lines.append(f"| {s['stage']} | {s['rows_in']} | {s['rows_out']} | {s['quarantined']} | "
                     f"{s['not_sampled']} | {reasons} |")
    lines += ["", "| category | source | weight | available | quota | selected | shortfall |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for t in result.mix_table:
        lines.append(f"| {t['category']} | {t['source']} | {t['weight']} | {t['available']} | {t['quota']} | "
                     f"{t['selected']} | {t['shortfall']} |")
    return "\n".join(lines) + "\n"


def metrics(result: DataResult) -> dict[str, float]:
    """Flat counts for MLflow: data.stage.<stage>.<count> and data.quarantine.<check>."""
    out: dict[str, float] = {}
    for s in result.stages:
        for k in ("rows_in", "rows_out", "quarantined", "not_sampled"):
            out[f"data.stage.{s['stage']}.{k}"] = s[k]
    for check, n in result.quarantine.counts().items():
        out[f"data.quarantine.{check}"] = n
    for t in result.mix_table:
        out[f"data.mix.{t['category']}.{t['source']}.selected"] = t["selected"]
        out[f"data.mix.{t['category']}.{t['source']}.shortfall"] = t["shortfall"]
    return out


def guard_leakage(rows: list[dict], cfg: DataConfig, promotion_set: Path | None = None) -> list:
    """Check data.eval, data.leakage.eval_sets and the promotion set (promote.eval_set: the set the
    "did tuning help?" verdict rests on) against the rows; raises LeakageError on a leak of a kind
    not allowed, returns the allowed leaks (to report)."""
    from orchestrator.data.normalise import load_eval_cases
    from orchestrator.data.leakage import enforce, find_leaks

    if not cfg.leakage.check:
        return []
    paths = list(dict.fromkeys(p for p in [cfg.eval, *cfg.leakage.eval_sets, promotion_set] if p is not None))
    sets = {str(p): load_eval_cases(p) for p in paths}
    leaks = find_leaks(rows, sets, cfg.leakage.ngram, cfg.leakage.ngram_threshold, cfg.leakage.min_value_chars)
    return enforce(leaks, cfg.leakage.allow)
