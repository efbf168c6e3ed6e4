"""Fault recovery by repetition: a real sweep on the tiny model, its trial workers and its driver
killed again and again, and what is left at the end counted.

    python benchmarks/fault_soak.py [--worker-kills 10] [--driver-kills 3] [--trials 3] [--seed 0] [--json out.json]

Not part of `make test` (minutes, not seconds). What it does:

1. a clean run of the sweep (the baseline wall time);
2. the same sweep again, in a fresh folder, while a seeded schedule SIGKILLs a Tune trial worker
   `--worker-kills` times (each at a random moment of its life: 2 s up to one clean trial's wall time
   after the worker appeared, so in training, in eval, before or after a stored checkpoint) and SIGKILLs the whole driver (and the local Ray it started) `--driver-kills` times,
   each followed by `toolsweep resume <sweep dir>`.

Printed at the end (and written with --json): kills made and survived, trials finished, MLflow child
runs per trial (must be exactly one each), metric steps logged twice (must be zero), dev epochs per
trial (must be 1..epochs), restores from a stored checkpoint (MLflow `restored_from_epoch`), and the
wall-time overhead of recovery against the clean run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.offline import offline_defaults  # noqa: E402
from orchestrator.search.space import apply_params  # noqa: E402
from tests.helpers import tiny_sweep_config  # noqa: E402


def sweep_config(tmp: Path, trials: int, epochs: int, max_failures: int) -> dict:
    """The tests' tiny-model sweep (tests/helpers.py), one trial at a time, every trial running all
    its epochs (no early stop)."""
    return apply_params(tiny_sweep_config(tmp), {
        "name": "soak", "data.mix.total": 16, "train.epochs": epochs, "train.batch_size": 2,
        "tracking.experiment": "soak", "search.num_samples": trials, "search.max_concurrent": 1,
        "search.grace_period": epochs, "search.max_failures": max_failures,
        "search.objectives": {"tool_selection_accuracy": "max"},
        "search_space": {"train.learning_rate": {"loguniform": [1e-4, 1e-2]}}})


def _env() -> dict:
    env = offline_defaults({**os.environ, "PYTHONUNBUFFERED": "1"})
    env.pop("RAY_ADDRESS", None)
    return env


def _start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "orchestrator.cli", *args], cwd=ROOT, env=_env(),
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def _workers(proc: subprocess.Popen) -> list:
    import psutil
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for p in family:
        try:
            if "ImplicitFunc" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.Error:
            pass
    return out


def _kill_driver(proc: subprocess.Popen) -> None:
    import psutil
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for p in family:  # Ray's own processes may sit in other sessions
        try:
            p.kill()
        except psutil.Error:
            pass
    proc.wait(timeout=60)


def run_clean(tmp: Path, cfg: dict) -> float:
    path = tmp / "sweep.yaml"
    path.write_text(json.dumps(cfg))
    t0 = time.time()
    proc = _start(["sweep", str(path), "--json", str(tmp / "summary.json")], tmp / "log.txt")
    if proc.wait() != 0:
        raise SystemExit(f"the clean sweep failed; see {tmp / 'log.txt'}")
    return time.time() - t0


def run_faulted(tmp: Path, cfg: dict, worker_kills: int, driver_kills: int, seed: int, window_s: float,
                say=print) -> dict:
    """Run the sweep under the kill schedule; returns counts of what was done."""
    rng = random.Random(seed)
    path = tmp / "sweep.yaml"
    path.write_text(json.dumps(cfg))
    # Spread the driver kills over the worker-kill sequence: after the k-th worker kill.
    driver_after = sorted(rng.sample(range(1, worker_kills + driver_kills + 1), driver_kills)) if driver_kills else []
    log = tmp / "log.txt"
    t0 = time.time()
    proc = _start(["sweep", str(path), "--json", str(tmp / "summary.json")], log)
    done = {"worker_kills": 0, "driver_kills": 0, "resumes": 0}
    events = 0
    while True:
        if proc.poll() is not None:
            if proc.returncode != 0:
                raise SystemExit(f"the sweep exited {proc.returncode} after {events} kills; see {log}")
            break
        if events >= worker_kills + driver_kills:
            proc.wait()
            continue
        workers = _workers(proc)
        if not workers:
            time.sleep(0.5)
            continue
        # Anywhere in a trial's life: its training, its per-epoch eval, after a stored checkpoint or before.
        delay = rng.uniform(2, window_s)
        deadline = time.time() + delay
        while time.time() < deadline and proc.poll() is None and _workers(proc):
            time.sleep(0.2)
        if proc.poll() is not None or not _workers(proc):
            continue
        events += 1
        if events in driver_after:
            say(f"[{time.time() - t0:6.0f} s] kill {events}: the driver")
            _kill_driver(proc)
            done["driver_kills"] += 1
            exp_dirs = sorted((tmp / "ray").glob("soak-*"))
            if not exp_dirs:
                raise SystemExit("the driver died before its sweep folder existed")
            proc = _start(["resume", str(exp_dirs[-1]), "--json", str(tmp / "summary.json")], log)
            done["resumes"] += 1
        else:
            for w in _workers(proc):
                w.send_signal(signal.SIGKILL)
            say(f"[{time.time() - t0:6.0f} s] kill {events}: a trial worker")
            done["worker_kills"] += 1
    done["wall_s"] = time.time() - t0
    return done


def audit(tmp: Path, trials: int, epochs: int) -> dict:
    """What MLflow and the summary hold once the faulted sweep has ended."""
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp}/mlruns/mlflow.db")
    exp = client.get_experiment_by_name("soak")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    per_trial: dict[str, int] = {}
    duplicated, restores, bad_epochs = 0, 0, []
    for c in children:
        per_trial[c.data.tags.get("toolsweep.trial_id", "?")] = per_trial.get(c.data.tags.get("toolsweep.trial_id", "?"), 0) + 1
        for key in ("train/loss", "dev/tool_selection_accuracy"):
            steps = [m.step for m in client.get_metric_history(c.info.run_id, key)]
            duplicated += len(steps) - len(set(steps))
        dev = sorted(m.step for m in client.get_metric_history(c.info.run_id, "dev/tool_selection_accuracy"))
        if dev != list(range(1, epochs + 1)):
            bad_epochs.append((c.data.tags.get("toolsweep.trial_id"), dev))
        restores += len(client.get_metric_history(c.info.run_id, "restored_from_epoch"))
    summary = json.loads((tmp / "summary.json").read_text())
    return {"parents": len(parents), "parent_status": [p.info.status for p in parents],
            "trials_finished": sum(t["status"] == "ok" for t in summary["trials"]), "trials": trials,
            "child_runs": len(children), "child_runs_per_trial": sorted(per_trial.values()),
            "children_finished": sum(c.info.status == "FINISHED" for c in children),
            "duplicated_metric_steps": duplicated, "trials_with_wrong_dev_epochs": bad_epochs,
            "checkpoint_restores": restores}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker-kills", type=int, default=10, help="SIGKILLs of a running trial worker")
    ap.add_argument("--driver-kills", type=int, default=3, help="SIGKILLs of the driver, each followed by resume")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0, help="seeds the kill schedule")
    ap.add_argument("--skip-clean", action="store_true", help="no clean baseline run (no overhead figure)")
    ap.add_argument("--kill-window", type=float, help="latest kill, in seconds after a worker appears "
                    "(default: 90%% of a clean trial's wall time)")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    args = ap.parse_args(argv)
    # Retries must outlast the kills: every worker kill may land on the same trial.
    max_failures = args.worker_kills + args.driver_kills + 1
    with tempfile.TemporaryDirectory(prefix="toolsweep-soak-") as work:
        work = Path(work)
        clean_s = None
        if not args.skip_clean:
            (work / "clean").mkdir()
            clean_s = run_clean(work / "clean", sweep_config(work / "clean", args.trials, args.epochs, max_failures))
            print(f"clean sweep: {clean_s:.0f} s")
        (work / "soak").mkdir()
        # A kill lands up to one clean trial's length after a worker appears (90 s without a clean run).
        window = args.kill_window or (0.9 * clean_s / args.trials if clean_s else 90.0)
        print(f"kill window: 2-{window:.0f} s after a trial worker appears")
        done = run_faulted(work / "soak", sweep_config(work / "soak", args.trials, args.epochs, max_failures),
                           args.worker_kills, args.driver_kills, args.seed, window)
        result = {**done, **audit(work / "soak", args.trials, args.epochs), "clean_wall_s": clean_s,
                  "recovery_overhead": (done["wall_s"] / clean_s - 1) if clean_s else None}
    ok = (result["child_runs_per_trial"] == [1] * args.trials and result["duplicated_metric_steps"] == 0
          and result["trials_finished"] == args.trials and not result["trials_with_wrong_dev_epochs"]
          and result["parents"] == 1)
    rows = [("worker kills survived", f"{result['worker_kills']} of {args.worker_kills} planned"),
            ("driver kills survived (resumed)", f"{result['driver_kills']} of {args.driver_kills} planned"),
            ("trials finished", f"{result['trials_finished']} of {args.trials}"),
            ("MLflow parent runs", result["parents"]),
            ("MLflow child runs per trial", result["child_runs_per_trial"]),
            ("metric steps logged twice", result["duplicated_metric_steps"]),
            ("trials with dev epochs other than 1..N", len(result["trials_with_wrong_dev_epochs"])),
            ("restores from a stored checkpoint", result["checkpoint_restores"]),
            ("faulted wall time", f"{result['wall_s']:.0f} s"),
            ("clean wall time", "—" if clean_s is None else f"{clean_s:.0f} s"),
            ("recovery overhead", "—" if clean_s is None else f"{result['recovery_overhead']:+.0%}")]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print("verdict:", "every kill recovered cleanly" if ok else "RECOVERY PROBLEM (see figures above)")
    if result["worker_kills"] + result["driver_kills"] < args.worker_kills + args.driver_kills:
        print("note: the sweep finished before every planned kill was made; raise --trials or --epochs for more")
    if args.json:
        args.json.write_text(json.dumps({**result, "ok": ok}, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
