"""orchestrator/train/heap.py: the heap is trimmed before a row longer than the one before, only."""

import platform

import pytest

from orchestrator.train import heap


def test_trims_before_a_longer_row_only(monkeypatch):
    calls = []
    monkeypatch.setattr(heap, "release_freed_memory", lambda: calls.append(1) or True)
    trimmer = heap.HeapTrimmer()
    # group_by_length order: longest first in each group of batches, then a new group
    trimmed = [trimmer.before_row(n) for n in (880, 850, 850, 400, 355, 832, 883, 826)]
    assert trimmed == [True, False, False, False, False, True, True, False]
    assert trimmer.trims == len(calls) == 3


def test_no_trim_counted_where_libc_has_none(monkeypatch):
    monkeypatch.setattr(heap, "release_freed_memory", lambda: False)
    trimmer = heap.HeapTrimmer()
    assert trimmer.before_row(10) is False and trimmer.trims == 0


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="needs glibc")
def test_malloc_trim_is_reached_on_glibc():
    assert heap.release_freed_memory() is True
