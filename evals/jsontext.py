"""JSON as RFC 8259 defines it, for every text toolsweep reads from a user's file or a model's answer.

Python's `json.loads` departs from JSON in two ways that matter here:

- it accepts the bare constants `NaN`, `Infinity` and `-Infinity`. They are not JSON: other tools
  (jq, JavaScript, most serving frameworks) refuse such a line, and a NaN argument equals nothing,
  itself included, so a call carrying one could never be scored as correct;
- it raises `RecursionError`, not a decode error, on text nested a thousand levels deep (a
  degenerate answer of `[[[[…` within a long generation budget is enough), which would end an
  eval or a data build in a traceback instead of one counted bad row;
- it raises `ValueError` on an integer of more than 4300 digits (Python's guard against slow
  integer conversion; a degenerate answer can be a run of digits that long).

`loads` raises `json.JSONDecodeError` for all three, so a caller's single `except json.JSONDecodeError`
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


class _LongInteger(ValueError):
    pass


def _integer(digits: str) -> int:
    try:
        return int(digits)
    except ValueError:  # over sys.get_int_max_str_digits()
        raise _LongInteger(digits) from None


def loads(text: str | bytes) -> Any:
    """`json.loads` that refuses NaN / Infinity and reports deep nesting and integers too long to
    convert as decode errors."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_int=_integer)
    except _LongInteger as long:
        doc = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        raise json.JSONDecodeError(f"an integer of {len(str(long).lstrip('-'))} digits is too long to read", doc,
                                   0) from None
    except _BareConstant as bare:
        doc = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        raise json.JSONDecodeError(f"{bare.name} is not a JSON value (use null or a string)", doc,
                                   _constant_position(doc, bare.name)) from None
    except RecursionError:
        doc = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        raise json.JSONDecodeError("nested too deeply to read", doc, 0) from None
