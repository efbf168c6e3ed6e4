"""Preflight notes that a Gated DeltaNet model on a GPU lacks its linear-attention kernels (pure logic)."""

import json

from orchestrator.search import preflight
from orchestrator.config import SweepConfig


def test_gated_deltanet_bases_are_recognised(tmp_path):
    assert preflight._is_gated_deltanet("Qwen/Qwen3.5-4B") and preflight._is_gated_deltanet("tiny-qwen3.5")
    assert preflight._is_gated_deltanet("Qwen/Qwen3-Next-80B-A3B-Instruct")
    assert not preflight._is_gated_deltanet("smollm2-135m") and not preflight._is_gated_deltanet("Qwen/Qwen3-4B")
    folder = tmp_path / "merged"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen3_5_text"}))
    assert preflight._is_gated_deltanet(str(folder))
    (folder / "config.json").write_text("{broken")
    assert not preflight._is_gated_deltanet(str(folder))


def _found(base: str, gpus: int, missing: set[str], monkeypatch) -> list[str]:
    real = preflight.importlib.util.find_spec
    monkeypatch.setattr(preflight.importlib.util, "find_spec",
                        lambda name: None if name in missing else real("json"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    cfg = SweepConfig.model_validate({"name": "k", "model": {"base": base}, "resources": {"gpus_per_trial": gpus}})
    found: list[str] = []
    preflight._resource_problems(cfg, found)
    return [p for p in found if p.startswith(preflight.NOTE)]


def test_a_missing_kernel_is_a_note_naming_the_package_and_the_extra(monkeypatch):
    notes = _found("Qwen/Qwen3.5-4B", 1, {"causal_conv1d"}, monkeypatch)
    assert len(notes) == 1 and "causal-conv1d is not installed" in notes[0] and "'.[gpu]'" in notes[0]
    assert "flash-linear-attention" not in notes[0]
    assert _found("Qwen/Qwen3.5-4B", 1, set(), monkeypatch) == []        # both present
    assert _found("Qwen/Qwen3.5-4B", 0, {"fla"}, monkeypatch) == []      # CPU trials: the kernels are CUDA-only
    assert _found("smollm2-135m", 1, {"fla", "causal_conv1d"}, monkeypatch) == []
