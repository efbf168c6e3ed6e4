"""Reading a source's raw records with `datasets`. Edge module: the only data module that imports it.

A record is `(index, raw)`: for JSONL the line's text (row index = line number − 1; blank lines are
not rows), for Parquet, a `save_to_disk` directory or a hub dataset the row as a dict. JSONL is read
as text because tool schemas differ row to row and Arrow would unify them into one struct padded
with nulls; for the Arrow-backed formats that padding is undone by dropping null-valued keys (keep
heterogeneous columns such as `tools` as JSON strings there, as ShareGPT does, to avoid it).

`streaming: true` reads through an `IterableDataset` (no Arrow cache of the whole file is built);
the rows that survive the filters are still held in memory, as dedupe and the mix need them all.
A `hub:` source calls `datasets.load_dataset(hub, name=subset, split=split)`; it needs hub access
(toolsweep runs with HF_DATASETS_OFFLINE=1 unless you unset it) and is not covered by tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import datasets

datasets.disable_progress_bars()


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _rows(ds) -> Iterator[tuple[int, Any]]:
    for i, row in enumerate(ds):
        yield i, _drop_nulls(dict(row))


def read_records(path: str | None, hub: str | None, split: str, subset: str | None, streaming: bool,
                 cache_dir: Path) -> Iterator[tuple[int, str | dict]]:
    cache = str(cache_dir / "datasets")
    if hub:
        return _rows(datasets.load_dataset(hub, name=subset, split=split, streaming=streaming, cache_dir=cache))
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"data source {p} does not exist")
    if p.is_dir():
        ds = datasets.load_from_disk(str(p))
        if isinstance(ds, datasets.DatasetDict):
            ds = ds[split]
        return _rows(ds.to_iterable_dataset() if streaming else ds)
    if p.suffix == ".parquet":
        return _rows(datasets.load_dataset("parquet", data_files=str(p), split="train", streaming=streaming,
                                           cache_dir=cache))
    ds = datasets.load_dataset("text", data_files=str(p), split="train", streaming=streaming, cache_dir=cache)
    return ((i, r["text"]) for i, r in enumerate(ds) if r["text"].strip())
