"""The environment every toolsweep process runs in: no model hub, no telemetry.

Set before any library that reads these is imported (transformers, datasets, MLflow, Ray), by the
CLI, the benchmarks and the tests alike; a value the user set already wins.
"""

from __future__ import annotations

import os
from typing import MutableMapping

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "MLFLOW_DISABLE_TELEMETRY": "true", "RAY_USAGE_STATS_ENABLED": "0", "DO_NOT_TRACK": "1",
               "TOKENIZERS_PARALLELISM": "false"}


def offline_defaults(env: MutableMapping[str, str] = os.environ) -> MutableMapping[str, str]:
    """`env` with every OFFLINE_ENV value it does not set itself; returned for subprocess environments."""
    for key, value in OFFLINE_ENV.items():
        env.setdefault(key, value)
    return env
