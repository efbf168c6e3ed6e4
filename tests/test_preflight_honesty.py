"""`data.mix.honesty_ratio` with no source that can fill the honesty quota (orchestrator/search/preflight.py)."""

import json

from orchestrator.config import parse_config
from orchestrator.search.preflight import NOTE, _honesty_source_problems


def _rows(path, track=None):
    meta = {"track": track} if track else {}
    row = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello."}], "meta": meta}
    path.write_text(json.dumps(row) + "\n")
    return path


def _found(sources, honesty_ratio=0.2, search_space=None):
    cfg = parse_config({"name": "h", "data": {"sources": sources, "mix": {"total": 30, "honesty_ratio": honesty_ratio}},
                        "search_space": search_space or {}})
    found = []
    _honesty_source_problems(cfg, found)
    return found


def test_a_fixed_honesty_share_no_source_can_fill_is_refused_naming_the_key(tmp_path):
    plain = _rows(tmp_path / "plain.jsonl")
    found = _found({"plain": {"path": str(plain)}, "calls": {"generate": {"kind": "judgment", "count": 5}}})
    assert len(found) == 1 and found[0].startswith("data.mix.honesty_ratio: 0.2 asks for honesty rows")


def test_a_share_only_the_search_can_draw_is_a_note(tmp_path):
    plain = _rows(tmp_path / "plain.jsonl")
    found = _found({"plain": {"path": str(plain)}}, honesty_ratio=0.0,
                   search_space={"data.mix.honesty_ratio": {"uniform": [0.0, 0.2]}})
    assert len(found) == 1 and found[0].startswith(NOTE + "data.mix.honesty_ratio: the search can draw")


def test_any_source_that_may_hold_honesty_rows_is_enough(tmp_path):
    plain = _rows(tmp_path / "plain.jsonl")
    assert _found({"plain": {"path": str(plain)}, "gen": {"generate": {"kind": "honesty", "count": 5}}}) == []
    assert _found({"plain": {"path": str(plain), "track": "honesty"}}) == []
    assert _found({"tagged": {"path": str(_rows(tmp_path / "tagged.jsonl", track="honesty"))}}) == []
    assert _found({"plain": {"path": str(plain)}}, honesty_ratio=0.0) == []  # no share asked for


def test_a_source_whose_rows_cannot_be_scanned_is_given_the_benefit_of_the_doubt(tmp_path):
    folder = tmp_path / "arrow"
    folder.mkdir()
    assert _found({"saved": {"path": str(folder)}}) == []
