"""The trial recipe: one readable function, stage by stage.

base → data → train (LoRA) → merge → GGUF → quantize → eval (quantized, and the untuned base)
→ MLflow. Each stage is a function in its own module; this file only wires them together and
records what happened, including a failure's stage and reason.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Protocol

from evals.cases import take
from evals.harness import evaluate, to_markdown
from evals.template import strip_generation_markers
from orchestrator.train.chat_template import load_template
from orchestrator.config import SweepConfig, flat_params
from orchestrator.data.pipeline import (DataResult, add_render_stage, empty_mix_problem, guard_leakage, run_stages,
                                        unaccounted, write_outputs)
from orchestrator.data.normalise import load_eval_cases
from orchestrator.data.quarantine import Quarantine
from orchestrator.errors import DataError, ModelFileError, StorageError, filesystem_state, storage_reason
from orchestrator.hashing import sha256_file
from orchestrator.metric_keys import attribution_key, score_key, train_key


class Progress(Protocol):
    def stage(self, name: str) -> None: ...
    def steps(self, label: str, done: int, total: int) -> None: ...


class SilentProgress:
    def stage(self, name: str) -> None:
        pass

    def steps(self, label: str, done: int, total: int) -> None:
        pass


@dataclass
class TrialResult:
    run_id: str
    run_dir: Path
    reports: dict[str, dict] = field(default_factory=dict)  # label ("q4_k_m", "base-q4_k_m") -> eval report
    gguf_files: dict[str, Path] = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    quarantine_counts: dict[str, int] = field(default_factory=dict)


def _versions() -> dict[str, str]:
    from importlib import metadata
    out = {}
    for pkg in ("toolsweep", "torch", "transformers", "peft", "trl", "llama-cpp-python", "mlflow"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def eval_gguf(path: Path, cases: list[dict], cfg: SweepConfig, expected_template: str | None,
              on_case: Callable[[int, int], None] | None = None) -> dict:
    """Score one GGUF with the template embedded in it; the header says whether that template is ours."""
    from evals.lanes import lane_threads
    from evals.runner import GGUFRunner, gpu_offload, usable_cpus

    threads = lane_threads(cfg.eval.lanes, cfg.eval.n_threads or usable_cpus(), gpu_offload(), path.stat().st_size)
    runners: list[GGUFRunner] = []
    try:
        for n in threads:
            runners.append(GGUFRunner(path, n_ctx=cfg.eval.n_ctx, n_threads=n, seed=cfg.seed,
                                      n_batch=cfg.eval.n_batch))
        template = runners[0].chat_template
        if not template:
            raise ModelFileError(f"{path}: the GGUF carries no tokenizer.chat_template (the eval renders every "
                                 f"case with the template embedded in the model)")
        start = time.perf_counter()
        report = evaluate(cases, runners, template, cfg.eval.max_new_tokens, seed=cfg.seed, on_case=on_case)
        report["timing"]["wall_s"] = time.perf_counter() - start
        runtime = {**runners[0].describe(), "lanes": len(runners)}
    finally:
        for runner in runners:
            runner.close()
    from orchestrator.data.generators.eval_sets import TODAY
    report["header"] = {
        "model_file": path.name, "sha256": sha256_file(path), "size_bytes": path.stat().st_size, **runtime,
        "pinned_today": TODAY.isoformat(),
        # None when no training template was given (`toolsweep eval` on any GGUF): nothing was compared.
        "embedded_template_matches_training": None if expected_template is None else template == expected_template,
        # Greedy outputs depend on these as much as on the model: `compare` notes when two reports differ.
        "max_new_tokens": cfg.eval.max_new_tokens, "n_ctx": cfg.eval.n_ctx, "n_cases": len(cases),
        "versions": _versions(), "cpu": platform.processor() or platform.machine(), "seed": cfg.seed,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return report


@dataclass
class Inputs:
    base: Path | str
    template: str
    serving: str
    tokenizer: object
    train_ds: object
    cases: list[dict]
    quarantine: Quarantine
    counts: dict[str, int]
    data: DataResult | None = None
    outputs: dict = field(default_factory=dict)  # write_outputs(): paths, digests, stage table
    allowed_leaks: list = field(default_factory=list)


def setup_params(targets: dict[str, int], precision: str) -> dict[str, int | str]:
    """MLflow params saying what the adapter covers (modules per target name, and in all) and the
    precision it was trained in (orchestrator/train/precision.py: `train.bf16` is a request)."""
    return {**{f"train.lora.adapted.{name}": n for name, n in targets.items()},
            "train.lora.adapted_modules": sum(targets.values()), "train.precision": precision}


def build_data(cfg: SweepConfig, cache_dir: Path) -> DataResult:
    """The data stages up to the mix (read → normalise → filter → dedupe → cap → mix)."""
    from orchestrator.data.sources import read_records

    def read(name, src):
        if src.generate is not None:
            return enumerate(generated_source(src.generate, cfg.model.chat_template, cache_dir))
        return read_records(str(src.path) if src.path else None, src.hub, src.split, src.subset, src.streaming,
                            cache_dir, name)
    return run_stages(cfg.data, read)


def generated_source(gen, chat_template: str, cache_dir: Path) -> list[str]:
    """A generated source's rows as JSON lines, made once and cached under `<cache>/generated/`."""
    from orchestrator.train.chat_template import load_template
    from orchestrator.data.generated import cache_key, generate_rows

    template = load_template(chat_template)
    path = cache_dir / "generated" / f"{gen.kind}-{cache_key(gen, template)}.jsonl"
    if not path.is_file():
        def counter():
            from orchestrator.data.generators.long_context_eval import tokenizer_counter
            from orchestrator.train import base_model
            tokenizer_json = cache_dir / "models" / "smollm2-tokenizer" / "tokenizer.json"
            if not tokenizer_json.is_file():
                base_model.smollm2_tokenizer(cache_dir / "models")
            return tokenizer_counter(tokenizer_json)

        rows = generate_rows(gen, template, counter)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        tmp.replace(path)  # atomic: parallel trials never read a half-written file
    return path.read_text(encoding="utf-8").splitlines()


def prepare_inputs(cfg: SweepConfig, cache_dir: Path, on_stage: Callable[[str], None] = lambda name: None,
                   eval_limit: int | None = None, data_dir: Path | None = None) -> Inputs:
    """Base model, templates, the training mix (bad rows quarantined, rendered within max_length,
    checked for leakage against the eval sets; files written to `data_dir`) and eval cases."""
    import tempfile

    from orchestrator.train import base_model, trainer

    on_stage("base model")
    base = base_model.resolve_base(cfg.model, cache_dir / "models")
    template = load_template(cfg.model.chat_template)
    tokenizer = base_model.load_tokenizer(base, template)
    on_stage("data")
    data = build_data(cfg, cache_dir)
    train_ds, kept = trainer.tokenize(data.rows, tokenizer, cfg.train.max_length, data.quarantine)
    add_render_stage(data, kept)
    lost = unaccounted(data.stages)
    if lost:  # an invariant of the stages; a bug if it ever fires
        raise RuntimeError(f"data rows unaccounted for: {lost}")
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="toolsweep-data-"))
    outputs = write_outputs(data, data_dir)
    empty = empty_mix_problem(data, cfg.train.max_length)
    if empty:  # the trial's reason, instead of the trainer's "no training examples left"
        raise DataError(f"{empty}; see {data_dir / 'quarantine.jsonl'}")
    allowed = guard_leakage(data.rows, cfg.data, cfg.promote.eval_set)
    (data_dir / "leakage.json").write_text(json.dumps([vars(lk) for lk in allowed], indent=2) + "\n")
    cases = take(load_eval_cases(cfg.data.eval), eval_limit or cfg.data.max_eval_cases)
    counts = {"data.rows_read": data.stage("read")["rows_in"], "data.sampled": data.stage("mix")["rows_out"],
              "data.train_examples": len(train_ds), "data.quarantined": len(data.quarantine.rows),
              "data.eval_cases": len(cases), "data.leaks_allowed": len(allowed)}
    from orchestrator.data.pipeline import metrics
    counts.update(metrics(data))
    return Inputs(base, template, strip_generation_markers(template), tokenizer, train_ds, cases, data.quarantine,
                  counts, data, outputs, allowed)


def log_data(tracker, run_id: str, inputs: Inputs) -> None:
    """Counts per stage, the mix fingerprint, the data files and the dataset lineage into a run."""
    out = inputs.outputs
    tracker.log_metrics(run_id, inputs.counts)
    tracker.set_tags(run_id, {"toolsweep.data.fingerprint": out["fingerprint"],
                              "toolsweep.data.file_sha256": out["file_sha256"],
                              "toolsweep.data.config_sha256": out["config_sha256"]})
    data_dir = out["train"].parent
    for name in ("train.jsonl", "quarantine.jsonl", "stages.json", "stages.md", "leakage.json"):
        if (data_dir / name).is_file():
            tracker.log_artifact(run_id, data_dir / name, "data")
    tracker.log_data_lineage(run_id, out, inputs.data.rows)


def log_report(tracker, run_id: str, label: str, report: dict, title: str, step: int = 0,
               key_label: str | None = None) -> None:
    """An eval report into a run: metrics (with `step`, e.g. the epoch), attribution counts, JSON and
    Markdown. Artifacts are named by `label`; metric keys by `key_label` (default `label`), in the
    scheme of orchestrator/metric_keys.py."""
    keys = key_label or label
    tracker.log_metrics(run_id, {score_key(keys, k): v for k, v in report["metrics"].items()}, step)
    tracker.log_metrics(run_id, {score_key(keys, k): v for k, v in report["timing"].items()}, step)
    tracker.log_metrics(run_id, {attribution_key(keys, tier, cause): n
                                 for tier, causes in report["attribution"].items() for cause, n in causes.items()}, step)
    tracker.log_dict(run_id, report, f"eval/{label}.json")
    tracker.log_text(run_id, to_markdown(report, title, report["header"]), f"eval/{label}.md")


def run_trial(cfg: SweepConfig, progress: Progress | None = None, cache_dir: Path | None = None) -> TrialResult:
    """One trial, end to end: data → LoRA training → merge → GGUF → quantize → eval (and the base) →
    MLflow. Longer than ~60 lines on purpose: it is the trial recipe, read top to bottom, each stage
    one call into the library, inside one MLflow run that ends FAILED with its reason on any error."""
    # Heavy imports here, not at module top: `toolsweep --help` stays instant.
    from orchestrator.paths import cache_dir as default_cache
    from orchestrator.quantize import export
    from orchestrator.tracking import Tracker
    from orchestrator.train import trainer

    cache_dir = cache_dir or default_cache()
    progress = progress or SilentProgress()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = (cfg.output_dir / f"{cfg.name}-{stamp}").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    tracker = Tracker(cfg.tracking)
    run_id = tracker.start_run(f"{cfg.name}-trial-{stamp}", tags={"toolsweep.kind": "trial", "toolsweep.sweep": cfg.name,
                                                                   "toolsweep.base_model": cfg.model.base})
    tracker.log_params(run_id, flat_params(cfg))
    tracker.log_dict(run_id, cfg.model_dump(mode="json"), "config.json")
    result = TrialResult(run_id=run_id, run_dir=run_dir)
    stage = "setup"

    def enter(name: str) -> None:
        nonlocal stage
        stage = name
        progress.stage(name)

    try:
        inputs = prepare_inputs(cfg, cache_dir, enter, data_dir=run_dir / "data")
        result.quarantine_counts = inputs.quarantine.counts()
        log_data(tracker, run_id, inputs)
        base, serving, cases = inputs.base, inputs.serving, inputs.cases

        enter("train")
        t0 = time.perf_counter()
        result.train = trainer.train_lora(
            base, inputs.tokenizer, inputs.train_ds, cfg.train, run_dir,
            on_log=lambda step, logs: tracker.log_metrics(run_id, {train_key(k): v for k, v in logs.items()}, step),
            on_step=lambda done, total: progress.steps("train", done, total),
            on_setup=lambda t, precision: tracker.log_params(run_id, setup_params(t, precision)))
        tracker.log_metrics(run_id, {train_key("final_loss"): result.train["train_loss"],
                                     train_key("wall_s"): time.perf_counter() - t0,
                                     train_key("trainable_params"): result.train["trainable_params"],
                                     train_key("peak_rss_gb"): result.train["peak_rss_gb"]})
        tracker.log_artifact(run_id, result.train["adapter_dir"], "adapter")

        enter("merge + gguf")
        merged = export.merge_adapter(base, result.train["adapter_dir"], run_dir / "merged", serving)
        result.gguf_files = export.to_gguf(merged, run_dir / "gguf", "tuned", cfg.quantize.types,
                                           cfg.quantize.llama_cpp_dir, cfg.quantize.keep_f16)
        if cfg.eval.compare_base:
            base_dir = export.export_base(Path(base), run_dir / "base-export", serving)
            base_files = export.to_gguf(base_dir, run_dir / "gguf", "base", cfg.quantize.types[:1],
                                        cfg.quantize.llama_cpp_dir, keep_f16=False)
            result.gguf_files.update({f"base-{q}": p for q, p in base_files.items()})

        stage = "eval"
        labels = [q for q in cfg.quantize.types] + ([f"base-{cfg.quantize.types[0]}"] if cfg.eval.compare_base else [])
        for label in labels:
            progress.stage(f"eval {label}")
            report = eval_gguf(result.gguf_files[label], cases, cfg, serving,
                               on_case=lambda i, n, lab=label: progress.steps(f"eval {lab}", i, n))
            result.reports[label] = report
            log_report(tracker, run_id, label, report, f"{cfg.name}: {label}")

        enter("log artifacts")
        for label, path in result.gguf_files.items():
            if label != "f16":  # the f16 intermediate stays in run_dir; the quantized files are the product
                tracker.log_artifact(run_id, path, "gguf")
        tracker.set_tags(run_id, {"toolsweep.status": "finished"})
        tracker.end_run(run_id, "FINISHED")
    except BaseException as err:
        # a full or read-only disk is one line naming the folder and the stage (safetensors' "unexpected
        # SafetensorError: … No space left on device" was what `toolsweep trial` printed; the sweep said it)
        storage = storage_reason(err, str(run_dir), stage, *filesystem_state(run_dir), then="run the trial again") \
            if isinstance(err, Exception) else None
        tracker.set_tags(run_id, {"toolsweep.status": "failed", "toolsweep.failed_stage": stage,
                                  "toolsweep.failure_reason": storage or f"{type(err).__name__}: {err}"[:5000]})
        tracker.end_run(run_id, "KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED")
        if storage:
            raise StorageError(storage) from err
        raise
    return result
