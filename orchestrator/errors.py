"""The one error model: every error a user's input can cause is a `ToolsweepError`.

Its message is one line (or a short list) that names the file, the key path or the row, and what
was expected. `toolsweep`'s `main()` prints `<label>: <message>` and exits 2; with `--debug` (or
TOOLSWEEP_DEBUG=1) it prints the traceback too. Library errors (datasets, pyarrow, llama_cpp, yaml,
json, OS errors on a user-supplied path) are translated where they happen, into one of these.
No heavy imports here: every module, pure or edge, may raise these.
"""

from __future__ import annotations


class ToolsweepError(Exception):
    """Base class; `label` says which kind of input was wrong."""
    label = "error"


class ConfigError(ToolsweepError, ValueError):
    """A sweep, family or override that cannot be used; names the file and every bad key."""
    label = "config error"


class DataError(ToolsweepError, ValueError):
    """A data source that cannot be read at all (a bad row is quarantined instead)."""
    label = "data error"


class CaseFileError(ToolsweepError, ValueError):
    """An eval case file that cannot be used; names the file, the line and the reason."""
    label = "case file error"


class ModelFileError(ToolsweepError, ValueError):
    """A model file (GGUF, model directory) that is missing or is not what it should be."""
    label = "model file error"


class ReleaseError(ToolsweepError, ValueError):
    """A release folder or manifest that cannot be read."""
    label = "release error"


class InputFileError(ToolsweepError, ValueError):
    """Any other file the user named (reports, known-token lists, request files)."""
    label = "input error"


class UsageError(ToolsweepError, ValueError):
    """A command-line flag or environment setting that cannot be used."""
    label = "usage error"
