"""Reading the text files users hand toolsweep: one clear error for the whole file, never a traceback.

A UTF-8 byte-order mark is dropped and CRLF line ends read as LF (files saved on Windows are common
in datasets and configs). JSONL is read line by line from bytes, so one line that is not UTF-8
stays one bad line (its bytes are returned, for the caller to quarantine or reject with its line
number) instead of failing the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from evals.errors import InputFileError, ToolsweepError

BOM = b"\xef\xbb\xbf"


def _utf8_error(path: Path, data: bytes, err: UnicodeDecodeError) -> str:
    line = data.count(b"\n", 0, err.start) + 1
    return f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} at line {line}, byte offset {err.start})"


def read_bytes(path: Path | str, what: str = "file", error: type[ToolsweepError] = InputFileError) -> bytes:
    """The file's bytes, or `error` that says it is missing, a directory or unreadable."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected a {what}") from None
    except OSError as err:
        raise error(f"{path}: cannot read the {what} ({err.strerror or err})") from None


def read_text(path: Path | str, what: str = "file", error: type[ToolsweepError] = InputFileError) -> str:
    """UTF-8 text of a whole file (BOM dropped, CRLF → LF), or `error` naming the file and the bad byte."""
    path = Path(path)
    data = read_bytes(path, what, error)
    try:
        text = data.removeprefix(BOM).decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(_utf8_error(path, data, err)) from None
    return text.replace("\r\n", "\n")


def read_json(path: Path | str, what: str = "JSON file", error: type[ToolsweepError] = InputFileError) -> Any:
    text = read_text(path, what, error)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise error(f"{path}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None


def jsonl_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, str | bytes]]:
    """(line number − 1, text) for every non-blank line; a line that is not UTF-8 comes back as bytes.

    Lines are counted from 1 on the raw file, so the index always points at the line as it stands.
    """
    for i, raw in enumerate(lines):
        if i == 0:
            raw = raw.removeprefix(BOM)
        raw = raw.rstrip(b"\r\n")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            if raw.strip():
                yield i, raw
            continue
        if text.strip():
            yield i, text


def mapping_at(data: Any, key: str, where: str, error: type[ToolsweepError] = InputFileError) -> dict:
    """`data[key]` when `data` is a mapping holding a mapping there, else `error` naming `where` and the key."""
    if not isinstance(data, dict):
        raise error(f"{where}: expected a JSON object at the top level, got {type(data).__name__}")
    value = data.get(key)
    if not isinstance(value, dict):
        got = "nothing" if key not in data else type(value).__name__
        raise error(f"{where}: '{key}' must be a mapping, got {got}")
    return value
