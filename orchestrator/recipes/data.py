"""Recipe: a sweep file's training mix, built and checked without training.

    toolsweep data sweeps/smoke.yaml --out runs/data [--render]

1. Read every source, normalise, filter, dedupe, cap and mix exactly as a trial does.
2. With `render`, also render each row with the base model's tokenizer and quarantine rows over
   `train.max_length` (the trial's own tokenize stage).
3. Write train.jsonl, quarantine.jsonl and the stage table; then check the eval sets for leakage
   (the leaks `data.leakage.allow` lets through are written to leakage.json, as a trial writes them;
   when the check fails, the blocking leaks are, marked `"blocking": true`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class MixResult:
    info: dict                  # write_outputs' record: files, stage counts, fingerprint, unaccounted rows
    rows: int                   # rows in the mix
    quarantined: int            # rows quarantined, every stage together
    leakage: str | None = None  # the leakage check's failure, or None when it passed (or is off)
    allowed_leaks: int = 0
    empty: str | None = None    # why the mix cannot be trained: no rows, or a weighted source with none (empty_mix_problem)


def build_mix(cfg, out_dir: Path, render: bool = False) -> MixResult:
    import json

    from orchestrator.data.leakage import LeakageError
    from orchestrator.data.pipeline import add_render_stage, empty_mix_problem, guard_leakage, write_outputs
    from orchestrator.paths import cache_dir
    from orchestrator.recipes.trial import build_data

    data = build_data(cfg, cache_dir())
    if render:
        from orchestrator.train import base_model, trainer
        from orchestrator.train.chat_template import load_template

        base = base_model.resolve_base(cfg.model, cache_dir() / "models")
        tokenizer = base_model.load_tokenizer(base, load_template(cfg.model.chat_template))
        _, kept = trainer.tokenize(data.rows, tokenizer, cfg.train.max_length, data.quarantine)
        add_render_stage(data, kept)
    info = write_outputs(data, out_dir)
    result = MixResult(info, len(data.rows), len(data.quarantine.rows),
                       empty=empty_mix_problem(data, cfg.train.max_length))
    if info["unaccounted"]:
        return result
    report = out_dir / "leakage.json"  # this run's leaks, always: an earlier run's "[]" must not sit beside a leaking mix
    try:
        allowed = guard_leakage(data.rows, cfg.data, cfg.promote.eval_set)
    except LeakageError as err:
        result.leakage = str(err)
        leaks = [{**vars(lk), "blocking": True} for lk in getattr(err, "blocking", [])]
        report.write_text(json.dumps(leaks, indent=2) + "\n")
        return result
    result.allowed_leaks = len(allowed)
    report.write_text(json.dumps([vars(lk) for lk in allowed], indent=2) + "\n")
    return result
