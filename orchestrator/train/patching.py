"""Swapping a model's module forwards for the length of a block, and back.

The trainer's levers (orchestrator/train/sft_trainer.py, orchestrator/train/rms_norm.py) replace
some modules' `forward` with an equivalent that does less work. They set it on the instance, so
deleting the instance attribute afterwards brings the class's own forward back: the model leaves
the training step exactly as it entered it (saving, merging and eval see the stock modules).
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator


@contextlib.contextmanager
def forwards_replaced(model, replacement: Callable, enabled: bool = True) -> Iterator[int]:
    """Inside the block, every module for which `replacement(module)` returns a callable runs that
    callable as its forward; yields how many modules were patched."""
    patched = []
    if enabled:
        for module in model.modules():
            forward = replacement(module)
            if forward is not None:
                module.forward = forward
                patched.append(module)
    try:
        yield len(patched)
    finally:
        for module in patched:
            del module.forward  # the instance attribute goes; the class's forward is back
