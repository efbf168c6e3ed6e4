"""A seeded-PII corpus: names alone and in parts, several scripts and accents, handles at sentence
ends, emails inside URLs, phone numbers of several countries, ids in paths and tool results.

Every seeded value must be gone from the output (in any case, with or without accents), or the
anonymiser must refuse and say which kind, row and place."""

import base64
import json

import pytest

from orchestrator.data.anonymise import Anonymiser, SurvivingTokenError, anonymise_rows, parse_known, strip_accents

KEY = b"corpus-key"
KNOWN = parse_known("\n".join([
    "name: Priya Nair", "name: José Álvarez", "name: Анна Иванова", "name: 王伟", "name: Siobhán O'Connor",
    "name: Anne-Marie de Vries", "name: May Chen", "project: ATLAS"]))

TEXTS = [
    "update for Priya", "Priya's laptop is ready", "PRIYA asked again", "ask priya, then Nair.", "Nair's notes",
    "José said yes", "jose said it twice", "Álvarez's report", "ALVAREZ",
    "Анна прислала отчёт", "спросите Иванову", "Иванова ответила",
    "王伟说他明天来", "Siobhán is out", "O'Connor will cover", "Anne-Marie and Marie", "ask Vries.",
    "May Chen joined", "Chen approved", "May is on call",
    "ping @priya_codes.", "(@dev_ops) owns it", "cc @sam_k, @lee_j!", "who is @night_owl?",
    "open https://mail.example.com/compose?to=priya.nair@acme.com now", "write to mailto:jose@alvarez.es",
    "or helpdesk@corp-example.net",
    "call +44 20 7946 0958", "or (415) 555-0134", "Berlin: +49 30 1234567", "Paris +33 6 12 34 56 78",
    "Tokyo +81-3-1234-5678", "Delhi +91 98765 43210", "São Paulo +55 11 91234-5678",
    "see /var/tickets/OPS-4821/log.txt", "attached OPS-4821_notes.md", "ATLAS-7 is blocked", "the ATLAS board",
]
SEEDED = ["Priya", "Nair", "José", "Jose", "Álvarez", "Alvarez", "Анна", "Иванова", "Иванову", "王伟", "Siobhán",
          "O'Connor", "Anne-Marie", "Vries", "May Chen", "Chen", "@priya_codes", "@dev_ops", "@sam_k", "@lee_j",
          "@night_owl", "priya.nair@acme.com", "jose@alvarez.es", "helpdesk@corp-example.net", "7946 0958", "555-0134", "1234567",
          "12 34 56 78", "1234-5678", "98765 43210", "91234-5678", "OPS-4821", "ATLAS"]


def _rows():
    rows = []
    for i, text in enumerate(TEXTS):
        rows.append({"id": f"r{i}", "messages": [
            {"role": "user", "content": text},
            {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
                "name": "lookup", "arguments": {"query": text}}}]},
            {"role": "tool", "name": "lookup", "content": json.dumps({"echo": text, "path": f"/home/{text[:12]}/x.json"},
                                                                       ensure_ascii=False)},
            {"role": "assistant", "content": f"Done: {text}"}]})
    return rows


def test_no_seeded_value_survives_in_any_case_or_accent():
    out, report = anonymise_rows(_rows(), Anonymiser(KEY, KNOWN))
    text = json.dumps(out, ensure_ascii=False)
    plain = strip_accents(text).casefold()
    survivors = [s for s in SEEDED if strip_accents(s).casefold() in plain]
    assert survivors == []
    # CJK and Cyrillic names are found too (not only Latin ones)
    assert report.replaced["name"] > 0 and "王" not in text and "Анна" not in text


def test_a_name_part_maps_as_it_does_inside_the_whole_name():
    anon = Anonymiser(KEY, KNOWN)
    whole = anon.text("Priya Nair")
    first, last = whole.split()
    assert anon.text("Priya") == first and anon.text("Nair.") == last + "."
    assert anon.text("Priya's") == first + "'s" and anon.text("PRIYA") == first.upper()
    assert anon.text("José") == anon.text("Jose")          # accents do not make a second person


def test_common_word_parts_are_matched_only_as_names():
    anon = Anonymiser(KEY, KNOWN)
    assert anon.text("you may call me") == "you may call me"
    assert "May" not in anon.text("May is on call")


def test_sentence_end_handles_and_domains():
    anon = Anonymiser(KEY, KNOWN)
    assert "@priya_codes" not in anon.text("ping @priya_codes.") and anon.text("ping @priya_codes.").endswith(".")
    assert anon.text("write to @example.com") == "write to @example.com"  # a domain, not a handle


@pytest.mark.parametrize("hidden, kind, form", [
    (base64.b64encode("owner: Siobhán".encode()).decode(), "name", "base64"),
    ("q=helpdesk%40corp-example.net", "email", "percent-encoded"),
])
def test_a_hidden_value_is_refused_with_kind_row_and_place(hidden, kind, form):
    rows = _rows() + [{"id": "hidden", "messages": [{"role": "tool", "content": hidden}]}]
    with pytest.raises(SurvivingTokenError) as err:
        anonymise_rows(rows, Anonymiser(KEY, KNOWN))
    assert (err.value.kind, err.value.row, err.value.form) == (kind, len(rows) - 1, form)
    assert err.value.where == "messages[0].content"
