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
