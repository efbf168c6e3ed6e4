"""toolsweep's trainer: TRL's `SFTTrainer` with the same loss, computed where it is trained.

Edge module: imports torch and trl. Why it exists (TRL 1.16, read from its source):

- On a device without Triton, TRL's fused LM head projects **every** position through the
  49K-row head (prompt and padding included: the compaction to loss-bearing positions runs only
  on CUDA/XPU), and computes full-vocabulary entropy and top-1 at each of them, every step.
  Tool-calling rows are 300-900-token prompts with short assistant turns, so most of that work
  is discarded.
- A padded batch runs its padding through every layer, and keeps every row's activations alive
  until the one backward pass: peak memory grows with batch size x the longest row.

What this trainer changes, and only this:

1. **Rows one at a time, unpadded.** Each row of the collated batch is cut to its real tokens,
   and further to the last position that carries a label (later positions cannot influence
   earlier ones in a causal model), and gets its own forward and backward. Gradients add up
   across rows, as they do across gradient-accumulation steps.
2. **The head on loss positions only.** Hidden states are gathered at the positions whose next
   token is trained, and only those are projected and soft-maxed.
3. **The adapter added inside the matmul.** For a plain LoRA layer PEFT computes
   `base(x) + B(A(dropout(x))) * scaling` as four passes over the layer's output (matmul, matmul,
   scale, add); the trainer adds `scaling * h @ B^T` into the base output with one in-place
   `addmm_` (same products, summed in another order: equal to float rounding). Layers PEFT treats
   specially (DoRA and other variants, several active adapters, a bf16 base) keep PEFT's forward.
4. **Freed memory handed back before a longer row** (CPU): glibc's `malloc_trim` returns the
   pages of freed heap chunks (orchestrator/train/heap.py) before a row longer than the one
   before it. Otherwise the blocks shorter rows freed stay resident beside the larger ones a long
   row needs: a 384-row trial peaked at 4.72 GB against 3.60 GB for its largest batch alone, and
   at 4.47 GB with this trim. No arithmetic changes.
5. **RMSNorm's gradient written out** (orchestrator/train/rms_norm.py): Llama-style norms run
   transformers' forward operations (the same output bits) and a five-pass analytic backward
   instead of autograd's fifteen kernels; the same gradient to float rounding.
6. **Same normalisation.** Each row's summed negative log-likelihood is divided by the same
   denominator TRL uses (`num_items_in_batch`, the trained tokens of the whole accumulated batch,
   else the batch's own count), with Trainer's gradient-accumulation rule, so the summed
   gradient is the batch gradient. The logged loss, entropy, token accuracy and token count are
   the ones TRL logs (entropy and accuracy on the trained positions, where TRL reports them).

The batches themselves (collator, `group_by_length` sampler, data order, seed) are TRL's.
`tests/test_sft_trainer.py` checks the per-step loss against plain `SFTTrainer` to 1e-4.
With LoRA dropout > 0 the dropout masks are drawn per row instead of per batch: same
distribution, different draws.
"""

from __future__ import annotations

import contextlib
import functools

import torch
import torch.nn.functional as F
from peft.tuners.lora.layer import Linear as LoraLinear
from trl import SFTTrainer

from orchestrator.train.heap import HeapTrimmer
from orchestrator.train.patching import forwards_replaced
from orchestrator.train.rms_norm import analytic_norms


_STATS_SLICE = 64  # positions per slice when the logged entropy is summed (bounds its temporaries)


def _head_is_plain(model) -> bool:
    """True when logits are hidden @ W.T (+ b): no softcapping or scaling the fast path would skip."""
    text = model.config.get_text_config()
    return not any(getattr(text, k, None) not in (None, 1.0) for k in
                   ("final_logit_softcapping", "logit_scale", "output_multiplier", "lm_head_multiplier",
                    "logits_scaling"))


def _fused_lora_forward(layer):
    """A forward for one PEFT LoRA linear layer that adds the adapter inside the output matmul, or
    None when the layer is not plain LoRA (PEFT's own forward then runs)."""
    if not isinstance(layer, LoraLinear) or layer.merged or layer.disable_adapters or len(layer.active_adapters) != 1:
        return None
    name = layer.active_adapters[0]
    base = layer.base_layer
    if name not in layer.lora_A or name in layer.lora_variant or not isinstance(base, torch.nn.Linear):
        return None
    lora_a, lora_b = layer.lora_A[name], layer.lora_B[name]
    if lora_a.bias is not None or lora_b.bias is not None or base.weight.dtype != lora_a.weight.dtype:
        return None
    dropout, scaling = layer.lora_dropout[name], layer.scaling[name]

    def forward(x, *args, **kwargs):
        rows = x.reshape(-1, x.shape[-1])
        out = F.linear(rows, base.weight, base.bias)
        h = F.linear(dropout(rows), lora_a.weight)
        # In place: linear's backward keeps its input and weight, never its output. On `out` itself,
        # not on a view of it: an in-place op on a view makes autograd copy the whole output
        # gradient twice in the backward (CopySlices). Under CPU autocast `out` and `h` are bf16
        # while B stays fp32 (in-place ops are not autocast).
        out.addmm_(h, lora_b.weight.t().to(out.dtype), alpha=scaling)
        return out.view(*x.shape[:-1], out.shape[-1])

    return forward


def _fused_adapters(model, enabled: bool):
    """Plain LoRA layers use `_fused_lora_forward` inside the block, PEFT's forward again after it."""
    return forwards_replaced(model, _fused_lora_forward, enabled)


class _StepStats:
    """What one training step sums up across its rows."""

    def __init__(self, device):
        self.total = torch.zeros((), device=device)
        self.entropy_sum = torch.zeros((), device=device)
        self.n_correct = torch.zeros((), device=device, dtype=torch.long)


class LossPositionSFTTrainer(SFTTrainer):
    """`SFTTrainer` whose training step scores only the trained positions of each unpadded row.

    The levers are class attributes so that `benchmarks/train_throughput.py` can measure each one
    alone (a subclass per combination); toolsweep trains with the defaults, which keep TRL's math.
    """

    unpad_rows = True            # each row alone, cut to its real tokens (False: the padded batch at once)
    head_on_trained_only = True  # project only trained positions (False: every real position, as TRL does)
    autocast_bf16 = False        # bf16 matmuls on CPU (set from train.bf16: orchestrator/train/precision.py)
    fuse_lora = True             # adapter product added inside the base matmul (False: PEFT's four passes)
    analytic_norm = True         # Llama-style RMSNorm's gradient written out (False: autograd's; orchestrator/train/rms_norm.py)
    trim_heap = True             # CPU: freed heap pages back to the OS before a longer row (orchestrator/train/heap.py)

    @functools.cached_property
    def _heap(self) -> HeapTrimmer:
        return HeapTrimmer()

    def _causal_lm(self, model):
        lm = self.accelerator.unwrap_model(model)
        return lm.get_base_model() if hasattr(lm, "get_base_model") else lm

    def _fast_path_applies(self, model, inputs: dict) -> bool:
        lm = self._causal_lm(model)
        plain_inputs = set(inputs) <= {"input_ids", "attention_mask", "labels", "position_ids"}
        return (plain_inputs and "labels" in inputs and _head_is_plain(lm) and self.compute_loss_func is None
                and self.label_smoother is None and self.args.loss_type == "nll" and not self.aux_loss_enabled
                and self.accelerator.num_processes == 1)

    def _autocast(self):
        if self.autocast_bf16:
            return torch.autocast(device_type=self.args.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def training_step(self, model, inputs, num_items_in_batch=None):
        if not self._fast_path_applies(model, inputs):
            with self._autocast():  # the same precision on TRL's own path
                return super().training_step(model, inputs, num_items_in_batch)
        model.train()
        if hasattr(self.optimizer, "train") and callable(self.optimizer.train):
            self.optimizer.train()
        inputs = self._prepare_inputs(inputs)
        lm = self._causal_lm(model)
        backbone, head = lm.base_model, lm.get_output_embeddings()

        ids, labels = inputs["input_ids"], inputs["labels"]
        attention = inputs.get("attention_mask")
        if attention is None:
            attention = torch.ones_like(ids)
        trained = labels[:, 1:] != -100               # position t is scored against label t+1
        denominator = num_items_in_batch if num_items_in_batch is not None else trained.sum().clamp(min=1)
        scaled_for_ga = (self.loss_is_scaled_for_ga if self.loss_is_scaled_for_ga is not None
                         else self.model_accepts_loss_kwargs and num_items_in_batch is not None)
        if not scaled_for_ga:
            denominator = denominator * self.current_gradient_accumulation_steps

        stats = _StepStats(ids.device)
        with _fused_adapters(lm, self.fuse_lora), analytic_norms(lm, self.analytic_norm):
            self._rows_forward_backward(backbone, head, ids, labels, attention, trained, denominator, stats)
        self._log_like_trl(trained.sum(), stats.entropy_sum, stats.n_correct, attention)
        return stats.total

    def _rows_forward_backward(self, backbone, head, ids, labels, attention, trained, denominator, stats) -> None:
        """Forward and backward of the batch: each row alone and unpadded (`unpad_rows`), or the
        padded batch at once; the loss of each is `stats`' running total."""
        if self.unpad_rows:
            for row in range(ids.size(0)):
                real = attention[row].nonzero().flatten()
                scored = trained[row].nonzero().flatten()
                if scored.numel() == 0 or real.numel() == 0:
                    continue
                start, end = int(real[0]), int(scored[-1]) + 1  # inputs up to the last scored position
                if self.trim_heap and ids.device.type == "cpu":
                    self._heap.before_row(end - start)  # see orchestrator/train/heap.py
                with self.compute_loss_context_manager(), self._autocast():
                    hidden = backbone(input_ids=ids[row:row + 1, start:end], use_cache=False).last_hidden_state[0]
                    loss = self._scored_nll(head, hidden, scored - start, labels[row, scored + 1],
                                            attention[row, start:end].bool(), stats) / denominator
                self.accelerator.backward(loss)
                stats.total += loss.detach()
        elif trained.any():
            end = int(trained.nonzero()[:, 1].max()) + 1
            with self.compute_loss_context_manager(), self._autocast():
                hidden = backbone(input_ids=ids[:, :end], attention_mask=attention[:, :end],
                                  use_cache=False).last_hidden_state
                rows, cols = trained[:, :end].nonzero(as_tuple=True)
                flat = hidden.reshape(-1, hidden.size(-1))
                loss = self._scored_nll(head, flat, rows * end + cols, labels[rows, cols + 1],
                                        attention[:, :end].bool().reshape(-1), stats) / denominator
            self.accelerator.backward(loss)
            stats.total += loss.detach()

    def _scored_nll(self, head, hidden, at, targets, real, stats: "_StepStats"):
        """Summed NLL of `targets` at positions `at` of `hidden` (positions x d); entropy and top-1
        on the same positions go to `stats`. With `head_on_trained_only` off, every real position
        is projected (TRL's CPU cost) and the scored rows are picked from those logits."""
        if self.head_on_trained_only:
            logits = head(hidden[at]).float()
        else:
            every = real.nonzero().flatten()
            index = torch.full((hidden.size(0),), -1, dtype=torch.long, device=hidden.device)
            index[every] = torch.arange(every.numel(), device=hidden.device)
            logits = head(hidden[every]).float()[index[at]]
        log_probs = torch.log_softmax(logits, dim=-1)
        nll = -log_probs.gather(1, targets[:, None]).sum()
        with torch.no_grad():
            # In slices of positions: p and p*log(p) for all of them at once would be two more
            # (positions x vocab) tensors at the row's memory peak (50 MB each at 270 trained tokens).
            for part in range(0, log_probs.size(0), _STATS_SLICE):
                lp = log_probs[part:part + _STATS_SLICE]
                stats.entropy_sum += -(lp.exp() * lp).sum()
            stats.n_correct += (logits.argmax(-1) == targets).sum()
        return nll

    def _log_like_trl(self, n_valid, entropy_sum, n_correct, attention) -> None:
        """The per-step metrics `SFTTrainer.compute_loss` records, under the same names."""
        metrics = self._metrics["train"]
        n = int(n_valid)
        metrics["entropy"].append(float(entropy_sum) / n if n else 0.0)
        metrics["mean_token_accuracy"].append(float(n_correct) / n if n else 0.0)
        self._total_train_tokens += int(attention.sum()) // self._tp_size
        metrics["num_tokens"] = [self._total_train_tokens]
