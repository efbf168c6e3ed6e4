"""What export refuses before a model file is written (orchestrator/quantize/export.py), found by a blind
probe of failing trials: a diverged run failed at quantization as an "unexpected" llama.cpp error and left a
half-written GGUF under its final name."""

import pytest
import torch

from orchestrator.quantize import export


def _linear(value: float) -> torch.nn.Module:
    layer = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.fill_(0.5)
        layer.weight[1, 1] = value
    return layer


def test_weights_no_f16_file_can_hold_are_named():
    assert export.unrepresentable_weight(_linear(65504.0)) is None   # float16's largest value itself
    assert export.unrepresentable_weight(_linear(1e6)) == "weight holds 1e+06, past float16's largest value 65504"
    assert export.unrepresentable_weight(_linear(float("nan"))) == "weight holds NaN or inf"
    assert export.unrepresentable_weight(_linear(float("-inf"))) == "weight holds NaN or inf"


def test_a_failed_quantization_leaves_no_file_under_the_final_name(tmp_path):
    broken = tmp_path / "tuned-f16.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 60)   # a header and nothing after it
    out = tmp_path / "tuned-q4_k_m.gguf"
    with pytest.raises(RuntimeError, match="llama_model_quantize"):
        export.quantize(broken, out, "q4_k_m", n_threads=1)
    assert not out.exists() and not (tmp_path / "tuned-q4_k_m.gguf.part").exists()
