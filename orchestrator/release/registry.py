"""MLflow side of promotion: a sweep's trials as plain dicts, and the model registry.

Edge module: imports mlflow. One registered model per family; its versions are promotion runs
(GGUF files, adapter, eval reports, decision); aliases `champion-<variant>` name the current
champion of each context variant and `previous-<variant>` the one it replaced.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from orchestrator.metric_keys import objective_key  # noqa: E402
from orchestrator.sweep_state import STATE_FILE, read_sweep_state  # noqa: E402



def champion_alias(variant: str) -> str:
    return f"champion-{variant}"


def previous_alias(variant: str) -> str:
    return f"previous-{variant}"


def find_sweep_parent(client: MlflowClient, experiment_id: str, sweep: str) -> str:
    """A sweep's parent run id from a sweep directory, a run id, or a sweep name (its latest run)."""
    path = Path(sweep)
    if (path / STATE_FILE).is_file():
        parent = read_sweep_state(path, needs=("parent_run_id",))["parent_run_id"]
        try:
            client.get_run(parent)
        except MlflowException:
            raise LookupError(f"{path / STATE_FILE}: its parent run {parent} is not in this MLflow store "
                              f"(is --tracking-uri the store the sweep logged to?)") from None
        return parent
    try:
        run = client.get_run(sweep)
        if run.data.tags.get("toolsweep.kind") == "sweep":
            return run.info.run_id
    except MlflowException:
        pass
    found = client.search_runs([experiment_id], filter_string=f"tags.`toolsweep.kind` = 'sweep' and "
                               f"tags.`toolsweep.sweep` = '{sweep}'", order_by=["attributes.start_time DESC"],
                               max_results=1)
    if not found:
        raise LookupError(f"no sweep found for {sweep!r}: give a sweep directory, a parent run id or a sweep name")
    return found[0].info.run_id


def sweep_config(client: MlflowClient, parent_run_id: str) -> dict:
    """The resolved sweep config the parent run stored."""
    try:
        local = client.download_artifacts(parent_run_id, "sweep_config.json")
    except (MlflowException, OSError) as err:
        raise LookupError(f"sweep run {parent_run_id} stored no sweep_config.json ({str(err).splitlines()[0]})") from None
    return json.loads(Path(local).read_text())


def sweep_trials(client: MlflowClient, experiment_id: str, parent_run_id: str, objectives: dict[str, str]) -> list[dict]:
    """Every child run of the sweep: ids, status tag, context, params and last-epoch objectives (the
    sweep's first quant type's dev scores, `dev/<metric>`).

    MLflow's `run.data.metrics` holds each metric's value at its highest step: the last epoch.
    """
    runs = client.search_runs([experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent_run_id}'",
                              max_results=10000)
    trials = []
    for r in runs:
        tags, metrics = r.data.tags, r.data.metrics
        if tags.get("toolsweep.kind") != "trial":
            continue
        trials.append({
            "trial_id": tags.get("toolsweep.trial_id"), "run_id": r.info.run_id,
            "status": tags.get("toolsweep.status", r.info.status.lower()),
            "context": int(tags.get("toolsweep.context") or r.data.params.get("train.max_length")),
            "epoch": int(float(tags.get("toolsweep.last_epoch", 0) or 0)),
            "metrics": {k: metrics.get(objective_key(k)) for k in
                        {*objectives, "gguf_size_mb", "tool_f1", "no_tool_accuracy", "fabrication_rate"}},
            "params": dict(r.data.params),
        })
    return sorted(trials, key=lambda t: str(t["trial_id"]))


def download(client: MlflowClient, run_id: str, path: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    return Path(client.download_artifacts(run_id, path, str(dest)))


def champion(client: MlflowClient, family: str, variant: str):
    """The model version the `champion-<variant>` alias points at, or None."""
    try:
        return client.get_model_version_by_alias(family, champion_alias(variant))
    except MlflowException:
        return None


def champion_report(client: MlflowClient, version, primary_quant: str, dest: Path) -> dict:
    """The champion's stored eval report, read strictly and checked (evals.harness.checked_report)."""
    from evals.harness import checked_report
    from orchestrator.errors import ReleaseError

    local = download(client, version.run_id, f"eval/tuned-{primary_quant}.json", dest)
    return checked_report(local, f"champion version {version.version}'s eval report", ReleaseError)


def register(client: MlflowClient, family: str, variant: str, promotion_run_id: str, tags: dict[str, str],
             description: str) -> tuple[str, str | None]:
    """A new version from the promotion run's artifacts; `champion-<variant>` moves to it and the
    version it held before keeps `previous-<variant>`. Returns (new version, previous version)."""
    try:
        client.get_registered_model(family)
    except MlflowException:
        client.create_registered_model(family, tags={"toolsweep.kind": "family"}, description=(
            f"toolsweep model family **{family}**: one champion per context variant. The alias "
            f"`champion-<variant>` (4k, 16k, 32k) names the version in service; `previous-<variant>` the one "
            f"it replaced. Each version's description holds its gate table and links to its sweep and trial runs."))
    finish_alias_moves(client, family)
    old = champion(client, family, variant)
    run = client.get_run(promotion_run_id)
    # The version records which champion it replaces before any alias moves: the registry has no
    # transactions, so a promotion killed between the two alias writes is completed on the next read
    # (finish_alias_moves) instead of leaving champion and previous out of step.
    mv = client.create_model_version(family, source=run.info.artifact_uri, run_id=promotion_run_id,
                                     tags={**tags, "toolsweep.variant": variant,
                                           REPLACES: str(old.version) if old is not None else ""},
                                     description=description)
    client.set_registered_model_alias(family, champion_alias(variant), mv.version)  # the move itself
    if old is not None:
        client.set_registered_model_alias(family, previous_alias(variant), old.version)
    return str(mv.version), (str(old.version) if old is not None else None)


REPLACES = "toolsweep.replaces_version"


def finish_alias_moves(client: MlflowClient, family: str) -> list[str]:
    """Complete any promotion that moved `champion-<variant>` but died before `previous-<variant>`
    followed; returns the variants repaired. Until the champion alias moves, nothing has changed."""
    try:
        model = client.get_registered_model(family)
    except MlflowException:
        return []
    aliases = model.aliases or {}
    repaired = []
    for alias, version in list(aliases.items()):
        if not alias.startswith("champion-"):
            continue
        variant = alias.removeprefix("champion-")
        replaced = client.get_model_version(family, str(version)).tags.get(REPLACES, "")
        if replaced and str(aliases.get(previous_alias(variant), "")) != replaced:
            client.set_registered_model_alias(family, previous_alias(variant), replaced)
            repaired.append(variant)
    return repaired


def champions(client: MlflowClient, family: str) -> dict[str, object]:
    """variant -> model version, for every `champion-<variant>` alias of the family."""
    finish_alias_moves(client, family)
    model = client.get_registered_model(family)
    out = {}
    for alias, version in (model.aliases or {}).items():
        if alias.startswith("champion-"):
            out[alias.removeprefix("champion-")] = client.get_model_version(family, str(version))
    return out
