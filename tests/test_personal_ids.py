"""Identity numbers, birth dates and street addresses: found where a cue or a key says what they are,
left alone where nothing does, swapped for fakes of the same shape, and refused rather than leaked."""

import hashlib
import json
import re

import pytest

from orchestrator.data import personal_ids as p
from orchestrator.data.anonymise import Anonymiser, SurvivingTokenError, anonymise_rows

KEY = b"personal-ids-test-key"

FOUND = [
    ("My SSN is 123-45-6789, please update my file.", {"123-45-6789": p.ID_NUMBER}),
    ("Social security number: 078 05 1120", {"078 05 1120": p.ID_NUMBER}),
    ("Passport number X12345678, expires 2030.", {"X12345678": p.ID_NUMBER}),
    ("My passport no. is 533380006 and my DOB is 14/03/1987.",
     {"533380006": p.ID_NUMBER, "14/03/1987": p.BIRTH_DATE}),
    ("My national insurance number is QQ 12 34 56 C.", {"QQ 12 34 56 C": p.ID_NUMBER}),
    ("Driver's license D1234-56789-01234", {"D1234-56789-01234": p.ID_NUMBER}),
    ("Aadhaar 2345 6789 0123, PAN ABCDE1234F", {"2345 6789 0123": p.ID_NUMBER, "ABCDE1234F": p.ID_NUMBER}),
    ("Tax ID (TIN): 12-3456789", {"12-3456789": p.ID_NUMBER}),
    ("Patient MRN 00482913, born 02/11/1975", {"00482913": p.ID_NUMBER, "02/11/1975": p.BIRTH_DATE}),
    ("Date of birth: 1987-03-14", {"1987-03-14": p.BIRTH_DATE}),
    ("I was born on March 14, 1987 in Leeds.", {"March 14, 1987": p.BIRTH_DATE}),
    ("her birthday is 14th of March", {"14th of March": p.BIRTH_DATE}),
    ("Ship it to 221B Baker Street, London NW1 6XE.", {"221B Baker Street": p.ADDRESS}),
    ("I live at 1600 Pennsylvania Avenue NW, Washington, DC 20500.", {"1600 Pennsylvania Avenue NW": p.ADDRESS}),
    ("Office: 350 5th Ave, Suite 3400, New York", {"350 5th Ave, Suite 3400": p.ADDRESS}),
    ("Wohnt in der Hauptstraße 5a, Berlin", {"Hauptstraße 5a": p.ADDRESS}),
    ("Berliner Straße 12", {"Berliner Straße 12": p.ADDRESS}),
    ("12 rue de Rivoli, Paris", {"12 rue de Rivoli": p.ADDRESS}),
    ("Calle Mayor 5, Madrid", {"Calle Mayor 5": p.ADDRESS}),
    ("Kalverstraat 92, Amsterdam", {"Kalverstraat 92": p.ADDRESS}),
    ("call 3 Main St. #4B now", {"3 Main St. #4B": p.ADDRESS}),
    ("deliver to 12 Elm Street.", {"12 Elm Street": p.ADDRESS}),   # the sentence's full stop is no part of it
    ("my mrn is MRN 00734521", {"00734521": p.ID_NUMBER}),           # the cue repeated is no part of the id
    ("reisepass C01X00T47", {"C01X00T47": p.ID_NUMBER}), ("身份证号310115199003074512", {"310115199003074512": p.ID_NUMBER}),
    ("保険証番号は12345678-01です", {"12345678-01": p.ID_NUMBER}), ("SSN是512-44-9083", {"512-44-9083": p.ID_NUMBER}),
    ("कृपया आधार 4821 7390 6652 वेरिफाई करें", {"4821 7390 6652": p.ID_NUMBER}),
    ("my address is Ulica Długa 22", {"Ulica Długa 22": p.ADDRESS}), ("ship to Rua Augusta 112", {"Rua Augusta 112": p.ADDRESS}),
]

NOT_FOUND = [
    "meeting on March 14, 2026 at 10:00", "Book 2 rooms on the 3rd Floor", "Order #123456789 shipped",
    "Flight BA 2490 to Rome", "upload 5 Google Drive files", "the 9 Supreme Court justices", "Place Vendôme at noon",
    "rue de Rivoli is long", "NI 2024-25 tax year", "ein 5000 Euro Kredit", "sin 3000 pesos", "tax code 2024 changes",
    "driver's license renewal in 2025", "Via Slack 5 people said yes", "born in 1987", "passport photo 2x2",
    "Version 2 Road Map is ready", "ISBN 978-3-16-148410-0", "SSN-shaped but 000-12-3456 and 666-12-3456 are not",
    "Smith et al. Jones 2020 found", "the tax code K1257L",
]


@pytest.mark.parametrize("text,expected", FOUND)
def test_found_after_a_cue(text, expected):
    assert p.values_in_text(text) == expected


@pytest.mark.parametrize("text", NOT_FOUND)
def test_left_alone_without_a_cue(text):
    assert p.values_in_text(text) == {}


def test_found_under_their_keys_integers_too():
    args = {"ssn": "123-45-6789", "dateOfBirth": "1987-03-14", "passport_number": "X12345678", "bsn": 123456782,
            "home_address": "12 Elm Street, Springfield", "shipping_address": "4 elm st, springfield",
            "email_address": "no street 12", "ticket_id": "40021", "dob": "not a date 12"}
    assert p.values_under_keys(args) == {
        "123-45-6789": p.ID_NUMBER, "1987-03-14": p.BIRTH_DATE, "X12345678": p.ID_NUMBER, "123456782": p.ID_NUMBER,
        "12 Elm Street": p.ADDRESS, "4 elm st": p.ADDRESS}


def _digest(value):
    return hashlib.sha256(value.encode()).digest()


@pytest.mark.parametrize("value", ["123-45-6789", "QQ 12 34 56 C", "ABCDE1234F", "d1234-56789"])
def test_id_fake_keeps_the_layout(value):
    fake = p.fake_id_number(value, _digest(value))
    shape = lambda s: re.sub(r"[A-Z]", "A", re.sub(r"[a-z]", "a", re.sub(r"\d", "9", s)))
    assert shape(fake) == shape(value) and fake != value


@pytest.mark.parametrize("value,pattern", [
    ("1987-03-14", r"19(8[4-9]|90)-\d\d-\d\d"), ("14/03/1987", r"\d\d/\d\d/19(8[4-9]|90)"),
    ("2.11.75", r"\d{1,2}\.\d{1,2}\.(7[2-8])"), ("March 14, 1987", r"[A-Z][a-z]+ \d{1,2}, 19(8[4-9]|90)"),
    ("14th of Mar", r"\d{1,2}(st|nd|rd|th) of [A-Z][a-z]{2}")])
def test_birth_date_fake_keeps_the_format_and_roughly_the_year(value, pattern):
    fake = p.fake_birth_date(value, _digest(value))
    assert re.fullmatch(pattern, fake) and fake != value
    day = re.search(r"(\d{1,2})(st|nd|rd|th)", fake)
    if day:  # the ordinal suffix fits the new day
        n = int(day.group(1))
        assert day.group(2) == ("th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th"))


def test_address_fake_keeps_number_length_type_and_particles():
    names = ["Ashbrook", "Fairmont"]
    fake = p.fake_address("221B Baker Street", _digest("a"), names)
    assert re.fullmatch(r"[1-9]\d\dB (Ashbrook|Fairmont) Street", fake)
    fake = p.fake_address("12 rue de Rivoli", _digest("b"), names)
    assert re.fullmatch(r"[1-9]\d rue de (Ashbrook|Fairmont)", fake)
    fake = p.fake_address("Hauptstraße 5a", _digest("c"), names)
    assert re.fullmatch(r"(Ashbrook|Fairmont)straße [1-9]a", fake)


def _row(user, arguments=None, result="ok"):
    messages = [{"role": "user", "content": user}]
    if arguments is not None:
        messages += [{"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
            "name": "update_profile", "arguments": json.dumps(arguments)}}]},
            {"role": "tool", "name": "update_profile", "content": result}]
    return {"messages": messages + [{"role": "assistant", "content": "Done."}]}


def test_anonymiser_swaps_them_everywhere_with_one_fake_each():
    rows = [_row("My SSN is 123-45-6789 and I live at 221B Baker Street. DOB: 1987-03-14.",
                 {"ssn": "123-45-6789", "street": "221b baker street", "dob": "1987-03-14", "bsn": 123456782},
                 json.dumps({"stored": "123456789", "address": "221B Baker Street"})),
            _row("BSN 123456782 please")]
    out, report = anonymise_rows(rows, Anonymiser(KEY))
    text = json.dumps(out)
    for real in ("123-45-6789", "123456789", "Baker", "baker", "1987-03-14", "123456782"):
        assert real not in text
    args = json.loads(out[0]["messages"][1]["tool_calls"][0]["function"]["arguments"])
    user = out[0]["messages"][0]["content"]
    assert args["ssn"] in user and args["dob"] in user                   # the call still matches the request
    assert args["street"] == re.search(r"\d+B \w+ Street", user).group().lower()  # one fake, in each one's case
    assert isinstance(args["bsn"], int) and str(args["bsn"]) in out[1]["messages"][0]["content"]
    result = json.loads(out[0]["messages"][2]["content"])
    assert result["stored"] == args["ssn"].replace("-", "")              # the same id written without dashes
    assert report.replaced["id_number"] >= 4 and report.replaced["address"] >= 3 and report.replaced["birth_date"] == 2


def test_a_disabled_kind_refuses_rather_than_leaks():
    rows = [_row("Passport number X12345678, thanks")]
    with pytest.raises(SurvivingTokenError) as err:
        anonymise_rows(rows, Anonymiser(KEY, disabled=["id_number"]))
    assert err.value.kind == "id_number" and "X12345678" not in str(err.value)


def test_rows_without_personal_values_are_unchanged():
    rows = [_row("Book 2 rooms on the 3rd Floor for March 14, 2026", {"room_count": 2, "date": "2026-03-14"})]
    out, report = anonymise_rows(rows, Anonymiser(KEY))
    assert out == rows and not report.replaced


def test_a_sentence_end_does_not_join_a_street_name():
    from orchestrator.data.personal_ids import addresses_in_text
    assert list(addresses_in_text("Calle Mayor 12, 28013 Madrid. GP Dr. Rebecca Goldstein.")) == ["Calle Mayor 12"]
    assert list(addresses_in_text("He lives at 12 St. Mary Street now.")) == ["12 St. Mary Street"]
