"""Which MLflow store a Tracker writes to: MLFLOW_TRACKING_URI (a cluster's server) wins over the sweep file."""

from pathlib import Path

import pytest

from orchestrator import tracking
from orchestrator.config import TrackingConfig


def test_env_uri_wins_over_the_sweep_file(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    assert tracking.tracking_uri(TrackingConfig(uri="sqlite:///mlruns/mlflow.db")) == "http://mlflow:5000"


def test_sweep_file_uri_without_env(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert tracking.tracking_uri(TrackingConfig(uri="sqlite:///store/m.db")) == f"sqlite:///{tmp_path.resolve()}/store/m.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")  # set but empty: not an override
    assert tracking.tracking_uri(TrackingConfig(uri="http://a:1")) == "http://a:1"


def test_tracker_writes_to_the_env_store_not_the_default(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/server.db")
    tracker = tracking.Tracker(TrackingConfig(experiment="cluster"))  # default uri: sqlite:///mlruns/mlflow.db
    run_id = tracker.start_run("r")
    assert tracker.uri == f"sqlite:///{tmp_path}/server.db"
    assert tracker.client.get_run(run_id).info.experiment_id == tracker.experiment_id
    assert not (tmp_path / "mlruns").exists()
    assert (tmp_path / "server.db").is_file()
    # A local store keeps the configured artifact root.
    assert tracker.client.get_experiment(tracker.experiment_id).artifact_location == \
        (tmp_path / "mlruns" / "artifacts" / "cluster").as_uri()


class _RecordingClient:
    created: list = []

    def __init__(self, tracking_uri):
        self.tracking_uri = tracking_uri

    def get_experiment_by_name(self, name):
        return None

    def create_experiment(self, name, artifact_location=None, tags=None):
        self.created.append((self.tracking_uri, name, artifact_location))
        return "1"


@pytest.mark.parametrize("uri, expected", [
    ("http://mlflow:5000", None),  # the server's --serve-artifacts root, not a path on this pod
    ("https://mlflow.example.com", None),
    ("sqlite:////data/m.db", Path("/art/exp").as_uri()),
])
def test_server_experiments_use_the_server_artifact_root(monkeypatch, uri, expected):
    monkeypatch.setattr(tracking, "MlflowClient", _RecordingClient)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    _RecordingClient.created = []
    tracking.Tracker(TrackingConfig(artifact_root=Path("/art"), experiment="exp"))
    assert _RecordingClient.created == [(uri, "exp", expected)]


def test_experiments_open_in_the_model_training_view(monkeypatch, tmp_path):
    """MLflow's UI picks its GenAI or model-training view from mlflow.experimentKind: set on new
    experiments, added to old ones, a user's own choice kept."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/m.db")
    cfg = TrackingConfig(experiment="kinds", artifact_root=tmp_path / "art")
    tracker = tracking.Tracker(cfg)
    kind = lambda: tracker.client.get_experiment(tracker.experiment_id).tags.get("mlflow.experimentKind")  # noqa: E731
    assert kind() == "custom_model_development"
    tracker.client.delete_experiment_tag(tracker.experiment_id, "mlflow.experimentKind")
    tracking.Tracker(cfg)  # an experiment made before toolsweep tagged them
    assert kind() == "custom_model_development"
    tracker.client.set_experiment_tag(tracker.experiment_id, "mlflow.experimentKind", "finetuning")
    tracking.Tracker(cfg)
    assert kind() == "finetuning"


def test_a_dataset_another_trial_inserted_first_is_logged_again_not_a_crash():
    """Two trials logging the same training mix at once both inserted the dataset row; one failed on
    MLflow's UNIQUE constraint and crashed its trial (retried from a checkpoint). The insert is tried
    again, finding the other's row; any other store error still propagates."""
    from mlflow.exceptions import MlflowException

    class RacingClient:  # stands in for MlflowClient.log_inputs only: the retry is what is under test
        def __init__(self, failures: int, message: str):
            self.failures, self.message, self.calls = failures, message, 0

        def log_inputs(self, run_id, datasets):
            self.calls += 1
            if self.calls <= self.failures:
                raise MlflowException(self.message)

    tracker = tracking.Tracker.__new__(tracking.Tracker)
    unique = "(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id, datasets.name"
    tracker.client = RacingClient(1, unique)
    tracker._log_inputs("run", [])
    assert tracker.client.calls == 2
    tracker.client = RacingClient(9, unique)
    with pytest.raises(MlflowException, match="UNIQUE"):
        tracker._log_inputs("run", [])
    assert tracker.client.calls == 4
    tracker.client = RacingClient(1, "database is read-only")
    with pytest.raises(MlflowException, match="read-only"):
        tracker._log_inputs("run", [])
    assert tracker.client.calls == 1


def test_a_store_whose_artifacts_sit_in_another_projects_folder_is_refused(tmp_path):
    """A blind probe copied a project: promote and resume then wrote into the original's mlruns/artifacts."""
    from types import SimpleNamespace

    from orchestrator.errors import UsageError
    from orchestrator.tracking import _check_artifact_location

    store = f"sqlite:///{tmp_path}/copy/mlruns/mlflow.db"
    moved = SimpleNamespace(name="toolsweep", artifact_location=f"file://{tmp_path}/original/mlruns/artifacts/toolsweep")
    with pytest.raises(UsageError, match=r"another project's .*original/mlruns \(was the project copied or moved\?\)"):
        _check_artifact_location(moved, store)
    for fine in (f"file://{tmp_path}/copy/mlruns/artifacts/toolsweep", "file:///data/artifacts/toolsweep", "s3://b/x"):
        _check_artifact_location(SimpleNamespace(name="toolsweep", artifact_location=fine), store)


def test_a_reading_command_neither_creates_an_experiment_nor_reads_a_file_that_is_no_store(tmp_path):
    from orchestrator.config import TrackingConfig
    from orchestrator.tracking import Tracker, existing_experiment, existing_store

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    Tracker(TrackingConfig(uri=uri, experiment="real", artifact_root=tmp_path / "artifacts"))
    with pytest.raises(LookupError, match="no MLflow experiment 'typo'"):
        existing_experiment(TrackingConfig(uri=uri, experiment="typo"))
    (tmp_path / "notes.txt").write_text("not a database")
    with pytest.raises(LookupError, match="is not an SQLite database"):
        existing_store(TrackingConfig(uri=f"sqlite:///{tmp_path}/notes.txt", experiment="real"))
