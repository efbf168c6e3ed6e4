"""LoRA target presets and the check that every named target exists in the model (pure: module paths in)."""

import pytest

from orchestrator.errors import ConfigError
from orchestrator.train.lora_targets import linear_leaf_counts, resolve_targets

# Module paths of a 4-layer hybrid Qwen3.5 (3 Gated DeltaNet layers, 1 full attention), plus a vision tower.
QWEN35 = [f"model.layers.{i}.linear_attn.{n}" for i in range(3)
          for n in ("in_proj_qkv", "in_proj_z", "in_proj_a", "in_proj_b", "out_proj")]
QWEN35 += [f"model.layers.3.self_attn.{n}" for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
QWEN35 += [f"model.layers.{i}.mlp.{n}" for i in range(4) for n in ("gate_proj", "up_proj", "down_proj")]
QWEN35 += ["lm_head", "model.visual.blocks.0.attn.qkv", "model.visual.merger.linear_fc1"]


def test_attention_mlp_on_qwen35_leaves_linear_attention_frozen():
    got = resolve_targets("attention-mlp", linear_leaf_counts(QWEN35))
    assert sum(got.values()) == 4 + 12 and got["q_proj"] == 1 and "in_proj_qkv" not in got


def test_all_linear_covers_every_language_layer_but_the_head_and_vision():
    got = resolve_targets("all-linear", linear_leaf_counts(QWEN35))
    assert sum(got.values()) == 15 + 4 + 12 == 31
    assert got["in_proj_qkv"] == 3 and "lm_head" not in got and "qkv" not in got and "linear_fc1" not in got


def test_a_name_matching_nothing_lists_what_exists():
    with pytest.raises(ConfigError, match=r"\['qkv_proj'\] match no linear module.*in_proj_qkv \(3\)"):
        resolve_targets(["q_proj", "qkv_proj"], linear_leaf_counts(QWEN35))
    with pytest.raises(ConfigError, match="unknown preset 'everything'"):
        resolve_targets("everything", linear_leaf_counts(QWEN35))


def test_top_layers_are_the_last_decoder_layers_and_counts_follow_them():
    from orchestrator.train.lora_targets import layer_index, top_layers

    assert layer_index("model.layers.12.mlp.up_proj") == 12 and layer_index("lm_head") is None
    assert layer_index("transformer.h.3.attn.c_attn") == 3
    assert top_layers(QWEN35, 1) == [3] and top_layers(QWEN35, 4) == [0, 1, 2, 3]  # vision blocks not counted
    got = resolve_targets("all-linear", linear_leaf_counts(QWEN35, top_layers(QWEN35, 2)))
    assert got == {"down_proj": 2, "gate_proj": 2, "in_proj_a": 1, "in_proj_b": 1, "in_proj_qkv": 1,
                   "in_proj_z": 1, "k_proj": 1, "o_proj": 1, "out_proj": 1, "q_proj": 1, "up_proj": 2, "v_proj": 1}
    with pytest.raises(ConfigError, match="train.lora.top_layers: 5 is more than the 4 decoder layers"):
        top_layers(QWEN35, 5)
    # a name that exists only below the chosen layers is reported as matching nothing there
    with pytest.raises(ConfigError, match=r"\['in_proj_qkv'\] match no linear module"):
        resolve_targets(["in_proj_qkv"], linear_leaf_counts(QWEN35, top_layers(QWEN35, 1)))
