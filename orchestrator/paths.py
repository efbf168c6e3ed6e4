"""Where toolsweep keeps what it builds outside git (converted models, llama.cpp tools, datasets cache).

`TOOLSWEEP_CACHE` overrides the default `.cache` (relative to the working directory): a Ray job's
uploaded working directory carries no cache, so cluster jobs point this at the image's or node's copy.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    return Path(os.environ.get("TOOLSWEEP_CACHE", ".cache"))
