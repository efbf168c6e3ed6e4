"""`toolsweep` command line: a table of commands, each a recipe call and its printout.

Every command is a `Command` row in `COMMANDS`: its name, the line `toolsweep --help` shows, its
description and flags, and a handler of a few lines (load the config, call the recipe in
`orchestrator/recipes/`, print with `orchestrator/console.py`). The work itself lives in the
recipes. Heavy libraries load inside the handlers, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from orchestrator.offline import offline_defaults

offline_defaults()  # no hub, no telemetry, ever: before any library that reads them is imported

from orchestrator.console import console, out  # noqa: E402
from orchestrator.errors import UsageError  # noqa: E402
from orchestrator.outputs import not_an_input, output_dir, output_file  # noqa: E402
from orchestrator.recipes.make_data import DEFAULT_COUNTS  # noqa: E402
from evals.bfcl import CATEGORIES as BFCL_CATEGORIES  # noqa: E402
from evals.stats import N_RESAMPLES  # noqa: E402


def _config(args: argparse.Namespace):
    """The sweep file named by `config`, with every `--set KEY=VALUE` applied and validated."""
    from orchestrator.config import load_config, parse_override
    return load_config(args.config, dict(parse_override(s) for s in args.set or []))


def _write_json(path: str | None, data: Any) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2, default=str))


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _tracking(args: argparse.Namespace):
    from pydantic import ValidationError

    from orchestrator.config import TrackingConfig
    try:
        return TrackingConfig(uri=args.tracking_uri, experiment=args.experiment)
    except ValidationError as err:  # its message names what a store must be; it was shown only with --debug
        first = err.errors()[0]
        raise UsageError(f"--{'tracking-uri' if first['loc'][:1] == ('uri',) else 'experiment'}: "
                         f"{str(first['msg']).removeprefix('Value error, ')}") from None


def _stored_sweep_config(sweep_dir: Path) -> dict:
    """The config a sweep directory stored when it started, or ConfigError saying why it cannot be read."""
    from orchestrator.sweep_state import read_sweep_state

    return read_sweep_state(sweep_dir)["config"]


# --- handlers: one per command, in the order of COMMANDS -------------------------------------------

def cmd_sweep(args: argparse.Namespace) -> int:
    from orchestrator.recipes.sweep import run_sweep

    summary = run_sweep(_config(args))  # checks the config against the machine (preflight) before it starts anything
    return _sweep_outcome(summary, args.json)


def _sweep_outcome(summary: dict, json_path: Path | None) -> int:
    """Print a sweep's (or a resumed sweep's) table and promotion; the exit code: 130 when it was
    interrupted (Tune returns as if done: it exited 0 and promoted from the trials finished so far)."""
    from orchestrator.console import print_promotion, print_sweep

    print_sweep(summary)
    _write_json(json_path, summary)
    if summary.get("interrupted"):
        how = "terminated by SIGTERM" if summary.get("terminated") else "interrupted"
        return _fail(f"the sweep was {how} ({summary['interrupted']}), so nothing was promoted; "
                     f"`toolsweep resume {summary['experiment_dir']}` continues it", 143 if summary.get("terminated") else 130)
    if not any(t["status"] == "ok" for t in summary["trials"]):  # it exited 0, parent FINISHED, with nothing made
        counts = ", ".join(f"{sum(t['status'] == s for t in summary['trials'])} {s}"
                           for s in sorted({t["status"] for t in summary["trials"]}))
        return _fail(f"no trial of the sweep finished ({counts or 'no trials'}; the reasons are above and in MLflow), "
                     "so there is nothing to compare or promote", 1)
    if summary.get("promotion_skipped"):
        out.print(f"not promoted again: {summary['promotion_skipped']}", markup=False, highlight=False)
    return print_promotion(summary.get("promotion"))


def cmd_resume(args: argparse.Namespace) -> int:
    from orchestrator.config import parse_config
    from orchestrator.recipes.sweep import STATE_FILE, run_sweep

    summary = run_sweep(parse_config(_stored_sweep_config(args.sweep_dir), args.sweep_dir / STATE_FILE),
                        resume_dir=args.sweep_dir)
    return _sweep_outcome(summary, args.json)


def cmd_status(args: argparse.Namespace) -> int:
    from orchestrator.config import ConfigError, parse_config
    from orchestrator.recipes.sweep import STATE_FILE, experiment_status
    from orchestrator.search.table import trial_table

    config = _stored_sweep_config(args.sweep_dir)
    try:
        parse_config(config, args.sweep_dir / STATE_FILE)
    except ConfigError as err:  # recorded by an earlier toolsweep, whose rules were looser: its table still reads
        if not isinstance(config.get("search"), dict) or not isinstance(config.get("search_space"), dict):
            raise
        out.print(f"note: the sweep's stored config does not pass today's checks ({str(err).splitlines()[-1].strip()}); "
                  "its trials are shown as recorded", soft_wrap=True, markup=False, highlight=False)
    rows, read_from = experiment_status(args.sweep_dir)
    out.print(trial_table(rows, config["search"]["objectives"], list(config["search_space"]), str(args.sweep_dir)))
    for row in rows:  # a failed trial's reason, read from its error file
        if row.get("error"):
            out.print(f"trial {row['trial_id']} failed: {row['error']}", soft_wrap=True, markup=False, highlight=False)
    if Path(read_from).resolve() != args.sweep_dir.resolve():  # the copy holds no Tune state: say whose table this is
        out.print(f"(Tune's state was read from the recorded {read_from}: {args.sweep_dir} holds none)",
                  soft_wrap=True, markup=False, highlight=False)
    return 0


def cmd_trial(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from orchestrator.console import RichProgress, print_trial
    from orchestrator.recipes.trial import run_trial
    from orchestrator.search.preflight import preflight

    cfg = _config(args)
    preflight(cfg, args.config)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console) as progress:
        result = run_trial(cfg, RichProgress(progress))
    print_trial(cfg, result)
    _write_json(args.json, {"run_id": result.run_id, "run_dir": str(result.run_dir),
                            "metrics": {k: r["metrics"] for k, r in result.reports.items()},
                            "train": {k: str(v) for k, v in result.train.items()}})
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from pydantic import ValidationError
    from rich.progress import Progress

    from evals.cases import min_prompt_tokens, take
    from orchestrator.data.normalise import load_eval_cases
    from evals.errors import ContextOverflowError
    from evals.harness import to_markdown
    from evals.model_files import check_gguf
    from orchestrator.config import EvalConfig, SweepConfig
    from orchestrator.console import RichProgress, detail_tables, metrics_table
    from orchestrator.hashing import sha256_file
    from orchestrator.recipes.trial import eval_gguf

    try:  # EvalConfig holds the rules (a prefill chunk must fit the context): its reason, under the flag's name
        eval_cfg = EvalConfig(max_new_tokens=args.max_new_tokens, n_ctx=args.n_ctx)
    except ValidationError as err:
        reason = str(err.errors()[0]["msg"]).removeprefix("Value error, ")
        raise UsageError(f"--n-ctx {args.n_ctx}: {reason} (the prefill chunk is fixed at "
                         f"{EvalConfig.model_fields['n_batch'].default} tokens here; raise --n-ctx)") from None
    cfg = SweepConfig(name="eval", eval=eval_cfg)
    if args.bfcl and args.cases:
        raise UsageError("--cases and --bfcl: give one (--bfcl evaluates a BFCL category instead of a case file)")
    args.cases = args.cases or Path("evals/sets/test.jsonl")
    if args.out:  # before the eval: a report that cannot be written is one line now, not after minutes of work
        if Path(args.out).is_dir():
            raise UsageError(f"--out {args.out}: is a folder; expected a file stem (writes OUT.json and OUT.md)")
        for report_file in _report_files(args.out):
            output_file(report_file, "--out")
            not_an_input(report_file, "--out", (args.cases, "case file"))
    if args.bfcl:
        from evals.bfcl import load_category
        cases = load_category(args.bfcl, args.limit)
        args.cases = Path(f"BFCL {args.bfcl}")
    else:
        every_case = load_eval_cases(args.cases)
        if args.limit and args.limit > len(every_case):
            console.print(f"note: --limit {args.limit}, but {args.cases} holds {len(every_case)} case(s): all are scored",
                          markup=False, highlight=False)
        cases = take(every_case, args.limit)
    over = [(c["id"], need) for c in cases for need in [min_prompt_tokens(c)] if need + args.max_new_tokens > args.n_ctx]
    if over:  # a lower bound, so checked before the model loads
        (case_id, need), more = over[0], len(over) - 1
        raise ContextOverflowError(
            f"{args.cases}: case {case_id!r} needs at least {need} prompt tokens + --max-new-tokens "
            f"{args.max_new_tokens}, more than --n-ctx {args.n_ctx}" + (f" ({more} more case(s) too)" if more else "")
            + "; raise --n-ctx or leave the case out")
    check_gguf(args.model)  # before the progress bar: a wrong path is one line, not an empty bar
    with Progress(console=console) as bar:
        progress = RichProgress(bar)  # a bar on a terminal, a line every 30 s in a log
        try:
            report = eval_gguf(Path(args.model), cases, cfg, None,
                               on_case=lambda i, n: progress.steps(f"eval {Path(args.model).name} case", i, n))
        except ContextOverflowError as err:  # counted by the model's tokenizer: name the file, as the bound above does
            raise ContextOverflowError(f"{args.cases}: {err}") from None
    report["header"].update({"cases": str(args.cases), "limit": args.limit, **(
        {"cases_file_sha256": sha256_file(args.cases)} if Path(args.cases).is_file() else {})})
    out.print(metrics_table(f"{Path(args.model).name} on {args.cases}", {Path(args.model).stem: report}))
    out.print(detail_tables(report))
    if args.out:
        json_file, md_file = _report_files(args.out)
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(json.dumps(report, indent=2))
        md_file.write_text(to_markdown(report, f"{Path(args.model).name}", report["header"]))
        out.print(f"wrote {json_file} and {md_file}")
    return 0


def _report_files(out_arg: Path | str) -> tuple[Path, Path]:
    """OUT.json and OUT.md for `--out OUT`: a .json or .md given is the stem's, any other suffix is part of the
    name ("reports/base.v1" writes base.v1.json, not base.json; "x.jsonl" writes x.jsonl.json)."""
    out_path = Path(out_arg)
    stem = out_path.with_suffix("") if out_path.suffix in (".json", ".md") else out_path
    return stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".md")


def cmd_compare(args: argparse.Namespace) -> int:
    from evals.errors import InputFileError
    from evals.harness import (check_report, compare_reports, missing_score_fields, pairing, scoring_differences,
                               summary_mismatch)
    from evals.textio import read_json
    from orchestrator.console import compare_table

    a, b = (check_report(read_json(p, "eval report"), p) for p in (args.a, args.b))
    lacking = {path: missing_score_fields(report) for path, report in ((args.a, a), (args.b, b))}
    for path, report in ((args.a, a), (args.b, b)):  # the differences below come from the records, not the summary
        mismatch = None if lacking[path] else summary_mismatch(report)  # records lacking fields are refused below
        if mismatch:
            console.print(f"note: {path}: its summary metrics disagree with its own per-case records ({mismatch}); "
                          "the comparison is computed from the records", markup=False, highlight=False, soft_wrap=True)
    headless = [str(p) for p, r in ((args.a, a), (args.b, b)) if not isinstance(r.get("header"), dict)]
    if len(headless) == 1:  # not "a different setup (... vs None)": that report's setup is unknown
        console.print(f"note: {headless[0]} has no header (what `toolsweep eval --out` writes: model, cases and "
                      "settings), so whether both were scored alike is unknown", markup=False, highlight=False,
                      soft_wrap=True)
    if Path(args.a).resolve() == Path(args.b).resolve():
        console.print(f"note: {args.a} is compared with itself: every difference is 0", markup=False, highlight=False,
                      soft_wrap=True)
    differs = [] if headless else scoring_differences(a.get("header") or {}, b.get("header") or {})
    if differs:  # greedy outputs depend on these as well as on the model
        console.print(f"note: {args.a} and {args.b} were scored under different setups ({'; '.join(differs)}); "
                      f"the differences below include that", markup=False, highlight=False, soft_wrap=True)
    if not {str(r["id"]) for r in a["cases"]} & {str(r["id"]) for r in b["cases"]}:
        raise InputFileError(f"{args.a} and {args.b} share no case ids: a paired comparison needs the same cases")
    notes, problem = pairing(a, b)
    if problem:
        raise InputFileError(f"{args.a} / {args.b}: {problem}")
    for path, problem in lacking.items():
        if problem:
            raise InputFileError(f"{path}: {problem}; expected eval reports written by `toolsweep eval --out`")
    for note in notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    try:
        rows = compare_reports(a, b, args.seed, args.resamples)
    except (KeyError, TypeError) as err:
        raise InputFileError(f"{args.a} / {args.b}: a case record lacks a score field ({err!r}); expected eval "
                             f"reports written by `toolsweep eval --out`") from None
    out.print(compare_table(rows, f"{args.b.name} − {args.a.name} (paired bootstrap, 95% CI)"))
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from orchestrator.console import print_decision
    from orchestrator.recipes.promote import PromotionError, promote_sweep

    tracking, promote_cfg = _tracking(args), None
    if args.set and not args.config:
        raise UsageError("--set changes a value of --config; give --config too (without it the sweep's stored "
                         "config is used as it is)")
    if args.config:
        cfg = _config(args)
        tracking, promote_cfg = cfg.tracking, cfg.promote
    try:
        record = promote_sweep(args.sweep, tracking, promote_cfg, log=console.log)
    except (LookupError, PromotionError) as err:
        return _fail(str(err), 2)
    print_decision(record)
    _write_json(args.json, record)
    return 0


def _verified(dest: Path) -> int:
    """The family table of a release just built, and whether it matches its manifest (exit code)."""
    from orchestrator.console import print_family_table
    from orchestrator.release.manifest import verify

    problems = verify(dest)
    print_family_table(dest)
    out.print(f"release {dest}: {'verified' if not problems else problems}")
    return 0 if not problems else 1


def cmd_release(args: argparse.Namespace) -> int:
    from orchestrator.recipes.release import release_family
    from orchestrator.release.manifest import ReleaseExists

    output_dir(args.out, "--out")
    try:
        dest = release_family(args.family, args.version, _tracking(args), args.out, log=console.log)
    except (LookupError, ReleaseExists) as err:
        return _fail(str(err), 2)
    return _verified(dest)


def cmd_verify(args: argparse.Namespace) -> int:
    from evals.textio import read_json
    from orchestrator.errors import ReleaseError
    from orchestrator.release.manifest import MANIFEST, manifest_files, verify

    if not args.release.is_dir():
        raise ReleaseError(f"{args.release}: " + ("is a file; expected a release folder (releases/<family>-<version>)"
                                                  if args.release.exists() else "no such release folder"))
    problems = verify(args.release)
    for p in problems:
        out.print(f"FAIL {p}", soft_wrap=True, markup=False, highlight=False)  # one line each, for grep
    if problems:
        return 1
    path = args.release / MANIFEST
    n = len(manifest_files(read_json(path, "release manifest", ReleaseError), path))
    out.print(f"OK {args.release}: {n} files match {MANIFEST}")
    return 0


def cmd_family(args: argparse.Namespace) -> int:
    from orchestrator.console import print_decision, print_sweep
    from orchestrator.recipes.family import run_family
    from orchestrator.release.manifest import ReleaseExists

    warn = lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
    try:
        dest = run_family(args.config, log=console.log, warn=warn, on_sweep=print_sweep, on_decision=print_decision)
    except (LookupError, ReleaseExists) as err:
        return _fail(str(err), 2)
    return _verified(dest)


def cmd_setup_tools(args: argparse.Namespace) -> int:
    from orchestrator.quantize import llama_tools
    out.print(f"llama.cpp converters in {llama_tools.fetch()}")
    return 0


def cmd_make_data(args: argparse.Namespace) -> int:
    from orchestrator.recipes.make_data import default_dest, make_data

    mode = ("toolset" if args.toolset else "honesty" if args.honesty else
            "long_context" if args.long_context else "starter")
    n = args.n if args.n is not None else DEFAULT_COUNTS[mode]
    dest = args.out or default_dest(mode, args.toolset, args.long_context)
    if mode == "starter":
        output_dir(dest, "--out")
    else:
        output_file(dest, "--out")
        not_an_input(dest, "--out", (args.toolset, "toolset"))
    applies = {"--max-retries": (args.max_retries, "--honesty"), "--tokenizer": (args.tokenizer, "--long-context"),
               "--template": (args.template, "--long-context")}
    for flag, (value, owner) in applies.items():  # a flag that would be ignored is refused, not ignored
        if value is not None and owner.strip("-").replace("-", "_") != mode:
            return _fail(f"{flag} applies only with {owner}; this run is {mode.replace('_', '-')} data", 2)
    with console.status(f"building {n} {mode} examples"):
        given = {k: v for k, v in (("max_retries", args.max_retries), ("template", args.template)) if v is not None}
        made = make_data(mode, n, dest, args.seed, toolset=args.toolset, target_tokens=args.long_context,
                         tokenizer=args.tokenizer, **given)  # flags left out: make_data's defaults
    if made is None:
        return 0
    out.print(f"wrote {len(made.rows)} {mode} examples to {made.dest}: "
              + ", ".join(f"{k} {v}" for k, v in made.by_scenario().items()))
    if mode == "toolset":  # intents that saturate early leave their share to the others: show the spread
        from orchestrator.data.generators.toolset import calls_per_tool
        out.print("calls per tool: " + ", ".join(f"{k} {v}" for k, v in calls_per_tool(made.rows).items()))
    if mode == "long_context":
        tokens = [r["meta"]["tokens"] for r in made.rows]
        out.print(f"tokens (SmolLM2 tokenizer, rendered with {args.template}): min {min(tokens)}, max {max(tokens)}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from orchestrator.console import print_mix
    from orchestrator.recipes.data import build_mix

    from orchestrator.search.preflight import data_preflight

    cfg = _config(args)
    written = ("train.jsonl", "quarantine.jsonl", "stages.json", "stages.md", "leakage.json")
    output_dir(args.out, "--out", written)
    sources = [(s.path, f"data source {name!r}") for name, s in cfg.data.sources.items() if s.path is not None]
    for name in written:  # a mix written over its own source (`--out` the folder of a train.jsonl it read)
        not_an_input(args.out / name, "--out", *sources)  # lost every row not sampled
    data_preflight(cfg, args.config)
    mix = build_mix(cfg, args.out, render=args.render)
    print_mix(mix.info, mix.rows, mix.quarantined)
    if mix.empty:  # bad data, labelled as a DataError is (a trial raises one with the same line)
        print(f"data error: {args.config}: {mix.empty}; see {args.out / 'quarantine.jsonl'}", file=sys.stderr)
        return 2
    if mix.info["unaccounted"]:
        console.print(f"[red]rows unaccounted for: {mix.info['unaccounted']}[/red]")
        return 1
    if mix.leakage is not None:  # bad input like any other: exit 2, the leaks listed in leakage.json too
        return _fail(f"{args.config}: leakage check failed: {mix.leakage}\n(every blocking leak is in "
                     f"{args.out / 'leakage.json'})", 2)
    out.print(f"leakage check: {'off' if not cfg.data.leakage.check else 'passed'}"
              + (f" ({mix.allowed_leaks} allowed leaks, listed in {args.out / 'leakage.json'})"
                 if mix.allowed_leaks else ""))
    return 0


MIN_ANONYMISER_KEY_CHARS = 16


def cmd_anonymise(args: argparse.Namespace) -> int:
    from evals.textio import read_text
    from orchestrator.console import anonymiser_table
    from orchestrator.data.anonymise import Anonymiser, SurvivingTokenError, anonymise_file, parse_known

    output_file(args.dest, "dest")
    not_an_input(args.dest, "dest", (args.src, "input (src)"), (args.known, "--known file"))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", args.key_env):  # never echo what may be the key itself
        return _fail("--key-env takes the name of an environment variable (such as ANON_KEY) that holds the key; "
                     "what was given is not a variable name (not printed, in case it is the key)", 2)
    key = os.environ.get(args.key_env, "")
    if not key.strip():
        return _fail(f"environment variable {args.key_env} is unset or empty (it must hold the anonymiser key)", 2)
    if len(key.strip()) < MIN_ANONYMISER_KEY_CHARS:
        return _fail(f"environment variable {args.key_env} holds a {len(key.strip())}-character key; use at least "
                     f"{MIN_ANONYMISER_KEY_CHARS} random characters (e.g. `openssl rand -hex 32`): with a short key, "
                     "anyone holding one real value and its fake can find the key and undo every fake", 2)
    known = parse_known(read_text(args.known, "known-token file"), str(args.known)) if args.known else []
    try:
        report = anonymise_file(args.src, args.dest, Anonymiser(key.encode(), known, disabled=args.disable or ()))
    except SurvivingTokenError as err:
        return _fail(f"{err}; nothing written to {args.dest}", 2)  # bad input, like every other (README)
    out.print(anonymiser_table(report, args.dest))
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from orchestrator.console import RichProgress
    from orchestrator.data.generators.teacher import TeacherConfig, api_key_from_env, existing_rows, label_file

    api_key = api_key_from_env(args.api_key_env) if args.api_key_env else None
    cfg = TeacherConfig(endpoint=args.endpoint, model=args.model, max_tokens=args.max_tokens,
                        timeout_s=args.timeout, retries=args.retries, api_key=api_key)
    rejects = args.rejects or args.dest.with_name(args.dest.stem + ".rejects.jsonl")
    output_file(args.dest, "dest")
    output_file(rejects, "--rejects")
    not_an_input(args.dest, "dest", (args.src, "input (src)"))
    not_an_input(rejects, "--rejects", (args.src, "input (src)"), (args.dest, "labelled output (dest)"))
    if args.resume and args.overwrite:
        raise UsageError("--resume and --overwrite: give one (--resume keeps what is labelled, --overwrite starts over)")
    held = {p: existing_rows(p) for p in (args.dest, rejects)}
    if not (args.resume or args.overwrite) and any(held.values()):
        what = ", ".join(f"{p} holds {k} rows" for p, k in held.items() if k)
        raise UsageError(f"{what}: --resume labels only the rows not in them (and sends again the rows the "
                         "endpoint failed), --overwrite starts over")
    with Progress(console=console) as bar:
        progress = RichProgress(bar)
        report = label_file(args.src, args.dest, rejects, cfg, resume=args.resume, concurrency=args.concurrency,
                            on_row=lambda done, total, rep: progress.steps(
                                "labelling", done, total, f"{rep.labelled} labelled, {rep.rejected} rejected"),
                            on_wait=lambda line: console.log(line, markup=False, highlight=False))
    skipped = f"; {report.skipped} already done, skipped" if report.skipped else ""
    out.print(f"{report.rows} rows: {report.labelled} labelled ({report.calls} with calls, {report.no_tool} "
              f"without) → {args.dest}; {report.rejected} rejected → {rejects}{skipped}")
    for reason, k in report.reasons.most_common():
        out.print(f"  rejected: {reason}: {k}")
    if report.labelled >= 10 and not report.calls:  # a server without tool support answers every request in prose
        console.print(f"warning: none of the {report.labelled} labelled rows calls a tool: does the endpoint serve "
                      "tool calls? (llama.cpp's server needs --jinja; vLLM needs --enable-auto-tool-choice and a "
                      "--tool-call-parser)", markup=False, highlight=False)
    if report.stopped:
        if report.unusable:
            return _fail(f"{report.stopped}. Labelled rows are kept: fix the endpoint, then rerun with --resume", 2)
        unsent = f"{report.not_sent} rows not written; " if report.not_sent else ""
        return _fail(f"{report.stopped}. {unsent}fix the endpoint, then rerun with --resume (rows the endpoint "
                     "failed are sent again, labelled rows are kept)", 3)
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from orchestrator.config import flat_params
    from orchestrator.search.preflight import preflight

    cfg = _config(args)
    notes = preflight(cfg, args.config, here_is_fatal=False)
    for k, v in flat_params(cfg).items():
        out.print(f"{k} = {v}")
    for note in notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"OK {args.config}: the config is valid and every file it names is in place")
    return 0


# --- the command table -----------------------------------------------------------------------------

def _number(text: str, kind: type, low: float, high: float, what: str) -> int | float:
    """`text` as `kind` within [low, high] (inf excluded), else argparse's one-line error naming the flag."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not low <= value <= high or value in (float("inf"), float("-inf")):
        shown = [int(b) if float(b).is_integer() else b for b in (low, high) if b != float("inf")]
        bounds = f"of at least {shown[0]}" if high == float("inf") else f"from {shown[0]} to {shown[1]}"
        raise argparse.ArgumentTypeError(f"expected {what} {bounds}, got {text}")
    return value


def retry_count(text: str) -> int:
    """argparse type: retries of a failed teacher request, 0 to 20 (at 60 s apart, 20 hold a row 17 minutes)."""
    return _number(text, int, 0, 20, "a whole number")


def non_negative_int(text: str) -> int:
    """argparse type: a whole number, 0 or more."""
    return _number(text, int, 0, float("inf"), "a whole number")


def given_path(text: str) -> Path:
    """argparse type: a path that is not empty (Path("") is the current folder: `verify ''` checked it)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path (expected a file or folder)")
    return Path(text)


def positive_int(text: str) -> int:
    """argparse type: a whole number above 0 (argparse then names the flag in its one-line error)."""
    return _number(text, int, 1, float("inf"), "a whole number")


def example_count(text: str) -> int:
    """argparse type: how many examples to generate, 1 to MAX_GENERATED (generators hold every row and
    its dedupe keys in memory until the file is written: --count 10**9 grew without bound, silently)."""
    from orchestrator.config import MAX_GENERATED
    return _number(text, int, 1, MAX_GENERATED, "a whole number")


def resamples(text: str) -> int:
    """argparse type: a bootstrap draw count from 100 to 1 000 000 (as `promote.n_resamples`)."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 100 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"expected a whole number of draws from 100 to 1000000, got {text!r}")
    return value


def seed(text: str) -> int:
    """argparse type: a seed random, numpy and torch all accept (0 .. 2**32 - 1), as config seeds are."""
    return _number(text, int, 0, 2 ** 32 - 1, "a whole-number seed")


def context_tokens(text: str) -> int:
    """argparse type: a long-context length the generator can reach (data.sources.*.generate.target_tokens)."""
    from orchestrator.config import MAX_TARGET_TOKENS, MIN_TARGET_TOKENS

    return _number(text, int, MIN_TARGET_TOKENS, MAX_TARGET_TOKENS, "a number of tokens")


def positive_seconds(text: str) -> float:
    """argparse type: seconds above 0 (a request timeout)."""
    return _number(text, float, 1e-3, 1e6, "a number of seconds")


def http_url(text: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL with a host, got {text!r}")
    if parts.username is not None or parts.password is not None:  # never echo them: they may be a secret
        raise argparse.ArgumentTypeError("a user or password in the URL is not sent (not printed here); give the key "
                                         "with --api-key-env")
    try:
        parts.port  # noqa: B018 (urlsplit checks the range only when asked)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the port of {text!r} is not a number from 0 to 65535") from None
    return text


def json_file(text: str) -> str:
    """argparse type for --json: a file that can be written, checked before any work (a folder given
    here failed after a whole promotion)."""
    from orchestrator.outputs import output_file

    try:
        output_file(Path(text), "--json")
    except UsageError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("--json ")) from None
    return text


def folder_name(what: str) -> Callable[[str], str]:
    """argparse type: a name that becomes part of a folder name (config.safe_name's rule)."""
    def check(text: str) -> str:
        from orchestrator.config import safe_name
        try:
            return safe_name(text, what)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return check


def arg(*flags: str, **options: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    return flags, options


CONFIG = arg("config", type=given_path, help="sweep YAML, e.g. sweeps/smoke.yaml")
SET = arg("--set", action="append", metavar="KEY=VALUE", help="override a config value, e.g. --set train.epochs=2 "
          "(repeatable)")
TRACKING = (arg("--tracking-uri", default="sqlite:///mlruns/mlflow.db",
                help="MLflow store (default: the embedded sqlite:///mlruns/mlflow.db)"),
            arg("--experiment", default="toolsweep", help="MLflow experiment of the sweeps (default: toolsweep)"))


@dataclass(frozen=True)
class Command:
    name: str
    summary: str                        # the line in `toolsweep --help`
    run: Callable[[argparse.Namespace], int]
    help: str                           # the line in the subcommand list
    description: str | None = None      # `toolsweep NAME --help`
    args: tuple = ()
    exclusive: tuple = ()               # flags of which at most one may be given
    raw: bool = False                   # keep the description's own line breaks


COMMANDS: tuple[Command, ...] = (
    Command("sweep", "Ray Tune sweep: Optuna search + ASHA early stopping over the sweep file's search_space",
            cmd_sweep, "run a Ray Tune sweep",
            "Sample the sweep file's search_space with Optuna (TPE for one objective, NSGA-II for several), train "
            "each trial epoch by epoch, score the quantized model on a dev slice after every epoch, stop weak trials "
            "with ASHA, and record one MLflow parent run with a child run per trial. Uses RAY_ADDRESS when set (a "
            "cluster), else a local Ray.",
            (CONFIG, SET, arg("--json", metavar="FILE", type=json_file, help="also write the sweep summary as JSON"))),
    Command("resume", "continue an interrupted sweep (its searcher state and MLflow parent run included)",
            cmd_resume, "continue an interrupted sweep",
            "Restore the sweep with Tune (unfinished and errored trials continue from their last checkpoint, the "
            "Optuna searcher keeps its history) under the same MLflow parent run.",
            (arg("sweep_dir", type=given_path, help="the sweep directory printed by `toolsweep sweep`"),
             arg("--json", metavar="FILE", type=json_file, help="also write the sweep summary as JSON"))),
    Command("status", "the trials of a sweep on disk: state, epoch, objectives", cmd_status,
            "show the trials of a sweep", None,
            (arg("sweep_dir", type=given_path, help="the sweep directory printed by `toolsweep sweep` (runs/ray/<name>-<stamp>)"),)),
    Command("trial", "one end-to-end trial: LoRA fine-tune → merge → GGUF → quantize → eval → MLflow",
            cmd_trial, "run one trial end to end",
            "Fine-tune a LoRA adapter with the sweep file's fixed values, merge it, convert to GGUF, quantize, "
            "evaluate the quantized model (and the untuned base) on the held-out cases, and record everything in "
            "one MLflow run.",
            (CONFIG, SET, arg("--json", metavar="FILE", type=json_file, help="also write the headline results as JSON"))),
    Command("eval", "score any GGUF on a case file with the eval harness", cmd_eval,
            "evaluate a GGUF on a case file",
            "Greedy generation with llama.cpp on every case, strict tool-call parsing and scoring, bootstrap CIs. "
            "Uses the chat template embedded in the GGUF.",
            (arg("model", type=given_path, help="a .gguf file"),
             arg("--cases", type=given_path, help="JSONL of cases (default evals/sets/test.jsonl; not with --bfcl)"),
             arg("--bfcl", metavar="CATEGORY", choices=BFCL_CATEGORIES,
                 help=f"evaluate a BFCL category instead of --cases ({', '.join(BFCL_CATEGORIES)}); adds "
                 "bfcl_accuracy (BFCL's rules)"),
             arg("--limit", type=positive_int, help="evaluate only this many cases (spread over scenarios)"),
             arg("--max-new-tokens", type=positive_int, default=160,
                 help="most tokens generated per answer (default 160)"),
             arg("--n-ctx", type=positive_int, default=4096, help="llama.cpp context in tokens; a prompt plus "
                 "--max-new-tokens above it stops the eval before generating (default 4096)"),
             arg("--out", type=given_path, help="write OUT.json and OUT.md reports"))),
    Command("compare", "paired-bootstrap differences between two eval reports (same cases)", cmd_compare,
            "paired differences between two eval reports",
            "Resample the cases both reports scored (paired bootstrap, 95% CI) and print B - A for every metric; a "
            "difference is credible only when its CI excludes 0.",
            (arg("a", type=given_path, help="baseline report JSON (from `toolsweep eval --out`)"),
             arg("b", type=given_path, help="candidate report JSON"),
             arg("--seed", type=seed, default=0, help="seeds the bootstrap resampling (default 0)"),
             arg("--resamples", type=resamples, default=N_RESAMPLES,
                 help=f"bootstrap draws (default {N_RESAMPLES}; with fewer, a CI bound near 0, and so the "
                      "verdict, can move with --seed)"))),
    Command("promote", "a sweep's Pareto-front candidate → gated against the champion → MLflow registry alias",
            cmd_promote, "promote a sweep's best candidate if it is credibly better",
            "Take the Pareto front of the sweep's finished trials (quantized dev metrics, one context variant), pick "
            "the trial with the best sweep score on it (search.rung_weights over the objectives, as ASHA ranked "
            "them; ties by the primary metric), merge its adapter, convert to every release quant type, evaluate each "
            "and the untuned base on the promotion eval set, then gate against the current champion:\n"
            "  promoted only when the paired-bootstrap CI of the primary difference excludes 0 (better)\n"
            "  and no guard metric is credibly worse. With no champion yet the reference is the base\n"
            "  (promote.first_promotion). The decision is logged to MLflow; a promoted run becomes a registry\n"
            "  version with alias champion-<variant>, and the old champion keeps previous-<variant>.",
            (arg("--sweep", required=True, help="sweep directory (runs/ray/<name>-<stamp>), parent run id, or sweep "
                 "name"),
             arg("--config", type=given_path, help="sweep YAML whose tracking and promote sections to use (default: the "
                 "config the sweep stored)"),
             arg("--set", action="append", metavar="KEY=VALUE", help="override a value of --config, e.g. "
                 "promote.eval_set=evals/sets/test.jsonl"),
             *TRACKING, arg("--json", metavar="FILE", type=json_file, help="also write the decision record as JSON")), raw=True),
    Command("release", "the registry's champions → releases/<family>-<version>/ (GGUF, adapter, model cards, "
            "manifest)", cmd_release, "build releases/<family>-<version>/ from the registry's champions",
            "Download every champion-<variant> version of the family's registered model (GGUF files, adapter, eval "
            "reports), render a model card per variant and the family card, write manifest.json (sha256 + size of "
            "every file), build in a temporary folder and rename it into place. An existing version is refused.",
            (arg("--family", required=True, type=folder_name("a registered model and its release folders"),
                 help="registered model name (promote.family)"),
             arg("--version", required=True, type=folder_name("a release version (releases/<family>-<version>/)"),
                 help="release version, e.g. 1.0"),
             arg("--out", type=given_path, default=Path("releases"), help="folder that holds the releases"), *TRACKING)),
    Command("verify", "check a release folder against its manifest (sha256 and size of every file)", cmd_verify,
            "check a release folder against its manifest",
            "Recompute the sha256 and size of every file and compare with manifest.json; changed, missing and "
            "unlisted files are reported. Exit code 1 on any problem.",
            (arg("release", type=given_path, help="e.g. releases/smol-smollm2-0.1"),)),
    Command("family", "sweep every context variant, promote each, release the family: one command", cmd_family,
            "sweep, promote and release a model family in one command",
            "Read a family YAML (sweeps/family.yaml): run each variant's sweep in order (4K → 16K → 32K), promote "
            "each with the family's promotion rule, then build the release from the registry's champions and verify "
            "it.", (arg("config", type=given_path, help="family YAML, e.g. sweeps/family-smoke.yaml"),)),
    Command("setup-tools", "fetch llama.cpp's converters from the installed llama-cpp-python's sdist", cmd_setup_tools,
            "fetch llama.cpp converters matching the installed llama-cpp-python"),
    Command("make-data", "regenerate the starter dataset, or generate from a YAML toolset, long-context or honesty "
            "data", cmd_make_data, "generate training data (starter set by default)",
            "Without a mode flag: regenerate data/starter/{train,heldout}.jsonl byte for byte.\n"
            "With one: write one JSONL file (messages + tools rows, meta.track set).\n\n"
            "  make-data --toolset data/toolsets/starter.yaml --count 5000 --out data/generated/toolset.jsonl\n"
            "  make-data --long-context 16384 --count 20 --out data/generated/long_16k.jsonl\n"
            "  make-data --honesty --count 500 --max-retries 2 --out data/generated/honesty.jsonl",
            (arg("--out", type=given_path, help="starter: a directory (default data/starter); other modes: a .jsonl "
                 "file (default data/generated/<toolset name>.jsonl, data/generated/honesty.jsonl or "
                 "data/generated/long_<TOKENS>.jsonl, under the current folder)"),
             arg("-n", "--count", dest="n", type=example_count, help=f"number of examples (defaults: {', '.join(f'{k} {v}' for k, v in DEFAULT_COUNTS.items())})"),
             arg("--seed", type=seed, default=0, help="seeds the generator: the same seed writes the same file"),
             arg("--max-retries", type=int, choices=range(0, 10), metavar="0-9",
                 help="honesty: retries of a failing call before giving up (default 2)"),
             arg("--tokenizer", type=given_path,
                 help="long-context: tokenizer.json that counts tokens (default: the embedded SmolLM2's, built "
                      "into the cache from its GGUF)"),
             arg("--template", help="long-context: chat template the length is measured in (default toolchat)")),
            exclusive=(arg("--toolset", type=given_path, metavar="YAML", help="generate from a toolset file (all seven "
                           "scenarios)"),
                       arg("--long-context", type=context_tokens, metavar="TOKENS",
                           help="long multi-round conversations of 95-100%% of TOKENS (e.g. 16384, 32768)"),
                       arg("--honesty", action="store_true", help="empty/failed tool results reported plainly")),
            raw=True),
    Command("data", "build a sweep file's training mix: train.jsonl, quarantine, stage table (no training)", cmd_data,
            "build the training mix of a sweep file without training",
            "Read every data source, normalise, filter, dedupe, cap and mix as the trial does; write train.jsonl, "
            "quarantine.jsonl and the stage table to --out, print the counts per stage and check the eval sets for "
            "leakage.",
            (CONFIG, SET,
             arg("--out", type=given_path, default=Path("runs/data"), help="folder for the files (default runs/data)"),
             arg("--render", action="store_true",
                 help="also render with the base model's tokenizer and quarantine rows over train.max_length"))),
    Command("anonymise", "swap names, emails, phones, IPs, cards, IBANs, credentials, handles, URLs, tickets, id numbers, "
            "birth dates, addresses for keyed fakes",
            cmd_anonymise, "replace PII with stable keyed fakes (refuses if any survives)",
            "Swap names, emails, phone numbers, public IPv4 and IPv6 addresses, card numbers and IBANs (when their "
            "checksums hold), credentials (API keys, tokens, 'Bearer …', values under password/secret/token keys), "
            "handles, URLs, project keys and ticket ids, and identity numbers, birth dates and street addresses "
            "where a cue or a key says what they are ('SSN 123-45-6789', 'passport no. X1234567', 'DOB: 14/03/1987', "
            "'221B Baker Street', an argument named ssn, date_of_birth or home_address; "
            "orchestrator/data/personal_ids.py) for "
            "fakes derived with HMAC-SHA256 from a secret key: the same value always gets the same fake, in text, "
            "tool-call arguments (integers too) and tool results alike; a phone number is its national number, so "
            "'06 12 34 56 78' and '+33 6 12 34 56 78' share one fake, country code and trunk 0 kept (and a 9-digit "
            "'612345678' is read once '+34 612 345 678' was seen). URLs on localhost, private addresses and example "
            "domains stay. Person names are found without a list where the row says they are names "
            "(after Mr/Dr/..., a first name with a surname, after 'ask'/'cc:'/'Dear'/..., a sign-off, a tool "
            "argument such as 'attendees', a 'first.last@' mailbox, a listed first name alone that is no place or product: "
            "'check if Priya approved it'; orchestrator/data/names.py); a name in lower case or outside the lexicon "
            "with no cue is not, so list those with --known. If any known token or detected value would survive "
            "(also base64, JSON- or percent-escaped), nothing is written. The key comes from an environment variable, never from the "
            "command line: arguments are visible to every local user (ps, /proc/*/cmdline) and stay in shell "
            "history, and whoever holds the key can test a guessed real value against the fakes.",
            (arg("src", type=given_path, help="input JSONL"),
             arg("dest", type=given_path, help="output JSONL (written only when the check passes)"),
             arg("--key-env", required=True, metavar="VAR", help="name of the environment variable holding the key"),
             arg("--known", type=given_path, metavar="FILE",
                 help="real tokens regexes cannot find, one a line ('name: …', 'project: …', 'other: …'; a bare line "
                      "is a name); matched case-insensitively on word boundaries"),
             arg("--disable", action="append", metavar="KIND",
                 help="switch a detector's swapping off (url, email, secret, iban, card, handle, ticket, ip, phone, name, project, "
                      "other, id_number, birth_date, address); "
                      "the survival check still runs every detector, so a value of that kind in the rows makes the "
                      "run refuse rather than leak"))),
    Command("label", "label raw user requests with tool calls from an OpenAI-compatible teacher endpoint", cmd_label,
            "label raw requests with tool calls from a teacher endpoint",
            "POST each {user, tools} row to ENDPOINT/v1/chat/completions (any OpenAI-compatible server) and keep the "
            "teacher's answer as a training row when its calls name offered tools with schema-valid arguments (or it "
            "answers in plain text). Every other row goes to the rejects file with its reason: labelled + rejected = "
            "rows read. Rows are written as they are done; an interrupted or stopped run continues with --resume. "
            "Exit 3 when the endpoint failed 3 rows in a row or answered none, 2 when it refuses every request "
            "(401, 403, 404, 405).",
            (arg("src", type=given_path, help="JSONL of {\"user\": str, \"tools\": [...], \"id\"?, \"system\"?}"),
             arg("dest", type=given_path, help="labelled JSONL"),
             arg("--endpoint", required=True, type=http_url, help="base URL, e.g. http://127.0.0.1:8080"),
             arg("--rejects", type=given_path, help="rejects JSONL (default: DEST with .rejects.jsonl)"),
             arg("--model", default="teacher", help="model name sent to the endpoint"),
             arg("--api-key-env", metavar="VAR", help="environment variable holding a bearer token, if needed"),
             arg("--max-tokens", type=positive_int, default=256, help="most tokens the teacher may answer with "
                 "(default 256)"),
             arg("--timeout", type=positive_seconds, default=120.0,
                 help="seconds a request may take, answer included (default 120)"),
             arg("--retries", type=retry_count, default=3,
                 help="more tries of a request the endpoint failed (429, 5xx, timeout, refused, cut short), 0 to 20, "
                      "1, 2, 4 ... s apart up to 60 s, or as Retry-After asks up to 60 s (a longer wait fails the "
                      "row; default 3); the run stops after 3 rows in a row fail"),
             arg("--concurrency", type=positive_int, default=1,
                 help="requests in flight at once (default 1); a serving engine such as vLLM batches them. Answers "
                      "are still judged and written in input order"),
             arg("--resume", action="store_true",
                 help="keep DEST and the rejects file, label only the rows not in them (matched by content), and "
                      "send again the rows the endpoint failed"),
             arg("--overwrite", action="store_true", help="start over: DEST and the rejects file are emptied first"))),
    Command("check-config", "validate a sweep YAML and print the resolved config", cmd_check_config,
            "validate a sweep YAML", None,
            (CONFIG, SET)),
)

HELP = ("toolsweep finds, proves and ships the best small tool-calling model you can build.\n\ncommands:\n"
        + "".join(f"  {c.name:<13} {c.summary}\n" for c in COMMANDS)
        + "\nResults land in MLflow under mlruns/ (open with: mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db,\n"
          "then http://127.0.0.1:5000/#/experiments?workflowType=machine_learning for the runs, charts and registry).\n")


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of `COMMANDS`."""
    parser = argparse.ArgumentParser(prog="toolsweep", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback with an error (also TOOLSWEEP_DEBUG=1); accepted anywhere on the line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for c in COMMANDS:
        p = sub.add_parser(c.name, help=c.help, description=c.description,
                           **({"formatter_class": argparse.RawDescriptionHelpFormatter} if c.raw else {}))
        if c.exclusive:
            group = p.add_mutually_exclusive_group()
            for flags, options in c.exclusive:
                group.add_argument(*flags, **options)
        for flags, options in c.args:
            p.add_argument(*flags, **options)
        p.set_defaults(func=c.run)
    return parser


def _debug_wanted(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("TOOLSWEEP_DEBUG", "") not in ("", "0")


class Terminated(KeyboardInterrupt):
    """SIGTERM (a `kill`, a pod stopped), raised where Ctrl-C would be: the same cleanup runs (a promotion
    removes its half-built folder and marks its MLflow run KILLED; a sweep leaves Tune's state to resume)."""


def _terminate_as_interrupt() -> None:
    import signal
    import threading

    def raise_terminated(signum, frame):
        raise Terminated()

    if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread only
        signal.signal(signal.SIGTERM, raise_terminated)


# A path the filesystem refuses (a name too long, no permission, a read-only or full disk) where no check
# named it first: one line naming the path, not an "unexpected" error asking for a bug report.
_FILESYSTEM_REFUSALS = frozenset({errno.ENAMETOOLONG, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT,
                                  errno.ENOTDIR, errno.EISDIR, errno.ELOOP, errno.ENOSPC, errno.EDQUOT})


def main(argv: list[str] | None = None) -> int:
    """Run one command. A bad input ends in one message naming the file, key or row (exit 2), never
    a traceback; `--debug` (anywhere on the line) or TOOLSWEEP_DEBUG=1 adds the traceback."""
    import traceback

    from orchestrator.errors import ToolsweepError, shown_path
    from orchestrator.progress import log_interval_s

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_wanted(argv)
    parser = build_parser()
    args = parser.parse_args([a for a in argv if a != "--debug"])
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _terminate_as_interrupt()
    before = os.environ.get("TOOLSWEEP_DEBUG")
    if debug:  # read further down too (a sweep keeps Tune's per-attempt tracebacks); put back after
        os.environ["TOOLSWEEP_DEBUG"] = "1"
    try:
        log_interval_s()  # the environment's settings are checked before any command starts work
        return args.func(args)
    except ToolsweepError as err:
        if debug:
            traceback.print_exc()
        print(f"{err.label}: {err}", file=sys.stderr)
        return 2
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt as err:
        print(f"interrupted{f': {err}' if str(err) else ''}", file=sys.stderr)
        return 130
    except Exception as err:  # not an input toolsweep recognised as bad: say so, keep the traceback for --debug
        if debug:
            traceback.print_exc()
        if isinstance(err, OSError) and err.errno in _FILESYSTEM_REFUSALS:
            name = shown_path(err.filename, limit=120, keep=100) if err.filename else ""
            print(f"error: {name + ': ' if name else ''}{err.strerror or err}", file=sys.stderr)
            return 1 if err.errno in (errno.ENOSPC, errno.EDQUOT) else 2
        first = (str(err).strip().splitlines() or [""])[0][:500]
        print(f"error: {type(err).__name__}: {first} (unexpected; rerun with --debug for the traceback, and "
              f"please report it if the input was valid)", file=sys.stderr)
        return 1
    finally:  # main() also runs in process (tests, a caller's script): leave the environment as it was
        if before is None:
            os.environ.pop("TOOLSWEEP_DEBUG", None)
        else:
            os.environ["TOOLSWEEP_DEBUG"] = before


if __name__ == "__main__":
    sys.exit(main())
