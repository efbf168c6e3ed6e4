"""The state file a sweep directory holds: which MLflow parent run it logs to, where Tune keeps its
experiment state, and the config the sweep started with. Read by `resume`, `status` and `promote`.
Pure: json and pathlib only (no Ray), so the promotion's MLflow side can read it too.
"""

from __future__ import annotations

from pathlib import Path

from evals.textio import mapping_at, read_json
from orchestrator.errors import ConfigError

STATE_FILE = "toolsweep_sweep.json"


def read_sweep_state(sweep_dir: Path, needs: tuple[str, ...] = ("parent_run_id", "storage", "experiment", "config")
                     ) -> dict:
    """The state file of `sweep_dir` (parent_run_id, storage, experiment, config), or ConfigError
    naming the file and the first of `needs` it lacks."""
    state_file = Path(sweep_dir) / STATE_FILE
    if not Path(sweep_dir).exists():
        raise ConfigError(f"{sweep_dir}: no such directory (expected a sweep directory, runs/ray/<name>-<stamp>)")
    if Path(sweep_dir).is_file():
        hint = " (give the folder that holds it)" if Path(sweep_dir).name == STATE_FILE else ""
        raise ConfigError(f"{sweep_dir}: is a file; expected a sweep directory{hint}")
    if not state_file.is_file():
        raise ConfigError(f"{sweep_dir}: holds no {STATE_FILE}, so it is not a toolsweep sweep directory "
                          f"(expected runs/ray/<name>-<stamp>)")
    state = read_json(state_file, "sweep state file", ConfigError)
    if not isinstance(state, dict):
        raise ConfigError(f"{state_file}: expected a JSON object at the top level, got {type(state).__name__}")
    if "config" in needs:
        mapping_at(state, "config", str(state_file), ConfigError)
    for key in (k for k in needs if k != "config"):
        if not isinstance(state.get(key), str) or not state[key]:
            raise ConfigError(f"{state_file}: '{key}' must be a non-empty string, got {state.get(key)!r} (the file "
                              f"`toolsweep sweep` writes holds parent_run_id, storage, experiment and config)")
    return state
