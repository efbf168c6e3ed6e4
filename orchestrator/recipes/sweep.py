"""Sweeps on Ray Tune: Optuna proposes, ASHA stops early, every trial is the spine's trial.

Edge module: imports ray. The rules (search space, rung metric, Pareto front) live in
`orchestrator/search/space.py`; this file wires them into Tune and owns the MLflow lifecycle:

- one parent run per sweep; its id is kept in `<sweep dir>/toolsweep_sweep.json`, so a resumed
  sweep continues it;
- one child run per trial, found again by its `toolsweep.trial_id` tag, so a retried or restored
  trial continues its own run (params are logged once, when the run is created);
- loss per step and eval per epoch as metric histories; steps already logged before a crash are
  not logged twice.

Each epoch ends with a trainer checkpoint (adapter, optimizer, scheduler, RNG, data position);
the trial then merges that adapter, quantizes it, scores the dev slice with llama.cpp and reports
to Tune with the checkpoint, so ASHA ranks quantized models and a killed trial resumes from its
last epoch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import ray
from ray import tune
from ray.tune import Callback, Checkpoint
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search import ConcurrencyLimiter
from ray.tune.search.optuna import OptunaSearch

from orchestrator.config import SweepConfig, flat_params, parse_config, sampled_config
from orchestrator.errors import ClusterError, ConfigError, StorageError, filesystem_state, storage_reason
from orchestrator.metric_keys import DEV, RUNG, objective_key, train_key
from orchestrator.paths import cache_dir
from orchestrator.sweep_state import STATE_FILE, read_sweep_state
from orchestrator.progress import StageProgress, log_interval_s
from orchestrator.search.space import Dim, most_epochs, pareto_front, rung_metric, space_spec



def tune_domain(dim: Dim):
    if dim.kind == "choice":
        return tune.choice(list(dim.args))
    if dim.kind == "loguniform":
        return tune.loguniform(*dim.args)
    if dim.kind == "uniform":
        return tune.uniform(*dim.args)
    lo, hi = dim.args
    return tune.randint(lo, hi + 1)  # YAML bounds are inclusive; Tune's upper bound is not


def max_epochs(cfg: SweepConfig) -> int:
    return most_epochs(cfg.search_space, cfg.train.epochs)


def optuna_storage_url(cfg: SweepConfig) -> str | None:
    """Where the Optuna study is kept: `search.optuna_storage`, or with `auto` an SQLite file beside
    a local MLflow SQLite store (mlruns/optuna.db), so `optuna-dashboard sqlite:///mlruns/optuna.db`
    shows the search; None (in memory) for an MLflow server."""
    from orchestrator.tracking import tracking_uri

    setting = cfg.search.optuna_storage
    if setting != "auto":
        return setting
    uri = tracking_uri(cfg.tracking)  # MLFLOW_TRACKING_URI (a cluster's server) wins, as for the runs
    if not uri.startswith("sqlite:///"):
        return None
    return f"sqlite:///{Path(uri.removeprefix('sqlite:///')).resolve().parent / 'optuna.db'}"


def _searcher(cfg: SweepConfig, seed: int, study_name: str):
    import optuna

    names, modes = list(cfg.search.objectives), list(cfg.search.objectives.values())
    url = optuna_storage_url(cfg)
    storage = optuna.storages.RDBStorage(url) if url else None
    kwargs = {"storage": storage, "study_name": study_name} if storage is not None else {}
    if len(names) == 1:
        search = OptunaSearch(metric=names[0], mode=modes[0], sampler=optuna.samplers.TPESampler(seed=seed), **kwargs)
    else:
        search = OptunaSearch(metric=names, mode=modes, sampler=optuna.samplers.NSGAIISampler(seed=seed), **kwargs)
    return ConcurrencyLimiter(search, max_concurrent=cfg.search.max_concurrent)


# --- inside a trial ------------------------------------------------------------------------------


def _child_run(tracker, parent_run_id: str, trial_id: str, cfg: SweepConfig, params: dict) -> str:
    found = tracker.client.search_runs(
        [tracker.experiment_id],
        filter_string=f"tags.`toolsweep.trial_id` = '{trial_id}' and tags.`mlflow.parentRunId` = '{parent_run_id}'")
    if found:
        run_id = found[0].info.run_id
        tracker.client.update_run(run_id, "RUNNING")
        if "toolsweep.failure_reason" in found[0].data.tags:  # a retry: the last failure's reason is history
            tracker.client.delete_tag(run_id, "toolsweep.failure_reason")
        return run_id
    run_id = tracker.start_run(f"{cfg.name}-{trial_id}", parent_run_id=parent_run_id, tags={
        "toolsweep.kind": "trial", "toolsweep.sweep": cfg.name, "toolsweep.trial_id": trial_id,
        "toolsweep.base_model": cfg.model.base, "toolsweep.context": str(cfg.train.max_length)})
    tracker.log_params(run_id, flat_params(cfg))
    tracker.log_params(run_id, {f"search.{k}": v for k, v in params.items()})
    return run_id


def _epoch_eval_callback(cfg: SweepConfig, inputs, tracker, run_id: str, work: Path, last_logged_epoch: int,
                         progress=None):
    from transformers import TrainerCallback

    from orchestrator.quantize import export
    from orchestrator.train.trainer import peak_rss_gb
    from orchestrator.recipes.trial import eval_gguf, log_report

    class EpochEval(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            epoch = int(round(state.epoch or 0))
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            out = work / f"epoch-{epoch}"
            if progress:
                progress.update(f"epoch {epoch} export", 0, 1)
            merged = export.merge_adapter(inputs.base, ckpt, out / "merged", inputs.serving)
            qtype = cfg.quantize.types[0]
            files = export.to_gguf(merged, out / "gguf", "tuned", [qtype], cfg.quantize.llama_cpp_dir, keep_f16=False)
            on_case = (lambda i, n: progress.update(f"epoch {epoch} eval case", i, n)) if progress else None
            report = eval_gguf(files[qtype], inputs.cases, cfg, inputs.serving, on_case=on_case)
            metrics = {k: v for k, v in report["metrics"].items() if v is not None}
            metrics["median_latency_s"] = report["timing"]["median_latency_s"]
            metrics["gguf_size_mb"] = files[qtype].stat().st_size / 2**20
            metrics[RUNG] = rung_metric(metrics, cfg.search.objectives, cfg.search.rung_weights)
            # A trial killed after logging an epoch but before Tune stored its checkpoint redoes that
            # epoch; its metrics are already in the run, so they are not logged a second time.
            if epoch > last_logged_epoch:
                log_report(tracker, run_id, f"dev.{qtype}", report, f"{cfg.name} epoch {epoch}", step=epoch,
                           key_label=DEV)
                tracker.log_metrics(run_id, {objective_key(RUNG): metrics[RUNG],
                                             objective_key("gguf_size_mb"): metrics["gguf_size_mb"]}, epoch)
                # this process trained, merged and scored the epoch: its memory high-water mark so far
                tracker.log_metrics(run_id, {train_key("peak_rss_gb"): peak_rss_gb()}, epoch)
            # Logged now, not after training: ASHA (or max_t) may end the trial at this very report.
            for name in ("adapter_model.safetensors", "adapter_config.json"):
                tracker.log_artifact(run_id, ckpt / name, "adapter")
            tracker.log_artifact(run_id, files[qtype], "gguf")
            tracker.set_tags(run_id, {"toolsweep.last_epoch": epoch})
            (ckpt / "toolsweep_trial.json").write_text(json.dumps({"run_id": run_id, "epoch": epoch}))
            shutil.rmtree(out / "merged", ignore_errors=True)
            tune.report({**metrics, "epoch": epoch}, checkpoint=Checkpoint.from_directory(str(ckpt)))

    return EpochEval()


def run_sweep_trial(params: dict, *, base_config: dict, parent_run_id: str, project_dir: str) -> None:
    """The Tune trainable: one trial of the sweep, resumable from its last epoch checkpoint."""
    from orchestrator.tracking import Tracker
    from orchestrator.train.trainer import train_lora
    from orchestrator.recipes.trial import log_data, prepare_inputs, setup_params

    if Path(project_dir).is_dir():  # same filesystem as the driver; on other nodes Ray's working_dir copy is the cwd
        os.chdir(project_dir)
    cfg = sampled_config(base_config, params)
    ctx = tune.get_context()
    trial_id = ctx.get_trial_id()
    tracker = Tracker(cfg.tracking)
    run_id = _child_run(tracker, parent_run_id, trial_id, cfg, params)
    tracker.set_tags(run_id, {"toolsweep.node_id": ray.get_runtime_context().get_node_id()})
    history = tracker.client.get_metric_history(run_id, train_key("loss"))
    last_logged = max((m.step for m in history), default=-1)
    last_epoch = max((m.step for m in tracker.client.get_metric_history(run_id, objective_key(RUNG))), default=0)
    work = (Path(cfg.output_dir) / "trials" / trial_id).resolve()
    checkpoint = tune.get_checkpoint()
    resume_from = Path(checkpoint.to_directory()) if checkpoint else None
    if resume_from and (resume_from / "toolsweep_trial.json").is_file():
        resumed = json.loads((resume_from / "toolsweep_trial.json").read_text())["epoch"]
        tracker.set_tags(run_id, {"toolsweep.resumed_from_epoch": resumed})
        # One point per restore (the tag keeps only the last): how often this trial came back, and from where.
        restores = len(tracker.client.get_metric_history(run_id, "restored_from_epoch"))
        tracker.log_metrics(run_id, {"restored_from_epoch": resumed}, restores + 1)
    progress = None
    try:
        inputs = prepare_inputs(cfg, cache_dir(), eval_limit=cfg.search.dev_cases, data_dir=work / "data")
        log_data(tracker, run_id, inputs)

        def on_log(step: int, logs: dict) -> None:
            if step > last_logged or "train_runtime" in logs:
                tracker.log_metrics(run_id, {train_key(k): v for k, v in logs.items()}, step)

        # The driver prints this tag per running trial in log mode (_SweepCallback.on_step_end).
        progress = StageProgress(lambda line: tracker.set_tags(run_id, {PROGRESS_TAG: line}))
        train_lora(inputs.base, inputs.tokenizer, inputs.train_ds, cfg.train, work, on_log=on_log,
                   on_step=lambda done, total: progress.update("train step", done, total),
                   callbacks=[_epoch_eval_callback(cfg, inputs, tracker, run_id, work, last_epoch, progress)],
                   checkpoint_each_epoch=True,
                   resume_from=resume_from, keep_checkpoints=cfg.search.keep_checkpoints,
                   on_setup=lambda t, precision: tracker.log_params(run_id, setup_params(t, precision)))
    except Exception as err:
        stage = progress.stage if progress is not None and progress.stage else "data preparation"
        storage = storage_reason(err, str(work), stage, *filesystem_state(work))
        if storage:
            # The exports are rebuilt from the checkpoint on resume: dropping them gives the space
            # back to the trials that come next, which is what lets the sweep go on.
            for exported in work.glob("epoch-*"):
                shutil.rmtree(exported, ignore_errors=True)
        tracker.set_tags(run_id, {"toolsweep.status": "failed",
                                  "toolsweep.failure_reason": storage or f"{type(err).__name__}: {err}"[:5000]})
        tracker.end_run(run_id, "FAILED")
        if storage:
            raise StorageError(storage) from err
        raise


# --- the driver ----------------------------------------------------------------------------------


PROGRESS_TAG = "toolsweep.progress"


class _SweepCallback(Callback):
    """Closes child runs the driver sees finish, and shows the trials as they progress.

    On a terminal the view is a live table (orchestrator.search.table); in a log (a Ray job, CI) it is
    one line per result, which reads better than repainted frames.
    Tune pickles its callbacks with the experiment state (that is how a restored sweep gets this
    one back), so the MLflow client, the console and the live view are made lazily and never pickled.
    """

    def __init__(self, tracking, parent_run_id: str, objectives: dict, params: list[str] | None = None,
                 max_epochs: int | None = None, title: str = ""):
        self.tracking, self.parent, self.objectives = tracking, parent_run_id, objectives
        self.params, self.max_epochs, self.title = params or [], max_epochs, title
        self.best: dict[str, tuple[float, str]] = {}
        self.progress_every_s = log_interval_s()  # read (and checked) when the sweep starts, not mid-run
        self._tracker = self._console = self._live = None

    def __getstate__(self):
        return {**self.__dict__, "_tracker": None, "_console": None, "_live": None}

    @property
    def tracker(self):
        if self._tracker is None:
            from orchestrator.tracking import Tracker
            self._tracker = Tracker(self.tracking)
        return self._tracker

    @property
    def console(self):
        if self._console is None:
            from rich.console import Console
            self._console = Console(stderr=True)
        return self._console

    def _rows(self, trials) -> list[dict]:
        rows = []
        for t in trials:
            last = t.last_result or {}
            rows.append({"trial_id": t.trial_id, "status": t.status, "epoch": last.get("epoch"),
                         **{p: (t.config or {}).get(p) for p in self.params},
                         **{k: last.get(k) for k in self.objectives}})
        return rows

    def _refresh(self, trials) -> None:
        if not self.console.is_terminal:
            return
        from orchestrator.search.table import trial_table
        table = trial_table(self._rows(trials), self.objectives, self.params, self.title, self.max_epochs)
        if self._live is None:
            from rich.live import Live
            self._live = Live(table, console=self.console, refresh_per_second=2, transient=False)
            self._live.start()
        else:
            self._live.update(table)

    def on_trial_start(self, iteration, trials, trial, **info):
        self._refresh(trials)

    def on_step_end(self, iteration, trials, **info):
        """Log mode: every `progress_every_s`, each running trial's stage line (its worker's progress tag)."""
        now = time.monotonic()
        every = getattr(self, "progress_every_s", None)  # a callback restored from an older sweep lacks it
        if every is None:
            every = self.progress_every_s = log_interval_s()
        if self.console.is_terminal or now - getattr(self, "_last_progress", 0.0) < every:
            return
        self._last_progress = now
        running = {t.trial_id for t in trials if t.status == "RUNNING"}
        if not running:
            return
        runs = self.tracker.client.search_runs([self.tracker.experiment_id],
                                               filter_string=f"tags.`mlflow.parentRunId` = '{self.parent}'")
        done = sum(t.status in ("TERMINATED", "ERROR") for t in trials)
        for run in runs:
            trial_id, line = run.data.tags.get("toolsweep.trial_id"), run.data.tags.get(PROGRESS_TAG)
            if trial_id in running and line:
                self.console.print(f"[{time.strftime('%H:%M:%S')}] {trial_id} {line} | trials running {len(running)}, "
                                   f"done {done}/{len(trials)}", soft_wrap=True, highlight=False, markup=False)

    def on_experiment_end(self, trials, **info):
        self._refresh(trials)
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _run_of(self, trial) -> str | None:
        found = self.tracker.client.search_runs(
            [self.tracker.experiment_id],
            filter_string=f"tags.`toolsweep.trial_id` = '{trial.trial_id}' and tags.`mlflow.parentRunId` = '{self.parent}'")
        return found[0].info.run_id if found else None

    def on_trial_result(self, iteration, trials, trial, result, **info):
        for name, direction in self.objectives.items():
            v = result.get(name)
            old = self.best.get(name)
            if v is not None and (old is None or (v > old[0] if direction == "max" else v < old[0])):
                self.best[name] = (v, trial.trial_id)
        running = sum(t.status == "RUNNING" for t in trials)
        done = sum(t.status in ("TERMINATED", "ERROR") for t in trials)
        if self.console.is_terminal:
            self._refresh(trials)
            return
        shown = " ".join(f"{k}={result.get(k, float('nan')):.3f}" for k in self.objectives)
        # each objective's best with the trial that reached it: one line of two trials' bests read
        # as one trial's point ("best a=0.238 b=1.000" that no trial reached)
        best = ", ".join(f"{k}={v:.3f} ({tid})" for k, (v, tid) in self.best.items())
        self.console.print(f"[{time.strftime('%H:%M:%S')}] {trial.trial_id} epoch {result.get('epoch')}: {shown} "
                           f"| trials running {running}, done {done}/{len(trials)} | best {best}",
                           soft_wrap=True, highlight=False)  # one line per result, however narrow the log

    def on_trial_save(self, iteration, trials, trial, **info):
        # Tune calls this once it has registered the checkpoint: from here on a lost worker resumes
        # from this epoch. The tag tells the user (and the fault tests) what a restart would keep.
        run_id = self._run_of(trial)
        epoch = (trial.last_result or {}).get("epoch")
        if run_id and epoch is not None:
            self.tracker.set_tags(run_id, {"toolsweep.stored_checkpoint_epoch": epoch})

    def _describe(self, run_id: str, trial, state: str) -> None:
        """The child run's filterable state tag and its one-paragraph description in the UI."""
        config = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in (trial.config or {}).items())
        self.tracker.set_tags(run_id, {"toolsweep.state": state, "mlflow.note.content":
                                       f"Trial {trial.trial_id} of {self.title}: **{state}**.\n\nSampled: {config or '—'}"})

    def on_trial_complete(self, iteration, trials, trial, **info):
        from orchestrator.search.report import child_state
        run_id = self._run_of(trial)
        if run_id:
            epoch = (trial.last_result or {}).get("epoch", 0)
            max_epochs = trial.config.get("train.epochs", self.max_epochs)
            stopped = max_epochs is not None and epoch < max_epochs
            self.tracker.set_tags(run_id, {"toolsweep.status": "stopped_early" if stopped else "finished"})
            self._describe(run_id, trial, child_state("ok", epoch, max_epochs, getattr(trial, "num_failures", 0)))
            self.tracker.end_run(run_id, "FINISHED")
        self._refresh(trials)

    def on_trial_error(self, iteration, trials, trial, **info):
        from orchestrator.search.report import child_state, failure_reason
        run_id = self._run_of(trial)
        if run_id:
            # The worker's own one-line reason (a full disk, say) reads better than the traceback's tail.
            own = self.tracker.client.get_run(run_id).data.tags.get("toolsweep.failure_reason")
            traceback = (Path(trial.error_file).read_text()[-4000:]) if trial.error_file else "error"
            reason = own or failure_reason(traceback) or "error"
            self.tracker.set_tags(run_id, {"toolsweep.status": "failed", "toolsweep.failure_reason": reason,
                                           "toolsweep.failure_traceback": traceback})
            # num_failures counts this last failure too, which is not retried
            retries = max(0, getattr(trial, "num_failures", 0) - 1)
            self._describe(run_id, trial, child_state("error", None, None, retries, reason))
            self.tracker.end_run(run_id, "FAILED")
        self._refresh(trials)


def _init_ray(cfg: SweepConfig) -> None:
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    if ray.is_initialized():
        return
    with _own_sigterm_handler():
        _start_ray(cfg)


@contextlib.contextmanager
def _own_sigterm_handler():
    """ray.init replaces the SIGTERM handler twice: a Python one that exits with no cleanup, and a native
    one that aborts the process (exit 134, a crash dump; or, after a sys.exit, a re-raised SIGTERM that
    lost the buffered output). toolsweep's own (cli.main: raise Terminated, which every command cleans up
    after as after Ctrl-C) is put back once Ray is up."""
    ours = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    try:
        yield
    finally:
        if ours is not None:
            signal.signal(signal.SIGTERM, ours)


def _start_ray(cfg: SweepConfig) -> None:
    if os.environ.get("RAY_ADDRESS"):
        ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=False)
    else:
        # Ray's own memory monitor kills a trial's actor with an OutOfMemoryError that Tune 2.60 does
        # not treat as a trial failure: the whole sweep stops ("Caught unexpected exception"). Without
        # the monitor, an out-of-memory trial is killed by the kernel instead, which Tune sees as a
        # dead actor: retried from its checkpoint (max_failures), then recorded as failed.
        os.environ.setdefault("RAY_memory_monitor_refresh_ms", "0")
        # address="local": always a fresh local instance, never a stale cluster recorded under /tmp/ray.
        ray.init(address="local", num_cpus=max(os.cpu_count() or 1, int(cfg.resources.cpus_per_trial)),
                 include_dashboard=False,
                 log_to_driver=False, runtime_env={"env_vars": {"RAY_CHDIR_TO_TRIAL_DIR": "0"}})


def _cluster_autoscales() -> bool:
    """Whether an autoscaler can add nodes to the connected cluster (preflight.cluster_autoscales)."""
    from ray._private import ray_constants
    from ray.autoscaler.v2.utils import is_autoscaler_v2
    from ray.experimental import internal_kv

    from orchestrator.search.preflight import cluster_autoscales

    try:
        raw = internal_kv._internal_kv_get(ray_constants.DEBUG_AUTOSCALING_STATUS)
        return cluster_autoscales(json.loads(raw) if raw else None, is_autoscaler_v2(fetch_from_server=True))
    except Exception:  # noqa: BLE001 - cannot tell: assume it may scale rather than refuse a good sweep
        return True


def _join_cluster(cfg: SweepConfig) -> None:
    """With RAY_ADDRESS: connect, and refuse before any MLflow run when no node can ever hold a trial
    (Ray would queue it forever with the parent run open). A node an autoscaler may add is a note."""
    from orchestrator.search.preflight import NOTE, placement_problems, trial_request

    address = os.environ["RAY_ADDRESS"]
    try:
        _init_ray(cfg)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise ClusterError(f"RAY_ADDRESS={address}: cannot connect to a Ray cluster there ({err})") from err
    found = placement_problems(ray.nodes(), trial_request(cfg), address, _cluster_autoscales())
    for note in (p for p in found if p.startswith(NOTE)):
        print(f"note: {note[len(NOTE):]}", file=sys.stderr)
    fatal = [p for p in found if not p.startswith(NOTE)]
    if fatal:
        ray.shutdown()
        raise ClusterError("\n".join([f"{cfg.name}: the cluster cannot run this sweep:", *(f"  - {p}" for p in fatal)]))


def _trainable(cfg: SweepConfig, parent_run_id: str, base_config: dict):
    from orchestrator.search.preflight import trial_request

    # the request the cluster check measured, in Tune's names (cpu, gpu, memory in whole bytes)
    request = trial_request(cfg)
    resources = {"cpu": request["CPU"], "gpu": request["GPU"]}
    if "memory" in request:
        resources["memory"] = int(request["memory"])
    return tune.with_resources(tune.with_parameters(run_sweep_trial, base_config=base_config,
                                                    parent_run_id=parent_run_id, project_dir=os.getcwd()), resources)


def run_sweep(cfg: SweepConfig, resume_dir: Path | None = None) -> dict:
    """Run (or resume) a sweep; returns the final table and the Pareto front.

    Longer than the other functions on purpose: it is the sweep recipe, read top to bottom (check the
    config against the machine, open or reopen the MLflow parent, build the searcher, scheduler and
    Tuner, run, summarise, promote), as torchtune's recipes are; each step is one call or a few lines."""
    from orchestrator.tracking import Tracker

    from orchestrator.search.preflight import preflight

    if resume_dir:
        state = read_sweep_state(resume_dir)
        cfg = parse_config(state["config"], resume_dir / STATE_FILE)
        check_resumable(resume_dir, state)
    preflight(cfg, resume_dir / STATE_FILE if resume_dir else None)  # before any MLflow run or Ray
    if os.environ.get("RAY_ADDRESS"):
        _join_cluster(cfg)  # connecting starts nothing; what the cluster holds is known only once connected
    tracker = Tracker(cfg.tracking)
    if resume_dir:
        parent, exp_dir = state["parent_run_id"], resume_dir
        tracker.client.update_run(parent, "RUNNING")
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        exp_name = f"{cfg.name}-{stamp}"
        parent = tracker.start_run(exp_name, tags={"toolsweep.kind": "sweep", "toolsweep.sweep": cfg.name,
                                                   "toolsweep.base_model": cfg.model.base})
        tracker.log_params(parent, flat_params(cfg))
        tracker.log_dict(parent, cfg.model_dump(mode="json"), "sweep_config.json")
        # Files only: a generated or hub source has no path here (its rows reach MLflow with each trial's lineage).
        tracker.log_sweep_inputs(parent, {name: src.path for name, src in cfg.data.sources.items() if src.path},
                                 _eval_sets(cfg))
        storage = cfg.search.storage_path
        if "://" not in storage:
            storage = str(Path(storage).resolve())
        exp_dir = Path(storage) / exp_name if "://" not in storage else Path(cfg.output_dir).resolve() / exp_name
        exp_dir.mkdir(parents=True, exist_ok=True)
        (exp_dir / STATE_FILE).write_text(json.dumps({"parent_run_id": parent, "storage": storage,
                                                      "experiment": exp_name,
                                                      "config": cfg.model_dump(mode="json")}, indent=2))
    state = json.loads((exp_dir / STATE_FILE).read_text())
    base_config = cfg.model_dump(mode="json")
    try:  # from here on the parent run exists: any failure marks it FAILED with its reason
        # Build the embedded/tiny base once here rather than in every trial at the same time.
        from orchestrator.train.base_model import resolve_base
        resolve_base(cfg.model, cache_dir() / "models")
        _init_ray(cfg)
        trainable = _trainable(cfg, parent, base_config)
        callback = _SweepCallback(cfg.tracking, parent, cfg.search.objectives, params=list(cfg.search_space),
                                  max_epochs=max_epochs(cfg), title=f"sweep {state['experiment']}")
        if resume_dir:
            tuner = tune.Tuner.restore(tune_state_path(exp_dir, state), trainable=trainable, resume_errored=True)
        else:
            scheduler = ASHAScheduler(time_attr="epoch", metric=RUNG, mode="max", max_t=max_epochs(cfg),
                                      grace_period=cfg.search.grace_period, reduction_factor=cfg.search.reduction_factor)
            tuner = tune.Tuner(
                trainable,
                param_space={d.key: tune_domain(d) for d in space_spec(cfg.search_space)},
                tune_config=tune.TuneConfig(search_alg=_searcher(cfg, cfg.seed, state["experiment"]), scheduler=scheduler,
                                            num_samples=cfg.search.num_samples,
                                            time_budget_s=cfg.search.time_limit_s),
                run_config=tune.RunConfig(
                    name=state["experiment"], storage_path=state["storage"], callbacks=[callback],
                    failure_config=tune.FailureConfig(max_failures=cfg.search.max_failures),
                    checkpoint_config=tune.CheckpointConfig(num_to_keep=cfg.search.keep_checkpoints),
                    verbose=0))
        handler = signal.getsignal(signal.SIGINT)
        with _sigterm_as_sigint() as sigterm, _one_line_trial_failures():
            grid = tuner.fit()
        # Ctrl-C: Tune saves its state and returns as if done (a time limit instead terminates every trial)
        interrupted = _take_back_sigint(handler) or len(grid) > grid.num_terminated + grid.num_errors
        summary = summarise(grid, cfg)
        _log_parent(tracker, parent, summary, cfg, exp_dir)
        summary.update(experiment_dir=str(exp_dir), parent_run_id=parent, experiment_id=tracker.experiment_id,
                       tracking_uri=cfg.tracking.uri)
        if interrupted:  # no promotion from a sweep the user stopped: the front is of the trials done so far
            done = sum(r["status"] != "unfinished" for r in summary["trials"])  # Tune may call a stopped one TERMINATED
            summary["interrupted"] = f"{done} of {cfg.search.num_samples} trial(s) finished"
            summary["terminated"] = sigterm.fired  # SIGTERM, not Ctrl-C: the exit code says which (143, 130)
            _end_interrupted(tracker, parent, summary["interrupted"], exp_dir)
            return summary
        if not any(r["status"] == "ok" for r in summary["trials"]):  # it read FINISHED with nothing made
            reasons = sorted({r.get("error") or r["status"] for r in summary["trials"]})
            tracker.set_tags(parent, {"toolsweep.status": "failed", "toolsweep.failure_reason": (
                f"no trial finished ({len(summary['trials'])} trial(s)): {'; '.join(reasons)}")[:5000]})
            tracker.end_run(parent, "FAILED")
            return summary
        parent_run = tracker.client.get_run(parent)
        promoted_before = resume_dir is not None and "promotion.promoted" in parent_run.data.metrics
        if "toolsweep.failure_reason" in parent_run.data.tags:  # a resumed sweep that now finished: not a stale failure
            tracker.client.delete_tag(parent, "toolsweep.failure_reason")
        if parent_run.data.tags.get("toolsweep.status") in ("interrupted", "failed"):
            tracker.set_tags(parent, {"toolsweep.status": "finished"})
        tracker.end_run(parent, "FINISHED")
        if cfg.promote.mode == "auto" and promoted_before:  # resuming a finished sweep: its decision stands
            summary["promotion_skipped"] = ("this sweep was promoted (or refused) when it finished; `toolsweep "
                                            "promote` decides again")
        elif cfg.promote.mode == "auto":  # promotion at sweep end; never raises (orchestrator/recipes/promote.py)
            from orchestrator.recipes.promote import auto_promote
            summary["promotion"] = auto_promote(cfg, parent)
            describe_parent(tracker, parent, summary, cfg, summary["promotion"])
        return summary
    except BaseException as err:
        tracker.set_tags(parent, {"toolsweep.failure_reason": f"{type(err).__name__}: {err}"[:5000]})
        tracker.end_run(parent, "KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED")
        raise


class _OneLineFailure(logging.Filter):
    """Tune logs every failed attempt of a trial with Ray's whole wrapped traceback (~60 lines, colour codes
    included), even for a user error such as a deleted data file; toolsweep prints each failed trial's
    one-line reason under its table, and MLflow keeps the traceback (`toolsweep.failure_traceback`).
    The record keeps its line, with the reason in place of the traceback (TOOLSWEEP_DEBUG=1 keeps it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from orchestrator.search.report import failure_reason

        if record.exc_info and record.exc_info[1] is not None:
            reason = failure_reason(str(record.exc_info[1]))
            record.msg, record.args = f"{record.getMessage()}: {reason}", ()
            record.exc_info, record.exc_text = None, None
        return True


@contextlib.contextmanager
def _one_line_trial_failures():
    logger = logging.getLogger("ray.tune.execution.tune_controller")
    keep = os.environ.get("TOOLSWEEP_DEBUG", "") not in ("", "0")
    one_line = _OneLineFailure()
    if not keep:
        logger.addFilter(one_line)
    try:
        yield
    finally:
        logger.removeFilter(one_line)


class _SigtermState:
    fired = False


@contextlib.contextmanager
def _sigterm_as_sigint():
    """While Tune runs, SIGTERM (a `kill`, `timeout`, a pod or `ray job stop`) stops the sweep as Ctrl-C
    does: handed to the SIGINT handler Tune installed, which saves its state and returns. ray.init had
    put its own native handler on SIGTERM, which aborted the driver (exit 134, a crash dump, the running
    trial's MLflow run left RUNNING); setting a Python handler here replaces it. The one before is put back."""
    state = _SigtermState()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def forward(signum, frame):
        state.fired = True
        on_sigint = signal.getsignal(signal.SIGINT)
        if callable(on_sigint):
            on_sigint(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, forward)
    try:
        yield state
    finally:
        signal.signal(signal.SIGTERM, before if before is not None else signal.SIG_DFL)


def _take_back_sigint(handler_before: Any) -> bool:
    """After fit(): whether Tune's Ctrl-C handler fired, with `handler_before` (the one Tune replaced) put
    back either way. Tune's handler puts back the one it replaced when it fires and stays installed
    otherwise (ray/tune/tune.py, _setup_signal_catching), so a Ctrl-C during promotion was only logged.
    Trial statuses do not tell: a trial stopped mid-epoch can read TERMINATED, and a Ctrl-C between
    trials leaves none unfinished."""
    if threading.current_thread() is not threading.main_thread():
        return False  # signal handlers live on the main thread only: Tune installed none
    fired = (os.environ.get("TUNE_DISABLE_SIGINT_HANDLER") != "1"
             and signal.getsignal(signal.SIGINT) is handler_before)
    signal.signal(signal.SIGINT, handler_before)
    return fired


def _end_interrupted(tracker, parent: str, progress: str, exp_dir: Path) -> None:
    """The parent run and the children still RUNNING of an interrupted sweep marked KILLED, with how to go
    on: the parent read FINISHED and a child RUNNING for ever."""
    reason = f"interrupted ({progress}); `toolsweep resume {exp_dir}` continues it"
    for run in _children_by_trial(tracker, parent).values():
        if run.info.status == "RUNNING":
            tracker.set_tags(run.info.run_id, {"toolsweep.status": "interrupted"})
            tracker.end_run(run.info.run_id, "KILLED")
    tracker.set_tags(parent, {"toolsweep.status": "interrupted", "toolsweep.failure_reason": reason})
    tracker.end_run(parent, "KILLED")


def summarise(grid, cfg: SweepConfig) -> dict:
    """The trial table and Pareto front; a trial that reported no epoch is `unfinished` (it was listed
    `ok` with no metrics), and is on no front. A failed trial's `error` is its one-line reason (it was the
    first 300 characters of Ray's wrapped traceback, colour codes and all, which never reached the reason)."""
    from orchestrator.search.report import failure_reason

    rows = []
    for result in grid:
        m = result.metrics or {}
        # no epoch reported and no error: stopped by a Ctrl-C, or never started (it read `ok`, epochs None)
        status = "error" if result.error else "unfinished" if m.get("epoch") is None else "ok"
        rows.append({"trial_id": m.get("trial_id"), "status": status,
                     "epoch": m.get("epoch"), "error": failure_reason(str(result.error)) if result.error else None,
                     "config": {k: v for k, v in (result.config or {}).items()},
                     **{k: m.get(k) for k in cfg.search.objectives}, RUNG: m.get(RUNG)})
    rows.sort(key=lambda r: str(r["trial_id"]))
    ok = [r for r in rows if r["status"] == "ok"]
    front = [ok[i]["trial_id"] for i in pareto_front(ok, cfg.search.objectives)]
    return {"trials": rows, "pareto_front": front, "objectives": cfg.search.objectives}


def _children_by_trial(tracker, parent: str) -> dict[str, Any]:
    runs = tracker.client.search_runs([tracker.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent}'")
    return {r.data.tags.get("toolsweep.trial_id"): r for r in runs}


def _eval_sets(cfg: SweepConfig) -> dict[str, Path]:
    """The sets a sweep scores on: the dev set each epoch, the promotion set when it promotes."""
    sets = {"dev": Path(cfg.data.eval)}
    if cfg.promote.mode == "auto":
        sets["promotion"] = Path(cfg.promote.eval_set or cfg.data.eval)
    return sets


def describe_parent(tracker, parent: str, summary: dict, cfg: SweepConfig, promotion: dict | None = None) -> None:
    """The parent run as a report in the MLflow UI: summary metrics, the Markdown description (trial
    table, Pareto front, promotion decision), and `toolsweep.pareto` on the front's child runs."""
    from orchestrator.search.report import best_metrics, parent_note

    children = _children_by_trial(tracker, parent)
    front = set(summary["pareto_front"])
    for trial_id, run in children.items():
        tracker.set_tags(run.info.run_id, {"toolsweep.pareto": str(trial_id in front).lower()})
    states = {tid: r.data.tags.get("toolsweep.state", "") for tid, r in children.items() if r.data.tags.get("toolsweep.state")}
    metrics = best_metrics(summary)
    if promotion and "rows" in promotion:  # the champion candidate beside its reference, on the promotion set
        for metric, row in promotion["rows"].items():
            metrics[f"promotion.{metric}.candidate"] = row.get("b")
            metrics[f"promotion.{metric}.{promotion.get('against', 'reference')}"] = row.get("a")
        metrics["promotion.promoted"] = float(bool(promotion.get("promote")))
    tracker.log_metrics(parent, metrics)
    tracker.set_tags(parent, {"mlflow.note.content": parent_note(cfg.name, summary, states, promotion)})


def _log_parent(tracker, parent: str, summary: dict, cfg: SweepConfig, exp_dir: Path) -> None:
    tracker.log_dict(parent, summary, "sweep_summary.json")
    tracker.set_tags(parent, {"toolsweep.pareto_front": ",".join(summary["pareto_front"]),
                              "toolsweep.trials": str(len(summary["trials"]))})
    describe_parent(tracker, parent, summary, cfg)
    names = list(cfg.search.objectives)
    ok = [r for r in summary["trials"] if r["status"] == "ok" and all(r.get(n) is not None for n in names)]
    if not ok:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = names[0]
    y = names[1] if len(names) > 1 else RUNG
    fig, ax = plt.subplots(figsize=(5, 4))
    on_front = [r for r in ok if r["trial_id"] in summary["pareto_front"]]
    ax.scatter([r[x] for r in ok], [r[y] for r in ok], c="lightgray", label="trials")
    ax.scatter([r[x] for r in on_front], [r[y] for r in on_front], c="crimson", label="Pareto front")
    for r in ok:
        ax.annotate(r["trial_id"][-5:], (r[x], r[y]), fontsize=7)
    ax.set_xlabel(f"{x} ({cfg.search.objectives[x]})")
    ax.set_ylabel(f"{y} ({cfg.search.objectives.get(y, 'max')})")
    ax.set_title(f"{cfg.name}: quantized models on the dev slice")
    ax.legend()
    path = exp_dir / "pareto.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    tracker.log_artifact(parent, path, None)


def tune_state_path(exp_dir: Path, state: dict) -> str:
    """Where Tune's experiment state is read (and, on resume, written): the folder the user named when
    Tune's state is in it (a copied or moved sweep: resuming from the recorded absolute path wrote into
    the original project); the recorded storage only when it is not. Absolute: Tune reads a relative
    folder as a URI and refuses it ("URI has empty scheme")."""
    if any(Path(exp_dir).glob("experiment_state-*.json")):
        return str(Path(exp_dir).resolve())
    return state["storage"] + "/" + state["experiment"]


def check_resumable(exp_dir: Path, state: dict) -> None:
    """ConfigError naming the file when Tune's saved state cannot be read, before Ray starts: an empty
    searcher state (a crash while Tune wrote it) made `resume` wait for ever, and a truncated experiment
    state or a damaged tuner.pkl ended in Tune's tracebacks and an "unexpected" error."""
    import ray.cloudpickle as cloudpickle

    _, where = experiment_status(exp_dir)  # the experiment state, read as `status` reads it, and where it is
    if "://" in where:
        return  # cloud storage: Tune reads it itself
    recorded = Path(state["storage"]) / state["experiment"] if "://" not in state["storage"] else None
    if recorded is not None and Path(where).resolve() != recorded.resolve():
        # Tune gives a restored sweep's new trials the storage its state records: a resumed copy wrote them into
        # the original folder, and with the original gone they failed to start ("Unable to set up cluster storage")
        there = recorded.is_dir()
        raise ConfigError(f"{exp_dir}: a copy or a move of the sweep made at {recorded}"
                          f"{'' if there else ' (gone now)'}; Tune would put the resumed sweep's new trials there, "
                          f"{'not in this folder' if there else 'and they would fail to start'}: resume it at "
                          f"{recorded}{'' if there else ' (move it back first)'}; `status` reads this folder as it is")
    for path in [Path(where) / "tuner.pkl", *sorted(Path(where).glob("searcher-state-*.pkl"))]:
        if not path.exists():
            continue
        try:
            cloudpickle.loads(path.read_bytes())
        except Exception as err:  # noqa: BLE001 - any unpickling failure means the same: the file is damaged
            why = "empty" if path.stat().st_size == 0 else f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:120]}"
            raise ConfigError(f"{path}: Tune's saved state cannot be read ({why}); the sweep was probably stopped while "
                              "writing it. Restore the file from a copy, or start the sweep again") from None


def experiment_status(exp_dir: Path) -> tuple[list[dict], str]:
    """Per-trial state of a sweep on disk, read from Tune's own experiment state, and where that state
    was read (tune_state_path: the folder named, or the recorded original when the folder holds none)."""
    from ray.tune import ExperimentAnalysis

    from orchestrator.search.report import failure_reason

    state = read_sweep_state(exp_dir)
    here = sorted(Path(exp_dir).glob("experiment_state-*.json"))
    where = tune_state_path(exp_dir, state)
    try:
        analysis = ExperimentAnalysis(where)
    except (ValueError, FileNotFoundError, KeyError, TypeError) as err:
        # no experiment_state-*.json there, one that is not JSON, or one without Tune's keys (KeyError)
        if here:
            why = f"no {err} in it" if isinstance(err, KeyError) else (str(err).splitlines() or [type(err).__name__])[0]
            raise ConfigError(f"{here[-1]}: Tune's experiment state cannot be read ({why})") from None
        raise ConfigError(f"{exp_dir}: no Tune experiment state (experiment_state-*.json) here or at the recorded "
                          f"{where} ({(str(err).splitlines() or [type(err).__name__])[0]})") from None
    ids = {t.trial_id for t in analysis.trials}
    folders = {p.name.split("_")[3] for p in Path(where).glob("run_sweep_trial_*_*") if p.is_dir()} \
        if "://" not in where else set()
    if ids and folders and not ids & folders:  # Tune reads the newest state file, whoever wrote it
        raise ConfigError(f"{where}: Tune's newest experiment state names trial(s) {sorted(ids)[:4]}, none of which has "
                          f"a folder here (the folders are of {sorted(folders)[:4]}): it is another sweep's; move it out")
    rows = []
    for trial in analysis.trials:
        last: dict[str, Any] = trial.last_result or {}
        # its folder deleted (checkpoints and results gone): it read TERMINATED with its metrics, nothing else said
        gone = bool(folders) and trial.trial_id not in folders and trial.status in ("TERMINATED", "ERROR")
        # (Tune's own error_file needs a running Ray session: the file is found by the trial's folder instead)
        error = next(Path(where).glob(f"run_sweep_trial_{trial.trial_id}_*/error.txt"), None) \
            if trial.status == "ERROR" and "://" not in where else None
        reason = failure_reason(error.read_text(errors="replace")) if error is not None else None
        rows.append({"trial_id": trial.trial_id, "status": f"{trial.status} (folder missing)" if gone else trial.status,
                     "epoch": last.get("epoch"), "error": reason,
                     **{k: (trial.config or {}).get(k) for k in state["config"]["search_space"]},
                     **{k: last.get(k) for k in state["config"]["search"]["objectives"]}})
    return rows, where
