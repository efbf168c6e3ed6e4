"""benchmarks/gpu_check.sh runs end to end on CPU with the tiny shape, so it is ready when a GPU is lent.

Only the plumbing and the math are asserted (no timings): both trainers train the Qwen3.5 from its
config, their per-step losses agree, llama.cpp converts it as `qwen35` and the harness scores every case.
"""

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_gpu_check_runs_the_tiny_shape_on_cpu(tmp_path):
    out = tmp_path / "gpu-check.json"
    res = subprocess.run(["bash", str(ROOT / "benchmarks/gpu_check.sh"), "--shape", "tiny", "--steps", "2",
                          "--rows", "8", "--cases", "3", "--json", str(out)], capture_output=True, text=True,
                         timeout=900, cwd=ROOT)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    for line in ("machine: ", "shape tiny", "toolsweep / baseline tokens/s", "eval q4_k_m (qwen35", "gpu_check: "):
        assert line in res.stdout, (line, res.stdout[-3000:])
    got = json.loads(out.read_text())
    assert got["shape"] == "tiny" and got["machine"]["cuda"] is False
    train = got["train"]
    assert len(train["baseline"]["losses"]) == len(train["toolsweep"]["losses"]) == 2
    assert train["max_abs_loss_diff"] < 1e-4  # same math: TRL's loss, scored where it is trained
    assert got["eval"]["gguf_architecture"] == "qwen35" and got["eval"]["cases"] == 3
    assert got["eval"]["prompt_tokens"] > 0 and got["eval"]["gpu_offload"] is False
