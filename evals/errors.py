"""The errors the eval layer raises, and the base of toolsweep's one error model.

`evals/` is the bottom layer (it imports nothing from `orchestrator/`), so the base class lives
here; `orchestrator/errors.py` re-exports these beside the errors of the orchestration layers, and
`toolsweep`'s `main()` prints any `ToolsweepError` as one line. No heavy imports here.
"""

from __future__ import annotations


class ToolsweepError(Exception):
    """Base class; `label` says which kind of input was wrong."""
    label = "error"


class CaseFileError(ToolsweepError, ValueError):
    """An eval case file that cannot be used; names the file, the line and the reason."""
    label = "case file error"


class ModelFileError(ToolsweepError, ValueError):
    """A model file (GGUF, model directory) that is missing or is not what it should be."""
    label = "model file error"


class InputFileError(ToolsweepError, ValueError):
    """Any other file the user named (reports, known-token lists, request files)."""
    label = "input error"


class ContextOverflowError(CaseFileError):
    """A case whose prompt and answer budget do not fit the eval context: scoring the truncated or
    empty answer would charge the model for the context's size (an empty answer even counts as a
    correct "no call"), so the eval stops instead, naming the case."""
