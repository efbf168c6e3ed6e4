"""Training throughput: toolsweep's trainer against plain TRL, side by side on this machine.

    python benchmarks/train_throughput.py [--config sweeps/smoke.yaml] [--rows 32] [--steps 8] [--json out.json]

Both runs train the config's base model (SmolLM2-135M for the smoke sweep) on the same rendered
rows, with the same seed, LoRA, batch size and arguments, for the same number of optimizer steps,
each in a fresh subprocess (so each peak RSS is its own):

- baseline:  plain TRL `SFTTrainer` as its docs set it up for this task: assistant-only loss
             (labels from the chat template's generation masks), fp32 on CPU, the same batch size.
- toolsweep: `LossPositionSFTTrainer` (orchestrator/sft_trainer.py): rows unpadded one at a time,
             the LM head only on trained positions, same loss.

Printed for each: trained (non-padding) tokens/s, seconds per step, peak RSS; then the ratio of
tokens/s, the largest absolute difference between the per-step loss curves, and toolsweep's share
of this machine's FLOP limit: the matmul rate measured here (torch fp32, 2048^2) divided by the model
FLOPs one trained token needs (LoRA: forward plus input-gradient backward through the frozen
weights, 4 x body parameters; causal attention; the LM head on trained positions only).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for _k, _v in {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(_k, _v)


def _config(path: Path, rows: int, dropout: float | None):
    from orchestrator.config import load_config

    overrides = {"data.mix.total": rows}
    if dropout is not None:
        overrides["train.lora.dropout"] = dropout
    return load_config(path, overrides)


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


def flops_per_trained_token(model_config, mean_len: float, scored_share: float) -> float:
    """LoRA training FLOPs per (non-padding) token with the head on trained positions only."""
    c = model_config
    d, layers, vocab = c.hidden_size, c.num_hidden_layers, c.vocab_size
    kv = c.num_key_value_heads * (d // c.num_attention_heads)
    body = layers * (2 * d * d + 2 * d * kv + 3 * d * c.intermediate_size)   # q,o + k,v + MLP weights
    attention = layers * 2 * d * mean_len                                    # QK^T and AV, causal mean context
    head = 2 * d * vocab * scored_share
    return 2 * (2 * body + attention + head)     # x2: the backward pass computes input gradients too


def run_variant(variant: str, config: Path, rows: int, steps: int, dropout: float | None, out: Path) -> None:
    """One training run (in its own process); writes its numbers to `out`."""
    from transformers import TrainerCallback
    from trl import SFTTrainer

    from orchestrator.paths import cache_dir
    from orchestrator.sft_trainer import LossPositionSFTTrainer
    from orchestrator.train import build_trainer
    from orchestrator.trial import prepare_inputs

    cfg = _config(config, rows, dropout)
    work = Path(tempfile.mkdtemp(prefix=f"bench-{variant}-"))
    inputs = prepare_inputs(cfg, cache_dir(), eval_limit=1, data_dir=work / "data")
    logs: list[dict] = []

    class Keep(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                kept.append(dict(logs))

    kept = logs
    cls = SFTTrainer if variant == "baseline" else LossPositionSFTTrainer
    trainer = build_trainer(inputs.base, inputs.tokenizer, inputs.train_ds, cfg.train, work, [Keep()], trainer_cls=cls)
    trainer.args.max_steps = steps
    start = time.perf_counter()
    trainer.train()
    secs = time.perf_counter() - start
    masks = [m for m in inputs.train_ds["assistant_masks"]]
    lengths = [len(m) for m in masks]
    tokens = logs[-1]["num_tokens"]
    out.write_text(json.dumps({
        "variant": variant, "steps": steps, "seconds": secs, "seconds_per_step": secs / steps,
        "trained_tokens": tokens, "tokens_per_s": tokens / secs,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2,
        "losses": [x["loss"] for x in logs],
        "mean_row_tokens": sum(lengths) / len(lengths),
        "scored_share": sum(map(sum, masks)) / sum(lengths),
        "model_config": trainer.model.get_base_model().config.to_dict(),
    }))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=ROOT / "sweeps/smoke.yaml")
    ap.add_argument("--rows", type=int, default=32, help="rows in the training mix")
    ap.add_argument("--steps", type=int, default=8, help="optimizer steps per run")
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="LoRA dropout for both runs (default 0: the loss curves then compare the math, not two "
                         "different dropout draws; -1 keeps the config's)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--variant", choices=["baseline", "toolsweep"], help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.variant:
        run_variant(args.variant, args.config, args.rows, args.steps, None if args.dropout < 0 else args.dropout,
                    args.out)
        return

    results = {}
    for variant in ("baseline", "toolsweep"):
        out = Path(tempfile.mkstemp(suffix=".json")[1])
        subprocess.run([sys.executable, __file__, "--variant", variant, "--out", str(out), "--config", str(args.config),
                        "--rows", str(args.rows), "--steps", str(args.steps), "--dropout", str(args.dropout)],
                       check=True, cwd=ROOT)
        results[variant] = json.loads(out.read_text())
    base, ours = results["baseline"], results["toolsweep"]
    from transformers import LlamaConfig, PretrainedConfig

    mc = ours.pop("model_config")
    base.pop("model_config")
    config = (LlamaConfig if mc.get("model_type") == "llama" else PretrainedConfig).from_dict(mc)
    per_token = flops_per_trained_token(config, ours["mean_row_tokens"], ours["scored_share"])
    gflops = matmul_gflops()
    limit_tokens_s = gflops * 1e9 / per_token
    diff = max(abs(a - b) for a, b in zip(base["losses"], ours["losses"]))
    print(f"LoRA dropout {'as configured' if args.dropout < 0 else args.dropout}; {args.rows} rows ({ours['mean_row_tokens']:.0f} tokens on average, {ours['scored_share']:.0%} of them "
          f"trained), {args.steps} steps, batch from {args.config.name}")
    print(f"{'trainer':<11}{'tokens/s':>10}{'s/step':>9}{'peak RSS GB':>13}")
    for label, r in (("baseline", base), ("toolsweep", ours)):
        print(f"{label:<11}{r['tokens_per_s']:>10.1f}{r['seconds_per_step']:>9.2f}{r['peak_rss_gb']:>13.2f}")
    print(f"toolsweep / baseline tokens/s: {ours['tokens_per_s'] / base['tokens_per_s']:.2f}x; "
          f"max |loss difference| per step: {diff:.2e}")
    print(f"FLOP limit: {gflops:.0f} GFLOP/s matmul / {per_token / 1e9:.2f} GFLOP per trained token = "
          f"{limit_tokens_s:.0f} tokens/s; toolsweep reaches {ours['tokens_per_s'] / limit_tokens_s:.0%}")
    if args.json:
        args.json.write_text(json.dumps({
            "baseline": base, "toolsweep": ours, "ratio_tokens_per_s": ours["tokens_per_s"] / base["tokens_per_s"],
            "max_abs_loss_diff": diff, "fraction_of_flop_limit": ours["tokens_per_s"] / limit_tokens_s,
            "matmul_gflops": gflops, "flops_per_trained_token": per_token}, indent=2))


if __name__ == "__main__":
    main()
