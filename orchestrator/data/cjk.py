"""Han, kana and hangul: scripts that write a number, an address or a Latin name straight against their
words ("改成13812345678", "SSN是512-44-9083", "メールはmisaki.sato@example.jpです"), so a detector that
looks for word edges (`\\w`) reads the whole run as one word, and a mailbox pattern swallows the sentence
before the address."""

from __future__ import annotations

import re
from typing import Iterable, Iterator

RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
CJK = re.compile(f"[{RANGES}]")
_RUNS = re.compile(f"([{RANGES}]+)")


def cjk_free_parts(s: str) -> list[str]:
    """`s` cut where CJK meets other text, each CJK run a part of its own; "".join(parts) == s."""
    return _RUNS.split(s) if CJK.search(s) else [s]


def cjk_free_pieces(texts: Iterable[str]) -> Iterator[str]:
    """cjk_free_parts of every text, one after another: what a detector that reads word edges scans."""
    for text in texts:
        yield from cjk_free_parts(text)
