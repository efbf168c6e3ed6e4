"""Which precision a training run computes in: a pure decision from the config and the hardware.

`train.bf16: true` means bf16 matmuls where the hardware has them natively:
- on a GPU, the model is loaded in bf16 and Trainer's bf16 mixed precision runs (`bf16`);
- on a CPU with avx512_bf16 or AMX-BF16, the weights stay fp32 and each step runs under
  `torch.autocast(bfloat16)` (`bf16-autocast`): matmuls in bf16, master weights, optimizer state,
  norms, softmax and the loss in fp32;
- on any other CPU, fp32 (`fp32`), with a note: PyTorch emulates bf16 there, and on an AVX2 core
  a training step measured about 480x slower than fp32.

The result is logged with every trial (`train.precision`), because bf16 changes the math: greedy
outputs, and so scores, of a bf16-trained adapter are not those of an fp32-trained one.
"""

from __future__ import annotations

from pathlib import Path

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The first CPU's feature flags (empty where /proc/cpuinfo is absent, e.g. macOS)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def resolve_precision(bf16: bool, on_gpu: bool, flags: set[str]) -> tuple[str, str | None]:
    """(precision, note): "bf16", "bf16-autocast" or "fp32", and a line to show when the
    config asked for bf16 and this machine cannot give it."""
    if not bf16:
        return "fp32", None
    if on_gpu:
        return "bf16", None
    if any(flag in flags for flag in NATIVE_BF16_FLAGS):
        return "bf16-autocast", None
    return "fp32", (f"train.bf16: this CPU has none of {', '.join(NATIVE_BF16_FLAGS)}; training in fp32 "
                    "(emulated bf16 would be far slower)")
