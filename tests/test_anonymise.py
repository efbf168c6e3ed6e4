"""The anonymiser on a seeded corpus with known PII: nothing real survives, fakes are stable and consistent."""

import base64
import json
import re

import pytest

from orchestrator.data.anonymise import (Anonymiser, KnownToken, SurvivingTokenError, anonymise_file,
                                         anonymise_rows, check_no_survivors, parse_known)
from orchestrator.errors import DataError

KEY = b"test-key-not-secret"
KNOWN = parse_known("# people\nPriya Nair\nPriya\nTomas Berg\nproject: ATLAS\nother: Elm Street 12\n")
SEEDED = ["Priya Nair", "Priya", "Tomas Berg", "ATLAS", "Elm Street 12", "priya.nair@acme-corp.com",
          "tomas@berg.family", "+44 20 7946 0958", "(415) 555-0134", "@priya_codes", "https://intranet.acme-corp.com/wiki/oncall",
          "OPS-4821", "OPS", "ATLAS-7"]


def _row(i: int) -> dict:
    args = {"to": "priya.nair@acme-corp.com", "subject": "OPS-4821 escalation",
            "body": f"Hi Priya, call Tomas Berg on +44 20 7946 0958 or ping @priya_codes (#{i})",
            "meta": {"links": ["https://intranet.acme-corp.com/wiki/oncall"], "project": "OPS"}}
    return {
        "id": f"row-{i}",
        "tools": [{"type": "function", "function": {"name": "send_email", "description": "Send an email.",
                                                      "parameters": {"type": "object", "properties": {}}}}],
        "messages": [
            {"role": "system", "content": "You help PRIYA NAIR."},
            {"role": "user", "content": "Email priya.nair@acme-corp.com about OPS-4821; Tomas (tomas@berg.family, "
                                        "(415) 555-0134) lives at Elm Street 12. ATLAS-7 too, see ATLAS. Date 2026-12-01 10:00."},
            {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
                "name": "send_email", "arguments": args}}]},
            {"role": "tool", "name": "send_email",
             "content": json.dumps({"sent": True, "to": "priya.nair@acme-corp.com", "ticket": "OPS-4821"})},
            {"role": "assistant", "content": "Sent to priya (priya.nair@acme-corp.com) about OPS-4821."},
        ],
        "meta": {"track": "starter"},
    }


def _dump(rows):
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)


def test_no_seeded_token_survives_and_shapes_are_kept():
    rows, report = anonymise_rows([_row(i) for i in range(5)], Anonymiser(KEY, KNOWN))
    text = _dump(rows).casefold()
    for token in SEEDED:
        assert token.casefold() not in text, token
    msg = rows[0]["messages"]
    args = msg[2]["tool_calls"][0]["function"]["arguments"]
    assert args["to"].count("@") == 1 and args["to"].endswith(".example")
    assert args["subject"].split()[0].count("-") == 1 and args["subject"].split()[0].split("-")[1].isdigit()
    assert args["meta"]["links"][0].startswith("https://")
    assert "2026-12-01 10:00" in msg[1]["content"]          # a date is not a phone number
    assert report.rows == 5
    # names: Priya Nair, Priya, Tomas Berg, and "Tomas" alone in the user turn (a part of a known name)
    assert report.distinct == {"email": 2, "ticket": 2, "phone": 2, "handle": 1, "url": 1, "name": 4,
                               "project": 2, "other": 1}
    # per row: 5 emails (user x2, argument, result, answer); 5 names (system, user, body x2, answer)
    assert report.replaced["email"] == 5 * 5 and report.replaced["name"] == 5 * 5


def test_same_value_same_fake_across_rows_runs_and_places():
    a, _ = anonymise_rows([_row(0), _row(1)], Anonymiser(KEY, KNOWN))
    b, _ = anonymise_rows([_row(0), _row(1)], Anonymiser(KEY, KNOWN))
    assert a == b
    call = a[0]["messages"][2]["tool_calls"][0]["function"]["arguments"]
    result = json.loads(a[0]["messages"][3]["content"])
    assert result["to"] == call["to"] == a[1]["messages"][2]["tool_calls"][0]["function"]["arguments"]["to"]
    assert result["ticket"] == call["subject"].split()[0]
    assert call["meta"]["project"] == result["ticket"].split("-")[0]   # bare key = the ticket's prefix
    other_key, _ = anonymise_rows([_row(0)], Anonymiser(b"another key", KNOWN))
    assert other_key[0] != a[0]


def test_case_insensitive_known_tokens_keep_case_shape():
    anon = Anonymiser(KEY, KNOWN)
    assert anon.text("priya") == anon.fake("name", "Priya").lower()
    assert anon.text("PRIYA NAIR").isupper()
    assert anon.text("Priyanka") == "Priyanka"    # word boundary: not a known token


def test_a_value_escaped_inside_json_text_is_swapped_as_the_value_it_decodes_to():
    """JSON text is anonymised one decoded value at a time: an escaped letter ("T\\u006fmas") hides
    nothing, and escapes stay escapes ("READY\\napi-1" once became "READY\\k…", invalid JSON)."""
    result = json.dumps({"owner": "Tomas Berg", "log": "NAME   READY\napi-1  1/1\nmail tomas@berg.family"})
    row = {"messages": [{"role": "tool", "content": result.replace("Tomas", "T\\u006fmas")}]}
    out, _ = anonymise_rows([_row(0), row], Anonymiser(KEY, KNOWN))
    content = out[1]["messages"][0]["content"]
    decoded = json.loads(content)
    assert decoded["owner"] == Anonymiser(KEY, KNOWN).fake("name", "Tomas Berg")
    assert decoded["log"].startswith("NAME   READY\napi-1  1/1\nmail ") and "tomas" not in decoded["log"].lower()
    assert content.startswith('{"owner": ') and ', "log": ' in content  # the rest of the text as it was


@pytest.mark.parametrize("row, kind, form", [
    ({"messages": [{"role": "tool", "content": base64.b64encode(b"owner: Priya Nair").decode()}]}, "name", "base64"),
    # the email is known as an original from row 0; here it hides percent-encoded, where no regex sees it
    # ("berg", a part of the known name Tomas Berg, is the first real token the check meets there)
    ({"messages": [{"role": "user", "content": "forwarded for q=tomas%40berg.family"}]},
     "name", "percent-encoded"),
    ({"messages": [{"role": "user", "content": "forwarded for q=ops%40oncall.example.org"}]}, None, None),
])
def test_refuses_when_a_hidden_form_survives(tmp_path, row, kind, form):
    src, dest = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps(_row(0)) + "\n" + json.dumps(row) + "\n")
    if kind is None:  # nothing real hides there: written
        anonymise_file(src, dest, Anonymiser(KEY, KNOWN))
        assert dest.exists()
        return
    with pytest.raises(SurvivingTokenError) as err:
        anonymise_file(src, dest, Anonymiser(KEY, KNOWN))
    assert (err.value.kind, err.value.row, err.value.form) == (kind, 1, form)
    assert "Priya" not in str(err.value) and "Tomas" not in str(err.value)
    assert not dest.exists() and not list(tmp_path.glob("out*"))


def test_refuses_when_a_detector_is_disabled(tmp_path):
    src, dest = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps(_row(0)) + "\n")
    with pytest.raises(SurvivingTokenError) as err:
        anonymise_file(src, dest, Anonymiser(KEY, KNOWN, disabled={"phone"}))
    assert err.value.kind == "phone" and err.value.row == 0
    assert not dest.exists()


def test_check_names_the_kind_and_location():
    with pytest.raises(SurvivingTokenError) as err:
        check_no_survivors([{"a": "x"}, {"messages": [{"content": "hello priya"}]}], {}, [KnownToken("name", "Priya")])
    assert (err.value.kind, err.value.row, err.value.where) == ("name", 1, "messages[0].content")


def test_file_roundtrip_writes_counts(tmp_path):
    src, dest = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps(_row(i)) + "\n" for i in range(3)))
    report = anonymise_file(src, dest, Anonymiser(KEY, KNOWN))
    out = dest.read_text()
    assert len(out.splitlines()) == 3 and "Priya" not in out
    assert report.replaced["ticket"] == 3 * 5


def test_bad_known_kind_is_named():
    with pytest.raises(ValueError, match=r"known.txt:2: unknown kind 'city'"):
        parse_known("Priya\ncity: Lisbon\n", "known.txt")


def test_openai_string_arguments_stay_consistent_with_results():
    row = {"messages": [
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
            "name": "get_ticket", "arguments": json.dumps({"ticket_id": "OPS-4821", "cc": "tomas@berg.family"})}}]},
        {"role": "tool", "content": json.dumps({"id": "OPS-4821", "owner": "tomas@berg.family"})}]}
    (out,), _ = anonymise_rows([row], Anonymiser(KEY, KNOWN))
    args = json.loads(out["messages"][0]["tool_calls"][0]["function"]["arguments"])
    result = json.loads(out["messages"][1]["content"])
    assert args["ticket_id"] == result["id"] != "OPS-4821" and args["cc"] == result["owner"] != "tomas@berg.family"


def _chat(user: str, args: dict, result: str) -> dict:
    return {"messages": [{"role": "user", "content": user},
                         {"role": "assistant", "content": None, "tool_calls": [
                             {"type": "function", "function": {"name": "send_email", "arguments": json.dumps(args)}}]},
                         {"role": "tool", "content": result}, {"role": "assistant", "content": "Done."}], "tools": []}


def test_leaks_a_held_out_probe_found_are_closed():
    """Forms a probe written for the purpose found surviving: a sign-off inside a call's JSON body, a
    signature block, dotted handles, a profile URL without a scheme, a name in a tool result with its
    letters \\u-escaped, one phone number in two formats (it got two fakes)."""
    rows = [_chat("DM @sofia.g and @kwame.mensah; profile linkedin.com/in/aarav-sharma-92. Call +91 98765 43210.",
                  {"to": "x@y.com", "body": "Hi all,\nsee below.\nBest regards,\nOmar"},
                  json.dumps({"owner": "Nguyễn Văn An", "phone": "+919876543210"})),
            _chat("Regards,\nMei Ling Chua\nSenior Account Manager", {"to": "a@b.com"}, '{"status": "sent"}')]
    out, report = anonymise_rows(rows, Anonymiser(b"k"))
    text = json.dumps(out, ensure_ascii=False)
    for real in ("sofia", "kwame", "aarav", "Omar", "Nguyễn", "Mei Ling", "Chua", "98765"):
        assert real not in text, real
    phones = [m for m in __import__("re").findall(r"\+\d[\d ]+\d", text)]
    assert len({p.replace(" ", "") for p in phones}) == 1  # both formats of the number share one fake
    assert json.loads(out[0]["messages"][2]["content"])["owner"] != "Nguyễn Văn An"


def test_ordinary_words_are_not_learned_as_names():
    """'Add Nguyen Van Hung ...' made "Add" a name and "Add a reminder" became "Noor a reminder"; a
    sign-off to a team ("Best regards,\\nThe Service Team") made "The" one; "Unassigned" was a person."""
    rows = [_chat("Add Nguyen Van Hung to the vendor list.", {"attendees": ["Nguyen Van Hung"], "assignee": "Unassigned"},
                  '{"ok": true}'),
            _chat("Add a reminder for The launch.", {"to": "c@d.com", "body": "Best regards,\nThe Service Team"},
                  '{"ok": true}')]
    out, _ = anonymise_rows(rows, Anonymiser(b"k"))
    assert out[1]["messages"][0]["content"] == "Add a reminder for The launch."
    assert "The Service Team" in out[1]["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert "Unassigned" in out[0]["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert "Nguyen" not in json.dumps(out[0])


def test_a_phone_is_one_number_in_any_format_and_as_a_json_integer():
    """A probe's leaks: `{"phone": 4155552671}` (an integer-typed argument) kept the real number while
    the user turn's copy was swapped, and the survival check never read it; "07700 900123" and
    "+447700900123" got unrelated fakes, one with a made-up country code. Now the last ten digits are
    the number: one fake everywhere, the country code and a trunk 0 as each occurrence writes them."""
    import re

    rows = [_chat("Whose phone is 4155552671? UK mobile 07700 900123, Berlin 030 12345678.", {},
                  json.dumps({"phone": 4155552671}))]
    rows[0]["messages"][1]["tool_calls"][0]["function"]["arguments"] = {  # a JSON object, not JSON text
        "phone": 4155552671, "uk": "+447700900123", "de": "+49 30 12345678", "count": 12,
        "sent_at": 1733500000, "urgent": True}
    out, report = anonymise_rows(rows, Anonymiser(KEY))
    user = out[0]["messages"][0]["content"]
    args = out[0]["messages"][1]["tool_calls"][0]["function"]["arguments"]
    result = json.loads(out[0]["messages"][2]["content"])
    text = json.dumps(out)
    for real in ("4155552671", "7700900123", "7700 900123", "12345678"):
        assert real not in text, real
    us = re.search(r"is (\d{10})\?", user).group(1)
    assert isinstance(args["phone"], int) and str(args["phone"]) == us == str(result["phone"])
    uk, de = re.search(r"mobile (0\d{4}) (\d{6})", user), re.search(r"Berlin (0\d\d) (\d{8})", user)
    assert args["uk"] == "+44" + uk.group(1)[1:] + uk.group(2)  # one fake, the trunk 0 and +44 kept
    assert args["de"] == f"+49 {de.group(1)[1:]} {de.group(2)}"
    assert (args["count"], args["sent_at"], args["urgent"]) == (12, 1733500000, True)  # not phones
    assert report.replaced["phone"] == 7

    # the survival check reads integers too: a phone detector switched off refuses the file
    with pytest.raises(SurvivingTokenError) as err:
        anonymise_rows([{"messages": [{"role": "user", "content": "hi"}], "meta": {"phone": 4155552671}}],
                       Anonymiser(KEY, disabled={"phone"}))
    assert err.value.kind == "phone"


def test_public_ip_addresses_are_swapped_for_valid_ones_and_others_left_alone():
    """An IPv4 address in text survived, and one under a key became `112.041.3.599` (read as a phone
    number). Public addresses identify someone's connection: they become another public address,
    the same one everywhere; private, loopback and documentation addresses and version strings stay."""
    import ipaddress

    rows = [_chat("Blocked 81.2.69.160 and 81.2.69.160 again; gateway 192.168.1.254, loopback 127.0.0.1, "
                  "docs 203.0.113.7, build 1.2.3.4000, bad 300.1.1.1.",
                  {"host": "81.2.69.160", "gateway": "192.168.1.254", "other": "81.2.69.142", "dns": "8.8.4.4"},
                  json.dumps({"client_ip": "81.2.69.160"}))]
    out, report = anonymise_rows(rows, Anonymiser(KEY))
    user = out[0]["messages"][0]["content"]
    args = json.loads(out[0]["messages"][1]["tool_calls"][0]["function"]["arguments"])
    assert "81.2.69.160" not in json.dumps(out) and "81.2.69.142" not in json.dumps(out)
    assert args["dns"] == "8.8.4.4"  # a public resolver is everyone's
    fake = args["host"]
    assert ipaddress.IPv4Address(fake).is_global and fake != args["other"]
    assert user.count(fake) == 2 and json.loads(out[0]["messages"][2]["content"])["client_ip"] == fake
    for kept in ("192.168.1.254", "127.0.0.1", "203.0.113.7", "1.2.3.4000", "300.1.1.1"):
        assert kept in user, kept
    assert args["gateway"] == "192.168.1.254"
    assert report.replaced["ip"] == 5 and "phone" not in report.replaced


def test_a_known_token_a_regex_matched_and_let_go_is_still_swapped():
    """`other: 203.0.113.45` and `other: 4111 1111 1111 1111`: the phone/ip patterns matched the span first,
    found it no phone (16 digits) or no public address, and gave it back unswapped, so the known token
    survived and every run refused, with advice (add it to the known list) that could not be followed."""
    known = parse_known("other: 203.0.113.45\nother: 4111 1111 1111 1112\nproject: UTF\n")  # no valid card number
    rows = [{"messages": [{"role": "user", "content": "Card 4111 1111 1111 1112 from 203.0.113.45, UTF-8 text."}]}]
    out, report = anonymise_rows(rows, Anonymiser(KEY, known))
    text = out[0]["messages"][0]["content"]
    assert "4111" not in text and "203.0.113.45" not in text and text.count("redacted-") == 2
    assert "UTF-8" not in text and report.replaced["other"] == 2  # UTF is a known project key here


def test_rows_that_are_not_objects_are_refused_and_a_survivor_is_counted_from_one(tmp_path):
    src, dest = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    for line, said in (("[1, 2, 3]", "a JSON array"), ("null", "a JSON null"), ('"mail a@b.example"', "a JSON string")):
        src.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n" + line + "\n")
        with pytest.raises(DataError, match=rf"in.jsonl:2: {said}, expected one object \(a row\) per line"):
            anonymise_file(src, dest, Anonymiser(KEY))
        assert not dest.exists()
    src.write_text(json.dumps({"messages": [{"role": "user", "content": "call +44 20 7946 0958"}]}) + "\n")
    with pytest.raises(SurvivingTokenError, match=r"^row 1: a phone value would survive"):
        anonymise_file(src, dest, Anonymiser(KEY, disabled={"phone"}))


def _texts(out: list[dict]) -> str:
    return json.dumps(out, ensure_ascii=False)


def test_a_phone_number_is_its_national_number_whatever_country_code_or_trunk_0_it_is_written_with():
    """A fourth probe: "+33 6 12 34 56 78" became "+34 …" (the last ten digits took a country-code digit,
    turning a French number Spanish), "06 12 34 56 78" in the same row got another fake, "612345678"
    survived beside its swapped "+34 612 345 678", and US fakes were no valid numbers ("(167) 967-…")."""
    import re

    rows = [_chat("FR 06 12 34 56 78, Madrid +34 612 345 678, US (415) 555-2671, JP 03-1234-5678",
                  {"fr": "+33 6 12 34 56 78", "es": "612345678", "us": "+1 415-555-2671", "jp": "+81 3-1234-5678"},
                  json.dumps({"alt": 612345678, "fax": "0033 6 12 34 56 78", "count": "612 345 679"}))]
    out, report = anonymise_rows(rows, Anonymiser(KEY))
    user = out[0]["messages"][0]["content"]
    args = json.loads(out[0]["messages"][1]["tool_calls"][0]["function"]["arguments"])
    result = json.loads(out[0]["messages"][2]["content"])
    for real in ("12 34 56 78", "612 345 678", "612345678", "555-2671", "1234-5678"):
        assert real not in _texts(out).replace("612 345 679", ""), real
    fr = re.search(r"FR 0(6(?: \d\d){4})", user).group(1)
    assert args["fr"] == "+33 " + fr and result["fax"] == "0033 " + fr  # country code, 00 and trunk 0 as written
    es = re.search(r"Madrid \+34 (\d{3} \d{3} \d{3})", user).group(1)
    assert args["es"] == es.replace(" ", "") == str(result["alt"])      # the short form is the same number
    area, exchange = re.search(r"US \((\d{3})\) (\d{3})-", user).groups()
    assert args["us"].startswith(f"+1 {area}-{exchange}-") and exchange[0] in "23456789"
    assert re.search(r"JP 03-\d{4}-\d{4}", user) and args["jp"].startswith("+81 3-")
    assert result["count"] == "612 345 679"                              # another number, not a phone
    assert report.replaced["phone"] == 10


def test_a_ticket_id_in_any_case_is_the_same_ticket():
    """`SUP-4821` was swapped in the request and the call, `sup-4821` kept in the result and the answer,
    so the call no longer matched its result, and the survival check did not notice."""
    rows = [{"messages": [{"role": "user", "content": "Status of SUP-4821? SKU-550012 too."},
                          {"role": "tool", "content": json.dumps({"key": "sup-4821", "url": "tickets/sup-4821"})},
                          {"role": "assistant", "content": "sup-4821 is open."}]}]
    out, _ = anonymise_rows(rows, Anonymiser(KEY))
    fake = out[0]["messages"][0]["content"].split()[2].rstrip("?")
    assert "4821" not in _texts(out) and fake != "SUP-4821"
    assert json.loads(out[0]["messages"][1]["content"])["key"] == fake.lower()
    assert out[0]["messages"][2]["content"] == f"{fake.lower()} is open."
    assert "SKU-550012" in out[0]["messages"][0]["content"]  # a product code, no project
    with pytest.raises(SurvivingTokenError, match="a ticket value"):
        anonymise_rows(rows, Anonymiser(KEY, disabled={"ticket"}))


def test_ipv6_secrets_and_what_identifies_no_one():
    """Public IPv6 addresses and credentials survived; localhost URLs, a version number and a UUID's last
    group were swapped (as a URL, an IPv4 address and a phone number) and broke the calls that used them."""
    import ipaddress

    text = ("sshd from 2a02:8108:1340:7f00:3c2b:9a1:fe33:12ab and 2601:647:4d00:1f0::2b; kept: ::1 fe80::1 "
            "2001:db8::5 12:30:45 00:1A:2B:3C:4D:5E version 4.19.2.1 id 123e4567-e89b-12d3-a456-426614174000 "
            "http://localhost:8080/health https://api.example.com/deploy http://10.0.0.5/x; "
            "Authorization: Bearer abc123def456ghi789jkl0 sk_live_4eC39HqLyjWDarjtT1zdp7dc AKIAIOSFODNN7EXAMPLE "
            "ghp_1234567890abcdefghijABCDEFGHIJ123456 xoxb-1234-5678-abcdefghij "
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
    out, report = anonymise_rows([{"messages": [{"role": "user", "content": text}]}], Anonymiser(KEY))
    said = out[0]["messages"][0]["content"]
    for real in ("2a02:8108", "2601:647", "abc123def456", "4eC39HqLyjWDarjtT1zdp7dc", "IOSFODNN7EXAMPLE",
                 "1234567890abcdefghij", "1234-5678-abcdefghij", "dozjgNryP4J3jVmNHl0w5N"):
        assert real not in said, real
    v6 = said.split("sshd from ")[1].split(" and ")[0]
    assert ipaddress.IPv6Address(v6).is_global
    for kept in ("::1", "fe80::1", "2001:db8::5", "12:30:45", "00:1A:2B:3C:4D:5E", "version 4.19.2.1",
                 "123e4567-e89b-12d3-a456-426614174000", "http://localhost:8080/health",
                 "https://api.example.com/deploy", "http://10.0.0.5/x"):
        assert kept in said, kept
    for prefix in ("Bearer ", " sk_live_", " AKIA", " ghp_", " xoxb-", " eyJ"):  # kinds stay readable
        assert prefix in said, prefix
    assert report.replaced["ip"] == 2 and report.replaced["secret"] == 6 and "url" not in report.replaced


def test_an_encoded_survivor_is_refused_with_advice_that_can_be_followed(tmp_path):
    """A base64 email in a tool result refused the file with "add the value to the known-tokens list",
    which changed nothing: the replacement never rewrites inside an encoding."""
    encoded = base64.b64encode(b"olga.petrova@example.ru").decode()
    rows = [{"messages": [{"role": "tool", "content": json.dumps({"x-user": encoded, "plain": "olga.petrova@example.ru"})}]}]
    known = parse_known("other: olga.petrova@example.ru\n")
    with pytest.raises(SurvivingTokenError, match=r"\(base64 form\).*does not rewrite text inside a base64 form: "
                                                  r"decode it in the row, or remove that string"):
        anonymise_rows(rows, Anonymiser(KEY, known))


def test_names_a_probe_found_surviving_and_words_it_found_swapped():
    """"Sanjay Patel accepted" beside a swapped sanjay.patel@ mailbox, "Dear Grace Hopper", a Slack mention's
    display name and id, a list split by semicolons, "hi Sipho!" were kept; "ahmed yesterday" made
    "yesterday" a surname and "Best,\\nNorthwind" made the company a person, both swapped in every row."""
    rows = [{"messages": [
        {"role": "system", "content": "You are the assistant of Northwind Support."},
        {"role": "user", "content": "Invite sanjay.patel@example.in; attendees: Lars Eriksen; Nkechi Eze. "
                                    "i spoke with ahmed yesterday. Hi Grace, hi Sipho!"},
        {"role": "tool", "content": json.dumps({"note": "Sanjay Patel accepted", "user": "U024BE7LH",
                                                "text": "<@U024BE7LH|grace.hopper> restarted the pods"})},
        {"role": "assistant", "content": "Dear Grace Hopper,\nthe report is due tomorrow.\nBest,\nNorthwind"}]}]
    out, _ = anonymise_rows(rows, Anonymiser(KEY))
    said = _texts(out)
    for real in ("Sanjay", "Patel", "Nkechi", "Eze", "Sipho", "Grace Hopper", "grace.hopper", "U024BE7LH", "ahmed"):
        assert real not in said, real
    assert "Northwind Support" in said and said.endswith('Best,\\nNorthwind"}]}]')
    assert "ahmed yesterday" not in said and " yesterday." in said and "due tomorrow" in said
    assert "Hi Grace," in said  # an ordinary word alone would be swapped everywhere: "Grace period"
    result = json.loads(out[0]["messages"][2]["content"])
    assert result["text"].startswith(f"<@{result['user']}|")  # the mention's id and the bare id: one fake


def test_card_numbers_and_ibans_that_pass_their_checksums_become_valid_fakes():
    """A held-out set: 15 of 15 card numbers and 21 of 22 IBANs survived (and phone-style digit swaps
    landed inside one IBAN); `@Override` and `@media` became fake handles, 8.8.8.8 a fake address,
    GitLab and SendGrid keys survived."""
    import re

    from orchestrator.data.anonymise import _iban_valid, _luhn_valid

    text = ("Card 4539 7034 2366 7121 and 4111-1111-1111-1111, Amex 378282246310005; IBAN DE89 3704 0044 0532 0130 00, "
            "GB82WEST12345698765432. Kept: order 1234567812345678, 4111 1111 1111 1112, FR00 ABCD EFGH IJKL, "
            "@Override @media @app.route, dns 8.8.8.8. Keys glpat-abcdefghij1234567890 "
            "SG.abcdefghijklmnopqrst.abcdefghijklmnopqrstuv")
    out, report = anonymise_rows([{"messages": [{"role": "user", "content": text}]}], Anonymiser(KEY))
    said = out[0]["messages"][0]["content"]
    for real in ("4539 7034", "4111-1111", "378282246310005", "3704 0044", "WEST1234", "abcdefghij1234567890",
                 "abcdefghijklmnopqrst"):
        assert real not in said, real
    cards = list(re.search(r"Card (.+?) and (.+?), Amex (\d+);", said).groups())
    assert all(_luhn_valid(re.sub(r"\D", "", c)) for c in cards)
    assert cards[1].count("-") == 3 and cards[0][0] == "4" and cards[2][0] == "3"  # layout and network kept
    ibans = re.findall(r"DE\d\d(?: \d{4}){4} \d\d|GB\d\d[A-Z]{4}\d{14}", said)
    assert len(ibans) == 2 and all(_iban_valid(i) for i in ibans)
    for kept in ("order 1234567812345678", "4111 1111 1111 1112", "FR00 ABCD EFGH IJKL", "@Override @media @app.route",
                 "dns 8.8.8.8", "glpat-", "SG."):
        assert kept in said, kept
    assert report.replaced["card"] == 3 and report.replaced["iban"] == 2 and report.replaced["secret"] == 2
    # a span one detector lets go is read by the others: "DE00 1234 5678 9012" is no valid IBAN, but its
    # digits read as a phone number, which the survival check finds; read with known tokens only, the
    # phone survived and the whole file was refused
    out, _ = anonymise_rows([{"messages": [{"role": "user", "content": "ref DE00 1234 5678 9012"}]}], Anonymiser(KEY))
    assert "1234 5678 9012" not in out[0]["messages"][0]["content"]


def test_a_room_under_a_person_key_is_no_one():
    """A held-out set: `attendees: ["Conference Room Lincoln"]` became a fake person, in the call and its
    result. A mailbox on an example domain is still swapped: data sets write people's addresses there."""
    rows = [_chat("Book it; cc jo.smith@example.com and jo@acme.io",
                  {"attendees": ["Conference Room Lincoln", "Mason Cook"]}, json.dumps({"room": "Conference Room Lincoln"}))]
    out, _ = anonymise_rows(rows, Anonymiser(KEY))
    said = _texts(out)
    assert said.count("Conference Room Lincoln") == 2
    for real in ("Mason Cook", "jo@acme.io", "jo.smith@example.com"):
        assert real not in said, real


def test_written_out_and_non_ascii_mailboxes_handles_and_shouted_names():
    """The first probe's leftovers: "jane dot doe at example dot com" and "jane.doe [at] example [dot] com"
    survived, so did `josé.garcía@correo.es`, `@élodfou`, `@hyun-woo4` and "CALL MARGARET THOMPSON"."""
    text = ("Write to me at jane dot doe at example dot com, jane.doe [at] example [dot] com or jane.doe@example.com; "
            "josé.garcía@correo.es; ping @élodfou and @hyun-woo4. URGENT: CALL MARGARET THOMPSON. "
            "Kept: look at example dot com, meet at noon, @Override, THE MAY JUNE REPORT.")
    out, report = anonymise_rows([{"messages": [{"role": "user", "content": text}]}], Anonymiser(KEY))
    said = out[0]["messages"][0]["content"]
    for real in ("jane", "doe", "josé", "garcía", "élodfou", "hyun-woo4", "MARGARET", "THOMPSON"):
        assert real not in said.lower() if real.islower() else real not in said, real
    fakes = said.split("Write to me at ")[1].split(";")[0].replace(" or ", ", ").split(", ")
    assert len(set(fakes)) == 1 and "@" in fakes[0]  # three spellings of one address: one fake, written plainly
    assert said.endswith("Kept: look at example dot com, meet at noon, @Override, THE MAY JUNE REPORT.")
    assert report.replaced["email"] == 4 and report.replaced["handle"] == 2


def test_a_third_held_out_set_s_misses():
    """A third held-out set (80 rows, each person in one row only): a card or IBAN written with and
    without spaces got two fakes, a Mastercard's fake left its range, Brazilian and Japanese mobile
    prefixes were redrawn, credentials under their keys (`password`, `aws_secret_access_key`) survived,
    `"patient": "mathilde"` kept the name its capitalised twin lost, `eokonkwo` kept Emeka Okonkwo, and
    "IBAN DE89 …" in capitals made "Iban" a person."""
    rows = [{"messages": [
        {"role": "user", "content": "Card 4539 1488 0343 6467, MC 5425233430109903, IBAN DE89 3704 0044 0532 0130 00. "
                                    "Emeka Okonkwo (eokonkwo) on +81 90-1234-5678 and (21) 98765-4321. "
                                    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY; token: expired"},
        {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {"name": "reset", "arguments": {
            "card": "4539148803436467", "iban": "DE89370400440532013000", "user": "eokonkwo",
            "temp_password": "Wq7!zR2pLm9x", "patient": "mathilde", "api_key": "${API_KEY}"}}}]},
        {"role": "tool", "content": json.dumps({"note": "sent Wq7!zR2pLm9x to Mathilde Vasseur"})}]}]
    out, report = anonymise_rows(rows, Anonymiser(KEY))
    said = _texts(out)
    user = out[0]["messages"][0]["content"]
    args = out[0]["messages"][1]["tool_calls"][0]["function"]["arguments"]
    for real in ("1488 0343", "233430109903", "3704 0044", "Okonkwo", "eokonkwo", "1234-5678", "98765-4321",
                 "wJalrXUtnFEMI", "Wq7!zR2pLm9x", "mathilde", "Mathilde"):
        assert real not in said, real
    assert user.split("Card ")[1].split(",")[0].replace(" ", "") == args["card"]          # one card, one fake
    assert user.split("IBAN ")[1].split(".")[0].replace(" ", "") == args["iban"]
    assert user.split("MC ")[1].startswith("5425") and "IBAN DE" in user                  # a Mastercard stays one
    assert "+81 90-" in user and "(21) 9" in user                                         # mobile prefixes kept
    assert args["user"] in user and args["api_key"] == "${API_KEY}" and "token: expired" in user
    assert json.loads(out[0]["messages"][2]["content"])["note"].startswith(f"sent {args['temp_password']} to ")
    assert report.replaced["secret"] == 3


def test_a_credential_word_must_be_the_key_or_its_last_part():
    """`max_tokens`, `tokenizer`, `passenger` hold no credentials; "password: Priya" in text is no password."""
    from orchestrator.data.anonymise import secrets_under_keys

    found = list(secrets_under_keys({
        "max_tokens": "512x", "tokenizer": "HuggingFaceTB/SmolLM2-135M", "passenger": "Priya9", "refresh_token": "rt_9f8e7d6c5b",
        "note": "password: Priya and token=abc123def; max_tokens: 512abc; passenger: Ana2x"}))
    assert found == ["rt_9f8e7d6c5b", "abc123def"]


def _chat(user: str, arguments: dict | None = None, answer: str | None = None) -> dict:
    messages = [{"role": "user", "content": user}]
    if arguments is not None:
        messages.append({"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
            "name": "update", "arguments": json.dumps(arguments, ensure_ascii=False)}}]})
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return {"messages": messages}


def _arguments(row: dict) -> dict:
    return json.loads(row["messages"][1]["tool_calls"][0]["function"]["arguments"])


def test_values_written_against_cjk_are_swapped_and_the_words_around_them_kept():
    """A fourth blind probe: "改成13812345678" kept the real number in the text (swapped in the call, and the
    survival check passed), and a mailbox next to kana swallowed the whole sentence."""
    rows = [_chat("请把收货电话改成13812345678", {"phone": "13812345678"}), _chat("メールはmisaki.sato@example-mail.jpです"),
            _chat("SSN是512-44-9083"), _chat("王伟说他明天来")]
    out, _ = anonymise_rows(rows, Anonymiser(KEY, parse_known("王伟")))
    text = json.dumps(out, ensure_ascii=False)
    for real in ("13812345678", "misaki.sato", "512-44-9083", "王伟"):
        assert real not in text
    phone = _arguments(out[0])["phone"]
    assert out[0]["messages"][0]["content"] == f"请把收货电话改成{phone}"
    assert re.fullmatch(r"メールは\S+@\S+\.exampleです", out[1]["messages"][0]["content"])
    assert out[3]["messages"][0]["content"].endswith("说他明天来")


def test_a_survivor_written_against_cjk_is_refused():
    with pytest.raises(SurvivingTokenError):
        check_no_survivors([{"t": "电话13812345678"}], {"phone": {"13812345678"}}, [])


def test_one_fake_per_value_in_every_layout_and_cue_words_kept():
    rows = [_chat("new hire, dob 07/22/1991", {"date_of_birth": "1991-07-22"}),
            _chat("my date of birth is 3 March 1958", {"dob": "1958-03-03"}),
            _chat("my mrn is MRN 00734521", {"mrn": "00734521"}),
            _chat("कृपया आधार 4821 7390 6652 वेरिफाई करें", {"aadhaar": "482173906652"})]
    out, _ = anonymise_rows(rows, Anonymiser(KEY))
    month, day, year = re.search(r"(\d\d)/(\d\d)/(\d{4})", out[0]["messages"][0]["content"]).groups()
    assert _arguments(out[0])["date_of_birth"] == f"{year}-{month}-{day}" != "1991-07-22"
    d, m, y = re.search(r"(\d+) (\w+) (\d{4})", out[1]["messages"][0]["content"]).groups()
    months = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december"]
    assert _arguments(out[1])["dob"] == f"{y}-{months.index(m.lower()) + 1:02d}-{int(d):02d}"
    assert out[2]["messages"][0]["content"] == f"my mrn is MRN {_arguments(out[2])['mrn']}"
    aadhaar = re.search(r"\d{4} \d{4} \d{4}", out[3]["messages"][0]["content"]).group()
    assert aadhaar.replace(" ", "") == _arguments(out[3])["aadhaar"] != "482173906652"


def test_a_street_address_is_no_person_and_places_stay_places():
    """'Rua Augusta 112' crashed the run (its words were learned as a name, and every fake kept 'Rua'); 'San
    Jose' and 'Santa Clara' lost their second word to a person called Jose or Clara elsewhere."""
    rows = [_chat("ship to Rua Augusta 112"), _chat("ask Clara and Jose about it"),
            _chat("weather please", {"city": "Santa Clara"}, "It is sunny in San Jose.")]
    out, _ = anonymise_rows(rows, Anonymiser(KEY))
    assert re.fullmatch(r"ship to Rua \w+ \d{3}", out[0]["messages"][0]["content"])
    assert "Augusta" not in json.dumps(out) and "Clara" not in out[1]["messages"][0]["content"]
    assert _arguments(out[2]) == {"city": "Santa Clara"} and out[2]["messages"][2]["content"] == "It is sunny in San Jose."


def test_a_handle_and_its_bare_account_share_one_fake():
    rows = [_chat("influencer @lina.kraft wants a promo code", {"influencer_handle": "lina.kraft"}),
            _chat("ping @support about it")]
    out, _ = anonymise_rows(rows, Anonymiser(KEY))
    handle = re.search(r"@(\S+)", out[0]["messages"][0]["content"]).group(1)
    assert handle == _arguments(out[0])["influencer_handle"] != "lina.kraft"
    assert "lina" not in json.dumps(out)


def test_a_found_name_is_swapped_in_lower_case_too_and_a_car_is_no_person():
    rows = [_chat("set up the kickoff with Sione Taufa", None, "invite sent; sione has accepted."),
            {"messages": [{"role": "tool", "content": json.dumps({"name": "Ford Mustang", "qty": 4})}]}]
    out, _ = anonymise_rows(rows, Anonymiser(KEY))
    assert "sione" not in json.dumps(out).lower()
    assert json.loads(out[1]["messages"][0]["content"])["name"] == "Ford Mustang"


def test_a_password_after_is_is_a_credential():
    out, _ = anonymise_rows([_chat("my password is Winter2024!Blue")], Anonymiser(KEY))
    assert "Winter2024!Blue" not in json.dumps(out) and out[0]["messages"][0]["content"].startswith("my password is ")


def test_a_disabled_detector_is_named_as_the_reason_for_a_refusal():
    with pytest.raises(SurvivingTokenError, match=r"an id_number value .*--disable id_number") as err:
        anonymise_rows([_chat("ssn 512-44-9083")], Anonymiser(KEY, disabled=["id_number"]))
    assert "512-44-9083" not in str(err.value)


def test_a_vendor_prefix_in_a_credential_is_no_project_key():
    """"PROJ-1234" makes PROJ a project key; "sk-proj-…" keeps its vendor prefix in its fake (every fake
    was refused as holding the key, and the run ended in a RuntimeError)."""
    secret = "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56"
    out, _ = anonymise_rows([_chat(f"Ticket PROJ-1234: the key OPENAI_API_KEY={secret} leaked")], Anonymiser(KEY))
    text = out[0]["messages"][0]["content"]
    assert secret not in text and "PROJ-1234" not in text and "OPENAI_API_KEY=sk-proj-" in text


def test_a_project_given_in_known_is_found_in_any_case_and_keeps_each_case():
    anon = Anonymiser(KEY, parse_known("project: zephyr"))
    out, _ = anonymise_rows([_chat("The Zephyr release: ZEPHYR-12 tracks it, zephyr team owns it.")], anon)
    text = out[0]["messages"][0]["content"]
    assert "zephyr" not in text.lower()
    fake = anon.fake("project", "zephyr")
    assert f"{fake.lower()} team" in text and f"{fake.upper()}-" in text
    # a key learned from a ticket id stays case-sensitive: "WEB-101" does not make "web" a word to swap
    out, _ = anonymise_rows([_chat("WEB-101 breaks the web page")], Anonymiser(KEY))
    assert out[0]["messages"][0]["content"].endswith("breaks the web page")


def test_group_mentions_and_id_labels_are_kept():
    out, _ = anonymise_rows([_chat("Ping @here and @channel (@everyone too): patient MRN-4471902, NDA-5512 signed; "
                                   "the ssn-lookup tool")], Anonymiser(KEY))
    text = out[0]["messages"][0]["content"]
    assert text.startswith("Ping @here and @channel (@everyone too): patient MRN-")
    assert "4471902" not in text and "NDA-5512 signed; the ssn-lookup tool" in text


def test_names_under_person_keys_in_capitals_lower_case_with_initials_and_in_fhir():
    result = {"reporter": "sandra lee", "employee": "ROBERT J. KOWALSKI", "account_manager": "Precious Mahlangu",
              "legal_name": "Haruki Nakamura", "doctor_name": "Amara Okafor",
              "patient": {"resourceType": "Patient", "name": [{"family": "Tanaka", "given": ["Hiroshi"]}]},
              "subject": {"reference": "Patient/pat-1029", "display": "Mariko Sato"},
              # a role alone may name a thing: kept
              "doctor": "Radiology", "billing": "Monthly", "parent": "Electronics", "owner": "Platform Team"}
    rows = [{"messages": [{"role": "user", "content": "Did Robert Kowalski or Sandra Lee see Hiroshi Tanaka?"},
                          {"role": "tool", "content": json.dumps(result)}]}]
    out, _ = anonymise_rows(rows, Anonymiser(KEY))
    text = json.dumps(out, ensure_ascii=False)
    for real in ("sandra", "Kowalski", "Mahlangu", "Nakamura", "Okafor", "Tanaka", "Hiroshi", "Sato", "Mariko"):
        assert real.lower() not in text.lower(), real
    swapped = json.loads(out[0]["messages"][1]["content"])
    assert re.fullmatch(r"[A-Z]+ [A-Z]\. [A-Z]+", swapped["employee"])  # capitals and the initial kept as such
    assert swapped["reporter"].islower()
    assert (swapped["doctor"], swapped["billing"], swapped["parent"], swapped["owner"]) == (
        "Radiology", "Monthly", "Electronics", "Platform Team")


def test_basic_auth_api_key_headers_and_a_pem_body_are_credentials():
    text = ("curl -H 'Authorization: Basic YWxpY2U6czNjcjN0UGFzcw==' -H 'X-Api-Key: 9f8e7d6c5b4a39281706f5e4d3c2b1a0'"
            "\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7xQ\nabcdEFGH1234+/==\n-----END RSA PRIVATE KEY-----"
            "\nA Basic understanding of the api key: rotate monthly.")
    out, _ = anonymise_rows([_chat(text)], Anonymiser(KEY))
    swapped = out[0]["messages"][0]["content"]
    for real in ("YWxpY2U6czNjcjN0UGFzcw==", "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "MIIEpAIBAAKCAQEA7xQ", "abcdEFGH1234"):
        assert real not in swapped
    assert "-----BEGIN RSA PRIVATE KEY-----\n" in swapped and swapped.endswith(
        "-----END RSA PRIVATE KEY-----\nA Basic understanding of the api key: rotate monthly.")


def test_names_in_scripts_without_capitals_after_an_honorific_a_form_of_address_or_under_a_person_key():
    text = "Book Dr. 李娜 for Mr. 陈志强; السيد محمد الشمري called; Ms. 佐藤 花子 too. 请联系王小明先生。г-н Смирнов звонил."
    result = {"patient_name": "王小明", "tenant_name": "أحمد القحطاني", "recipient": "张伟", "displayName": "田中 宏"}
    rows = [{"messages": [{"role": "user", "content": text},
                          {"role": "tool", "content": json.dumps(result, ensure_ascii=False)}]}]
    out, _ = anonymise_rows(rows, Anonymiser(KEY))
    swapped = json.dumps(out, ensure_ascii=False)
    for real in ("李娜", "陈志强", "محمد", "الشمري", "佐藤", "花子", "王小明", "أحمد", "القحطاني", "张伟", "田中", "宏", "Смирнов"):
        assert real not in swapped, real
    assert "请联系" in swapped and "先生。" in swapped and "السيد " in swapped  # the words around them kept


@pytest.mark.parametrize("text, secret", [
    ("the db login is user=svc_app pass=Tr0ub4dor&3x, please check", "Tr0ub4dor&3x"),
    ("wifi pw: gr33nTea#9", "gr33nTea#9"),
    ("new pass: Fr0sty-Window-88", "Fr0sty-Window-88"),
    ("credentials: admin / Welcome123!", "Welcome123!"),
    ("ssh root@host with password toor1234", "toor1234"),
    ("key id AKIA2E0A8F3B244C9986 secret Zk3Jd9QpL2mN8vR4tY6uW1xC5bH7gF0sA2eD4iO6", "Zk3Jd9QpL2mN8vR4tY6uW1xC5bH7gF0sA2eD4iO6"),
])
def test_passwords_after_short_cues_a_login_pair_and_a_bare_credential_word_are_secrets(text, secret):
    out, _ = anonymise_rows([_chat(text)], Anonymiser(KEY))
    swapped = out[0]["messages"][0]["content"]
    assert secret not in swapped and len(swapped) == len(text)  # swapped in place, same shape


@pytest.mark.parametrize("text", [
    "the first pass: done, then a bypass=skipped", "reset your password manager settings",
    "upgrade to password v2.1.3 hashing", "the token limit is 4096 tokens", "keep it a secret until Friday",
    "credentials: see the vault / ask ops", "Password: reset it via the portal", "Password: 8 characters minimum",
])
def test_credential_words_in_prose_are_left_alone(text):
    out, _ = anonymise_rows([_chat(text)], Anonymiser(KEY))
    assert out[0]["messages"][0]["content"] == text


def test_a_pin_is_swapped_after_its_label_only():
    """"PIN: 4492" is the card's PIN; 4492 elsewhere (a quantity, a year) is no evidence of it, and looking
    for it there would refuse whole files."""
    out, _ = anonymise_rows([_chat("PIN: 4492 for the card"), _chat("order 4492 units; pin 3000 to the board")],
                            Anonymiser(KEY))
    first, second = (r["messages"][0]["content"] for r in out)
    assert "4492" not in first and re.fullmatch(r"PIN: \d{4} for the card", first)
    assert second == "order 4492 units; pin 3000 to the board"


def test_a_passphrase_under_a_password_key_or_after_password_colon_is_swapped_whole():
    rows = [{"messages": [
        {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {
            "name": "create_account", "arguments": json.dumps({"username": "mgonzalez84",
                                                               "password": "correct horse battery staple"})}}]},
        {"role": "tool", "content": json.dumps({"created": True, "password": "tiny purple elephant",
                                                "secret": "not set", "status": "account created for you"})},
        {"role": "user", "content": "Password: purple monkey dishwasher"}]}]
    out, _ = anonymise_rows(rows, Anonymiser(KEY))
    text = json.dumps(out)
    for real in ("correct horse battery staple", "tiny purple elephant", "purple monkey dishwasher"):
        assert real not in text
    result = json.loads(out[0]["messages"][1]["content"])
    assert len(result["password"].split()) == 3  # a passphrase's fake is words too
    assert result["secret"] == "not set" and result["status"] == "account created for you"  # a placeholder, prose
    assert out[0]["messages"][2]["content"].startswith("Password: ")


def test_a_pem_body_pasted_as_json_text_or_in_an_env_line_is_swapped_and_its_armour_kept():
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"
    key = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
    account = {"type": "service_account", "private_key_id": "4f8a9b2c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a",
               "private_key": key}
    rows = [_chat("Here is our service account, please check it: " + json.dumps(account)),
            _chat(f'my .env has PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\\n{body}\\n-----END RSA PRIVATE KEY-----"'),
            _chat(json.dumps({"private_key": key}))]
    out, _ = anonymise_rows(rows, Anonymiser(KEY))
    text = json.dumps(out)
    assert body not in text and "4f8a9b2c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a" not in text
    pasted = out[0]["messages"][0]["content"]
    assert '"-----BEGIN PRIVATE KEY-----\\n' in pasted and '\\n-----END PRIVATE KEY-----\\n"' in pasted
    assert json.loads(pasted.partition(": ")[2])["private_key"].count("\n") == 3  # the escapes are still escapes
    env = out[1]["messages"][0]["content"]
    assert env.startswith('my .env has PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\\n')
    assert env.endswith('\\n-----END RSA PRIVATE KEY-----"')
    assert json.loads(out[2]["messages"][0]["content"])["private_key"].startswith("-----BEGIN PRIVATE KEY-----\n")


def test_a_long_pem_body_gets_a_fake_too():
    body = "\n".join(["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"] * 26)  # ~1 700 characters
    out, _ = anonymise_rows([_chat(f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----")], Anonymiser(KEY))
    assert "MIIEvQIBADANBgkqhkiG9w0" not in out[0]["messages"][0]["content"]


def test_a_birth_date_as_yyyymmdd_after_a_cue_or_as_an_integer_under_a_dob_key():
    rows = [{"messages": [
        {"role": "user", "content": "Register me, dob 19870314."},
        {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {
            "name": "register_patient", "arguments": {"patient_id": "p1", "dob": 19870314, "order_date": 20240314,
                                                      "quantity": 19870314}}}]}]},
            _chat("invoice 19870314 is due; build 20240314 passed")]
    anon = Anonymiser(KEY)
    out, _ = anonymise_rows(rows, anon)
    args = out[0]["messages"][1]["tool_calls"][0]["function"]["arguments"]
    fake = anon.fake("birth_date", "19870314")
    assert re.fullmatch(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|1[0-2])", fake) and fake != "19870314"
    assert out[0]["messages"][0]["content"] == f"Register me, dob {fake}."
    assert args["dob"] == int(fake) and args["order_date"] == 20240314
    # the same digits elsewhere are the birth date's value, as a birth date in any other layout is
    assert args["quantity"] == int(fake)
    assert out[1]["messages"][0]["content"].endswith("build 20240314 passed")


def test_an_other_value_that_is_a_number_gets_a_number_of_as_many_digits():
    """`other: 19870314` for an integer argument refused the whole file; as a string it became "redacted-…"."""
    rows = [{"messages": [{"role": "user", "content": "member 19870314 here"},
                          {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {
                              "name": "lookup_member", "arguments": json.dumps({"member_no": 19870314})}}]}]}]
    anon = Anonymiser(KEY, parse_known("other: 19870314"))
    out, _ = anonymise_rows(rows, anon)
    fake = anon.fake("other", "19870314")
    assert re.fullmatch(r"[1-9]\d{7}", fake) and fake != "19870314"
    assert out[0]["messages"][0]["content"] == f"member {fake} here"
    assert json.loads(out[0]["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {"member_no": int(fake)}
    assert anon.fake("other", "Elm Street 12").startswith("redacted-")


@pytest.mark.parametrize("text, before, after, real", [
    ("Referral for DR. OLUWASEUN ADEYEMI.", "Referral for DR. ", ".", ("OLUWASEUN", "ADEYEMI")),
    ("Reminder for MRS. ELEANOR FITZGERALD-BOYLE.", "Reminder for MRS. ", ".", ("ELEANOR", "FITZGERALD", "BOYLE")),
    ("MR. JEAN-PIERRE LEFÈVRE, account 4471", "MR. ", ", account 4471", ("JEAN", "PIERRE", "LEFÈVRE")),
    ("Please call MARGARET THATCHER-JONES today.", "Please call ", " today.", ("MARGARET", "THATCHER", "JONES")),
])
def test_a_name_in_capitals_after_an_honorific_or_with_a_hyphenated_surname_is_swapped_alone_in_a_file(
        text, before, after, real):
    """Each alone in its file: a mixed-case spelling elsewhere in a bigger file had hidden the leak."""
    out, _ = anonymise_rows([_chat(text)], Anonymiser(KEY))
    swapped = out[0]["messages"][0]["content"]
    assert not any(r in swapped for r in real), swapped
    assert swapped.startswith(before) and swapped.endswith(after)
    assert swapped[len(before):len(swapped) - len(after)].isupper()  # the fake in capitals too


def test_a_shouted_line_after_an_honorific_keeps_its_other_words():
    out, _ = anonymise_rows([_chat("DR. SMITH APPROVED THE PLAN"), _chat("MR. WHITFIELD CALLED AT NOON")], Anonymiser(KEY))
    first, second = (r["messages"][0]["content"] for r in out)
    assert first.startswith("DR. ") and first.endswith(" APPROVED THE PLAN") and "SMITH" not in first
    assert second.startswith("MR. ") and second.endswith(" CALLED AT NOON") and "WHITFIELD" not in second


@pytest.mark.parametrize("text, real", [
    ("The patient, Mrs. Bich Ngoc Pham, was admitted.", ("Bich", "Ngoc", "Pham")),
    ("Schedule a call with Nguyễn Thị Hương from Hanoi.", ("Nguyễn", "Hương")),
    ("Call Hans-H. Köhler.", ("Hans", "Köhler")),
])
def test_every_part_of_a_three_part_name_or_one_with_an_initial_is_swapped(text, real):
    out, _ = anonymise_rows([_chat(text)], Anonymiser(KEY))
    swapped = out[0]["messages"][0]["content"]
    assert not any(r in swapped for r in real), swapped
    assert "Hanoi" in swapped or "Hanoi" not in text
    if "Hans-H." in text:  # the initial stays an initial after its hyphen
        assert re.fullmatch(r"Call [A-Z][a-z]+-[A-Z]\. [A-Z][a-z]+\.", swapped)


def test_a_lower_case_name_after_a_lower_case_honorific():
    out, _ = anonymise_rows([_chat("spoke with dr. rosa parks-whitman today"), _chat("took 300 ms. next step: dr. who?")],
                            Anonymiser(KEY))
    first, second = (r["messages"][0]["content"] for r in out)
    assert "rosa" not in first and "parks" not in first and "whitman" not in first
    assert first.startswith("spoke with dr. ") and first.endswith(" today") and first == first.lower()
    assert second == "took 300 ms. next step: dr. who?"  # a unit, and an ordinary word, are no name


@pytest.mark.parametrize("text", [
    "Add the dr. column to the ledger export.",           # debit, in accounting shorthand
    "is mr. robot the show you meant?",
    "Stock check: MR. CLEAN MAGIC ERASER 12 units, DR. MARTENS BOOTS 3 pairs.",
    "Run it: pw = getpass.getpass('Password: ')",         # code reading a password, not one
    "secret = os.environ['API_SECRET']",
])
def test_brands_shows_and_code_near_an_honorific_or_a_password_cue_stay_as_written(text):
    """From a precision probe of the rules above: a lower-case word after "dr." is a name only when the
    lexicon lists it; a brand's word after an honorific is no name in capitals either; a call or a
    subscript after a password cue is code."""
    out, _ = anonymise_rows([_chat(text)], Anonymiser(KEY))
    assert out[0]["messages"][0]["content"] == text


def test_a_hyphenated_surname_alone_gets_the_fake_it_has_in_the_full_name():
    rows = [{"messages": [{"role": "user", "content": "Please send a reminder to Mrs. Eleanor Fitzgerald-Boyle."},
                          {"role": "assistant", "content": "Done: 'Dear Mrs Fitzgerald-Boyle, your appointment is on "
                                                           "Monday.' Anne-Marie Duval and Anne-Marie agree."}]}]
    out, _ = anonymise_rows(rows, Anonymiser(KEY))
    user, answer = (m["content"] for m in out[0]["messages"])
    full = re.search(r"to Mrs\. (\S+) (\S+)\.$", user)
    assert full and re.search(rf"Dear Mrs {re.escape(full.group(2))},", answer), (user, answer)
    given = re.search(r"Monday\.' (\S+) \S+ and (\S+) agree", answer)
    assert given and given.group(1) == given.group(2) and "Anne" not in answer


def test_a_refusal_by_the_survival_check_exits_2_like_any_bad_input(tmp_path, monkeypatch):
    from orchestrator.cli import main

    src, dest, known = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "known.txt"
    blob = base64.b64encode(b"owner=Sandra Lee;ref=CR-88123-Z").decode()
    src.write_text(json.dumps({"messages": [{"role": "tool", "content": json.dumps({"blob": blob})}]}) + "\n")
    known.write_text("name: Sandra Lee\n")
    monkeypatch.setenv("ANON_TEST_KEY", "0123456789abcdef0123456789abcdef")
    assert main(["anonymise", str(src), str(dest), "--key-env", "ANON_TEST_KEY", "--known", str(known)]) == 2
    assert not dest.exists()
