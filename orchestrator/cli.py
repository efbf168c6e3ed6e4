"""`toolsweep` command line. Heavy libraries load inside the commands, so `--help` is instant."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

# No hub, no telemetry, ever: set before any library that reads them is imported.
for _k, _v in {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "MLFLOW_DISABLE_TELEMETRY": "true", "RAY_USAGE_STATS_ENABLED": "0",
               "DO_NOT_TRACK": "1", "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(_k, _v)

console = Console(stderr=True)
# Piped output (CI logs, files) gets a wide table instead of rich's 80-column fallback.
out = Console(width=None if sys.stdout.isatty() else 140)

HELP = """toolsweep finds, proves and ships the best small tool-calling model you can build.

commands:
  sweep         Ray Tune sweep: Optuna search + ASHA early stopping over the sweep file's search_space
  resume        continue an interrupted sweep (its searcher state and MLflow parent run included)
  status        the trials of a sweep on disk: state, epoch, objectives
  trial         one end-to-end trial: LoRA fine-tune → merge → GGUF → quantize → eval → MLflow
  eval          score any GGUF on a case file with the eval harness
  compare       paired-bootstrap differences between two eval reports (same cases)
  promote       a sweep's Pareto-front candidate → gated against the champion → MLflow registry alias
  release       the registry's champions → releases/<family>-<version>/ (GGUF, adapter, model cards, manifest)
  verify        check a release folder against its manifest (sha256 and size of every file)
  family        sweep every context variant, promote each, release the family: one command
  setup-tools   fetch llama.cpp's converters from the installed llama-cpp-python's sdist
  make-data     regenerate the starter dataset, or generate from a YAML toolset, long-context or honesty data
  data          build a sweep file's training mix: train.jsonl, quarantine, stage table (no training)
  anonymise     swap names, emails, phones, handles, URLs, project/ticket ids for stable keyed fakes
  label         label raw user requests with tool calls from an OpenAI-compatible teacher endpoint
  check-config  validate a sweep YAML and print the resolved config

Results land in MLflow under mlruns/ (open with: mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db,
then http://127.0.0.1:5000/#/experiments?workflowType=machine_learning for the runs, charts and registry).
"""


class RichProgress:
    """Stage lines plus one progress bar per counted stage (training steps, eval cases)."""

    def __init__(self, progress):
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def stage(self, name: str) -> None:
        self.progress.console.log(f"[bold cyan]▶ {name}")

    def steps(self, label: str, done: int, total: int) -> None:
        if label not in self.tasks:
            self.tasks[label] = self.progress.add_task(label, total=total)
        self.progress.update(self.tasks[label], completed=done, total=total)


def _metrics_table(title: str, reports: dict[str, dict]) -> Table:
    """Metrics as rows, models as columns: stays readable in an 80-column terminal."""
    from evals.harness import HEADLINE
    table = Table(title=title)
    table.add_column("metric")
    for label in reports:
        table.add_column(label, justify="right")
    for name in HEADLINE:
        cells = []
        for rep in reports.values():
            v, ci = rep["metrics"][name], rep["ci95"].get(name)
            cells.append("—" if v is None else f"{v:.3f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""))
        table.add_row(name, *cells)
    table.add_row("cases", *(str(int(r["metrics"]["n_cases"])) for r in reports.values()))
    table.add_row("median latency s", *(f"{r['timing']['median_latency_s']:.2f}" for r in reports.values()))
    return table


def _detail_tables(report: dict):
    """Per-scenario, attribution and fabrication tables side by side."""
    from rich.columns import Columns

    fmt = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
    scen = Table(title="per scenario")
    for col in ("scenario", "n", "tool sel", "args"):
        scen.add_column(col)
    for name, m in report["per_scenario"].items():
        scen.add_row(name, str(int(m["n_cases"])), fmt(m["tool_selection_accuracy"]), fmt(m["argument_exact_match"]))
    att = Table(title="failure attribution")
    for col in ("cause", "strict", "lenient"):
        att.add_column(col)
    for cause in report["attribution"]["strict"]:
        att.add_row(cause, str(report["attribution"]["strict"][cause]), str(report["attribution"]["lenient"][cause]))
    fab = Table(title=f"fabrication probes (n={report['fabrication']['n_probes']})")
    for col in ("outcome", "count"):
        fab.add_column(col)
    for outcome, n in report["fabrication"]["counts"].items():
        fab.add_row(outcome, str(n))
    return Columns([scen, att, fab])


def cmd_trial(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from orchestrator.config import load_config, parse_override
    from orchestrator.trial import run_trial

    from orchestrator.preflight import preflight

    cfg = load_config(args.config, dict(parse_override(s) for s in args.set or []))
    preflight(cfg, args.config)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console) as progress:
        result = run_trial(cfg, RichProgress(progress))
    out.print(_metrics_table(f"trial {cfg.name} — held-out cases (95% bootstrap CI)", result.reports))
    t = result.train
    out.print(f"train: {t['train_examples']} examples, {t['global_steps']} steps, loss {t['train_loss']:.4f}, "
              f"{t['train_runtime_s']:.0f} s; quarantined: {result.quarantine_counts or 'none'}")
    for label, path in result.gguf_files.items():
        out.print(f"gguf {label}: {path}")
    uri = os.environ.get("MLFLOW_TRACKING_URI") or cfg.tracking.uri  # the env var wins, as in tracking.py
    out.print(f"MLflow run {result.run_id} in {uri}; files in {result.run_dir}")
    if args.json:
        Path(args.json).write_text(json.dumps({"run_id": result.run_id, "run_dir": str(result.run_dir),
                                               "metrics": {k: r["metrics"] for k, r in result.reports.items()},
                                               "train": {k: str(v) for k, v in t.items()}}, indent=2))
    return 0


def ui_link(experiment_id: str, run_id: str | None = None, host: str = "http://127.0.0.1:5000") -> str:
    """A link into MLflow's model-training view. MLflow 3.17 opens its GenAI view unless the URL (or
    the browser's saved choice) says `workflowType=machine_learning`; the experiment's
    `mlflow.experimentKind` tag alone does not switch it (checked in headless Chromium)."""
    path = f"#/experiments/{experiment_id}" + (f"/runs/{run_id}" if run_id else "")
    return f"{host}/{path}?workflowType=machine_learning"


def _print_sweep(summary: dict) -> None:
    objectives = summary["objectives"]
    table = Table(title=f"sweep trials ({', '.join(f'{k} {v}' for k, v in objectives.items())}); * = Pareto front")
    for col in ("trial", "status", "epochs", *objectives, "config"):
        table.add_column(col)
    for r in summary["trials"]:
        mark = "*" if r["trial_id"] in summary["pareto_front"] else ""
        table.add_row(f"{r['trial_id']}{mark}", r["status"], str(r["epoch"]),
                      *("—" if r.get(k) is None else f"{r[k]:.3f}" for k in objectives),
                      ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["config"].items()))
    out.print(table)
    out.print(f"Pareto front: {', '.join(summary['pareto_front']) or 'empty'}")
    out.print(f"MLflow parent run {summary['parent_run_id']}; sweep state in {summary['experiment_dir']} "
              f"(resume with: toolsweep resume {summary['experiment_dir']})")
    if summary.get("experiment_id"):
        out.print(f"In the MLflow UI (mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db): "
                  f"{ui_link(summary['experiment_id'], summary['parent_run_id'])}", soft_wrap=True)


def cmd_sweep(args: argparse.Namespace) -> int:
    from orchestrator.config import load_config, parse_override
    from orchestrator.sweep import run_sweep

    cfg = load_config(args.config, dict(parse_override(s) for s in args.set or []))
    summary = run_sweep(cfg)  # checks the config against the machine (preflight) before it starts anything
    _print_sweep(summary)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, default=str))
    return _print_promotion(summary.get("promotion"))


def _print_promotion(record: dict | None) -> int:
    """The result of `promote: auto`, if the sweep ran it; a failed promotion is exit code 1."""
    if record is None:
        return 0
    if "error" in record:
        print(f"error: promotion failed: {record['error']}", file=sys.stderr)
        return 1
    _print_decision(record)
    return 0


def _stored_sweep_config(sweep_dir: Path) -> dict:
    """The config a sweep directory stored when it started, or ConfigError saying why it cannot be read."""
    from orchestrator.config import ConfigError
    from orchestrator.sweep import STATE_FILE
    from orchestrator.textio import mapping_at, read_json

    state_file = sweep_dir / STATE_FILE
    if not state_file.is_file():
        raise ConfigError(f"{sweep_dir}: holds no {STATE_FILE}, so it is not a toolsweep sweep directory "
                          f"(expected runs/ray/<name>-<stamp>)")
    return mapping_at(read_json(state_file, "sweep state file", ConfigError), "config", str(state_file), ConfigError)


def cmd_resume(args: argparse.Namespace) -> int:
    from orchestrator.config import parse_config
    from orchestrator.sweep import STATE_FILE, run_sweep

    cfg = parse_config(_stored_sweep_config(args.sweep_dir), args.sweep_dir / STATE_FILE)
    summary = run_sweep(cfg, resume_dir=args.sweep_dir)
    _print_sweep(summary)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, default=str))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from orchestrator.config import parse_config
    from orchestrator.sweep import STATE_FILE, experiment_status
    from orchestrator.sweep_table import trial_table

    config = _stored_sweep_config(args.sweep_dir)
    parse_config(config, args.sweep_dir / STATE_FILE)
    rows = experiment_status(args.sweep_dir)
    out.print(trial_table(rows, config["search"]["objectives"], list(config["search_space"]), str(args.sweep_dir)))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from evals.cases import load_cases, take
    from evals.harness import to_markdown
    from orchestrator.config import EvalConfig, SweepConfig
    from orchestrator.trial import eval_gguf

    cfg = SweepConfig(name="eval", eval=EvalConfig(max_new_tokens=args.max_new_tokens, n_ctx=args.n_ctx))
    if args.bfcl:
        from evals.bfcl import load_category
        cases = load_category(args.bfcl, args.limit)
        args.cases = Path(f"BFCL {args.bfcl}")
    else:
        cases = take(load_cases(args.cases), args.limit)
    from orchestrator.model_files import check_gguf
    check_gguf(args.model)  # before the progress bar: a wrong path is one line, not an empty bar
    with Progress(console=console) as progress:
        task = progress.add_task(f"eval {Path(args.model).name}", total=len(cases))
        report = eval_gguf(Path(args.model), cases, cfg, None,
                           on_case=lambda i, n: progress.update(task, completed=i))
    out.print(_metrics_table(f"{Path(args.model).name} on {args.cases}", {Path(args.model).stem: report}))
    out.print(_detail_tables(report))
    if args.out:
        stem = Path(args.out)
        stem.parent.mkdir(parents=True, exist_ok=True)
        stem.with_suffix(".json").write_text(json.dumps(report, indent=2))
        stem.with_suffix(".md").write_text(to_markdown(report, f"{Path(args.model).name}", report["header"]))
        out.print(f"wrote {stem.with_suffix('.json')} and {stem.with_suffix('.md')}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from evals.harness import compare_reports

    from evals.harness import check_report
    from orchestrator.textio import read_json

    from orchestrator.errors import InputFileError

    a, b = (check_report(read_json(p, "eval report"), p) for p in (args.a, args.b))
    if not {str(r["id"]) for r in a["cases"]} & {str(r["id"]) for r in b["cases"]}:
        raise InputFileError(f"{args.a} and {args.b} share no case ids: a paired comparison needs the same cases")
    try:
        rows = compare_reports(a, b, args.seed)
    except (KeyError, TypeError) as err:
        raise InputFileError(f"{args.a} / {args.b}: a case record lacks a score field ({err!r}); expected eval "
                             f"reports written by `toolsweep eval --out`") from None
    table = Table(title=f"{args.b.name} − {args.a.name} (paired bootstrap, 95% CI)")
    for col in ("metric", "A", "B", "B − A", "95% CI", "credible"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
    for row in rows:
        ci = row["ci95"]
        table.add_row(row["metric"], fmt(row["a"]), fmt(row["b"]), fmt(row["diff"]),
                      "—" if not ci else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]", "yes" if row["credible"] else "no")
    out.print(table)
    return 0


def cmd_setup_tools(args: argparse.Namespace) -> int:
    from orchestrator import llama_tools
    out.print(f"llama.cpp converters in {llama_tools.fetch()}")
    return 0


DEFAULT_COUNTS = {"starter": 420, "toolset": 5000, "honesty": 500, "long_context": 20}


def cmd_make_data(args: argparse.Namespace) -> int:
    mode = ("toolset" if args.toolset else "honesty" if args.honesty else
            "long_context" if args.long_context else "starter")
    n = args.n if args.n is not None else DEFAULT_COUNTS[mode]
    if mode == "starter":
        from orchestrator import starter_data
        starter_data.main(["--out", str(args.out or Path("data/starter")), "-n", str(n), "--seed", str(args.seed)])
        return 0
    from orchestrator.starter_data import write_jsonl
    if mode == "toolset":
        from orchestrator.data import toolset
        rows = toolset.generate(toolset.load_toolset(args.toolset), n, args.seed)
        dest = args.out or Path("data/generated") / f"{args.toolset.stem}.jsonl"
    elif mode == "honesty":
        from orchestrator.data import honesty
        rows = honesty.generate(n, args.seed, honesty.HonestyConfig(max_retries=args.max_retries))
        dest = args.out or Path("data/generated/honesty.jsonl")
    else:
        from evals.long_context import tokenizer_counter
        from orchestrator.chat_template import load_template
        from orchestrator.data import long_context_data

        if not args.tokenizer.is_file():
            from orchestrator import base_model
            base_model.smollm2_tokenizer(args.tokenizer.parent.parent)
        count = tokenizer_counter(args.tokenizer)
        with console.status(f"building {n} conversations of up to {args.long_context} tokens"):
            rows = long_context_data.generate(args.long_context, n, count, load_template(args.template), args.seed)
        dest = args.out or Path("data/generated") / f"long_{args.long_context}.jsonl"
    if dest.suffix != ".jsonl":
        from orchestrator.errors import UsageError
        raise UsageError(f"--out must name a .jsonl file for {mode} data, got {dest}")
    write_jsonl(rows, dest)
    scenarios: dict[str, int] = {}
    for r in rows:
        key = r.get("meta", {}).get("scenario") or r["scenario"]
        scenarios[key] = scenarios.get(key, 0) + 1
    out.print(f"wrote {len(rows)} {mode} examples to {dest}: "
              + ", ".join(f"{k} {v}" for k, v in sorted(scenarios.items())))
    if mode == "long_context":
        tokens = [r["meta"]["tokens"] for r in rows]
        out.print(f"tokens (SmolLM2 tokenizer, rendered with {args.template}): min {min(tokens)}, max {max(tokens)}")
    return 0


def cmd_anonymise(args: argparse.Namespace) -> int:
    from orchestrator.data.anonymise import Anonymiser, SurvivingTokenError, anonymise_file, parse_known

    key = os.environ.get(args.key_env, "")
    if not key:
        print(f"error: environment variable {args.key_env} is unset or empty (it must hold the anonymiser key)",
              file=sys.stderr)
        return 2
    from orchestrator.textio import read_text
    known = parse_known(read_text(args.known, "known-token file"), str(args.known)) if args.known else []
    try:
        report = anonymise_file(args.src, args.dest, Anonymiser(key.encode(), known, disabled=args.disable or ()))
    except SurvivingTokenError as err:
        print(f"error: {err}; nothing written to {args.dest}", file=sys.stderr)
        return 1
    table = Table(title=f"anonymised {report.rows} rows → {args.dest}")
    for col in ("kind", "replaced", "distinct values"):
        table.add_column(col)
    for kind in sorted(report.replaced):
        table.add_row(kind, str(report.replaced[kind]), str(report.distinct[kind]))
    out.print(table)
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from orchestrator.data.teacher import TeacherConfig, label_file

    api_key = os.environ.get(args.api_key_env) if args.api_key_env else None
    cfg = TeacherConfig(endpoint=args.endpoint, model=args.model, max_tokens=args.max_tokens,
                        timeout_s=args.timeout, api_key=api_key)
    rejects = args.rejects or args.dest.with_name(args.dest.stem + ".rejects.jsonl")
    with console.status("labelling") as status:
        report = label_file(args.src, args.dest, rejects, cfg,
                            on_row=lambda i, n: status.update(f"labelling {i}/{n}"))
    out.print(f"{report.rows} rows: {report.labelled} labelled ({report.calls} with calls, {report.no_tool} "
              f"without) → {args.dest}; {report.rejected} rejected → {rejects}")
    for reason, k in report.reasons.most_common():
        out.print(f"  rejected: {reason}: {k}")
    return 0


def _stage_tables(info: dict) -> tuple[Table, Table]:
    stages = Table(title="data stages (every row accounted for: in = out + quarantined + not sampled)")
    for col in ("stage", "in", "out", "quarantined", "not sampled", "reasons"):
        stages.add_column(col, justify="right" if col in ("in", "out", "quarantined", "not sampled") else "left")
    for s in info["stages"]:
        stages.add_row(s["stage"], str(s["rows_in"]), str(s["rows_out"]), str(s["quarantined"]), str(s["not_sampled"]),
                       ", ".join(f"{k} {v}" for k, v in s["by_check"].items()))
    mix = Table(title="mix quotas")
    for col in ("category", "source", "weight", "available", "quota", "selected", "shortfall"):
        mix.add_column(col)
    for t in info["mix"]:
        mix.add_row(*(str(t[k]) for k in ("category", "source", "weight", "available", "quota", "selected", "shortfall")))
    return stages, mix


def cmd_data(args: argparse.Namespace) -> int:
    from orchestrator.config import load_config, parse_override
    from orchestrator.data.pipeline import add_render_stage, guard_leakage, write_outputs
    from orchestrator.paths import cache_dir
    from orchestrator.trial import build_data

    cfg = load_config(args.config, dict(parse_override(s) for s in args.set or []))
    data = build_data(cfg, cache_dir())
    if args.render:
        from orchestrator import base_model, train
        from orchestrator.chat_template import load_template
        base = base_model.resolve_base(cfg.model, cache_dir() / "models")
        tokenizer = base_model.load_tokenizer(base, load_template(cfg.model.chat_template))
        _, kept = train.tokenize(data.rows, tokenizer, cfg.train.max_length, data.quarantine)
        add_render_stage(data, kept)
    info = write_outputs(data, args.out)
    for table in _stage_tables(info):
        out.print(table)
    if info["unaccounted"]:
        console.print(f"[red]rows unaccounted for: {info['unaccounted']}[/red]")
        return 1
    out.print(f"train {info['train']} ({len(data.rows)} rows), quarantine {info['quarantine']} "
              f"({len(data.quarantine.rows)} rows), stages {info['stages_file']}")
    out.print(f"fingerprint {info['fingerprint']} (file {info['file_sha256'][:12]}, config {info['config_sha256'][:12]})")
    from orchestrator.data.leakage import LeakageError
    try:
        allowed = guard_leakage(data.rows, cfg.data)
    except LeakageError as err:
        console.print(f"[red]leakage check failed:[/red] {err}", markup=True, highlight=False)
        return 1
    out.print(f"leakage check: {'off' if not cfg.data.leakage.check else 'passed'}"
              + (f" ({len(allowed)} allowed leaks)" if allowed else ""))
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from orchestrator.config import flat_params, load_config, parse_override
    from orchestrator.preflight import preflight

    cfg = load_config(args.config, dict(parse_override(s) for s in args.set or []))
    notes = preflight(cfg, args.config, here_is_fatal=False)
    for k, v in flat_params(cfg).items():
        out.print(f"{k} = {v}")
    for note in notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"OK {args.config}: the config is valid and every file it names is in place")
    return 0


def _print_decision(record: dict) -> None:
    table = Table(title=f"promotion {record['family']} {record['variant']}: trial {record['trial_id']} "
                        f"against the {record['against']} ({record['primary_quant']}, {record['eval_set']})")
    for col in ("metric", "reference", "candidate", "difference", "95% CI", "credible"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
    for metric, row in record["rows"].items():
        ci = row.get("ci95")
        table.add_row(metric, fmt(row.get("a")), fmt(row.get("b")), "—" if row.get("diff") is None else f"{row['diff']:+.3f}",
                      "—" if not ci else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]", "yes" if row.get("credible") else "no")
    out.print(table)
    for reason in record["reasons"]:
        out.print(f"  - {reason}")
    if record["promote"]:
        out.print(f"PROMOTED: {record['family']} version {record['model_version']} is champion-{record['variant']}"
                  + (f"; version {record['previous_version']} is previous-{record['variant']}"
                     if record.get("previous_version") else ""))
    else:
        out.print(f"NOT PROMOTED: champion-{record['variant']} stays "
                  + (f"version {record['champion_version']}" if record.get("champion_version") else "unset"))


def _tracking(args: argparse.Namespace):
    from orchestrator.config import TrackingConfig
    return TrackingConfig(uri=args.tracking_uri, experiment=args.experiment)


def cmd_promote(args: argparse.Namespace) -> int:
    from orchestrator.config import load_config, parse_override
    from orchestrator.promote import PromotionError, promote_sweep

    tracking, promote_cfg = _tracking(args), None
    if args.config:
        cfg = load_config(args.config, dict(parse_override(s) for s in args.set or []))
        tracking, promote_cfg = cfg.tracking, cfg.promote
    try:
        record = promote_sweep(args.sweep, tracking, promote_cfg, log=console.log)
    except (LookupError, PromotionError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    _print_decision(record)
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2, default=str))
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from orchestrator.release import release_family
    from orchestrator.release_manifest import ReleaseExists, verify

    try:
        dest = release_family(args.family, args.version, _tracking(args), args.out, log=console.log)
    except (LookupError, ReleaseExists) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    problems = verify(dest)
    _print_family_table(dest)
    out.print(f"release {dest}: {'verified' if not problems else problems}")
    return 0 if not problems else 1


def cmd_verify(args: argparse.Namespace) -> int:
    from orchestrator.errors import ReleaseError
    from orchestrator.release_manifest import MANIFEST, manifest_files, verify
    from orchestrator.textio import read_json

    if not args.release.is_dir():
        raise ReleaseError(f"{args.release}: no such release folder")
    problems = verify(args.release)
    if problems:
        for p in problems:
            out.print(f"FAIL {p}")
        return 1
    path = args.release / MANIFEST
    n = len(manifest_files(read_json(path, "release manifest", ReleaseError), path))
    out.print(f"OK {args.release}: {n} files match {MANIFEST}")
    return 0


def cmd_family(args: argparse.Namespace) -> int:
    from orchestrator.config import family_variants, load_family
    from orchestrator.promote import PromotionError, promote_sweep
    from orchestrator.release import release_family
    from orchestrator.release_manifest import verify
    from orchestrator.sweep import run_sweep

    from orchestrator.preflight import preflight

    fam = load_family(args.config)
    variants = family_variants(fam)
    for path, cfg in zip(fam.variants, variants):  # every variant checked before the first sweep starts
        for note in preflight(cfg, path, promoting=True):
            console.print(f"warning: {path}: {note}", markup=False, highlight=False, soft_wrap=True)
    dest = Path(fam.releases_dir) / f"{fam.family}-{fam.version}"
    if dest.exists():  # fail before hours of sweeps, not after
        print(f"error: {dest} already exists; a release version is never overwritten", file=sys.stderr)
        return 2
    for path, cfg in zip(fam.variants, variants):
        console.log(f"[bold cyan]▶ sweep {path} ({cfg.name}, context {cfg.train.max_length})")
        summary = run_sweep(cfg)
        _print_sweep(summary)
        console.log(f"[bold cyan]▶ promote {cfg.name}")
        try:
            _print_decision(promote_sweep(summary["parent_run_id"], cfg.tracking, cfg.promote, log=console.log))
        except PromotionError as err:  # e.g. every trial failed: the other variants still run
            print(f"error: {path}: {err}", file=sys.stderr)
    console.log(f"[bold cyan]▶ release {fam.family} {fam.version}")
    try:
        dest = release_family(fam.family, fam.version, variants[0].tracking, fam.releases_dir, log=console.log)
    except LookupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    problems = verify(dest)
    _print_family_table(dest)
    out.print(f"release {dest}: {'verified' if not problems else problems}")
    return 0 if not problems else 1


def _print_family_table(dest: Path) -> None:
    rows = json.loads((dest / "manifest.json").read_text())["family_table"]
    table = Table(title=f"{dest.name}: champions per context variant (primary quant, promotion eval set)")
    for col in ("model", "context", "tool F1", "JSON validity", "no-tool acc", "LoRA"):
        table.add_column(col, justify="left" if col == "model" else "right")
    fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
    for r in rows:
        table.add_row(r["name"], f"{r['context']:,}", fmt(r["tool_f1"]), fmt(r["json_validity"]),
                      fmt(r["no_tool_accuracy"]), f"rank {r['rank']}, α={r['alpha']}")
    out.print(table)


def positive_int(text: str) -> int:
    """argparse type: a whole number above 0 (argparse then names the flag in its one-line error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {value}")
    return value


def _add_tracking_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracking-uri", default="sqlite:///mlruns/mlflow.db",
                   help="MLflow store (default: the embedded sqlite:///mlruns/mlflow.db)")
    p.add_argument("--experiment", default="toolsweep", help="MLflow experiment of the sweeps (default: toolsweep)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toolsweep", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback with an error (also TOOLSWEEP_DEBUG=1); accepted anywhere on the line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("sweep", help="run a Ray Tune sweep",
                       description="Sample the sweep file's search_space with Optuna (TPE for one objective, NSGA-II "
                                   "for several), train each trial epoch by epoch, score the quantized model on a dev "
                                   "slice after every epoch, stop weak trials with ASHA, and record one MLflow parent "
                                   "run with a child run per trial. Uses RAY_ADDRESS when set (a cluster), else a "
                                   "local Ray.")
    p.add_argument("config", type=Path, help="sweep YAML, e.g. sweeps/smoke.yaml")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config value (repeatable)")
    p.add_argument("--json", metavar="FILE", help="also write the sweep summary as JSON")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("resume", help="continue an interrupted sweep",
                       description="Restore the sweep with Tune (unfinished and errored trials continue from their "
                                   "last checkpoint, the Optuna searcher keeps its history) under the same MLflow "
                                   "parent run.")
    p.add_argument("sweep_dir", type=Path, help="the sweep directory printed by `toolsweep sweep`")
    p.add_argument("--json", metavar="FILE")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("status", help="show the trials of a sweep")
    p.add_argument("sweep_dir", type=Path)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("trial", help="run one trial end to end",
                       description="Fine-tune a LoRA adapter with the sweep file's fixed values, merge it, convert "
                                   "to GGUF, quantize, evaluate the quantized model (and the untuned base) on the "
                                   "held-out cases, and record everything in one MLflow run.")
    p.add_argument("config", type=Path, help="sweep YAML, e.g. sweeps/smoke.yaml")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.epochs=2 (repeatable)")
    p.add_argument("--json", metavar="FILE", help="also write the headline results as JSON")
    p.set_defaults(func=cmd_trial)

    p = sub.add_parser("eval", help="evaluate a GGUF on a case file",
                       description="Greedy generation with llama.cpp on every case, strict tool-call parsing and "
                                   "scoring, bootstrap CIs. Uses the chat template embedded in the GGUF.")
    p.add_argument("model", type=Path, help="a .gguf file")
    p.add_argument("--cases", type=Path, default=Path("evals/sets/test.jsonl"), help="JSONL of cases")
    p.add_argument("--bfcl", metavar="CATEGORY", help="evaluate a BFCL category instead of --cases "
                   "(simple_python, multiple, parallel, parallel_multiple, irrelevance, live_simple, live_multiple, "
                   "live_parallel, live_parallel_multiple, live_irrelevance); adds bfcl_accuracy (BFCL's rules)")
    p.add_argument("--limit", type=positive_int, help="evaluate only this many cases (spread over scenarios)")
    p.add_argument("--max-new-tokens", type=positive_int, default=160)
    p.add_argument("--n-ctx", type=positive_int, default=4096)
    p.add_argument("--out", type=Path, help="write OUT.json and OUT.md reports")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("compare", help="paired differences between two eval reports",
                       description="Resample the cases both reports scored (paired bootstrap, 95% CI) and print "
                                   "B - A for every metric; a difference is credible only when its CI excludes 0.")
    p.add_argument("a", type=Path, help="baseline report JSON (from `toolsweep eval --out`)")
    p.add_argument("b", type=Path, help="candidate report JSON")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("promote", help="promote a sweep's best candidate if it is credibly better",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Take the Pareto front of the sweep's finished trials (quantized dev metrics, "
                                   "one context variant), pick the best primary metric on it, merge its adapter, "
                                   "convert to every release quant type, evaluate each and the untuned base on the "
                                   "promotion eval set, then gate against the current champion:\n"
                                   "  promoted only when the paired-bootstrap CI of the primary difference excludes 0 "
                                   "(better)\n  and no guard metric is credibly worse. With no champion yet the "
                                   "reference is the base\n  (promote.first_promotion). The decision is logged to "
                                   "MLflow; a promoted run becomes a registry\n  version with alias "
                                   "champion-<variant>, and the old champion keeps previous-<variant>.")
    p.add_argument("--sweep", required=True, help="sweep directory (runs/ray/<name>-<stamp>), parent run id, or sweep name")
    p.add_argument("--config", type=Path, help="sweep YAML whose tracking and promote sections to use "
                   "(default: the config the sweep stored)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a value of --config, e.g. "
                   "promote.eval_set=evals/sets/test.jsonl")
    _add_tracking_args(p)
    p.add_argument("--json", metavar="FILE", help="also write the decision record as JSON")
    p.set_defaults(func=cmd_promote)

    p = sub.add_parser("release", help="build releases/<family>-<version>/ from the registry's champions",
                       description="Download every champion-<variant> version of the family's registered model "
                                   "(GGUF files, adapter, eval reports), render a model card per variant and the "
                                   "family card, write manifest.json (sha256 + size of every file), build in a "
                                   "temporary folder and rename it into place. An existing version is refused.")
    p.add_argument("--family", required=True, help="registered model name (promote.family)")
    p.add_argument("--version", required=True, help="release version, e.g. 1.0")
    p.add_argument("--out", type=Path, default=Path("releases"), help="folder that holds the releases")
    _add_tracking_args(p)
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("verify", help="check a release folder against its manifest",
                       description="Recompute the sha256 and size of every file and compare with manifest.json; "
                                   "changed, missing and unlisted files are reported. Exit code 1 on any problem.")
    p.add_argument("release", type=Path, help="e.g. releases/smol-smollm2-0.1")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("family", help="sweep, promote and release a model family in one command",
                       description="Read a family YAML (sweeps/family.yaml): run each variant's sweep in order "
                                   "(4K → 16K → 32K), promote each with the family's promotion rule, then build "
                                   "the release from the registry's champions and verify it.")
    p.add_argument("config", type=Path, help="family YAML, e.g. sweeps/family-smoke.yaml")
    p.set_defaults(func=cmd_family)

    p = sub.add_parser("setup-tools", help="fetch llama.cpp converters matching the installed llama-cpp-python")
    p.set_defaults(func=cmd_setup_tools)

    p = sub.add_parser("make-data", help="generate training data (starter set by default)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Without a mode flag: regenerate data/starter/{train,heldout}.jsonl byte for byte.\n"
                                   "With one: write one JSONL file (messages + tools rows, meta.track set).\n\n"
                                   "  make-data --toolset data/toolsets/starter.yaml --count 5000 --out data/generated/toolset.jsonl\n"
                                   "  make-data --long-context 16384 --count 20 --out data/generated/long_16k.jsonl\n"
                                   "  make-data --honesty --count 500 --max-retries 2 --out data/generated/honesty.jsonl")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--toolset", type=Path, metavar="YAML", help="generate from a toolset file (all seven scenarios)")
    mode.add_argument("--long-context", type=positive_int, metavar="TOKENS",
                      help="long multi-round conversations of 95-100%% of TOKENS (e.g. 16384, 32768)")
    mode.add_argument("--honesty", action="store_true", help="empty/failed tool results reported plainly")
    p.add_argument("--out", type=Path, help="starter: a directory (default data/starter); other modes: a .jsonl file")
    p.add_argument("-n", "--count", dest="n", type=positive_int,
                   help=f"number of examples (defaults: {', '.join(f'{k} {v}' for k, v in DEFAULT_COUNTS.items())})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-retries", type=int, choices=range(0, 10), metavar="0-9", default=2, help="honesty: retries of a failing call before giving up")
    p.add_argument("--tokenizer", type=Path, default=Path(".cache/models/smollm2-tokenizer/tokenizer.json"),
                   help="long-context: tokenizer.json that counts tokens (built from the SmolLM2 GGUF if missing)")
    p.add_argument("--template", default="toolchat", help="long-context: chat template the length is measured in")
    p.set_defaults(func=cmd_make_data)

    p = sub.add_parser("data", help="build the training mix of a sweep file without training",
                       description="Read every data source, normalise, filter, dedupe, cap and mix as the trial "
                                   "does; write train.jsonl, quarantine.jsonl and the stage table to --out, print "
                                   "the counts per stage and check the eval sets for leakage.")
    p.add_argument("config", type=Path, help="sweep YAML, e.g. sweeps/smoke.yaml")
    p.add_argument("--set", action="append", metavar="KEY=VALUE")
    p.add_argument("--out", type=Path, default=Path("runs/data"), help="folder for the files (default runs/data)")
    p.add_argument("--render", action="store_true",
                   help="also render with the base model's tokenizer and quarantine rows over train.max_length")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("anonymise", help="replace PII with stable keyed fakes (refuses if any survives)",
                       description="Swap names, emails, phone numbers, handles, URLs, project keys and ticket ids "
                                   "for fakes derived with HMAC-SHA256 from a secret key: the same value always gets "
                                   "the same fake, in text, tool-call arguments and tool results alike. If any known "
                                   "token or detected value would survive (also base64, JSON- or percent-escaped), "
                                   "nothing is written. The key comes from an environment variable, never from the "
                                   "command line: arguments are visible to every local user (ps, /proc/*/cmdline) "
                                   "and stay in shell history, and whoever holds the key can test a guessed real "
                                   "value against the fakes.")
    p.add_argument("src", type=Path, help="input JSONL")
    p.add_argument("dest", type=Path, help="output JSONL (written only when the check passes)")
    p.add_argument("--key-env", required=True, metavar="VAR", help="name of the environment variable holding the key")
    p.add_argument("--known", type=Path, metavar="FILE",
                   help="real tokens regexes cannot find, one a line ('name: …', 'project: …', 'other: …'; "
                        "a bare line is a name); matched case-insensitively on word boundaries")
    p.add_argument("--disable", action="append", metavar="KIND",
                   help="switch a detector off (url, email, handle, ticket, phone, name, project, other); the "
                        "survival check still runs every detector")
    p.set_defaults(func=cmd_anonymise)

    p = sub.add_parser("label", help="label raw requests with tool calls from a teacher endpoint",
                       description="POST each {user, tools} row to ENDPOINT/v1/chat/completions (any OpenAI-"
                                   "compatible server) and keep the teacher's answer as a training row when its calls "
                                   "name offered tools with schema-valid arguments (or it answers in plain text). "
                                   "Every other row goes to the rejects file with its reason.")
    p.add_argument("src", type=Path, help="JSONL of {\"user\": str, \"tools\": [...], \"id\"?, \"system\"?}")
    p.add_argument("dest", type=Path, help="labelled JSONL")
    p.add_argument("--endpoint", required=True, help="base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--rejects", type=Path, help="rejects JSONL (default: DEST with .rejects.jsonl)")
    p.add_argument("--model", default="teacher", help="model name sent to the endpoint")
    p.add_argument("--api-key-env", metavar="VAR", help="environment variable holding a bearer token, if needed")
    p.add_argument("--max-tokens", type=positive_int, default=256)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    p.set_defaults(func=cmd_label)

    p = sub.add_parser("check-config", help="validate a sweep YAML")
    p.add_argument("config", type=Path)
    p.add_argument("--set", action="append", metavar="KEY=VALUE")
    p.set_defaults(func=cmd_check_config)
    return parser


def _debug_wanted(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("TOOLSWEEP_DEBUG", "") not in ("", "0")


def main(argv: list[str] | None = None) -> int:
    """Run one command. A bad input ends in one message naming the file, key or row (exit 2), never
    a traceback; `--debug` (anywhere on the line) or TOOLSWEEP_DEBUG=1 adds the traceback."""
    import traceback

    from orchestrator.errors import ToolsweepError

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_wanted(argv)
    parser = build_parser()
    args = parser.parse_args([a for a in argv if a != "--debug"])
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except ToolsweepError as err:
        if debug:
            traceback.print_exc()
        print(f"{err.label}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # not an input toolsweep recognised as bad: say so, keep the traceback for --debug
        if debug:
            traceback.print_exc()
        first = (str(err).strip().splitlines() or [""])[0][:500]
        print(f"error: {type(err).__name__}: {first} (unexpected; rerun with --debug for the traceback, and "
              f"please report it if the input was valid)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
