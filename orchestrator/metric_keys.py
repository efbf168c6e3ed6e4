"""The MLflow metric key scheme, built here and nowhere else. Pure.

MLflow's charts page groups a run's metrics into sections by what comes before the last `/` of a
key; the sections with a name come first (alphabetically), then "Model metrics" (keys without a
`/`), then "System metrics". So the headline numbers get a `/` and the long tail does not:

    dev/<metric>            a sweep trial's scores on the dev slice, one point per epoch (the
                            primary quant type's; objectives, the ASHA rung and the GGUF size too)
    <label>/<metric>        an eval report's scores in a trial or promotion run: label = the quant
                            type ("q4_k_m"), "tuned-q4_k_m" or "base-q4_k_m"
    train/<name>            the trainer's log (loss, learning rate, grad norm, runtime)
    <label>.attribution.<tier>.<cause>, data.<count>, restored_from_epoch
                            counts, in the "Model metrics" section after the headline

A sweep child run's charts therefore open on its dev scores, then its loss curve, then the counts.
"""

from __future__ import annotations

DEV = "dev"          # the label of a sweep trial's per-epoch scores
RUNG = "rung"        # the one number ASHA compares per rung (orchestrator.search.space.rung_metric)


def score_key(label: str, metric: str) -> str:
    """An eval report's metric (or timing) under `label`: "dev/tool_f1", "base-q4_k_m/parse_success"."""
    return f"{label}/{metric}"


def objective_key(metric: str) -> str:
    """Where a sweep child run keeps an objective's per-epoch value (its last epoch = its score)."""
    return score_key(DEV, metric)


def attribution_key(label: str, tier: str, cause: str) -> str:
    return f"{label}.attribution.{tier}.{cause}"


def train_key(name: str) -> str:
    """The trainer's log entries: "train/loss", "train/train_runtime"."""
    return f"train/{name}"
