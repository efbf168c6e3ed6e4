"""`toolsweep promote`: from a finished sweep to a registered champion (or a recorded refusal).

The steps, each recorded in one MLflow promotion run nested under the sweep's parent run:

1. the sweep's trials and their last-epoch quantized dev metrics (`orchestrator/release/registry.py`);
2. the Pareto front of this context variant and the candidate on it (`orchestrator/release/gate.py`);
3. the candidate's adapter merged into the base, converted to GGUF in every release quant type,
   each scored on the promotion eval set, and the untuned base at the primary quant beside them;
4. the gate: paired bootstrap against the current champion's stored report (or the base, the
   first time); the decision and its numbers go to the run (`promotion/decision.json`, metrics
   `promotion.*`);
5. if promoted: GGUF files, adapter, reports and card inputs are logged, the run is registered as
   a version of the family's model, `champion-<variant>` moves to it and the old champion keeps
   `previous-<variant>`.

Heavy libraries are imported inside the functions (this module wires edges together).
"""

from __future__ import annotations

import platform
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from orchestrator.config import PromoteConfig, SweepConfig, TrackingConfig, parse_config
from orchestrator.errors import ToolsweepError
from orchestrator.metric_keys import train_key
from orchestrator.release.gate import (Decision, choose_candidate, fmt_metric, gate, sweep_score, variant_fronts,
                                    variant_label, version_description)


class PromotionError(ToolsweepError, RuntimeError):
    """The sweep cannot be promoted (no usable trial, no adapter); the message says why."""
    label = "promotion error"


def _training_details(params: dict, metrics: dict, cfg: SweepConfig, wall_s: float | None = None) -> dict:
    """Card inputs from the trial run. A sweep trial that Tune ends at its last epoch report never logs
    the trainer's closing summary (train_runtime, train_loss): the last step's loss and the trial's
    wall time (training plus the per-epoch quantized evals) stand in, and the card says so."""
    def num(v):
        if v == "None":  # MLflow stores a null param (top_layers: null) as the text "None"
            return None
        try:
            f = float(v)
            return int(f) if f.is_integer() else f
        except (TypeError, ValueError):
            return v

    gpus = num(params.get("resources.gpus_per_trial", 0)) or 0
    cpus = num(params.get("resources.cpus_per_trial"))
    hardware = f"{cpus} CPU cores" + (f" + {gpus} GPU" if gpus else "") + f" ({platform.machine()})"
    runtime = metrics.get(train_key("train_runtime"))
    loss = metrics.get(train_key("train_loss"))
    return {"data": params.get("data.train"), "examples": num(metrics.get("data.train_examples")),
            "trial_wall_s": None if runtime is not None else wall_s,
            "last_step_loss": None if loss is not None else metrics.get(train_key("loss")),
            "rank": num(params.get("train.lora.rank")), "alpha": num(params.get("train.lora.alpha")),
            "top_layers": num(params.get("train.lora.top_layers")),
            "learning_rate": num(params.get("train.learning_rate")), "epochs": num(params.get("train.epochs")),
            "batch_size": num(params.get("train.batch_size")), "grad_accum": num(params.get("train.grad_accum")),
            "max_length": num(params.get("train.max_length")), "train_runtime_s": runtime,
            "train_loss": loss, "hardware": hardware,
            "base_model": cfg.model.base}


def headline_tags(report: dict, qtype: str) -> dict[str, str]:
    return {f"metric.{qtype}.{k}": f"{v:.4f}" for k, v in report["metrics"].items()
            if v is not None and k in ("tool_f1", "parse_success", "schema_validity", "no_tool_accuracy",
                                       "argument_exact_match", "fabrication_rate")}


def decide(client, p: PromoteConfig, variant: str, candidate_report: dict, vs_base: list[dict], stats: dict,
           scratch: Path, rescore: Callable[[object], dict] | None = None) -> tuple[Decision, object | None]:
    """The gate against the registry: the current `champion-<variant>`'s stored report when there is
    one (paired on the cases both scored), else the untuned base rows. Returns (decision, champion).

    A stored report scored under another setup (llama.cpp build, CPU kernels, prefill chunk: see
    `evals.harness.SCORING_SETUP`), or on other cases (ids only one report has, or one id with
    another expected answer: the eval set changed since, `evals.harness.pairing`), is not paired as
    it is: `rescore(champion)` scores the champion's GGUF here, on the candidate's cases, and the
    decision says so. Without `rescore`, other cases under the same ids refuse the promotion."""
    from evals.harness import compare_reports, pairing, scoring_differences
    from orchestrator.release import registry

    current = registry.champion(client, p.family, variant)
    if current is None:
        return gate(vs_base, p.primary, p.guards, "base", p.first_promotion, p.min_cases), None
    champ_report = registry.champion_report(client, current, p.quant_types[0], scratch)
    notes = []
    differs = scoring_differences(champ_report.get("header", {}), candidate_report.get("header", {}))
    pair_notes, pair_problem = pairing(champ_report, candidate_report)
    if (differs or pair_notes or pair_problem) and rescore is not None:
        champ_report = rescore(current)
        why = (f"was scored under another setup ({'; '.join(differs)})" if differs else
               f"holds other cases ({pair_problem or '; '.join(pair_notes)})")
        notes.append(f"the champion's stored report {why}, so its GGUF was scored again here, on the same "
                     f"cases as the candidate")
    elif pair_problem:
        return Decision(False, "champion", p.primary,
                        [f"cannot pair with the champion's report: {pair_problem}; promote on the champion's "
                         f"eval set"]), current
    else:
        if differs:
            notes.append(f"the champion's stored report was scored under another setup ({'; '.join(differs)}): "
                         f"the paired difference includes it")
        notes += pair_notes
    try:
        rows = compare_reports(champ_report, candidate_report, **stats)
    except ValueError as err:  # the champion was scored on other cases
        return Decision(False, "champion", p.primary,
                        [f"cannot pair with the champion's report: {err}; promote on the champion's eval set"]), current
    decision = gate(rows, p.primary, p.guards, "champion", min_cases=p.min_cases)
    decision.reasons[:0] = notes
    return decision, current


def _rescore_champion(s: "_Sweep", client, current, cases: list[dict], serving: str, scratch: Path, log) -> dict:
    """The champion's primary GGUF (from its promotion run) scored on this machine, on `cases`."""
    import json

    from orchestrator.recipes.trial import eval_gguf
    from orchestrator.release import registry

    q = s.cfg.promote.quant_types[0]
    info = json.loads(registry.download(client, current.run_id, "promotion/card_info.json", scratch).read_text())
    gguf = registry.download(client, current.run_id, f"gguf/{info['files'][q]['name']}", scratch)
    log(f"eval champion-{s.variant} (version {current.version}) {q} here: its stored report was scored elsewhere")
    return eval_gguf(gguf, cases, s.cfg, serving)


@dataclass
class _Sweep:
    """What promotion reads from a finished sweep: its config, parent run and this variant's candidate."""
    cfg: SweepConfig
    parent: str
    variant: str
    trials: list[dict]
    front: list[dict]
    candidate: dict


@dataclass
class _Files:
    """The candidate's release GGUFs, its adapter folder and the untuned base at the primary quant."""
    gguf: dict[str, Path]
    adapter: Path
    base_gguf: Path
    serving_template: str


def _find_candidate(tracker, sweep: str, promote_cfg: PromoteConfig | None, log) -> _Sweep:
    """Step 1-2: the sweep's trials, this variant's Pareto front and the candidate on it."""
    from orchestrator.release import registry

    client = tracker.client
    parent = registry.find_sweep_parent(client, tracker.experiment_id, sweep)
    cfg = parse_config(registry.sweep_config(client, parent), f"sweep_config.json of run {parent}")
    if promote_cfg is not None:
        cfg = cfg.model_copy(update={"promote": promote_cfg})
    p = cfg.promote
    variant = variant_label(cfg.train.max_length)
    trials = registry.sweep_trials(client, tracker.experiment_id, parent,
                                   {**cfg.search.objectives, p.primary: "max", **{g: "max" for g in p.guards}})
    front = variant_fronts(trials, cfg.search.objectives).get(variant, [])
    candidate = choose_candidate(front, p.primary, p.guards, cfg.search.objectives, cfg.search.rung_weights)
    if candidate is None:
        raise PromotionError(f"sweep {cfg.name} ({parent}): no finished trial with {p.primary} on the Pareto front "
                             f"({len(trials)} trials, statuses {sorted({t['status'] for t in trials})})")
    log(f"variant {variant}: {len(trials)} trials, front {[t['trial_id'] for t in front]}, "
        f"candidate {candidate['trial_id']} (sweep score "
        f"{sweep_score(candidate, cfg.search.objectives, cfg.search.rung_weights):.3f}, "
        f"dev {p.primary}={fmt_metric(candidate['metrics'].get(p.primary))})")
    return _Sweep(cfg, parent, variant, trials, front, candidate)


def _build_files(s: _Sweep, client, work: Path, cache: Path, log) -> _Files:
    """Step 3a: adapter + base -> merged -> GGUF in every release quant type; the base the same way."""
    from evals.template import strip_generation_markers
    from orchestrator.quantize import export
    from orchestrator.release import registry
    from orchestrator.train import base_model
    from orchestrator.train.chat_template import load_template

    cfg, p = s.cfg, s.cfg.promote
    base = base_model.resolve_base(cfg.model, cache / "models")
    serving = strip_generation_markers(load_template(cfg.model.chat_template))
    adapter = registry.download(client, s.candidate["run_id"], "adapter", work)
    if not (adapter / "adapter_model.safetensors").is_file():
        raise PromotionError(f"trial {s.candidate['trial_id']} (run {s.candidate['run_id']}) stored no adapter")
    base_model.load_tokenizer(base, serving).save_pretrained(adapter)  # the adapter ships its tokenizer
    log("merge + GGUF")
    merged = export.merge_adapter(base, adapter, work / "merged", serving)
    files = export.to_gguf(merged, work / "gguf", f"{p.family}-{s.variant}", p.quant_types, cfg.quantize.llama_cpp_dir,
                           keep_f16="f16" in p.quant_types)
    shutil.rmtree(work / "merged", ignore_errors=True)
    primary_q = p.quant_types[0]
    base_dir = export.export_base(Path(base), work / "base-export", serving)
    base_file = export.to_gguf(base_dir, work / "base-gguf", "base", [primary_q], cfg.quantize.llama_cpp_dir,
                               keep_f16=primary_q == "f16")[primary_q]
    return _Files(files, adapter, base_file, serving)


def _score(s: _Sweep, f: _Files, tracker, run_id: str, log) -> tuple[dict[str, dict], dict, Path, list[dict]]:
    """Step 3b: every release quant and the base scored on the promotion eval set, each report logged."""
    from evals.cases import load_cases, take
    from orchestrator.recipes.trial import eval_gguf, log_report

    cfg, p = s.cfg, s.cfg.promote
    slug, primary_q = f"{p.family}-{s.variant}", p.quant_types[0]
    eval_path = p.eval_set or cfg.data.eval
    cases = take(load_cases(eval_path), p.max_eval_cases)
    reports = {}
    for q in p.quant_types:
        log(f"eval {q} on {eval_path} ({len(cases)} cases)")
        reports[q] = eval_gguf(f.gguf[q], cases, cfg, f.serving_template)
        log_report(tracker, run_id, f"tuned-{q}", reports[q], f"{slug} {q}")
    log(f"eval base-{primary_q}")
    base_report = eval_gguf(f.base_gguf, cases, cfg, f.serving_template)
    log_report(tracker, run_id, f"base-{primary_q}", base_report, f"untuned base {primary_q}")
    return reports, base_report, eval_path, cases


def _log_decision(tracker, run_id: str, decision: Decision, record: dict, log) -> None:
    tracker.log_dict(run_id, record, "promotion/decision.json")
    tracker.log_metrics(run_id, {"promotion.promoted": float(decision.promote)})
    for metric, row in decision.rows.items():
        tracker.log_metrics(run_id, {f"promotion.{metric}.diff": row.get("diff"),
                                     f"promotion.{metric}.ci_low": (row.get("ci95") or [None])[0],
                                     f"promotion.{metric}.ci_high": (row.get("ci95") or [None, None])[1]})
    for line in decision.reasons:
        log(f"  {line}")


def _log_plots(s: _Sweep, tracker, run_id: str, report: dict, base_report: dict, plots_dir: Path) -> None:
    """Per-scenario and attribution bars, candidate beside base, on the promotion run and the sweep's parent."""
    from orchestrator.release import plots

    title = f"{s.cfg.promote.family}-{s.variant} {s.cfg.promote.quant_types[0]}"
    plots.scenario_bars(report, base_report, title, plots_dir / "scenarios.png")
    plots.attribution_bars(report, base_report, title, plots_dir / "attribution.png")
    tracker.log_artifact(run_id, plots_dir, "plots")
    # the sweep's parent run shows them too: its page is where a reader looks for the verdict
    for name in ("scenarios.png", "attribution.png"):
        tracker.log_artifact(s.parent, plots_dir / name, "promotion-plots")


def _card_info(s: _Sweep, f: _Files, client, eval_path: Path, run_id: str) -> dict:
    """What the model card needs about this candidate, logged as promotion/card_info.json."""
    cfg, p = s.cfg, s.cfg.promote
    run = client.get_run(s.candidate["run_id"])
    wall_s = (run.info.end_time - run.info.start_time) / 1000 if run.info.end_time else None
    return {"name": f"{p.family}-{s.variant}", "family": p.family, "variant": s.variant, "context": cfg.train.max_length,
            "base_model": cfg.model.base, "license": p.license, "eval_set": str(eval_path),
            "primary_quant": p.quant_types[0], "quant_types": p.quant_types,
            # decoding settings of the eval, so the card's serving example reproduces its answers
            "eval_settings": {"max_new_tokens": cfg.eval.max_new_tokens, "n_ctx": cfg.eval.n_ctx},
            "training": _training_details(run.data.params, run.data.metrics, cfg, wall_s),
            "files": {q: {"name": path.name, "size_bytes": path.stat().st_size} for q, path in f.gguf.items()
                      if q in p.quant_types},
            "source": {"sweep": cfg.name, "parent_run_id": s.parent, "trial_id": s.candidate["trial_id"],
                       "run_id": s.candidate["run_id"], "promotion_run_id": run_id}}


def _register(s: _Sweep, f: _Files, tracker, run_id: str, decision: Decision, report: dict, card_info: dict
              ) -> tuple[str, str | None]:
    """Step 5: files on the promotion run, a registry version, `champion-<variant>` moved to it."""
    from orchestrator.release import registry

    cfg, p = s.cfg, s.cfg.promote
    for q in p.quant_types:
        tracker.log_artifact(run_id, f.gguf[q], "gguf")
    tracker.log_artifact(run_id, f.adapter, "adapter")
    trial_id, trial_run = str(s.candidate["trial_id"]), s.candidate["run_id"]
    return registry.register(
        tracker.client, p.family, s.variant, run_id,
        tags={**headline_tags(report, p.quant_types[0]), "toolsweep.sweep": cfg.name,
              "toolsweep.parent_run_id": s.parent, "toolsweep.trial_id": trial_id,
              "toolsweep.trial_run_id": trial_run, "toolsweep.context": str(cfg.train.max_length),
              "toolsweep.rank": str(card_info["training"]["rank"]), "toolsweep.alpha": str(card_info["training"]["alpha"])},
        description=version_description(f"{p.family}-{s.variant}", cfg.name, trial_id, tracker.experiment_id, s.parent,
                                        trial_run, run_id, decision.rows, decision.reasons))


def promote_sweep(sweep: str, tracking: TrackingConfig, promote_cfg: PromoteConfig | None = None,
                  cache_dir: Path | None = None, log: Callable[[str], None] = print) -> dict:
    """Promote a sweep's best candidate if it passes the gate; returns the decision record.
    The steps are the module docstring's, in order, inside one promotion run."""
    from evals.harness import compare_reports
    from orchestrator.paths import cache_dir as default_cache
    from orchestrator.release import plots
    from orchestrator.tracking import Tracker, existing_store

    existing_store(tracking)
    tracker = Tracker(tracking)
    s = _find_candidate(tracker, sweep, promote_cfg, log)
    cfg, p, variant, candidate = s.cfg, s.cfg.promote, s.variant, s.candidate
    primary_q = p.quant_types[0]
    run_id = tracker.start_run(f"{cfg.name}-promote-{variant}", parent_run_id=s.parent, tags={
        "toolsweep.kind": "promotion", "toolsweep.sweep": cfg.name, "toolsweep.variant": variant,
        "toolsweep.context": str(cfg.train.max_length), "toolsweep.trial_id": str(candidate["trial_id"]),
        "toolsweep.candidate_run_id": candidate["run_id"], "toolsweep.family": p.family})
    work = (Path(cfg.output_dir) / "promotions" / f"{cfg.name}-{variant}-{datetime.now():%Y%m%d-%H%M%S}").resolve()
    try:
        tracker.log_params(run_id, {f"promote.{k}": v for k, v in p.model_dump(mode="json").items()})
        front_ids = [t["trial_id"] for t in s.front]
        tracker.log_dict(run_id, {"objectives": cfg.search.objectives, "front": front_ids,
                                  "candidate": candidate["trial_id"],
                                  "trials": [{k: v for k, v in t.items() if k != "params"} for t in s.trials]},
                         "promotion/trials.json")
        plots.pareto_plot(s.trials, front_ids, cfg.search.objectives, candidate["trial_id"],
                          f"{cfg.name} ({variant}): quantized dev metrics", work / "plots" / "pareto.png")

        files = _build_files(s, tracker.client, work, cache_dir or default_cache(), log)
        reports, base_report, eval_path, cases = _score(s, files, tracker, run_id, log)
        stats = {"seed": cfg.seed, "n_resamples": p.n_resamples, "confidence": p.confidence}
        vs_base = compare_reports(base_report, reports[primary_q], **stats)
        tracker.log_dict(run_id, vs_base, "promotion/vs_base.json")

        decision, current = decide(tracker.client, p, variant, reports[primary_q], vs_base, stats, work / "champion",
                                   rescore=lambda champ: _rescore_champion(s, tracker.client, champ, cases,
                                                                           files.serving_template, work / "champion", log))
        record = {**decision.to_dict(), "variant": variant, "family": p.family, "sweep": cfg.name,
                  "parent_run_id": s.parent, "trial_id": candidate["trial_id"], "candidate_run_id": candidate["run_id"],
                  "champion_version": str(current.version) if current is not None else None,
                  "eval_set": str(eval_path), "primary_quant": primary_q, "min_cases": p.min_cases, **stats}
        _log_decision(tracker, run_id, decision, record, log)
        _log_plots(s, tracker, run_id, reports[primary_q], base_report, work / "plots")
        card_info = _card_info(s, files, tracker.client, eval_path, run_id)
        tracker.log_dict(run_id, card_info, "promotion/card_info.json")
        tracker.set_tags(run_id, {"toolsweep.promoted": str(decision.promote).lower(),
                                  "toolsweep.decision": "; ".join(decision.reasons)[:5000]})
        if decision.promote:
            version, previous = _register(s, files, tracker, run_id, decision, reports[primary_q], card_info)
            record.update(model_version=version, previous_version=previous)
            tracker.set_tags(run_id, {"toolsweep.model_version": version})
            log(f"promoted: {p.family} version {version} is champion-{variant}"
                + (f" (previous-{variant} = version {previous})" if previous else ""))
        else:
            log(f"not promoted: champion-{variant} stays "
                + (f"version {current.version}" if current is not None else "unset"))
        tracker.end_run(run_id, "FINISHED")
    except BaseException as err:
        tracker.set_tags(run_id, {"toolsweep.failure_reason": f"{type(err).__name__}: {err}"[:5000]})
        tracker.end_run(run_id, "KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED")
        raise
    record["promotion_run_id"] = run_id
    return record


def auto_promote(cfg: SweepConfig, parent_run_id: str, log: Callable[[str], None] = print) -> dict:
    """`promote: auto` at the end of a sweep. The sweep has finished either way, so a failed promotion
    is returned as `{"error": ...}` and tagged on the sweep's parent run rather than raised."""
    try:
        return promote_sweep(parent_run_id, cfg.tracking, cfg.promote, log=log)
    except Exception as err:  # noqa: BLE001 - reported, not swallowed: tag + returned record + CLI exit code
        from orchestrator.tracking import Tracker

        reason = f"{type(err).__name__}: {err}"[:5000]
        Tracker(cfg.tracking).set_tags(parent_run_id, {"toolsweep.promotion_error": reason})
        log(f"promotion failed: {reason}")
        return {"error": reason}
