"""LoRA fine-tuning with TRL's SFTTrainer and PEFT. Edge module: imports torch, datasets, peft, trl.

Rows from the data pipeline (orchestrator/data/) are tokenised here with the chat template's `{% generation %}` masks, so the loss
covers assistant turns only (trained by `LossPositionSFTTrainer`, which scores just those positions), and an example whose render exceeds max_length is quarantined
rather than truncated (truncation would cut away the answer it should teach).
"""

from __future__ import annotations

import math
import resource
import sys
from pathlib import Path
from typing import Callable

import datasets
import torch
from peft import LoraConfig as PeftLoraConfig
from transformers import AutoModelForCausalLM, PrinterCallback, TrainerCallback
from trl import SFTConfig, SFTTrainer

from orchestrator.config import TrainConfig
from orchestrator.data.quarantine import Quarantine
from orchestrator.train.lora_targets import linear_leaf_counts, resolve_targets, top_layers
from orchestrator.train.precision import cpu_flags, resolve_precision
from orchestrator.train.sft_trainer import LossPositionSFTTrainer

OnLog = Callable[[int, dict], None]

datasets.disable_progress_bars()  # the trial's own progress display reports this work


def tokenize(rows: list[dict], tokenizer, max_length: int, quarantine: Quarantine) -> tuple[datasets.Dataset, list[dict]]:
    """The rows rendered with the chat template and its assistant masks, and the rows kept; a row
    longer than `max_length` tokens, or one the template raises on, is quarantined (stage "render"),
    never truncated."""
    from jinja2 import TemplateError

    ids, masks, kept = [], [], []
    for row in rows:
        where = (row["meta"]["source"], row["meta"]["row"], "render")
        try:
            out = tokenizer.apply_chat_template(row["messages"], tools=row.get("tools") or None, tokenize=True,
                                                return_dict=True, return_assistant_tokens_mask=True)
        except TemplateError as err:  # the template refuses this conversation: one row, not the whole mix
            quarantine.add(*where, "template_refused", f"the chat template refused the row ({err})", row)
            continue
        n = len(out["input_ids"])
        if n > max_length:
            quarantine.add(*where, "over_max_length", f"{n} tokens after rendering > max_length {max_length}", row)
            continue
        problem = _untrain_weight_zero_turns(row, out, tokenizer)
        if problem:
            quarantine.add(*where, "weight_not_applied", problem, row)
            continue
        if 1 not in out["assistant_masks"]:
            quarantine.add(*where, "no_assistant_tokens", "no assistant tokens after rendering", row)
            continue
        ids.append(out["input_ids"])
        masks.append(out["assistant_masks"])
        kept.append(row)
    return datasets.Dataset.from_dict({"input_ids": ids, "assistant_masks": masks}), kept


def _untrain_weight_zero_turns(row: dict, out: dict, tokenizer) -> str | None:
    """Clear the loss mask over each assistant turn marked `weight: 0` (OpenAI's fine-tuning format:
    in the prompt, not trained). A turn's tokens are those its render adds to the render of the
    messages before it; a template whose render of a prefix is not a prefix of the whole render
    cannot say which tokens are the turn's: the reason is returned and the row is quarantined."""
    messages = row["messages"]
    untrained = [k for k, m in enumerate(messages) if m["role"] == "assistant" and m.get("weight") == 0]
    if not untrained:
        return None
    ids, mask = out["input_ids"], list(out["assistant_masks"])

    def rendered(k: int) -> list[int]:
        return tokenizer.apply_chat_template(messages[:k], tools=row.get("tools") or None, tokenize=True,
                                             return_dict=True)["input_ids"]

    for k in untrained:
        try:
            start, end = len(rendered(k)), rendered(k + 1)
        except Exception as err:  # noqa: BLE001 - a template may refuse a prefix (e.g. one that starts with no user turn)
            return f"message {k} has weight 0, but the chat template cannot render the turns before it ({err})"
        if ids[:len(end)] != end:
            return f"message {k} has weight 0, but the chat template does not render the turns before it as a prefix"
        mask[start:len(end)] = [0] * (len(end) - start)
    out["assistant_masks"] = mask
    return None


class _ForwardLogs(TrainerCallback):
    def __init__(self, on_log: OnLog | None, on_step: Callable[[int, int], None] | None):
        self.log_fn, self.step_fn = on_log, on_step

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.log_fn and logs:
            self.log_fn(state.global_step, {k: float(v) for k, v in logs.items() if isinstance(v, (int, float))})

    def on_step_end(self, args, state, control, **kwargs):
        if self.step_fn:
            self.step_fn(state.global_step, state.max_steps)


def build_trainer(base: Path | str, tokenizer, train_ds: datasets.Dataset, cfg: TrainConfig, out_dir: Path,
                  callbacks: list[TrainerCallback] = (), checkpoint_each_epoch: bool = False,
                  keep_checkpoints: int = 1, trainer_cls: type[SFTTrainer] = LossPositionSFTTrainer) -> SFTTrainer:
    """The trainer for one LoRA run: the base model, TRL's SFT arguments from `cfg`, the adapter.

    `trainer_cls` is toolsweep's `LossPositionSFTTrainer` (same loss, scored only where it is
    trained; see orchestrator/train/sft_trainer.py); `benchmarks/train_throughput.py` passes plain
    `SFTTrainer` to measure the difference on identical arguments. The precision (see
    orchestrator/train/precision.py) is `trainer.precision`, with `trainer.precision_note` saying
    why bf16 was asked for and not given.
    """
    on_gpu = torch.cuda.is_available()
    precision, note = resolve_precision(cfg.bf16, on_gpu, set() if on_gpu else cpu_flags())
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.bfloat16 if precision == "bf16" else torch.float32)
    args = SFTConfig(
        output_dir=str(out_dir / "trainer"),
        num_train_epochs=cfg.epochs,
        learning_rate=cfg.learning_rate,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a share of the total steps
        weight_decay=cfg.weight_decay,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="epoch" if checkpoint_each_epoch else "no",
        save_total_limit=keep_checkpoints if checkpoint_each_epoch else None,
        report_to="none",
        seed=cfg.seed,
        data_seed=cfg.seed,
        max_length=cfg.max_length,
        bf16=precision == "bf16",
        activation_checkpointing=cfg.gradient_checkpointing,
        # Batches of similar length waste less compute on padding (conversations range 300-900 tokens).
        train_sampling_strategy="group_by_length",
        use_cpu=not on_gpu,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    layers = adapted_layers(model, cfg.lora.top_layers)
    targets = adapter_targets(model, cfg.lora.target_modules, layers)
    lora = PeftLoraConfig(r=cfg.lora.rank, lora_alpha=cfg.lora.resolved_alpha, lora_dropout=cfg.lora.dropout,
                          target_modules=list(targets), layers_to_transform=layers, task_type="CAUSAL_LM")
    trainer = trainer_cls(model=model, args=args, train_dataset=train_ds, processing_class=tokenizer,
                          peft_config=lora, callbacks=list(callbacks))
    trainer.remove_callback(PrinterCallback)  # loss goes to the tracker and the progress bar, not raw dicts
    trainer.adapter_targets = targets
    trainer.precision, trainer.precision_note = precision, note
    if precision == "bf16-autocast":
        trainer.autocast_bf16 = True  # LossPositionSFTTrainer's lever; plain SFTTrainer has no CPU autocast
    return trainer


def _linear_paths(model) -> list[str]:
    return [name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)]


def adapted_layers(model, n_top: int | None) -> list[int] | None:
    """The decoder layers that carry adapters: the last `n_top`, or None for all of them."""
    return None if n_top is None else top_layers(_linear_paths(model), n_top)


def adapter_targets(model, spec: str | list[str], layers: list[int] | None = None) -> dict[str, int]:
    """{module name: how many modules of the model carry an adapter under it}, within `layers` when
    given (ConfigError if a name matches none there)."""
    scope = "of this model" if layers is None else f"in its last {len(layers)} decoder layers (train.lora.top_layers)"
    return resolve_targets(spec, linear_leaf_counts(_linear_paths(model), layers), scope)


def train_lora(base: Path | str, tokenizer, train_ds: datasets.Dataset, cfg: TrainConfig, out_dir: Path,
               on_log: OnLog | None = None, on_step: Callable[[int, int], None] | None = None,
               callbacks: list[TrainerCallback] = (), checkpoint_each_epoch: bool = False,
               resume_from: Path | None = None, keep_checkpoints: int = 1,
               on_setup: Callable[[dict[str, int], str], None] | None = None) -> dict:
    """Train a LoRA adapter; saves it (with the tokenizer) to `out_dir` and returns summary numbers.

    With `checkpoint_each_epoch`, a full trainer checkpoint (adapter, optimizer, scheduler, RNG and
    data position) is written at every epoch end; `callbacks` see it in `on_save`, and
    `resume_from` continues such a checkpoint exactly where it stopped. `on_setup` hears, before
    training starts, how many modules carry an adapter per target name and the precision trained in.
    """
    if len(train_ds) == 0:
        raise ValueError("no training examples left after filtering; see the quarantine file")
    trainer = build_trainer(base, tokenizer, train_ds, cfg, out_dir, [_ForwardLogs(on_log, on_step), *callbacks],
                            checkpoint_each_epoch, keep_checkpoints)
    if trainer.precision_note:
        print(trainer.precision_note, file=sys.stderr, flush=True)
    if on_setup:
        on_setup(trainer.adapter_targets, trainer.precision)
    result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    adapter_dir = out_dir / "adapter"
    trainer.model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    n_trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    loss = result.training_loss
    return {"adapter_dir": adapter_dir, "adapter_targets": trainer.adapter_targets,
            "train_loss": float(loss) if loss is not None and math.isfinite(loss) else None,
            "train_runtime_s": float(result.metrics.get("train_runtime", 0.0)), "global_steps": result.global_step,
            "trainable_params": n_trainable, "train_examples": len(train_ds), "peak_rss_gb": peak_rss_gb(),
            "precision": trainer.precision}


def peak_rss_gb() -> float:
    """This process's resident-memory high-water mark so far, or its largest finished child's
    (llama.cpp's converter runs as one) if that was higher, in GB (Linux reports KiB)."""
    kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return kib / 1024 ** 2
