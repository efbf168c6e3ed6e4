"""GPU readiness for the sweep files' target: a Qwen3.5-4B-shaped model, trained and evaluated.

    bash benchmarks/gpu_check.sh [--shape 4b|tiny] [--steps 8] [--rows 32] [--cases 16] [--json FILE]

One prepared script for a GPU machine (after `make install`, or in the CUDA image of the
Dockerfile), meant to finish in under 8 minutes there. No hub: the model is built from a config
with random weights through toolsweep's own `tiny-qwen3.5` path (`model.tiny_qwen35` given the
4B's shape: 32 layers, hidden 2560, 3 of 4 layers Gated DeltaNet), with SmolLM2's tokenizer and
the 4B's 248,320-row vocabulary. It prints:

1. what the machine offers: the GPU, and whether the linear-attention kernels are importable
   (`flash-linear-attention`, `causal-conv1d`; without them transformers runs its pure-torch
   delta rule and convolution) and whether llama.cpp was built with GPU offload;
2. LoRA training on the same rows and seed, for the same steps: plain TRL `SFTTrainer` against
   toolsweep's trainer (`benchmarks/train_throughput.py`): trained tokens/s, s/step, peak RSS and
   peak GPU memory, and the largest per-step loss difference;
3. the model converted by llama.cpp and quantized to q4_k_m, then `--cases` test cases through
   the eval harness with every layer offloaded when llama.cpp can: cases/s, prompt and output
   tokens.

`--shape tiny` (the default without CUDA) runs the same steps on the test-size model on CPU;
`tests/test_gpu_check.py` runs it so that the script cannot rot between GPU sessions.
Random weights decode nonsense: the eval part measures speed and plumbing, not quality.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from orchestrator.offline import offline_defaults  # noqa: E402

offline_defaults()

# Qwen3.5-4B's text shape (its hub config.json); the tiny one is TinyQwen35Config's defaults.
SHAPES = {
    "4b": {"hidden_size": 2560, "intermediate_size": 9216, "num_hidden_layers": 32, "num_attention_heads": 16,
           "num_key_value_heads": 4, "head_dim": 256, "linear_num_key_heads": 16, "linear_num_value_heads": 32,
           "linear_key_head_dim": 128, "linear_value_head_dim": 128, "vocab_size": 248320},
    "tiny": {},
}


def machine() -> dict:
    import llama_cpp
    import torch

    from orchestrator.search.preflight import LINEAR_ATTENTION_KERNELS

    cuda = torch.cuda.is_available()
    kernels = {package.replace("-", "_"): importlib.util.find_spec(module) is not None  # the packages preflight asks for
               for package, module in LINEAR_ATTENTION_KERNELS.items()}
    return {"cuda": cuda, "gpu": torch.cuda.get_device_name(0) if cuda else None,
            "torch": torch.__version__, "torch_cuda": torch.version.cuda, **kernels,
            "llama_cpp_gpu_offload": bool(llama_cpp.llama_supports_gpu_offload())}


def sweep_config(shape: str, rows: int, path: Path) -> Path:
    """The smoke sweep with the base swapped for the Qwen3.5 of `shape` and LoRA on all-linear, every layer."""
    raw = yaml.safe_load((ROOT / "sweeps/smoke.yaml").read_text())
    raw["name"] = f"gpu-check-{shape}"
    raw["output_dir"] = str(path.parent / "runs")
    raw["model"] = {**raw["model"], "base": "tiny-qwen3.5", "tiny_qwen35": SHAPES[shape]}
    raw["data"]["mix"]["total"] = rows
    raw["train"]["lora"]["target_modules"] = "all-linear"
    raw["train"]["lora"]["top_layers"] = None  # every layer: the smoke sweep's 15 is a count of SmolLM2's 30
    raw["train"]["bf16"] = True  # used on CUDA only (orchestrator/train/trainer.py); CPU trains in fp32
    raw.pop("search_space", None)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def train_check(config: Path, steps: int, rows: int, out: Path) -> dict:
    subprocess.run([sys.executable, str(ROOT / "benchmarks/train_throughput.py"), "--config", str(config),
                    "--steps", str(steps), "--rows", str(rows), "--variants", "baseline,toolsweep",
                    "--json", str(out)], check=True, cwd=ROOT)
    return json.loads(out.read_text())


def eval_check(config: Path, n_cases: int, work: Path) -> dict:
    """Base model -> llama.cpp f16 GGUF -> q4_k_m -> the eval harness on `n_cases` test cases."""
    from evals.cases import load_cases
    from evals.harness import evaluate, is_probe
    from evals.runner import GGUFRunner
    from evals.template import strip_generation_markers
    from orchestrator.train.base_model import resolve_base
    from orchestrator.train.chat_template import load_template
    from orchestrator.config import load_config
    from orchestrator.quantize.export import export_base, to_gguf
    from orchestrator.paths import cache_dir

    cfg = load_config(config)
    serving = strip_generation_markers(load_template(cfg.model.chat_template))
    start = time.perf_counter()
    base = Path(resolve_base(cfg.model, cache_dir() / "models"))
    exported = export_base(base, work / "export", serving)
    gguf = to_gguf(exported, work / "gguf", "check", ["q4_k_m"], cfg.quantize.llama_cpp_dir, keep_f16=False)["q4_k_m"]
    convert_s = time.perf_counter() - start
    cases = [c for c in load_cases(ROOT / "evals/sets/test.jsonl") if not is_probe(c)][:n_cases]
    runner = GGUFRunner(gguf, n_ctx=cfg.eval.n_ctx, n_batch=cfg.eval.n_batch)
    try:
        start = time.perf_counter()
        report = evaluate(cases, runner, runner.chat_template, cfg.eval.max_new_tokens, seed=cfg.seed)
        eval_s = time.perf_counter() - start
        arch = runner.llm.metadata.get("general.architecture")
        offload = runner.describe()["gpu_offload"]
    finally:
        runner.close()
    records = report["cases"]
    return {"gguf_architecture": arch, "gguf_size_mb": gguf.stat().st_size / 2 ** 20, "convert_quantize_s": convert_s,
            "cases": len(records), "eval_s": eval_s, "cases_per_s": len(records) / eval_s,
            "prompt_tokens": sum(r.get("prompt_tokens", 0) for r in records),
            "output_tokens": sum(r.get("completion_tokens", 0) for r in records), "gpu_offload": offload}


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="4b" if torch.cuda.is_available() else "tiny",
                    help="model shape (default: 4b with CUDA, tiny without)")
    ap.add_argument("--steps", type=int, default=8, help="optimizer steps per training run")
    ap.add_argument("--rows", type=int, default=32, help="training rows (batch 4, as in the smoke sweep)")
    ap.add_argument("--cases", type=int, default=16, help="test cases for the eval part")
    ap.add_argument("--json", type=Path, help="write every number to this file")
    args = ap.parse_args()

    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    facts = machine()
    print(f"machine: {facts['gpu'] or 'no CUDA device'}; torch {facts['torch']} (CUDA {facts['torch_cuda']}); "
          f"flash-linear-attention {'yes' if facts['flash_linear_attention'] else 'no'}, causal-conv1d "
          f"{'yes' if facts['causal_conv1d'] else 'no'}; llama.cpp GPU offload "
          f"{'yes' if facts['llama_cpp_gpu_offload'] else 'no'}")
    if facts["cuda"] and not (facts["flash_linear_attention"] and facts["causal_conv1d"]):
        print("  without both kernels the Gated DeltaNet layers run transformers' pure-torch path: "
              "pip install --no-build-isolation '.[gpu]'")
    config = sweep_config(args.shape, args.rows, work / "gpu-check.yaml")
    print(f"shape {args.shape}: {SHAPES[args.shape] or 'TinyQwen35Config defaults'}")
    train = train_check(config, args.steps, args.rows, work / "train.json")
    ev = eval_check(config, args.cases, work)
    print(f"eval q4_k_m ({ev['gguf_architecture']}, {ev['gguf_size_mb']:.0f} MB, converted and quantized in "
          f"{ev['convert_quantize_s']:.0f} s): {ev['cases']} cases in {ev['eval_s']:.1f} s = "
          f"{ev['cases_per_s']:.2f} cases/s; {ev['prompt_tokens']} prompt and {ev['output_tokens']} output tokens; "
          f"GPU offload {'on' if ev['gpu_offload'] else 'off'}")
    total = time.perf_counter() - began
    print(f"gpu_check: {total:.0f} s in all")
    if args.json:
        args.json.write_text(json.dumps({"shape": args.shape, "machine": facts, "train": train, "eval": ev,
                                         "seconds": total}, indent=2))


if __name__ == "__main__":
    main()
