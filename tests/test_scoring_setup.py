"""Two eval reports are comparable only when they were scored the same way (evals.harness.SCORING_SETUP);
the gate scores a champion again here when its stored report came from another setup."""

from orchestrator.config import PromoteConfig
from orchestrator.recipes import promote
from evals.harness import scoring_differences

HERE = {"llama_cpp_python": "0.3.36", "llama_system_info": "CPU : AVX2 = 1 |", "n_batch": 64, "gpu_offload": False,
        "pinned_today": "2026-12-02", "sha256": "aa", "date": "2026-12-04"}


def test_only_what_changes_a_greedy_output_counts():
    assert scoring_differences(HERE, {**HERE, "sha256": "bb", "date": "2027-01-01"}) == []
    assert scoring_differences(HERE, {**HERE, "llama_system_info": "CPU : AMX_INT8 = 1 |", "n_batch": 512}) == [
        "llama_system_info: 'CPU : AVX2 = 1 |' vs 'CPU : AMX_INT8 = 1 |'", "n_batch: 64 vs 512"]
    assert scoring_differences({}, HERE)  # a report without a header is not known to be comparable


def _decide(monkeypatch, stored_header, rescored):
    calls, gated = [], []

    def gate(rows, *args, **kwargs):
        gated.extend(rows)
        return promote.Decision(False, "champion", "tool_f1", ["gate"])

    monkeypatch.setattr(promote, "gate", gate)
    monkeypatch.setattr("evals.harness.compare_reports", lambda a, b, **k: [{"metric": "tool_f1", "paired": a["which"]}])
    from orchestrator.release import registry
    monkeypatch.setattr(registry, "champion", lambda client, family, variant: "v1")
    monkeypatch.setattr(registry, "champion_report", lambda *a: {"header": stored_header, "which": "stored"})

    def rescore(champion):
        calls.append(champion)
        return {"header": HERE, "which": "rescored"}

    p = PromoteConfig(family="fam", primary="tool_f1", guards=[])
    decision, current = promote.decide(None, p, "4k", {"header": HERE}, [], {}, None, rescore=rescore)
    assert current == "v1" and (calls == ["v1"]) is rescored
    assert gated == [{"metric": "tool_f1", "paired": "rescored" if rescored else "stored"}]  # what the gate compared
    return decision


def test_a_champion_scored_elsewhere_is_scored_again_before_pairing(monkeypatch):
    decision = _decide(monkeypatch, {**HERE, "llama_system_info": "CPU : AMX_INT8 = 1 |"}, rescored=True)
    assert decision.reasons[0].startswith("the champion's stored report was scored under another setup "
                                          "(llama_system_info: 'CPU : AMX_INT8 = 1 |' vs 'CPU : AVX2 = 1 |')")
    assert "scored again here" in decision.reasons[0] and decision.reasons[1:] == ["gate"]


def test_a_champion_scored_the_same_way_is_paired_as_stored(monkeypatch):
    decision = _decide(monkeypatch, dict(HERE), rescored=False)
    assert decision.reasons == ["gate"]


def test_a_champion_scored_on_other_cases_is_scored_again_or_refused(monkeypatch):
    """Same setup, but the stored report's case under an id is not the candidate's (the set changed)."""
    from orchestrator.release import registry

    stored = {"header": HERE, "which": "stored", "cases": [{"id": "c1", "kind": "call", "scenario": "s", "expected": []}]}
    candidate = {"header": HERE, "cases": [{"id": "c1", "kind": "call", "scenario": "s",
                                            "expected": [{"name": "f", "arguments": {}}]}]}
    monkeypatch.setattr(promote, "gate", lambda rows, *a, **k: promote.Decision(False, "champion", "tool_f1", ["gate"]))
    monkeypatch.setattr("evals.harness.compare_reports", lambda a, b, **k: [])
    monkeypatch.setattr(registry, "champion", lambda client, family, variant: "v1")
    monkeypatch.setattr(registry, "champion_report", lambda *a: stored)
    p = PromoteConfig(family="fam", primary="tool_f1", guards=[])
    rescored = promote.decide(None, p, "4k", candidate, [], {}, None,
                              rescore=lambda champion: {**candidate, "which": "rescored"})[0]
    assert rescored.reasons[0].startswith("the champion's stored report holds other cases (case 'c1' has a different "
                                          "expected") and "scored again here" in rescored.reasons[0]
    refused = promote.decide(None, p, "4k", candidate, [], {}, None)[0]
    assert not refused.promote and refused.reasons[0].startswith("cannot pair with the champion's report: case 'c1'")


def test_generation_settings_count_where_both_reports_record_them():
    """A shorter max_new_tokens alone read as a credible regression in `compare`, with no note."""
    assert scoring_differences({**HERE, "max_new_tokens": 160}, {**HERE, "max_new_tokens": 12}) == [
        "max_new_tokens: 160 vs 12"]
    assert scoring_differences(HERE, {**HERE, "max_new_tokens": 12, "n_ctx": 8192}) == []  # an older report: unknown
