"""Training throughput: toolsweep's trainer against plain TRL, side by side on this machine.

    python benchmarks/train_throughput.py [--config sweeps/smoke.yaml] [--rows 32] [--steps 8] [--json out.json]

Both runs train the config's base model (SmolLM2-135M for the smoke sweep) on the same rendered
rows, with the same seed, LoRA, batch size and arguments, for the same number of optimizer steps,
each in a fresh subprocess (so each peak RSS is its own):

- baseline:  plain TRL `SFTTrainer` as its docs set it up for this task: assistant-only loss
             (labels from the chat template's generation masks), fp32 on CPU, the same batch size.
- toolsweep: `LossPositionSFTTrainer` (orchestrator/train/sft_trainer.py): rows unpadded one at a time,
             the LM head only on trained positions, the LoRA product added inside the base matmul,
             same loss.

and, to show what each lever is worth alone (`--variants` picks a subset):

- head-only: the padded batch in one forward, as TRL runs it, but the head only on trained positions.
- unpadded:  rows one at a time cut to their real tokens, the head on every position of each row.
- fused:     the padded batch and the head on every position, as TRL runs them, but each LoRA layer's
             product added inside its base matmul (one addmm_ instead of PEFT's matmul, scale, add).
- norm:      the padded batch and the head on every position, PEFT's forward, but RMSNorm's gradient
             written out (orchestrator/train/rms_norm.py: five passes instead of autograd's fifteen).
- bf16:      toolsweep's trainer under torch.autocast(bfloat16) on CPU, as `train.bf16: true` runs it
             on a CPU with avx512_bf16 or AMX. This changes the math (bf16 matmuls, fp32 master
             weights): its loss curve is compared with the baseline's too, and its share of the
             FLOP limit is taken against the bf16 matmul rate.

Printed for each: trained (non-padding) tokens/s, seconds per step, peak RSS; then the ratio of
tokens/s, the largest absolute difference between the per-step loss curves, and toolsweep's share
of this machine's FLOP limit: the best matmul rate measured here (torch fp32, 2048^2, best of 5) divided by the model
FLOPs one trained token needs (LoRA: forward plus input-gradient backward through the frozen
weights, 4 x body parameters; causal attention; the LM head on trained positions only).

`--profile` adds one more toolsweep run under torch.profiler (not timed with the others: the
profiler slows every op) and prints where its step time goes: matrix products, attention,
element-wise ops and the rest, each share of the step and, for the products and attention, the
GFLOP/s they ran at (FLOPs from the recorded shapes) beside the 2048^2 rate the FLOP limit assumes.
It answers "how far can this trainer go on this CPU": if the products already run near the rate
their shapes allow, removing waste elsewhere is all that is left.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from orchestrator.offline import offline_defaults  # noqa: E402

offline_defaults()


def _config(path: Path, rows: int, dropout: float | None, bf16: bool = False, top_layers: int = -1):
    from orchestrator.config import load_config

    # Precision is the variant's, not the config's: baseline and toolsweep are fp32, bf16 autocasts.
    overrides = {"data.mix.total": rows, "train.bf16": bf16}
    if dropout is not None:
        overrides["train.lora.dropout"] = dropout
    if top_layers >= 0:  # 0: every layer adapted; -1: the config's choice
        overrides["train.lora.top_layers"] = top_layers or None
    return load_config(path, overrides)


def matmul_gflops(n: int = 2048, repeats: int = 5, rounds: int = 5, dtype: str = "float32") -> float:
    """The best of `rounds` timings of `repeats` n x n matmuls, in GFLOP/s: the limit is what the
    hardware allows, and on a shared machine a single timing has read 124 and 172 an hour apart."""
    import torch

    a, b = torch.randn(n, n, dtype=getattr(torch, dtype)), torch.randn(n, n, dtype=getattr(torch, dtype))
    a @ b
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def flops_per_trained_token(model_config, mean_len: float, scored_share: float, top_layers: int | None = None) -> float:
    """LoRA training FLOPs per (non-padding) token with the head on trained positions only.

    The forward pass runs every layer; the backward pass (input gradients through the frozen
    weights, as many FLOPs as the forward) runs only through the adapted layers: all of them, or
    the last `top_layers` (train.lora.top_layers), below which nothing needs a gradient."""
    c = model_config
    d, layers, vocab = c.hidden_size, c.num_hidden_layers, c.vocab_size
    kv = c.num_key_value_heads * (d // c.num_attention_heads)
    per_layer = 2 * (2 * d * d + 2 * d * kv + 3 * d * c.intermediate_size)   # q,o + k,v + MLP weights, 2 FLOPs each
    per_layer += 2 * d * mean_len                                             # QK^T and AV, causal mean context
    head = 2 * d * vocab * scored_share
    backward_layers = layers if top_layers is None else min(top_layers, layers)
    return (layers + backward_layers) * per_layer + 2 * head


VARIANTS = {  # name: (unpad_rows, head_on_trained_only, fuse_lora, analytic_norm, autocast_bf16); None = plain TRL
    "baseline": None,
    "head-only": (False, True, False, False, False),
    "unpadded": (True, False, False, False, False),
    "fused": (False, False, True, False, False),
    "norm": (False, False, False, True, False),
    "toolsweep": (True, True, True, True, False),
    "bf16": (True, True, True, True, True),
}


def _trainer_class(variant: str):
    from trl import SFTTrainer

    from orchestrator.train.sft_trainer import LossPositionSFTTrainer

    levers = VARIANTS[variant]
    if levers is None:
        return SFTTrainer
    unpad, head_only, fuse, norm, bf16 = levers
    return type(f"Bench_{variant}", (LossPositionSFTTrainer,),
                {"unpad_rows": unpad, "head_on_trained_only": head_only, "fuse_lora": fuse, "analytic_norm": norm,
                 "autocast_bf16": bf16})


def run_variant(variant: str, config: Path, rows: int, steps: int, dropout: float | None, out: Path,
                top_layers: int = -1, profile: bool = False) -> None:
    """One training run (in its own process); writes its numbers to `out`."""
    import torch
    from transformers import TrainerCallback

    from orchestrator.paths import cache_dir
    from orchestrator.train.trainer import build_trainer
    from orchestrator.recipes.trial import prepare_inputs

    cfg = _config(config, rows, dropout, bf16=VARIANTS[variant] is not None and VARIANTS[variant][4],
                  top_layers=top_layers)
    work = Path(tempfile.mkdtemp(prefix=f"bench-{variant}-"))
    inputs = prepare_inputs(cfg, cache_dir(), eval_limit=1, data_dir=work / "data")
    logs: list[dict] = []

    class Keep(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                kept.append(dict(logs))

    kept = logs
    trainer = build_trainer(inputs.base, inputs.tokenizer, inputs.train_ds, cfg.train, work, [Keep()],
                            trainer_cls=_trainer_class(variant))
    trainer.args.max_steps = steps
    profiler = None
    if profile:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as torch_profile

        profiler = torch_profile(activities=[ProfilerActivity.CPU], record_shapes=True)
    start = time.perf_counter()
    with profiler or contextlib.nullcontext():
        trainer.train()
    secs = time.perf_counter() - start
    masks = [m for m in inputs.train_ds["assistant_masks"]]
    lengths = [len(m) for m in masks]
    tokens = logs[-1]["num_tokens"]
    out.write_text(json.dumps({
        "variant": variant, "steps": steps, "seconds": secs, "seconds_per_step": secs / steps,
        "trained_tokens": tokens, "tokens_per_s": tokens / secs,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2,
        "peak_gpu_gb": torch.cuda.max_memory_allocated() / 2 ** 30 if torch.cuda.is_available() else None,
        "losses": [x["loss"] for x in logs],
        "mean_row_tokens": sum(lengths) / len(lengths),
        "scored_share": sum(map(sum, masks)) / sum(lengths),
        "model_config": trainer.model.get_base_model().config.to_dict(),
        **({"ops": _op_table(profiler)} if profiler else {}),
    }))


def _op_table(profiler) -> list[dict]:
    """The profiler's self CPU time per (op, input shapes), as plain rows for `step_breakdown`."""
    return [{"name": e.key, "shapes": [list(s) for s in e.input_shapes], "self_us": e.self_cpu_time_total,
             "calls": e.count} for e in profiler.key_averages(group_by_input_shape=True)]


_PRODUCTS = {"aten::mm", "aten::addmm", "aten::addmm_", "aten::bmm", "aten::baddbmm"}
_ELEMENTWISE = ("aten::mul", "aten::add", "aten::sub", "aten::div", "aten::silu", "aten::pow", "aten::neg",
                "aten::exp", "aten::rsqrt", "aten::mean", "aten::sum", "aten::cat", "aten::copy_", "aten::fill_",
                "aten::addcmul", "aten::_log_softmax", "aten::clone", "aten::where", "aten::zero_")


def _product_flops(name: str, shapes: list[list[int]]) -> float:
    """2 x M x K x N of one matrix product from its recorded input shapes (batched: times the batch)."""
    if name in ("aten::addmm", "aten::addmm_", "aten::baddbmm"):
        shapes = shapes[1:3]  # (bias or accumulator, a, b)
    a, b = shapes[0], shapes[1]
    if len(a) < 2 or len(b) < 2:
        return 0.0
    batch = a[0] if len(a) == 3 else 1
    return 2.0 * batch * a[-2] * a[-1] * b[-1]


def _attention_flops(shapes: list[list[int]], backward: bool) -> float:
    """Causal attention's FLOPs from SDPA's recorded shapes: QK^T and AV over the lower triangle
    (batch x heads x L^2/2 x head_dim, 2 FLOPs each), the backward 2.5 times that."""
    for shape in shapes:
        if len(shape) == 4:  # the first 4-d input is the query or the output gradient: (batch, heads, L, dim)
            b, h, length, dim = shape
            forward = 2 * 2 * b * h * length * length / 2 * dim
            return forward * (2.5 if backward else 1.0)
    return 0.0


def step_breakdown(ops: list[dict], steps: int, matmul_gflops_2048: float) -> dict:
    """Where a profiled run's time went, per step: matrix products, attention, element-wise ops and
    the rest (framework overhead, the optimizer), each in seconds and as a share, with the rate the
    products and attention ran at. Pure: works on `_op_table`'s rows."""
    kinds = {"products": [0.0, 0.0], "attention": [0.0, 0.0], "elementwise": [0.0, 0.0], "other": [0.0, 0.0]}
    for op in ops:
        name, secs = op["name"], op["self_us"] / 1e6
        if name in _PRODUCTS:
            kind, flops = "products", _product_flops(name, op["shapes"]) * op["calls"]
        elif "scaled_dot_product" in name and "flash_attention" in name:
            kind = "attention"
            flops = _attention_flops(op["shapes"], backward="backward" in name) * op["calls"]
        elif name.startswith(_ELEMENTWISE):
            kind, flops = "elementwise", 0.0
        else:
            kind, flops = "other", 0.0
        kinds[kind][0] += secs
        kinds[kind][1] += flops
    total = sum(secs for secs, _ in kinds.values()) or 1.0
    out = {}
    for kind, (secs, flops) in kinds.items():
        out[kind] = {"seconds_per_step": secs / steps, "share": secs / total}
        if kind in ("products", "attention"):
            rate = flops / secs / 1e9 if secs else 0.0
            out[kind].update({"gflops": rate, "share_of_2048_rate": rate / matmul_gflops_2048})
    # The step if products and attention ran at the 2048^2 rate and nothing else changed: how much
    # a faster kernel could still buy, against how much removing other work could.
    at_peak = sum(kinds[k][1] for k in ("products", "attention")) / (matmul_gflops_2048 * 1e9)
    out["step_if_products_at_2048_rate"] = (at_peak + kinds["elementwise"][0] + kinds["other"][0]) / steps
    out["profiled_step"] = total / steps
    return out


def _print_breakdown(b: dict, gflops: float) -> None:
    print(f"Where toolsweep's step goes (profiled run, {b['profiled_step']:.2f} s/step under the profiler; "
          f"fp32 2048^2 matmul {gflops:.0f} GFLOP/s):")
    for kind in ("products", "attention", "elementwise", "other"):
        k = b[kind]
        rate = f"  {k['gflops']:.0f} GFLOP/s ({k['share_of_2048_rate']:.0%} of the 2048^2 rate)" if "gflops" in k else ""
        print(f"  {kind:<12}{k['seconds_per_step']:>7.2f} s/step {k['share']:>5.0%}{rate}")
    print(f"  with products and attention at the 2048^2 rate and the rest unchanged: "
          f"{b['step_if_products_at_2048_rate']:.2f} s/step")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=ROOT / "sweeps/smoke.yaml")
    ap.add_argument("--rows", type=int, default=32, help="rows in the training mix")
    ap.add_argument("--steps", type=int, default=8, help="optimizer steps per run")
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="LoRA dropout for both runs (default 0: the loss curves then compare the math, not two "
                         "different dropout draws; -1 keeps the config's)")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help=f"comma-separated subset of {', '.join(VARIANTS)} (baseline and toolsweep are always run)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="run every trainer this many times, in alternating order (A B .. then .. B A), and report "
                         "each ratio as the median of the per-repeat ratios with their min and max: on a shared "
                         "machine one pair of runs has varied by about 30%%")
    ap.add_argument("--top-layers", type=int, default=-1,
                    help="adapt only the last N decoder layers in every run (train.lora.top_layers; a config "
                         "choice, not a trainer lever: plain TRL gets it too); 0 adapts every layer; "
                         "default: the config's")
    ap.add_argument("--profile", action="store_true",
                    help="after the timed runs, profile one more toolsweep run and print where its step time goes "
                         "(products, attention, element-wise, other; GFLOP/s of products and attention)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--variant", choices=list(VARIANTS), help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.variant:
        run_variant(args.variant, args.config, args.rows, args.steps, None if args.dropout < 0 else args.dropout,
                    args.out, args.top_layers, args.profile)
        return

    wanted = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(wanted) - set(VARIANTS))
    if unknown:
        ap.error(f"--variants: unknown {', '.join(unknown)} (expected some of {', '.join(VARIANTS)})")
    if args.repeats < 1:
        ap.error(f"--repeats: expected a whole number >= 1, got {args.repeats}")
    order = [v for v in VARIANTS if v in {"baseline", "toolsweep", *wanted}]
    runs: dict[str, list[dict]] = {v: [] for v in order}
    for repeat in range(args.repeats):
        for variant in (order if repeat % 2 == 0 else order[::-1]):
            runs[variant].append(_subprocess_run(variant, args))
    profiled = _subprocess_run("toolsweep", args, profile=True) if args.profile else None
    results = summarise_repeats(runs)
    ours = results["toolsweep"]
    from transformers import LlamaConfig

    mc = ours.pop("model_config")
    for r in results.values():
        r.pop("model_config", None)
    top = _config(args.config, args.rows, args.dropout, top_layers=args.top_layers).train.lora.top_layers
    if mc.get("model_type") != "llama":  # the FLOP model below is a dense Llama's (no linear attention)
        _print_table(args, results, top)
        print(f"FLOP limit: not modelled for model type {mc.get('model_type')!r}")
        if args.json:
            args.json.write_text(json.dumps({**results, "ratio_tokens_per_s": ours["ratio_tokens_per_s"],
                                             "max_abs_loss_diff": ours["max_abs_loss_diff_vs_baseline"]}, indent=2))
        return
    config = LlamaConfig.from_dict(mc)
    per_token = flops_per_trained_token(config, ours["mean_row_tokens"], ours["scored_share"], top)
    gflops = matmul_gflops()
    limit_tokens_s = gflops * 1e9 / per_token
    diff = ours["max_abs_loss_diff_vs_baseline"]
    _print_table(args, results, top)
    print(f"FLOP limit: {gflops:.0f} GFLOP/s matmul (fp32) / {per_token / 1e9:.2f} GFLOP per trained token = "
          f"{limit_tokens_s:.0f} tokens/s; toolsweep reaches {ours['tokens_per_s'] / limit_tokens_s:.0%}")
    breakdown = {}
    if profiled:
        breakdown = {"toolsweep_step_breakdown": step_breakdown(profiled["ops"], profiled["steps"], gflops)}
        _print_breakdown(breakdown["toolsweep_step_breakdown"], gflops)
    bf16_numbers = {}
    if "bf16" in results:
        bf16_gflops = matmul_gflops(dtype="bfloat16")
        bf16_share = results["bf16"]["tokens_per_s"] / (bf16_gflops * 1e9 / per_token)
        print(f"bf16: {bf16_gflops:.0f} GFLOP/s matmul; its limit {bf16_gflops * 1e9 / per_token:.0f} tokens/s, "
              f"reached {bf16_share:.0%}")
        bf16_numbers = {"bf16_matmul_gflops": bf16_gflops, "bf16_fraction_of_bf16_flop_limit": bf16_share}
    if args.json:
        args.json.write_text(json.dumps({
            **results, "ratio_tokens_per_s": ours["ratio_tokens_per_s"],
            "max_abs_loss_diff": diff, "fraction_of_flop_limit": ours["tokens_per_s"] / limit_tokens_s,
            "matmul_gflops": gflops, "flops_per_trained_token": per_token, **bf16_numbers, **breakdown}, indent=2))


def _subprocess_run(variant: str, args, profile: bool = False) -> dict:
    """One training run in a fresh process (its peak RSS its own); its numbers."""
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    subprocess.run([sys.executable, __file__, "--variant", variant, "--out", str(out), "--config",
                    str(args.config), "--rows", str(args.rows), "--steps", str(args.steps),
                    "--dropout", str(args.dropout), "--top-layers", str(args.top_layers)]
                   + (["--profile"] if profile else []), check=True, cwd=ROOT)
    return json.loads(out.read_text())


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def summarise_repeats(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """One entry per trainer from its repeated runs: the run with the median tokens/s, every run's
    tokens/s, and the ratios to the baseline as the median (min, max) of per-repeat pairs, so a
    slow moment of the machine is divided by the baseline run beside it, not by another's."""
    base_runs = runs["baseline"]
    results = {}
    for variant, vruns in runs.items():
        middle = sorted(vruns, key=lambda r: r["tokens_per_s"])[(len(vruns) - 1) // 2]
        speed = [r["tokens_per_s"] / b["tokens_per_s"] for r, b in zip(vruns, base_runs)]
        rss = [r["peak_rss_gb"] / b["peak_rss_gb"] for r, b in zip(vruns, base_runs)]
        results[variant] = {
            **middle, "repeats": len(vruns), "runs_tokens_per_s": [r["tokens_per_s"] for r in vruns],
            "ratio_tokens_per_s": _median(speed), "ratio_tokens_per_s_min": min(speed),
            "ratio_tokens_per_s_max": max(speed), "ratio_peak_rss": _median(rss),
            "max_abs_loss_diff_vs_baseline": max(abs(a - b) for r, br in zip(vruns, base_runs)
                                                 for a, b in zip(br["losses"], r["losses"])),
        }
    return results


def _print_table(args, results: dict, top_layers: int | None) -> None:
    base, ours = results["baseline"], results["toolsweep"]
    print(f"LoRA dropout {'as configured' if args.dropout < 0 else args.dropout}; {args.rows} rows "
          f"({ours['mean_row_tokens']:.0f} tokens on average, {ours['scored_share']:.0%} of them trained), "
          f"{args.steps} steps, batch from {args.config.name}"
          + (f"; LoRA on the last {top_layers} layers" if top_layers else "; LoRA on every layer"))
    gpu = base.get("peak_gpu_gb") is not None
    print(f"{'trainer':<11}{'tokens/s':>10}{'x base':>8}{'s/step':>9}{'peak RSS GB':>13}{'x base':>8}"
          f"{'max |dloss|':>13}" + (f"{'peak GPU GB':>13}" if gpu else ""))
    for label, r in results.items():
        print(f"{label:<11}{r['tokens_per_s']:>10.1f}{r['ratio_tokens_per_s']:>8.2f}{r['seconds_per_step']:>9.2f}"
              f"{r['peak_rss_gb']:>13.2f}{r['ratio_peak_rss']:>8.2f}{r['max_abs_loss_diff_vs_baseline']:>13.2e}"
              + (f"{r['peak_gpu_gb']:>13.2f}" if gpu else ""))
    if args.repeats > 1:
        print(f"{args.repeats} repeats in alternating order: each ratio is the median of per-repeat pairs")
        for label, r in results.items():
            runs = ", ".join(f"{t:.1f}" for t in r["runs_tokens_per_s"])
            print(f"  {label:<11} tokens/s per run: {runs}; x base {r['ratio_tokens_per_s_min']:.2f}"
                  f"-{r['ratio_tokens_per_s_max']:.2f}")
    print(f"toolsweep / baseline tokens/s: {ours['ratio_tokens_per_s']:.2f}x; "
          f"max |loss difference| per step: {ours['max_abs_loss_diff_vs_baseline']:.2e}")


if __name__ == "__main__":
    main()
