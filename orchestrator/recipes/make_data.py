"""Recipe: generate training data with toolsweep's own generators (`toolsweep make-data`).

Without a mode the starter set is rewritten byte for byte (`data/starter/{train,heldout}.jsonl`);
with one (toolset, honesty, long_context) a single JSONL file of OpenAI-form rows with `meta.track`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_COUNTS = {"starter": 420, "toolset": 5000, "honesty": 500, "long_context": 20}


@dataclass
class Made:
    dest: Path
    rows: list[dict]

    def by_scenario(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.rows:
            key = r.get("meta", {}).get("scenario") or r["scenario"]
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))


def default_dest(mode: str, toolset: Path | None = None, target_tokens: int | None = None) -> Path:
    if mode == "starter":
        return Path("data/starter")
    if mode == "toolset":
        return Path("data/generated") / f"{toolset.stem}.jsonl"
    if mode == "honesty":
        return Path("data/generated/honesty.jsonl")
    return Path("data/generated") / f"long_{target_tokens}.jsonl"


def make_data(mode: str, n: int, dest: Path, seed: int = 0, *, toolset: Path | None = None, max_retries: int = 2,
              target_tokens: int | None = None, tokenizer: Path | None = None, template: str = "toolchat") -> Made | None:
    """Write `n` rows of `mode` to `dest`; None for the starter set (its generator writes its own files)."""
    from orchestrator.errors import UsageError

    if mode == "starter":
        from orchestrator.data.generators import starter
        starter.main(["--out", str(dest), "-n", str(n), "--seed", str(seed)])
        return None
    if dest.suffix != ".jsonl":
        raise UsageError(f"--out must name a .jsonl file for {mode} data, got {dest}")
    from orchestrator.data.generators.starter import write_jsonl

    if mode == "toolset":
        from orchestrator.data.generators import toolset as toolset_gen
        rows = toolset_gen.generate(toolset_gen.load_toolset(toolset), n, seed)
    elif mode == "honesty":
        from orchestrator.data.generators import honesty
        rows = honesty.generate(n, seed, honesty.HonestyConfig(max_retries=max_retries))
    else:
        from orchestrator.data.generators import long_context
        from orchestrator.data.generators.long_context_eval import tokenizer_counter
        from orchestrator.train.chat_template import load_template

        try:
            chat_template = load_template(template)
        except FileNotFoundError as err:
            raise UsageError(f"--template: {err}") from None
        if tokenizer is None:  # the embedded base's, built once into the cache (not into the working directory)
            from orchestrator.paths import cache_dir
            from orchestrator.train import base_model
            tokenizer = cache_dir() / "models" / "smollm2-tokenizer" / "tokenizer.json"
            if not tokenizer.is_file():
                base_model.smollm2_tokenizer(tokenizer.parent.parent)
        elif not tokenizer.is_file():
            raise UsageError(f"--tokenizer {tokenizer}: no such file (a tokenizer.json; leave the flag out to count "
                             "with the embedded SmolLM2's)")
        try:
            count = tokenizer_counter(tokenizer)
        except Exception as err:  # noqa: BLE001 - tokenizers raises a bare Exception on a file it cannot read
            raise UsageError(f"--tokenizer {tokenizer}: not a tokenizer.json that the tokenizers library reads "
                             f"({(str(err).splitlines() or [''])[0][:200]})") from None
        rows = long_context.generate(target_tokens, n, count, chat_template, seed)
    write_jsonl(rows, dest)
    return Made(dest, rows)
