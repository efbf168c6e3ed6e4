"""Reading a source's raw records with `datasets`. Edge module: the only data module that imports it.

A record is `(index, raw)`: for JSONL the line's text (row index = line number − 1; blank lines are
not rows), for Parquet, a `save_to_disk` directory or a hub dataset the row as a dict. JSONL is read
as text because tool schemas differ row to row and Arrow would unify them into one struct padded
with nulls; for the Arrow-backed formats that padding is undone by dropping null-valued keys (keep
heterogeneous columns such as `tools` as JSON strings there, as ShareGPT does, to avoid it), and
normalise restores from each call's tool schema what Arrow changed in its arguments: a whole-number
float where the schema wants an integer, a null where a required key may be null
(`normalise.undo_arrow_widening`).

`streaming: true` reads through an `IterableDataset` (no Arrow cache of the whole file is built);
the rows that survive the filters are still held in memory, as dedupe and the mix need them all.
A `hub:` source calls `datasets.load_dataset(hub, name=subset, split=split)`; it needs hub access
(toolsweep runs with HF_DATASETS_OFFLINE=1 unless you unset it) and is not covered by tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

import datasets
import pyarrow

from orchestrator.errors import DataError
from evals.textio import jsonl_lines, jsonl_problem

datasets.disable_progress_bars()
# datasets logs a failed read (with its traceback) before raising; toolsweep reports it as one DataError.
datasets.logging.set_verbosity(datasets.logging.CRITICAL)


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _rows(ds) -> Iterator[tuple[int, Any]]:
    for i, row in enumerate(ds):
        yield i, _drop_nulls(dict(row))


# What the libraries raise on a file they cannot read; turned into one DataError naming the source.
_LIBRARY_ERRORS = (OSError, ValueError, KeyError, TypeError, pyarrow.ArrowException, datasets.exceptions.DatasetGenerationError)


def _jsonl(p: Path, where: str) -> Iterator[tuple[int, str | bytes]]:
    # Read as bytes, line by line (streams by itself): one line that is not UTF-8 stays one bad row.
    rows = 0
    with p.open("rb") as f:
        problem = jsonl_problem(f.read(65536))
        if problem:
            raise DataError(f"{where}: the file is {problem}")
        f.seek(0)
        for record in jsonl_lines(f):
            rows += 1
            yield record
    if not rows:
        raise DataError(f"{where}: the file holds only blank lines (expected one JSON object per line)")


def _guarded(records: Iterable, where: str) -> Iterator:
    """Re-raise a library error met while iterating (lazy readers fail late) as a DataError."""
    try:
        yield from records
    except DataError:
        raise
    except _LIBRARY_ERRORS as err:
        raise DataError(f"{where}: cannot read it ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None


def _open(p: Path, split: str, streaming: bool, cache: str, where: str) -> Iterable:
    if p.is_dir():
        if not any(p.iterdir()):
            raise DataError(f"{where}: the directory is empty (expected a datasets save_to_disk folder)")
        try:
            ds = datasets.load_from_disk(str(p))
        except FileNotFoundError:
            raise DataError(f"{where}: a directory without a dataset in it (expected a datasets save_to_disk "
                            f"folder with dataset_info.json / state.json, or point path at a .jsonl, .parquet or .csv "
                            f"file)") from None
        if isinstance(ds, datasets.DatasetDict):
            if split not in ds:
                raise DataError(f"{where}: no split {split!r} (the dataset has {sorted(ds)}; set split)")
            ds = ds[split]
        return _rows(ds.to_iterable_dataset() if streaming else ds)
    if p.stat().st_size == 0:
        raise DataError(f"{where}: the file is empty (expected JSONL rows or a Parquet table)")
    if p.suffix.lower() == ".parquet":
        return _rows(datasets.load_dataset("parquet", data_files=str(p), split="train", streaming=streaming,
                                           cache_dir=cache))
    if p.suffix.lower() in (".csv", ".tsv"):  # columns of JSON text (messages, tools) are decoded by normalise
        return _rows(datasets.load_dataset("csv", data_files=str(p), split="train", streaming=streaming, cache_dir=cache,
                                           **({"delimiter": "\t"} if p.suffix.lower() == ".tsv" else {})))
    return _jsonl(p, where)


def read_records(path: str | None, hub: str | None, split: str, subset: str | None, streaming: bool,
                 cache_dir: Path, name: str = "") -> Iterator[tuple[int, str | bytes | dict]]:
    """A source's `(index, raw)` records; a JSONL line that is not UTF-8 comes as bytes (quarantined
    by `normalise`). A source that cannot be read at all raises DataError naming it."""
    cache = str(cache_dir / "datasets")
    where = f"data source {name!r} ({hub or path})" if name else f"data source {hub or path}"
    if hub:
        try:
            ds = datasets.load_dataset(hub, name=subset, split=split, streaming=streaming, cache_dir=cache)
        except _LIBRARY_ERRORS as err:
            raise DataError(f"{where}: cannot load the hub dataset ({type(err).__name__}: {err})") from None
        return _guarded(_rows(ds), where)
    p = Path(path)
    if not p.exists():
        raise DataError(f"{where}: no such file or directory")
    try:
        records = _open(p, split, streaming, cache, where)
    except DataError:
        raise
    except _LIBRARY_ERRORS as err:
        raise DataError(f"{where}: cannot read it ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None
    return _guarded(records, where)
