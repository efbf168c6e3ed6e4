"""Recipe: a model family in one command — sweep every context variant, promote each, release.

    toolsweep family sweeps/family-smoke.yaml

1. Load the family file and every variant's sweep file; check each against the machine
   (preflight) before the first sweep starts, and refuse a release version that already exists.
2. Sweep each variant in order (4K → 16K → 32K) and promote its candidate with the family's rule;
   a variant whose promotion fails (every trial failed, say) does not stop the others.
3. Build the release from the registry's champions (`recipes/release.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

Log = Callable[[str], None]


def run_family(config: Path, *, log: Log, warn: Log, on_sweep: Callable[[dict], None],
               on_decision: Callable[[dict], None]) -> Path:
    """The release folder built for the family file at `config`. Raises ReleaseExists before any
    sweep when that version exists, LookupError when no variant produced a champion."""
    from orchestrator.config import family_variants, load_family
    from orchestrator.recipes.promote import PromotionError, promote_sweep
    from orchestrator.recipes.release import release_family
    from orchestrator.recipes.sweep import run_sweep
    from orchestrator.release.manifest import ReleaseExists
    from orchestrator.search.preflight import preflight

    fam = load_family(config)
    variants = family_variants(fam)
    for path, cfg in zip(fam.variants, variants):  # every variant checked before the first sweep starts
        for note in preflight(cfg, path, promoting=True):
            warn(f"warning: {path}: {note}")
    dest = Path(fam.releases_dir) / f"{fam.family}-{fam.version}"
    if dest.exists():  # fail before hours of sweeps, not after
        raise ReleaseExists(f"{dest} already exists; a release version is never overwritten")
    for path, cfg in zip(fam.variants, variants):
        log(f"[bold cyan]▶ sweep {path} ({cfg.name}, context {cfg.train.max_length})")
        summary = run_sweep(cfg)
        on_sweep(summary)
        if summary.get("interrupted"):  # Ctrl-C: no promotion, no release, no next variant
            raise KeyboardInterrupt(f"{path}: the sweep was interrupted; `toolsweep resume {summary['experiment_dir']}` "
                                    "continues it, then `toolsweep family` again")
        log(f"[bold cyan]▶ promote {cfg.name}")
        try:
            on_decision(promote_sweep(summary["parent_run_id"], cfg.tracking, cfg.promote, log=log))
        except PromotionError as err:
            warn(f"error: {path}: {err}")
    log(f"[bold cyan]▶ release {fam.family} {fam.version}")
    return release_family(fam.family, fam.version, variants[0].tracking, fam.releases_dir, log=log)
