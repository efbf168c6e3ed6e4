"""What `toolsweep` prints: rich tables and progress for each command's results.

Printing only: every function takes plain dicts (reports, summaries, decision records) that the
recipes return, so the commands in `cli.py` stay a line or two each.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console(stderr=True)
# Piped output (CI logs, files) gets a wide table instead of rich's 80-column fallback.
out = Console(width=None if sys.stdout.isatty() else 140)


def fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


class RichProgress:
    """Stage lines plus one progress bar per counted stage (training steps, eval cases). Where the
    output is not a terminal (CI logs, nohup, a pipe) no bar can repaint, so each counted stage is a
    line instead, at most every TOOLSWEEP_PROGRESS_EVERY_S seconds (default 30) and at its end."""

    def __init__(self, progress):
        from orchestrator.progress import StageProgress, log_interval_s

        self.progress = progress
        self.tasks: dict[str, int] = {}
        self.detail = ""
        self.lines = None if progress.console.is_terminal else StageProgress(
            lambda line: progress.console.log(f"{line}, {self.detail}" if self.detail else line,
                                              markup=False, highlight=False),
            log_interval_s())

    def stage(self, name: str) -> None:
        self.progress.console.log(f"[bold cyan]▶ {name}")

    def steps(self, label: str, done: int, total: int, detail: str = "") -> None:
        """`detail` (running counts, say) rides along with the count without starting a new stage."""
        if self.lines is not None:
            self.detail = detail
            self.lines.update(label, done, total)
            return
        if label not in self.tasks:
            self.tasks[label] = self.progress.add_task(label, total=total)
        self.progress.update(self.tasks[label], completed=done, total=total,
                             description=f"{label} ({detail})" if detail else label)


def metrics_table(title: str, reports: dict[str, dict]) -> Table:
    """Metrics as rows, models as columns: stays readable in an 80-column terminal."""
    from evals.metrics import HEADLINE
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


def detail_tables(report: dict):
    """Per-scenario, attribution and fabrication tables side by side."""
    from rich.columns import Columns

    fmt2 = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
    scen = Table(title="per scenario")
    for col in ("scenario", "n", "tool sel", "args"):
        scen.add_column(col)
    for name, m in report["per_scenario"].items():
        scen.add_row(name, str(int(m["n_cases"])), fmt2(m["tool_selection_accuracy"]), fmt2(m["argument_exact_match"]))
    att = Table(title="failure attribution")
    for col in ("cause", "strict", "lenient"):
        att.add_column(col)
    for cause in report["attribution"]["strict"]:
        att.add_row(cause, str(report["attribution"]["strict"][cause]), str(report["attribution"]["lenient"][cause]))
    fab = Table(title=f"fabrication probes (n={report['fabrication']['n_probes']})")
    for col in ("outcome", "count", "rate [95% CI]"):
        fab.add_column(col)
    from evals.fabrication import outcome_metric

    for outcome, n in report["fabrication"]["counts"].items():
        ci = report["ci95"].get(outcome_metric(outcome))
        rate = report["fabrication"].get(f"{outcome}_rate")
        fab.add_row(outcome, str(n), "—" if rate is None else f"{rate:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""))
    return Columns([scen, att, fab])


def ui_link(experiment_id: str, run_id: str | None = None, host: str = "http://127.0.0.1:5000") -> str:
    """A link into MLflow's model-training view. MLflow 3.17 opens its GenAI view unless the URL (or
    the browser's saved choice) says `workflowType=machine_learning`; the experiment's
    `mlflow.experimentKind` tag alone does not switch it (checked in headless Chromium)."""
    path = f"#/experiments/{experiment_id}" + (f"/runs/{run_id}" if run_id else "")
    return f"{host}/{path}?workflowType=machine_learning"


def ui_hint(tracking_uri: str, experiment_id: str, run_id: str | None = None) -> str:
    """Where to read a run: the tracking server's own page, or the `mlflow ui` command for the local
    store the sweep actually wrote to (not the default one: `--set tracking.uri=...` moves it)."""
    if tracking_uri.startswith(("http://", "https://")):
        return f"In the MLflow UI: {ui_link(experiment_id, run_id, host=tracking_uri.rstrip('/'))}"
    return (f"In the MLflow UI ({_command('mlflow')} ui --backend-store-uri {tracking_uri}): "
            f"{ui_link(experiment_id, run_id)}")


def _command(name: str) -> str:
    """How to run one of this environment's commands: its path when it is not the one on PATH (a
    virtual environment that is not activated, as after `make demo`), else its bare name."""
    import shutil

    here = Path(sys.executable).parent / name
    if here.is_file() and shutil.which(name) != str(here):
        try:
            return str(here.relative_to(Path.cwd()))
        except ValueError:
            return str(here)
    return name


def print_sweep(summary: dict) -> None:
    """The trial table with the Pareto front marked, the parent run and the MLflow UI link."""
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
    for r in summary["trials"]:  # each failed trial's reason, one line (MLflow holds the traceback)
        if r["status"] == "error":
            out.print(f"trial {r['trial_id']} failed: {r.get('error') or 'no reason recorded'}", markup=False,
                      highlight=False, soft_wrap=True)
    out.print(f"Pareto front: {', '.join(summary['pareto_front']) or 'empty'}")
    out.print(f"MLflow parent run {summary['parent_run_id']}; sweep state in {summary['experiment_dir']} "
              f"(resume with: {_command('toolsweep')} resume {summary['experiment_dir']})", soft_wrap=True)
    if summary.get("experiment_id"):
        out.print(ui_hint(summary["tracking_uri"], summary["experiment_id"], summary["parent_run_id"]), soft_wrap=True)


def print_promotion(record: dict | None) -> int:
    """The result of `promote: auto`, if the sweep ran it; a failed promotion is exit code 1."""
    if record is None:
        return 0
    if "error" in record:
        print(f"error: promotion failed: {record['error']}", file=sys.stderr)
        return 1
    print_decision(record)
    return 0


def stage_tables(info: dict) -> tuple[Table, Table]:
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


def print_decision(record: dict) -> None:
    """The gate's table (the reference, base or champion, beside the tuned candidate, paired CI, the
    cases each metric is measured on), the ungated rows worth reading beside them, its reasons, then
    the verdict."""
    from orchestrator.release.gate import verdict_cell

    ref = record["against"]
    level = record.get("confidence", 0.95)
    table = Table(title=f"promotion {record['family']} {record['variant']}: trial {record['trial_id']} "
                        f"against the {ref} ({record['primary_quant']}, {record['eval_set']})")
    for col in ("metric", "n", ref, "tuned", "difference", f"{level:.0%} CI", "credible"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    shown = [(m, r, "") for m, r in record["rows"].items()]
    shown += [(m, r, " (not gated)") for m, r in (record.get("others") or {}).items()]
    unmeasured = set(record.get("unmeasured") or ())
    for metric, row, note in shown:
        ci = row.get("ci95")
        n = row.get("n_measured", row.get("n_cases"))
        cell = (f"unmeasured ({'none' if n is None else int(n)})" if metric in unmeasured and not note
                else verdict_cell(row, metric))
        table.add_row(metric + note, "—" if n is None else str(int(n)), fmt(row.get("a")), fmt(row.get("b")),
                      "—" if row.get("diff") is None else f"{row['diff']:+.3f}",
                      "—" if not ci else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]", cell)
    out.print(table)
    out.print("  n: cases the metric is measured on, the smaller of the two models' counts (precision and schema "
              "validity count the calls made)")
    for reason in record["reasons"]:
        out.print(f"  - {reason}")
    if record["promote"]:
        out.print(f"PROMOTED: {record['family']} version {record['model_version']} is champion-{record['variant']}"
                  + (f"; version {record['previous_version']} is previous-{record['variant']}"
                     if record.get("previous_version") else ""))
    else:
        out.print(f"NOT PROMOTED: champion-{record['variant']} stays "
                  + (f"version {record['champion_version']}" if record.get("champion_version") else "unset"))


def print_family_table(dest: Path) -> None:
    rows = json.loads((dest / "manifest.json").read_text())["family_table"]
    table = Table(title=f"{dest.name}: champions per context variant (primary quant, promotion eval set)")
    for col in ("model", "context", "tool F1", "JSON validity", "no-tool acc", "LoRA"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in rows:
        table.add_row(r["name"], f"{r['context']:,}", fmt(r["tool_f1"]), fmt(r["json_validity"]),
                      fmt(r["no_tool_accuracy"]), f"rank {r['rank']}, α={r['alpha']}")
    out.print(table)


def print_trial(cfg, result) -> None:
    """A finished `toolsweep trial`: the metrics table, the training line, the files and the run."""
    import os

    out.print(metrics_table(f"trial {cfg.name} — held-out cases (95% bootstrap CI)", result.reports))
    t = result.train
    out.print(f"train: {t['train_examples']} examples, {t['global_steps']} steps, loss {t['train_loss']:.4f}, "
              f"{t['train_runtime_s']:.0f} s; quarantined: {result.quarantine_counts or 'none'}")
    for label, path in result.gguf_files.items():
        out.print(f"gguf {label}: {path}")
    uri = os.environ.get("MLFLOW_TRACKING_URI") or cfg.tracking.uri  # the env var wins, as in tracking.py
    out.print(f"MLflow run {result.run_id} in {uri}; files in {result.run_dir}")


def compare_table(rows: list[dict], title: str) -> Table:
    """`toolsweep compare`: B − A per metric with its paired CI and whether it is credible."""
    from orchestrator.release.gate import verdict_cell

    table = Table(title=title, caption="n: paired cases the metric is measured on (the smaller of A's and B's counts); "
                                       "credible: the CI excludes 0, better or worse in the metric's own direction; "
                                       "unmeasured: no paired case counts for the metric")
    for col in ("metric", "n", "A", "B", "B − A", "95% CI", "credible"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for row in rows:
        ci, n = row["ci95"], row.get("n_measured", row.get("n_cases"))
        table.add_row(row["metric"], "—" if n is None else str(int(n)), fmt(row["a"]), fmt(row["b"]),
                      "—" if row["diff"] is None else f"{row['diff']:+.3f}",
                      "—" if not ci else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]",
                      # "no" read as measured and unchanged, on a metric no paired case counts
                      "unmeasured" if n == 0 else verdict_cell(row, row["metric"]))
    return table


def anonymiser_table(report, dest: Path) -> Table:
    table = Table(title=f"anonymised {report.rows} rows → {dest}")
    for col in ("kind", "replaced", "distinct values"):
        table.add_column(col)
    for kind in sorted(report.replaced):
        table.add_row(kind, str(report.replaced[kind]), str(report.distinct[kind]))
    if getattr(report, "detected_names", 0):
        table.caption = f"{report.detected_names} of the names were found in the rows, not in --known"
    return table


def print_mix(info: dict, rows: int, quarantined: int) -> None:
    """`toolsweep data`: the stage and quota tables, the files written and the mix's fingerprint."""
    for table in stage_tables(info):
        out.print(table)
    if info["unaccounted"]:
        return
    out.print(f"train {info['train']} ({rows} rows), quarantine {info['quarantine']} "
              f"({quarantined} rows), stages {info['stages_file']}")
    out.print(f"fingerprint {info['fingerprint']} (file {info['file_sha256'][:12]}, config {info['config_sha256'][:12]})")
