"""Which linear modules carry LoRA adapters: presets per architecture, checked against the model.

`train.lora.target_modules` is a list of module names (the last part of the module path, as PEFT
matches them) or one preset name:

- `attention-mlp`: q/k/v/o_proj and gate/up/down_proj. On a Llama (SmolLM2) that is every linear
  layer but the head. On Qwen3.5 it adapts attention only in the full-attention quarter of the
  layers: the Gated DeltaNet layers' `in_proj_qkv/z/a/b` and `out_proj` stay frozen.
- `all-linear`: every linear module of the language model except the LM head (and any vision
  tower): on Qwen3.5, attention, linear attention and MLP in every layer.

`train.lora.top_layers: N` adapts only the last N decoder layers. The layers below them then have
nothing to train and nothing upstream that needs a gradient (the embeddings are frozen), so autograd
keeps none of their activations and the backward pass stops at the first adapted layer: a cheaper
step and a smaller peak, for an adapter with fewer places to act.

Pure: works on the module names the edge (orchestrator/train/trainer.py) reads from the loaded model.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from orchestrator.errors import ConfigError

# The linear module names of the architectures toolsweep ships configs for (checked before a sweep
# starts; the trainer checks any other against the loaded model). Qwen3.5's Gated DeltaNet layers add
# their projections to a Llama's.
LLAMA_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
PRESETS = {
    "attention-mlp": list(LLAMA_LINEAR),
    "all-linear": None,  # resolved from the model
}
LINEAR_NAMES = {
    "llama": LLAMA_LINEAR, "mistral": LLAMA_LINEAR, "qwen2": LLAMA_LINEAR, "qwen3": LLAMA_LINEAR,
    "qwen3_5": LLAMA_LINEAR + ("in_proj_qkv", "in_proj_z", "in_proj_a", "in_proj_b", "out_proj"),
}
EXCLUDED = ("lm_head",)        # never adapted: the head is frozen and tied to the embeddings
VISION_PARTS = ("visual", "vision_tower", "vision_model")
LAYER_LISTS = ("layers", "h", "blocks")  # the ModuleList names PEFT's layers_to_transform looks for


def _in_vision_tower(parts: list[str]) -> bool:
    return any(p in VISION_PARTS for p in parts)


def layer_index(path: str) -> int | None:
    """The decoder layer a module path lies in (`model.layers.12.mlp.up_proj` -> 12), else None."""
    parts = path.split(".")
    for name, index in zip(parts, parts[1:]):
        if name in LAYER_LISTS and index.isdigit():
            return int(index)
    return None


def top_layers(module_paths: Iterable[str], n: int) -> list[int]:
    """The indices of the last `n` decoder layers of the language model; ConfigError when it has fewer."""
    found = sorted({i for p in module_paths if not _in_vision_tower(p.split("."))
                    for i in [layer_index(p)] if i is not None})
    if n > len(found):
        raise ConfigError(f"train.lora.top_layers: {n} is more than the {len(found)} decoder layers of this model")
    return found[len(found) - n:]


def linear_leaf_counts(module_paths: Iterable[str], layers: Iterable[int] | None = None) -> Counter:
    """Linear modules of the language model per leaf name, from their dotted paths; with `layers`,
    only those inside the decoder layers of those indices."""
    keep = None if layers is None else set(layers)
    counts: Counter = Counter()
    for path in module_paths:
        parts = path.split(".")
        if _in_vision_tower(parts) or parts[-1] in EXCLUDED:
            continue
        if keep is not None and layer_index(path) not in keep:
            continue
        counts[parts[-1]] += 1
    return counts


def resolve_targets(spec: str | list[str], counts: Counter, scope: str = "of this model") -> dict[str, int]:
    """{target name: modules it adapts} for a preset or list; ConfigError for a name matching nothing
    (`scope` says where the counts were taken: the whole model, or the layers `top_layers` chose)."""
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise ConfigError(f"train.lora.target_modules: unknown preset {spec!r} (presets: {', '.join(PRESETS)}; "
                              f"or list module names)")
        names = PRESETS[spec] if PRESETS[spec] is not None else sorted(counts)
    else:
        names = list(spec)
    missing = [n for n in names if counts.get(n, 0) == 0]
    if missing:
        raise ConfigError(f"train.lora.target_modules: {missing} match no linear module {scope}; the linear "
                          f"modules there are {', '.join(f'{k} ({v})' for k, v in sorted(counts.items()))}")
    return {n: counts[n] for n in names}
