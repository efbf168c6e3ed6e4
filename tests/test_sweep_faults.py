"""Faults during a real sweep: a trial's worker is SIGKILLed mid-run, and the driver itself is SIGKILLed.

Both must end with every trial done exactly once, one MLflow parent, one child run per trial and no
metric step logged twice.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from tests.helpers import mlflow_client, tiny_sweep_config

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _write(tmp: Path, n: int, epochs: int) -> Path:
    cfg = tiny_sweep_config(tmp)
    cfg["search"].update({"num_samples": n, "max_concurrent": 1, "grace_period": epochs, "max_failures": 2})
    cfg["data"]["mix"]["total"] = 16
    cfg["train"].update({"epochs": epochs, "batch_size": 2})
    path = tmp / "sweep.yaml"
    path.write_text(json.dumps(cfg))
    return path


def _children(tmp: Path) -> list:
    # Only once the driver has made its sweep folder: it has made the MLflow store and parent run by
    # then, so this reader never races its schema creation (two processes creating one SQLite schema
    # at once fail with "table ... already exists").
    if not list((tmp / "ray").glob("tiny-sweep-*")):
        return []
    client = mlflow_client(tmp)
    exp = client.get_experiment_by_name("sweep-e2e")
    if exp is None:
        return []
    return [r for r in client.search_runs([exp.experiment_id]) if "mlflow.parentRunId" in r.data.tags]


def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"sweep exited ({proc.returncode}) before {what}:\n{proc.stderr.read()[-4000:]}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _dev_epochs(tmp: Path, run_id: str) -> list[int]:
    return [m.step for m in mlflow_client(tmp).get_metric_history(run_id, "dev/tool_selection_accuracy")]


def _assert_clean_history(tmp: Path, n: int, epochs: int) -> None:
    client = mlflow_client(tmp)
    children = _children(tmp)
    assert len(children) == n
    assert len({c.data.tags["mlflow.parentRunId"] for c in children}) == 1
    for child in children:
        assert child.info.status == "FINISHED", child.data.tags
        loss = [m.step for m in client.get_metric_history(child.info.run_id, "train/loss")]
        assert loss == sorted(set(loss)), f"duplicate loss steps in {child.info.run_id}: {loss}"
        assert _dev_epochs(tmp, child.info.run_id) == list(range(1, epochs + 1))


def _local_env() -> dict:
    """The test's environment, minus any RAY_ADDRESS: each sweep starts the local Ray it is killed with."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("RAY_ADDRESS", None)
    return env


@contextmanager
def _running_sweep(cfg: Path, tmp: Path):
    """`toolsweep sweep cfg` in its own process group; whatever the test does, none of it outlives the test."""
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "sweep", str(cfg), "--json",
                             str(tmp / "summary.json")], cwd=ROOT, env=_local_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def _finishes_cleanly(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-4000:]


def test_killed_trial_worker_resumes_from_its_checkpoint(tmp_path):
    # One trial of two epochs is the least that has a stored checkpoint to resume from and an epoch left to run.
    n, epochs = 1, 2
    with _running_sweep(_write(tmp_path, n, epochs), tmp_path) as proc:
        # Kill once Tune has registered the trial's epoch-1 checkpoint, so there is something to resume from.
        # (The checkpoint folder appears on disk before the driver registers it: a kill in between restarts
        # the trial from scratch, which is correct but is not what this test is about.)
        _wait_for(lambda: any("toolsweep.stored_checkpoint_epoch" in c.data.tags for c in _children(tmp_path)),
                  600, "the first registered checkpoint", proc)
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
                   if "ImplicitFunc" in " ".join(p.cmdline())]
        assert workers, "no Tune trial worker found"
        for w in workers:
            w.send_signal(signal.SIGKILL)
        _finishes_cleanly(proc)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert len(summary["trials"]) == n and all(t["status"] == "ok" for t in summary["trials"])
    _assert_clean_history(tmp_path, n, epochs)
    # the killed trial was restored from its stored checkpoint, not restarted from scratch
    resumed = [c for c in _children(tmp_path) if "toolsweep.resumed_from_epoch" in c.data.tags]
    assert len(resumed) == 1 and int(resumed[0].data.tags["toolsweep.resumed_from_epoch"]) >= 1


def test_killed_driver_then_resume_finishes_the_same_sweep(tmp_path):
    # Two one-epoch trials run one at a time: the driver dies once the first has finished, while the second runs.
    n, epochs = 2, 1
    with _running_sweep(_write(tmp_path, n, epochs), tmp_path) as proc:
        _wait_for(lambda: sum(1 for c in _children(tmp_path) if c.info.status == "FINISHED") >= 1, 900,
                  "one finished trial", proc)
        family = psutil.Process(proc.pid).children(recursive=True)
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the local Ray it started, all at once
        for p in family:
            if p.is_running():
                p.kill()
        proc.wait(timeout=60)
    before = {c.data.tags["toolsweep.trial_id"] for c in _children(tmp_path)}
    exp_dirs = list((tmp_path / "ray").glob("tiny-sweep-*"))
    assert len(exp_dirs) == 1
    res = subprocess.run([sys.executable, "-m", "orchestrator.cli", "resume", str(exp_dirs[0]), "--json",
                          str(tmp_path / "resumed.json")], cwd=ROOT, env=_local_env(), capture_output=True, text=True,
                         timeout=1200)
    assert res.returncode == 0, res.stderr[-4000:]
    summary = json.loads((tmp_path / "resumed.json").read_text())
    ids = {t["trial_id"] for t in summary["trials"]}
    assert len(summary["trials"]) == n and before <= ids  # the searcher did not start over
    _assert_clean_history(tmp_path, n, epochs)
    parent = mlflow_client(tmp_path).get_run(summary["parent_run_id"])
    assert parent.info.status == "FINISHED"
    # a trial folder deleted afterwards (its checkpoints gone): `status` said TERMINATED with its metrics, nothing else
    gone = sorted(exp_dirs[0].glob("run_sweep_trial_*"))[0]
    subprocess.run(["rm", "-rf", str(gone)], check=True)
    res = subprocess.run([sys.executable, "-m", "orchestrator.cli", "status", str(exp_dirs[0])], cwd=ROOT,
                         env=_local_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "TERMINATED (folder missing)" in res.stdout, res.stdout[-2000:] + res.stderr[-2000:]


def test_ctrl_c_ends_the_sweep_there_without_promoting(tmp_path):
    """A blind probe: after Ctrl-C Tune returned as if the sweep were done, and `promote: auto` promoted the
    front of the one trial finished, moved the champion alias and exited 0 (the parent run FINISHED, the
    stopped trial's child RUNNING for ever)."""
    path = _write(tmp_path, 2, 1)
    cfg = json.loads(path.read_text())
    cfg["promote"] = {**cfg.get("promote", {}), "mode": "auto", "family": "fam-int"}
    path.write_text(json.dumps(cfg))
    with _running_sweep(path, tmp_path) as proc:
        _wait_for(lambda: sum(1 for c in _children(tmp_path) if c.info.status == "FINISHED") >= 1, 900,
                  "one finished trial", proc)
        os.kill(proc.pid, signal.SIGINT)  # the driver: Ctrl-C
        _, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err[-4000:]
    assert re.search(r"the sweep was interrupted \([12] of 2 trial\(s\) finished\), so nothing was promoted; "
                     r"`toolsweep resume \S+` continues it", err), err[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "promotion" not in summary and summary["interrupted"]
    client = mlflow_client(tmp_path)
    parent = client.get_run(summary["parent_run_id"])
    assert parent.info.status == "KILLED" and parent.data.tags["toolsweep.status"] == "interrupted"
    assert all(c.info.status in ("FINISHED", "KILLED") for c in _children(tmp_path))
    assert not client.search_registered_models("name = 'fam-int'")
    # a searcher state emptied by a crash while Tune wrote it: `resume` waited for ever once Ray was up
    (exp_dir,) = (tmp_path / "ray").glob("tiny-sweep-*")
    (searcher,) = exp_dir.glob("searcher-state-*.pkl")
    searcher.write_bytes(b"")
    res = subprocess.run([sys.executable, "-m", "orchestrator.cli", "resume", str(exp_dir)], cwd=ROOT, env=_local_env(),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and f"config error: {searcher}: Tune's saved state cannot be read (empty)" in res.stderr
    # the folder's trials are not the ones its (newest) state names: another sweep's state, shown as this one's
    for i, trial in enumerate(sorted(exp_dir.glob("run_sweep_trial_*"))):
        trial.rename(trial.with_name("_".join(["run_sweep_trial", f"{i:08d}", *trial.name.split("_")[4:]])))
    res = subprocess.run([sys.executable, "-m", "orchestrator.cli", "status", str(exp_dir)], cwd=ROOT, env=_local_env(),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "it is another sweep's; move it out" in res.stderr, res.stderr[-2000:]


def _mount_tmpfs(folder: Path, size_mb: int) -> bool:
    """A small filesystem of its own, so the test can really fill it (root with CAP_SYS_ADMIN)."""
    if os.geteuid() != 0:
        return False
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)],
                         capture_output=True, text=True)
    return res.returncode == 0


def _fill(folder: Path) -> Path:
    """Write until the filesystem refuses: ENOSPC from the kernel, as on a full disk."""
    ballast = folder / "ballast.bin"
    chunk = b"\0" * (1 << 20)
    with open(ballast, "wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError:
            pass
    return ballast


def test_a_full_disk_mid_trial_fails_that_trial_with_its_reason_and_the_sweep_goes_on(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    if not _mount_tmpfs(out, 400):
        pytest.skip("needs root with CAP_SYS_ADMIN to mount a small tmpfs it can fill for real")
    try:
        cfg = tiny_sweep_config(tmp_path)
        cfg["output_dir"] = str(out / "runs")
        cfg["search"].update({"num_samples": 2, "max_concurrent": 1, "grace_period": 1, "max_failures": 0})
        cfg["data"]["mix"]["total"] = 8
        cfg["train"].update({"epochs": 1, "batch_size": 4})
        path = tmp_path / "sweep.yaml"
        path.write_text(json.dumps(cfg))
        with _running_sweep(path, tmp_path) as proc:
            trials = out / "runs" / "trials"
            _wait_for(lambda: trials.is_dir() and any(trials.iterdir()), 600, "the first trial's folder", proc)
            ballast = _fill(out)  # the disk is full while the first trial runs
            failed = _wait_for(lambda: [c for c in _children(tmp_path) if "toolsweep.failure_reason" in c.data.tags],
                               600, "the first trial to record its failure", proc)
            ballast.unlink()  # space again for the trial that comes next
            _finishes_cleanly(proc)
        summary = json.loads((tmp_path / "summary.json").read_text())
        assert sorted(t["status"] for t in summary["trials"]) == ["error", "ok"]
        runs = {c.data.tags["toolsweep.trial_id"]: c for c in _children(tmp_path)}
        assert len(runs) == 2
        bad = runs[failed[0].data.tags["toolsweep.trial_id"]]
        reason = bad.data.tags["toolsweep.failure_reason"]
        assert bad.info.status == "FAILED"
        assert reason.startswith("no space left on device") and str(out) in reason and " during " in reason, reason
        assert "\n" not in reason and "Traceback" not in reason
        assert bad.data.tags["toolsweep.state"].startswith("failed: no space left on device during ")
        assert "retried" not in bad.data.tags["toolsweep.state"]  # max_failures 0: failed once, never retried
        assert not list((out / "runs" / "trials" / bad.data.tags["toolsweep.trial_id"]).glob("epoch-*"))
        [good] = [c for c in runs.values() if c is not bad]
        assert good.info.status == "FINISHED"
        assert _dev_epochs(tmp_path, good.info.run_id) == [1]
    finally:
        subprocess.run(["umount", "-l", str(out)], capture_output=True)


def test_tunes_ctrl_c_handler_is_read_and_put_back_after_fit():
    """Tune's handler puts back the one it replaced when it fires and stays installed otherwise, where a
    Ctrl-C during promotion was only logged: after fit() the handler before it is back either way."""
    from orchestrator.recipes.sweep import _take_back_sigint

    def before(signum, frame):
        raise KeyboardInterrupt

    def tunes(signum, frame):  # what Tune installs: it logs a Ctrl-C and stops the trials
        pass

    previous = signal.signal(signal.SIGINT, before)
    try:
        signal.signal(signal.SIGINT, tunes)          # fit() ran, no Ctrl-C: Tune's handler still there
        assert _take_back_sigint(before) is False and signal.getsignal(signal.SIGINT) is before
        # a Ctrl-C: Tune's handler fired and put `before` back itself
        assert _take_back_sigint(before) is True and signal.getsignal(signal.SIGINT) is before
    finally:
        signal.signal(signal.SIGINT, previous)


def test_sigterm_during_fit_reaches_tunes_ctrl_c_handler_and_ours_is_back_after():
    """A blind probe: SIGTERM to a running sweep aborted the driver (exit 134, a native crash dump; ray.init
    puts its own handlers on SIGTERM) and left the running trial's MLflow run RUNNING. Now, while Tune runs,
    it goes to the SIGINT handler Tune installed (the Ctrl-C path), and after it toolsweep's own is back."""
    from orchestrator.recipes.sweep import _own_sigterm_handler, _sigterm_as_sigint

    seen = []

    def ours(signum, frame):
        seen.append("ours")

    def rays(signum, frame):  # what ray.init installs: exit at once, no cleanup
        seen.append("ray")

    def tunes(signum, frame):
        seen.append(("tune", signum))

    previous_term, previous_int = signal.signal(signal.SIGTERM, ours), signal.signal(signal.SIGINT, tunes)
    try:
        with _own_sigterm_handler():
            signal.signal(signal.SIGTERM, rays)      # ray.init
        assert signal.getsignal(signal.SIGTERM) is ours
        with _sigterm_as_sigint() as term:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
        assert term.fired and seen == [("tune", signal.SIGINT)]
        assert signal.getsignal(signal.SIGTERM) is ours
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)
