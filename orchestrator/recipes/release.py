"""`toolsweep release`: the registry's champions as an immutable release folder.

    releases/<family>-<version>/
      README.md            family card: the family table, how to choose a variant
      manifest.json        sha256 and size of every other file (`toolsweep verify`)
      <variant>/           one per champion alias (4k, 16k, 32k)
        README.md          model card (Hugging Face front matter + tables + measured limitations)
        gguf/              <family>-<variant>-<quant>.gguf for every release quant type
        adapter/           PEFT LoRA (safetensors) + tokenizer
        eval/              tuned-<quant>.json/.md and base-<quant>.json/.md (per-case records included)
        promotion/         decision.json, vs_base.json, trials.json, card_info.json
        plots/             pareto.png, scenarios.png, attribution.png

Built in a temporary folder beside the destination and renamed into place; an existing version
is refused (`orchestrator/release/manifest.py`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from orchestrator.errors import ReleaseError
from orchestrator.release import cards
from orchestrator.release.gate import family_rows
from orchestrator.release.manifest import build_release

ARTIFACT_DIRS = ("gguf", "adapter", "eval", "promotion", "plots")
PLOTS = {"Pareto front of the sweep (quantized dev metrics)": "plots/pareto.png",
         "Tool F1 per scenario": "plots/scenarios.png", "Failure attribution": "plots/attribution.png"}


def variant_info(folder: Path, family: str, version: str) -> dict:
    """A card's input dict from a variant folder's downloaded artifacts, each read strictly (no NaN,
    the file named) and each eval report checked against its own per-case records: a card prints
    only numbers the cases measured."""
    from evals.harness import checked_report
    from evals.textio import read_json

    def json_at(rel: str) -> object:
        return read_json(folder / rel, "promotion artifact", ReleaseError)

    info = json_at("promotion/card_info.json")
    q = info["primary_quant"]
    reports = {qq: checked_report(folder / "eval" / f"tuned-{qq}.json", "eval report", ReleaseError)
               for qq in info["quant_types"]}
    base = checked_report(folder / "eval" / f"base-{q}.json", "eval report", ReleaseError)
    vs_base = json_at("promotion/vs_base.json")
    for row in vs_base if isinstance(vs_base, list) else []:  # the gate's rows: the reports' own numbers
        for side, report in (("a", base), ("b", reports[q])):
            value = report["metrics"].get(row.get("metric"))
            if isinstance(value, float) and isinstance(row.get(side), float) and abs(value - row[side]) > 1e-9:
                raise ReleaseError(f"{folder / 'promotion/vs_base.json'}: {row['metric']} {side} is {row[side]}, but "
                                   f"the eval report it was computed from says {value}")
    return {**info, "family": family, "version": version, "reports": reports, "base_report": base,
            "vs_base": vs_base, "promotion": json_at("promotion/decision.json")}


def render_cards(root: Path, family: str, version: str) -> dict:
    """Write every variant's README.md and the family README.md; returns the family table rows."""
    infos, champions = {}, {}
    for folder in sorted(p for p in root.iterdir() if (p / "promotion" / "card_info.json").is_file()):
        info = variant_info(folder, family, version)
        infos[info["variant"]] = info
        plots = {t: p for t, p in PLOTS.items() if (folder / p).is_file()}
        (folder / "README.md").write_text(cards.model_card(info, plots))
        champions[info["variant"]] = {"name": info["name"], "context": info["context"],
                                      "metrics": info["reports"][info["primary_quant"]]["metrics"],
                                      "rank": info["training"]["rank"], "alpha": info["training"]["alpha"],
                                      "eval_set": info["eval_set"]}
    if not infos:
        raise LookupError(f"{root}: no variant folders with promotion/card_info.json")
    rows = family_rows(champions)
    first = next(iter(infos.values()))
    family_plots = {f"{v}: {t}": f"{v}/{p}" for v in infos for t, p in PLOTS.items() if (root / v / p).is_file()}
    (root / "README.md").write_text(cards.family_card(family, version, rows, first["license"], first["base_model"],
                                                      family_plots))
    return {"rows": rows}


def release_family(family: str, version: str, tracking, releases_dir: Path = Path("releases"),
                   log: Callable[[str], None] = print) -> Path:
    """Build releases/<family>-<version>/ from the registry's `champion-*` aliases."""
    from orchestrator.release import registry
    from orchestrator.release.manifest import ReleaseExists
    from orchestrator.tracking import Tracker, existing_experiment, existing_store

    existing_store(tracking)
    existing_experiment(tracking)  # a misspelt --experiment was created, empty, and the release went on
    client = Tracker(tracking).client
    try:
        champs = registry.champions(client, family)
    except Exception as err:  # noqa: BLE001 - MlflowException: no such registered model
        raise LookupError(f"no registered model {family!r} in {tracking.uri}: promote a sweep first ({err})") from None
    if not champs:
        raise LookupError(f"registered model {family!r} has no champion-* alias: promote a sweep first")
    tag = f"toolsweep.release.{version}"
    for mv in client.search_model_versions(f"name='{family}'"):
        if tag in (mv.tags or {}):  # built before, into another --out: the registry records one release per version
            raise ReleaseExists(f"{family} {version} was released already (registry version {mv.version} records it at "
                                f"{mv.tags[tag]}); a release version is never built twice: choose a new version")

    def where(mv) -> str:
        return f"registered {family} version {mv.version} (run {mv.run_id})"

    def fill(tmp: Path) -> dict:
        variants = {}
        for variant, mv in sorted(champs.items()):
            log(f"{variant}: version {mv.version} (run {mv.run_id})")
            folder = tmp / variant
            for sub in ARTIFACT_DIRS:
                try:
                    registry.download(client, mv.run_id, sub, folder)
                except Exception as err:  # noqa: BLE001 - MlflowException, OSError: the artifact store says why
                    raise ReleaseError(f"{where(mv)}: its {sub}/ artifacts cannot be read from the store "
                                       f"({(str(err).splitlines() or [type(err).__name__])[0][:200]})") from None
            variants[variant] = {"model_version": mv.version, "run_id": mv.run_id,
                                 "trial_id": mv.tags.get("toolsweep.trial_id"), "sweep": mv.tags.get("toolsweep.sweep")}
        try:
            table = render_cards(tmp, family, version)
        except (ReleaseError, LookupError) as err:  # it named a file of the temporary folder, deleted on failure
            message = str(err)
            for variant, mv in champs.items():
                message = message.replace(f"{tmp / variant}/", f"{where(mv)}, artifact ")
            raise type(err)(message.replace(str(tmp), "the release being built")) from None
        return {"family": family, "version": version, "registered_model": family, "tracking_uri": tracking.uri,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "variants": variants,
                "family_table": table["rows"]}

    dest = build_release(Path(releases_dir) / f"{family}-{version}", fill)
    for variant, mv in champs.items():
        client.set_model_version_tag(family, str(mv.version), tag, str(Path(dest).resolve()))
    return dest
