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

from evals import jsontext
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
        raise error(f"{path}: is a directory, expected {'an' if what[:1] in 'aeiou' else 'a'} {what}") from None
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
        return jsontext.loads(text, unique_keys=True)
    except json.JSONDecodeError as err:
        # Python's own message can end in "at" ("Unterminated string starting at"): the place follows a colon
        where = f": line {err.lineno}, column {err.colno}" if err.pos else ""
        lines = "; it holds one JSON value per line (JSONL), not one document" if err.msg == "Extra data" and \
            err.lineno == 2 and err.colno == 1 else ""  # a case file where a report belongs, say
        raise error(f"{path}: not valid JSON ({err.msg}{where}){lines}") from None


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


def jsonl_problem(head: bytes) -> str | None:
    """What the first bytes of a file meant as JSON Lines say it is instead, or None: a whole file in
    another format would otherwise be read as thousands of bad lines and end as an empty dataset."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip-compressed (decompress it first)"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (extract it first)"
    if head.startswith(b"PAR1"):
        return "a Parquet file (name it .parquet)"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) >= 4 and (head[1::2][:8].count(0) >= 3
                                                                           or head[0::2][:8].count(0) >= 3)):
        return "UTF-16 text (save it as UTF-8)"
    first = head.removeprefix(BOM).split(b"\n", 1)[0].strip()
    if first.startswith(b"["):
        try:
            whole_line = json.loads(first)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):  # nested past the parser's depth too
            whole_line = None
        # an array spread over lines, or every row in one array on one line (a stray list line among
        # rows is one bad row, quarantined as such)
        if whole_line is None or (isinstance(whole_line, list) and whole_line
                                  and all(isinstance(x, dict) for x in whole_line)):
            return "a JSON array (expected JSON Lines: one object per line; e.g. jq -c '.[]' to convert)"
    return None


def mapping_at(data: Any, key: str, where: str, error: type[ToolsweepError] = InputFileError) -> dict:
    """`data[key]` when `data` is a mapping holding a mapping there, else `error` naming `where` and the key."""
    if not isinstance(data, dict):
        raise error(f"{where}: expected a JSON object at the top level, got {type(data).__name__}")
    value = data.get(key)
    if not isinstance(value, dict):
        got = "nothing" if key not in data else type(value).__name__
        raise error(f"{where}: '{key}' must be a mapping, got {got}")
    return value
