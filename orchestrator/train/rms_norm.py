"""Llama-style RMSNorm with its gradient written out: the same forward, a backward in five passes.

Edge module: imports torch and transformers. Why it exists: measured with torch.profiler on
SmolLM2-135M (30 layers, 61 norms per row), autograd's backward of transformers' `LlamaRMSNorm`
runs about fifteen elementwise kernels per norm (pow's backward alone takes `x.pow(1)` and two
multiplies), about 1.6 ms on a 550 x 576 row against 0.15 ms for the forward: a few percent of a
training step spent differentiating five lines.

The forward here runs transformers' operations in transformers' order, so its output is the
same bits. The backward is the analytic gradient of y = w * x * r with r = rsqrt(mean(x^2) + eps):

    dx = r * (g*w) - x * r^3 * mean(g*w * x)       dw = sum over rows of g * x * r

which is the same quantity autograd computes, summed in another order (equal to float rounding;
`tests/test_sft_trainer.py` compares gradients). It applies only where it provably computes the
same thing: modules whose class's `forward` is `LlamaRMSNorm.forward` word for word (transformers
copies it into Qwen2, Qwen3, Mistral, Phi-3 and others; Qwen3.5's and Gemma's `1 + w` norms
differ and keep their own), with fp32 input and weight. Everything else runs its own forward.
"""

from __future__ import annotations

import functools
import inspect

import torch
from transformers.models.llama.modeling_llama import LlamaRMSNorm

from orchestrator.train.patching import forwards_replaced


class _RMSNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, eps):
        # LlamaRMSNorm.forward's operations in its order (fp32 in, so its casts are no-ops)
        r = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
        ctx.save_for_backward(x, weight, r)
        return weight * (x * r)

    @staticmethod
    def backward(ctx, grad):
        x, weight, r = ctx.saved_tensors
        dn = grad * weight
        dx = (dn * r).addcmul_(x, r.pow(3) * (dn * x).mean(-1, keepdim=True), value=-1)
        dw = (grad * (x * r)).reshape(-1, x.shape[-1]).sum(0) if ctx.needs_input_grad[1] else None
        return dx, dw, None


def _source(cls) -> str | None:
    try:
        return inspect.getsource(cls.forward)
    except (OSError, TypeError):
        return None


@functools.cache
def _is_llama_norm(cls) -> bool:
    """True when `cls.forward` is LlamaRMSNorm's, textually (transformers copies it per model)."""
    if cls is LlamaRMSNorm:
        return True
    return "forward" in vars(cls) and _source(cls) is not None and _source(cls) == _source(LlamaRMSNorm)


def _analytic_forward(norm):
    original = type(norm).forward.__get__(norm)

    def forward(hidden_states):
        if hidden_states.dtype != torch.float32 or norm.weight.dtype != torch.float32:
            return original(hidden_states)
        return _RMSNormFunction.apply(hidden_states, norm.weight, norm.variance_epsilon)

    return forward


def analytic_norms(model, enabled: bool):
    """Llama-style RMSNorm modules use `_RMSNormFunction` inside the block, their own forward after it."""
    def replacement(module):
        if _is_llama_norm(type(module)) and hasattr(module, "variance_epsilon"):
            return _analytic_forward(module)
        return None
    return forwards_replaced(model, replacement, enabled)
