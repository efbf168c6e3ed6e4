"""JSON as RFC 8259 defines it, for every text toolsweep reads from a user's file or a model's answer.

Python's `json.loads` departs from JSON in two ways that matter here:

- it accepts the bare constants `NaN`, `Infinity` and `-Infinity`. They are not JSON: other tools
  (jq, JavaScript, most serving frameworks) refuse such a line, and a NaN argument equals nothing,
  itself included, so a call carrying one could never be scored as correct;
- it raises `RecursionError`, not a decode error, on text nested a thousand levels deep (a
  degenerate answer of `[[[[…` within a long generation budget is enough), which would end an
  eval or a data build in a traceback instead of one counted bad row;
- it raises `ValueError` on an integer of more than 4300 digits (Python's guard against slow
  integer conversion; a degenerate answer can be a run of digits that long);
- it reads a number too large for a double (`1e999`) as `inf`, which is the bare `Infinity` above by
  another road: written back out, the report is not JSON;
- it decodes a lone surrogate escape (`"\ud800"`, half of a UTF-16 pair) into a string no UTF-8
  file can hold: writing it later (train.jsonl, a report) fails after the work is done.

`loads` raises `json.JSONDecodeError` for all of them, so a caller's single `except json.JSONDecodeError`
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


class _LoneSurrogate(ValueError):
    pass


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # only escapes can put a surrogate in decoded JSON


def _check_text(value: Any) -> None:
    """Every string in `value` (keys too) encodes as UTF-8; _LoneSurrogate naming the first that does not."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as err:
                raise _LoneSurrogate(f"\\u{ord(item[err.start]):04x}") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _integer(digits: str) -> int:
    try:
        return int(digits)
    except ValueError:  # over sys.get_int_max_str_digits()
        raise _LongInteger(digits) from None


class _DuplicateKey(ValueError):
    pass


class _Overflow(ValueError):
    pass


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Overflow(text)
    return value


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class DuplicateKeyError(json.JSONDecodeError):
    """An object names a key twice (with `unique_keys`); `key` is the key."""

    def __init__(self, key: str, doc: str):
        super().__init__(f"the key {key!r} appears twice in one object", doc, 0)
        self.key = key


def loads(text: str | bytes, unique_keys: bool = False) -> Any:
    """`json.loads` that refuses NaN / Infinity and reports deep nesting and integers too long to
    convert as decode errors. With `unique_keys`, an object that names a key twice is one too (for
    files toolsweep writes and checks, such as a release manifest, where the later entry would
    silently hide the earlier)."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_int=_integer, parse_float=_float,
                           object_pairs_hook=_unique_pairs if unique_keys else None)
        if _SURROGATE_ESCAPE.search(text if isinstance(text, str) else text.decode("utf-8", "replace")):
            _check_text(value)
        return value
    except _DuplicateKey as dup:
        doc = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        raise DuplicateKeyError(str(dup), doc) from None
    except _LoneSurrogate as lone:
        doc = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        raise json.JSONDecodeError(f"a lone surrogate escape ({lone}) is not text: half of a UTF-16 pair", doc,
                                   0) from None
    except _Overflow as big:
        doc = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        shown = str(big) if len(str(big)) <= 24 else str(big)[:21] + "..."
        raise json.JSONDecodeError(f"the number {shown} is too large for a double (it would read as infinity)",
                                   doc, 0) from None
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
