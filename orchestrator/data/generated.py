"""Sources made by toolsweep's own generators (`data.sources.<name>.generate`).

A context-variant sweep names its long-context and honesty data in the sweep file instead of a file
someone must remember to build first. Rows are the generators' OpenAI-form rows with `meta.track`
set (`long_context`, `honesty`, `judgment`, `toolset`), deterministic in the generate config, so a cache keyed
by that config (`cache_key`) makes them once per machine rather than once per trial.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

from orchestrator.config import GenerateConfig

CountTokens = Callable[[str], int]


GENERATORS = Path(__file__).parent / "generators"


def _generators_sha256() -> str:
    """Every generator module's source and this file's, hashed together: the generators import one
    another's slot pools and intents (honesty draws starter.py's), so a change to any of them, by an
    upgrade or an edit, can change a kind's rows. Keying only on the kind's own module reused rows
    made before starter.py changed."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for module in sorted(GENERATORS.glob("*.py")):
        digest.update(module.name.encode() + b"\0" + module.read_bytes())
    return digest.hexdigest()


def cache_key(gen: GenerateConfig, template: str) -> str:
    """Changes whenever the rows could: the generate config, the template, the generators' sources,
    the toolset file's bytes."""
    blob = {"generate": gen.model_dump(mode="json"), "template": hashlib.sha256(template.encode()).hexdigest(),
            "generators_sha256": _generators_sha256()}
    if gen.toolset is not None:
        blob["toolset_sha256"] = hashlib.sha256(gen.toolset.read_bytes()).hexdigest()
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]


def generate_rows(gen: GenerateConfig, template: str, count_tokens: Callable[[], CountTokens]) -> list[dict]:
    """`count_tokens` is a factory: only long-context generation needs a tokenizer."""
    if gen.kind == "long_context":
        from orchestrator.data.generators import long_context
        rows = long_context.generate(gen.target_tokens, gen.count, count_tokens(), template, gen.seed)
    elif gen.kind == "honesty":
        from orchestrator.data.generators import honesty
        rows = honesty.generate(gen.count, gen.seed, honesty.HonestyConfig(max_retries=gen.max_retries))
    elif gen.kind == "judgment":
        from orchestrator.data.generators import judgment
        rows = judgment.generate(gen.count, gen.seed)
    else:
        from orchestrator.data.generators import toolset
        rows = toolset.generate(toolset.load_toolset(gen.toolset), gen.count, gen.seed)
    for row in rows:
        row.setdefault("meta", {}).setdefault("track", gen.kind)
    return rows
