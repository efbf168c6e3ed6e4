"""JSON as RFC 8259 defines it, for every text toolsweep reads from a user's file or a model's answer.

Python's `json.loads` departs from JSON in two ways that matter here:

- it accepts the bare constants `NaN`, `Infinity` and `-Infinity`. They are not JSON: other tools
  (jq, JavaScript, most serving frameworks) refuse such a line, and a NaN argument equals nothing,
  itself included, so a call carrying one could never be scored as correct;
- it raises `RecursionError`, not a decode error, on text nested a thousand levels deep (a
  degenerate answer of `[[[[…` within a long generation budget is enough), which would end an
  eval or a data build in a traceback instead of one counted bad row.

`loads` raises `json.JSONDecodeError` for both, so a caller's single `except json.JSONDecodeError`
covers every text that is not JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any


class _BareConstant(ValueError):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def _refuse_constant(name: str):
    raise _BareConstant(name)


def _constant_position(text: str, name: str) -> int:
    """Where the constant probably sits (its first occurrence outside a quoted string), for the message."""
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|' + re.escape(name), text):
        if not match.group(0).startswith('"'):
            return match.start()
    return 0


def loads(text: str | bytes) -> Any:
    """`json.loads` that refuses NaN / Infinity and reports deep nesting as a decode error."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except _BareConstant as bare:
        doc = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        raise json.JSONDecodeError(f"{bare.name} is not a JSON value (use null or a string)", doc,
                                   _constant_position(doc, bare.name)) from None
    except RecursionError:
        doc = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        raise json.JSONDecodeError("nested too deeply to read", doc, 0) from None
