"""MLflow bookkeeping through explicit run ids (MlflowClient), never the global active run:
a trial that runs in another process (Ray) can reopen its run by id. Edge module: imports mlflow.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# CPU/GPU/memory samples would fill each trial's charts page ahead of its own metrics; off unless asked for.
os.environ.setdefault("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "false")

from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from orchestrator.config import TrackingConfig  # noqa: E402
from orchestrator.errors import UsageError  # noqa: E402


TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"


SQLITE = "sqlite:///"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a local SQLite store URI, as written (relative or absolute), else None."""
    return Path(uri[len(SQLITE):]) if uri.startswith(SQLITE) else None


def resolve_uri(uri: str) -> str:
    """`sqlite:///relative/path.db` made absolute, so every process writes the same store."""
    path = sqlite_path(uri)
    if path is not None and not path.is_absolute():
        path = path.resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLITE + str(path)
    return uri


def tracking_uri(cfg: TrackingConfig) -> str:
    """`MLFLOW_TRACKING_URI` when set, else the sweep file's `tracking.uri`.

    The environment wins so that a cluster's pods (k8s/: the MLflow server) report there whatever
    store the sweep file names for a laptop.
    """
    return resolve_uri(os.environ.get(TRACKING_URI_ENV) or cfg.uri)


def is_tracking_server(uri: str) -> bool:
    return uri.split("://", 1)[0] in ("http", "https")


# The MLflow UI (3.x) opens an experiment in its GenAI view (traces, token usage) or its model-training
# view (runs table, charts, registry) by this tag; without it the UI guesses, and guessed GenAI for
# toolsweep's sweeps. An experiment that already has the tag keeps the kind a user chose.
EXPERIMENT_KIND, MODEL_TRAINING = "mlflow.experimentKind", "custom_model_development"


def existing_store(cfg: TrackingConfig) -> None:
    """LookupError when the store is a SQLite file that does not exist: commands that only read what
    sweeps logged (promote, release) would otherwise create an empty store and then find nothing."""
    path = sqlite_path(os.environ.get(TRACKING_URI_ENV) or cfg.uri)
    if path is None:
        return
    if not path.is_file():
        raise LookupError(f"no MLflow store at {path}: nothing has been logged there (is "
                          f"--tracking-uri the store the sweeps logged to?)")
    with open(path, "rb") as f:
        head = f.read(16)
    if head and head != b"SQLite format 3\x00":
        raise LookupError(f"{path} is not an SQLite database (is --tracking-uri the store the sweeps logged to?)")


def existing_experiment(cfg: TrackingConfig) -> None:
    """LookupError when the experiment does not exist in the store: a reading command must not create
    one (a misspelt --experiment was created, empty, and the command went on)."""
    try:
        found = MlflowClient(tracking_uri=tracking_uri(cfg)).get_experiment_by_name(cfg.experiment)
    except Exception:  # noqa: BLE001 - an unusable URI: Tracker says why in one line
        return
    if found is None:
        raise LookupError(f"no MLflow experiment {cfg.experiment!r} in {tracking_uri(cfg)} (--experiment: the "
                          "experiment the sweeps logged to)")


def _check_artifact_location(exp, uri: str) -> None:
    """UsageError when a local SQLite store's experiment keeps its artifacts in another project's copy
    of the store's folder (the store in /new/mlruns, the artifacts in /old/mlruns/artifacts/...): MLflow
    records that folder as an absolute path, so a copied or moved project's promotions and releases
    wrote into, and read from, the original project. Artifacts kept anywhere else (a configured
    artifact root) are the user's choice and pass."""
    from urllib.parse import unquote, urlparse

    location, store = exp.artifact_location or "", sqlite_path(uri)
    if store is None or not location.startswith("file:"):
        return
    store_dir = store.resolve().parent
    recorded = Path(unquote(urlparse(location).path))
    other = next((a for a in recorded.parents if a.name == store_dir.name and a != store_dir), None)
    if other is not None and store_dir not in recorded.parents:
        raise UsageError(f"MLflow experiment {exp.name!r} in {uri} keeps its artifacts at {recorded}, in another "
                         f"project's {other} (was the project copied or moved?): promotions and releases would write "
                         "there and read from there. Work in the project that folder belongs to, or give this copy "
                         "its own store (--tracking-uri) and experiment")


class Tracker:
    def __init__(self, cfg: TrackingConfig):
        from mlflow.exceptions import MlflowException

        self.uri = tracking_uri(cfg)
        try:
            self.client = MlflowClient(tracking_uri=self.uri)
            exp = self.client.get_experiment_by_name(cfg.experiment)
        except MlflowException as err:  # an unsupported scheme, a server that refuses
            raise UsageError(f"tracking URI {self.uri!r}: MLflow cannot use it "
                             f"({(str(err).strip().splitlines() or [''])[0][:300]})") from None
        if exp is None:
            if is_tracking_server(self.uri):
                # The server's own artifact root (--serve-artifacts: its bucket); a local path
                # would put artifacts on whichever pod created the experiment.
                location = None
            else:
                location = (cfg.artifact_root.resolve() / cfg.experiment).as_uri()
            self.experiment_id = self.client.create_experiment(cfg.experiment, artifact_location=location,
                                                               tags={EXPERIMENT_KIND: MODEL_TRAINING})
        else:
            self.experiment_id = exp.experiment_id
            _check_artifact_location(exp, self.uri)
            if EXPERIMENT_KIND not in (exp.tags or {}):  # made by an older toolsweep (or by hand)
                self.client.set_experiment_tag(self.experiment_id, EXPERIMENT_KIND, MODEL_TRAINING)

    def start_run(self, name: str, tags: dict[str, str] | None = None, parent_run_id: str | None = None) -> str:
        tags = dict(tags or {})
        if parent_run_id:
            tags["mlflow.parentRunId"] = parent_run_id
        return self.client.create_run(self.experiment_id, run_name=name, tags=tags).info.run_id

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[i:i + 100])

    def log_metrics(self, run_id: str, metrics: dict[str, float | None], step: int = 0) -> None:
        ts = int(time.time() * 1000)
        items = [Metric(k, float(v), ts, step) for k, v in metrics.items() if v is not None]
        for i in range(0, len(items), 500):
            self.client.log_batch(run_id, metrics=items[i:i + 500])

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        self.client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        if path.is_dir():
            self.client.log_artifacts(run_id, str(path), artifact_path)
        else:
            self.client.log_artifact(run_id, str(path), artifact_path)

    def log_dict(self, run_id: str, data: Any, artifact_file: str) -> None:
        self.client.log_dict(run_id, data, artifact_file)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self.client.log_text(run_id, text, artifact_file)

    def _log_inputs(self, run_id: str, inputs: list, attempts: int = 4) -> None:
        """`log_inputs`, again when another process inserted the same dataset first. MLflow's SQL store
        looks a dataset up by (experiment, name, digest) and inserts it if absent: two trials logging
        the same training mix at the same moment both insert, and one failed on the UNIQUE constraint
        (seen in the sweep test: the trial crashed and was retried from its checkpoint). A second try
        finds the row the other one wrote."""
        import time

        from mlflow.exceptions import MlflowException

        for attempt in range(attempts):
            try:
                self.client.log_inputs(run_id, datasets=inputs)
                return
            except MlflowException as err:
                if "UNIQUE constraint failed" not in str(err) or attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def log_data_lineage(self, run_id: str, outputs: dict, rows: list[dict]) -> None:
        """`mlflow.data` lineage: each source (context "source", digest = its file sha256) and the
        training mix (context "training", digest = the mix fingerprint, a small profile frame)."""
        import warnings

        import pandas as pd
        from mlflow.data import from_pandas
        from mlflow.entities import DatasetInput, InputTag

        inputs = []
        with warnings.catch_warnings():
            # MLflow warns that a local path matches two identical source classes, and that int
            # columns cannot hold NaN; neither matters to a lineage record.
            warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
            inputs += [_file_input(outputs["source_paths"][name], f"source:{name}", sha[:16], "source")
                       for name, sha in outputs["source_sha256"].items() if sha is not None]
            frame = pd.DataFrame([{"id": r["id"], "source": r["meta"]["source"], "track": r["meta"].get("track") or "",
                                   "messages": len(r["messages"]),
                                   "tool_calls": sum(len(m.get("tool_calls") or []) for m in r["messages"])}
                                  for r in rows], columns=["id", "source", "track", "messages", "tool_calls"])
            train = from_pandas(frame, source=str(outputs["train"].resolve()), name="training-mix",
                                digest=outputs["fingerprint"][:16])
            inputs.append(DatasetInput(train._to_mlflow_entity(), [InputTag("mlflow.data.context", "training")]))
        self._log_inputs(run_id, inputs)

    def log_sweep_inputs(self, run_id: str, sources: dict[str, Path], eval_sets: dict[str, Path]) -> None:
        """The sweep's data as `mlflow.data` inputs of its parent run (the UI's Datasets column): each
        training source (context "source") and each eval set (context "evaluation"), digest = the
        file's sha256. Trials log the mix they sampled from these (`log_data_lineage`)."""
        import warnings

        from orchestrator.hashing import sha256_file

        inputs = []
        with warnings.catch_warnings():
            # a local path matches two identical source classes in MLflow's registry: harmless
            warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
            for context, named in (("source", sources), ("evaluation", eval_sets)):
                for name, path in named.items():
                    path = Path(path).resolve()
                    digest = sha256_file(path)[:16] if path.is_file() else None
                    inputs.append(_file_input(path, f"{context}:{name}", digest, context))
        if inputs:
            self._log_inputs(run_id, inputs)

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status)


def _file_input(path, name: str, digest: str | None, context: str):
    """A file as an `mlflow.data` input of a run: name, digest, and the context the UI shows."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag

    ds = MetaDataset(resolve_dataset_source(str(Path(path).resolve())), name=name, digest=digest)
    return DatasetInput(ds._to_mlflow_entity(), [InputTag("mlflow.data.context", context)])
