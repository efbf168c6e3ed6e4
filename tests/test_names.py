"""Person names found without a known-tokens list (orchestrator/data/names.py), and swapped by the
anonymiser: names no one listed are gone from the output; places, months and ordinary words stay."""

import json

import pytest

from orchestrator.data.anonymise import Anonymiser, KnownToken, anonymise_rows
from orchestrator.data.names import names_in_arguments, names_in_text, usernames_in_text

FOUND = {
    "Dear María José, please call me back.": {"María José"},
    "cc: Jean-Luc Picard and Zoë O'Brien on the thread": {"Jean-Luc Picard", "Zoë O'Brien"},
    "Meeting with dr. Ngozi Okonjo-Iweala tomorrow at 10.": {"Ngozi Okonjo-Iweala"},
    "Ask Priya about it; she knows. Also loop in Mr Tanaka.": {"Priya", "Tanaka"},
    "Remind Olusegun to bring the charger.": {"Olusegun"},
    "text dmitri that I'm late, then ping john.": {"dmitri", "john"},
    "Add an event called Budget review, then call Marek.": {"Marek"},
    "Thanks,\nSiobhán": {"Siobhán"},
    "Send the file to Ahmed al-Rashid by Friday.": {"Ahmed al-Rashid"},
    "The report by Kowalski et al. was great": {"Kowalski"},
    "Hi Li Wei, can you review PR #42?": {"Li Wei"},
    "cc Ji-woo Park and Doris Day on it": {"Ji-woo Park", "Doris Day"},  # surnames that are also nouns of places
    "I talked to van der Berg and De Souza yesterday.": {"van der Berg", "De Souza"},
    "Call Anne-Marie at six.": {"Anne-Marie"},
    # the lexicon's gaps after a first name that is no surname: "Mehta", "Nakamura" are listed nowhere
    "Loop in Arjun Mehta (Procurement); Kenji Nakamura owns comms.": {"Arjun Mehta", "Kenji Nakamura"},
    "Forward the Q2 report to Aigerim Nurlanovna <aigerim@example.kz>": {"Aigerim Nurlanovna"},  # a mailbox
    "My father Venkatesh Iyer needs a consult; my wife maria will drive.": {"Venkatesh Iyer", "maria"},
    # a transcript's speakers, also a lexicon first name in lower case
    "Summarise:\nLars: anyone seen the deck?\nIra Wells: yes\nsiddharth: ok": {"Lars", "Ira Wells", "siddharth"},
    "[09:12] Tomasz: morning all\n[09:13] Kasia Nowak: morning": {"Tomasz", "Kasia Nowak"},
}
NOT_NAMES = [
    "What's the weather in Paris?", "Book a flight to Berlin on Monday.", "May I have the report?",
    "the grace period ends in April", "Will you call me back?", "Case 42 is open.", "Plan a Jordan River trip.",
    "batch processed in 3126 ms\nEscalate the ticket before Friday.", "See the Release Notes.",
    "Meet at Victoria Station.", "She studied at Georgia Tech.", "Email the Sales Team.", "Hi team, all good?", "Ask Siri to set a timer.", "Email Support about it.", "ask questions later",
    "Remind me tomorrow, then call back.",
    # a first name that is also a surname opens brands and places; a first name before a thing word
    "Compare the Ford Mustang with a Mercedes Benz.", "Ski trip to Jackson Hole.", "Hermes Gateway is down.",
    "Open Iris Studio.", "our partner Stripe said no",
    # labelled lines that are fields, roles or programs, not speakers
    "Q: what is it?\nA: nothing\nNote: fine", "Status: ok\nError: none", "ERROR: disk full\nWARN: low memory",
    "[10:00:01] worker: started\n[10:00:02] scheduler: queued", "User: hi\nAssistant: hello",
    "Subject: Invoice\nFrom: billing", "Ticket: a single labelled line is no transcript",
    "M: mobile on request\nE: see below", "Co-authored-by: a bot\nSigned-off-by: another",
    "Walk along Darling Harbour.",
    # a paper, a firm, a city, a holiday or a brand named after a person (a blind probe's over-redactions)
    "The Washington Post reported it.", "Wayne Enterprises stock fell.", "Fly to Ho Chi Minh City tomorrow.",
    "Martin Luther King Jr. Day is a holiday.", "Buy Dr. Pepper and Dr. Martens boots.",
]


def test_names_are_found_where_the_text_says_they_are_names():
    for text, names in FOUND.items():
        assert set(names_in_text(text)) == names, text


def test_places_months_and_ordinary_capitalised_words_are_not_names():
    for text in NOT_NAMES:
        assert names_in_text(text) == {}, text


def test_one_labelled_line_is_no_transcript():
    assert names_in_text("Tove: a single labelled line is no transcript") == {}
    assert names_in_text("Tove: one line\nBjørn: and another") == {"Tove": None, "Bjørn": None}


def test_a_mailbox_of_a_team_is_no_name():
    assert names_in_text("Billing Team <billing@example.com> wrote") == {}
    assert names_in_text("Support <help@example.com>") == {}


def test_a_lone_surname_after_an_honorific_is_marked_as_one():
    assert names_in_text("Please email Ms. O'Neill.") == {"O'Neill": "last"}
    assert names_in_text("in 3126 ms\nEscalate it") == {}  # "ms" without its full stop is a unit


def test_arguments_under_a_persons_key_are_names():
    args = {"attendees": ["Grace Hopper", "Alan Turing"], "title": "Design Review", "to": "Kenji Watanabe",
            "name": "Quarterly Report", "location": "Paris", "contact": {"firstName": "Ola", "lastName": "Nordmann"}}
    assert names_in_arguments(args) == {"Grace Hopper", "Alan Turing", "Kenji Watanabe", "Ola", "Nordmann"}


def _row(user: str, calls: list[dict] | None = None, result: str | None = None) -> dict:
    msgs = [{"role": "user", "content": user}]
    if calls:
        msgs.append({"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls]})
        msgs.append({"role": "tool", "name": calls[0]["name"], "content": result or "{}"})
    msgs.append({"role": "assistant", "content": "Done."})
    return {"messages": msgs, "tools": []}


def test_unlisted_names_are_gone_from_every_string_and_the_rest_is_untouched():
    rows = [_row(text) for text in FOUND] + [_row(text) for text in NOT_NAMES] + [
        _row("Invite Grace Hopper and Alan Turing to the design review.",
             [{"name": "calendar_create_event", "arguments": {"title": "Design review",
                                                              "attendees": ["Grace Hopper", "Alan Turing"]}}],
             json.dumps({"status": "created", "attendees": ["Grace Hopper", "Alan Turing"]})),
        _row("Has Turing replied? Hopper did.")]
    out, report = anonymise_rows(rows, Anonymiser(b"names-key"))
    text = json.dumps(out, ensure_ascii=False)
    for gone in ("María", "José", "Picard", "O'Brien", "Ngozi", "Okonjo-Iweala", "Priya", "Tanaka", "Siobhán",
                 "Rashid", "Kowalski", "Li Wei", "Berg", "Souza", "Anne-Marie", "Grace Hopper", "Turing", "Hopper",
                 "dmitri", "john"):
        assert gone not in text, gone
    for kept, row in zip(NOT_NAMES, out[len(FOUND):]):
        assert row["messages"][0]["content"] == kept
    assert report.detected_names >= 14 and report.replaced["name"] >= 20
    # the call, its result and the text still name the same (fake) people
    invite = out[len(FOUND) + len(NOT_NAMES)]
    fakes = invite["messages"][1]["tool_calls"][0]["function"]["arguments"]["attendees"]
    assert json.loads(invite["messages"][2]["content"])["attendees"] == fakes
    assert all(f in invite["messages"][0]["content"] for f in fakes)


def test_a_disabled_name_detector_swaps_no_name_and_still_refuses_one():
    """`--disable name` swaps no name, but the survival check runs every detector (as it does for a
    disabled regex kind): a name the rows show makes the run refuse instead of leaking it with exit 0."""
    from orchestrator.data.anonymise import SurvivingTokenError

    with pytest.raises(SurvivingTokenError, match="a name value would survive"):
        anonymise_rows([_row("Ask Priya Raman about it.")], Anonymiser(b"k", disabled=["name"]))
    rows = [_row("Ask the on-call engineer about it.")]
    out, report = anonymise_rows(rows, Anonymiser(b"k", disabled=["name"]))
    assert out == rows and report.detected_names == 0


@pytest.mark.parametrize("text, found", [
    ("What is Mr. Georgiou's address?", {"Georgiou": "last"}),          # the possessive is not the name
    ("Hi, my name is Hannah Whitfield.", {"Hannah Whitfield": None}),
    ("Meet me at Baker Street.", {}), ("Book a Mercedes Benz for Friday.", {}), ("Flights to San Jose", {}),
    ("The Aurora Cluster is down.", {}),
])
def test_found_in_a_second_held_out_set(text, found):
    """Cases a second held-out set (66 rows, written by a probe that had not read the rules) showed;
    taken in, so they are regression checks now."""
    assert names_in_text(text) == found


def test_bare_usernames_under_account_or_person_keys_are_swapped_everywhere():
    """The handle detector finds `@name`; an account name written bare ("zhang.wei" as an assignee,
    "mikkolehtinen" as a user_name) was kept, in the arguments and wherever the text repeats it.
    Function names under `name` and ordinary words under `username` stay."""
    from orchestrator.data.names import usernames_in_arguments

    args = {"user_name": "mikkolehtinen", "assignee": "zhang.wei", "watchers": ["liu.yang", "ops"],
            "name": "get_weather", "username": "admin", "title": "fix.build"}
    assert usernames_in_arguments(args) == {"mikkolehtinen", "zhang.wei", "liu.yang"}
    rows = [_row("Reassign it from zhang.wei, please.", [{"name": "update_ticket", "arguments": {
        "assignee": "zhang.wei", "note": "zhang.wei is on leave"}}], json.dumps({"user_name": "zhang.wei"}))]
    out, report = anonymise_rows(rows, Anonymiser(b"names-key"))
    text = json.dumps(out)
    assert "zhang.wei" not in text and report.replaced["username"] == 4 and "update_ticket" in text


def _texts(out: list[dict]) -> str:
    return json.dumps(out, ensure_ascii=False)


def test_a_surname_beside_a_name_already_found_is_swapped_too():
    """"Dear Rajesh" finds Rajesh; "from Rajesh Krishnamurthy" elsewhere kept the surname beside the
    fake. A lower-case name found ("ping priya raman") takes its lower-case neighbour the same way."""
    out, _ = anonymise_rows([_row("Dear Rajesh, thanks."), _row("A complaint from Rajesh Krishnamurthy.")],
                            Anonymiser(b"k"))
    assert "Rajesh" not in _texts(out) and "Krishnamurthy" not in _texts(out)
    out, _ = anonymise_rows([_row("Priya Raman approved it."), _row("ping priya raman about it")], Anonymiser(b"k"))
    assert "raman" not in _texts(out).casefold() and "priya" not in _texts(out).casefold()


def test_joined_name_forms_in_paths_and_aliases_are_swapped_part_by_part():
    rows = [_row("Priya Raman owns it; see /home/priya.raman/notes and the alias priya_raman.")]
    out, _ = anonymise_rows(rows, Anonymiser(b"k"))
    text = out[0]["messages"][0]["content"]
    whole = text.split(" owns")[0]
    first, last = (w.casefold() for w in whole.split())
    assert f"/home/{first}.{last}/notes" in text and f"alias {first}_{last}." in text
    assert "raman" not in text.casefold()


def test_decomposed_accents_are_one_spelling_of_the_name():
    """"Jose\\u0301 Rami\\u0301rez" (combining accents, as macOS writes them) is José Ramírez: both words
    are swapped, and no stray accent rides on the fake."""
    out, _ = anonymise_rows([_row("Jose\u0301 Rami\u0301rez called twice.")],
                            Anonymiser(b"k", [KnownToken("name", "José Ramírez")]))
    text = out[0]["messages"][0]["content"]
    assert "Ram" not in text and "\u0301" not in text and "Jos" not in text


def test_a_fake_does_not_depend_on_the_other_names_in_the_file():
    """The same key gives the same person the same fake whether the file holds 1 name or 60: the
    pick was made among the pool entries that were not real tokens, a pool each name found shrank."""
    alone, _ = anonymise_rows([_row("Priya Raman approved it.")], Anonymiser(b"k"))
    crowd = [_row(f"{first} {last} approved it.") for first in
             ("Alex", "Sam", "Jordan", "Casey", "Morgan", "Quinn", "Riley", "Taylor", "Avery", "Jamie")
             for last in ("Ashdown", "Eastwood", "Fairbank", "Hollins", "Dunmore", "Brightwater")]
    many, _ = anonymise_rows([_row("Priya Raman approved it."), *crowd], Anonymiser(b"k"))
    assert many[0] == alone[0]


@pytest.mark.parametrize("key", ["watchers", "approver", "backup_owner", "on_call"])
def test_people_under_more_person_keys(key):
    row = _row("Who is it?", calls=[{"name": "assign", "arguments": {key: ["Venkatesh Subramanian"]
                                                                     if key == "watchers" else "Venkatesh Subramanian"}}])
    out, _ = anonymise_rows([row], Anonymiser(b"k"))
    assert "Venkatesh" not in _texts(out) and "Subramanian" not in _texts(out)


def test_a_full_name_after_a_sentence_opener_and_in_cyrillic_or_greek_script():
    """Held-out misses: a capitalised word opening the sentence hid the full name after it ("Yesterday
    Priya Nair called", "Это Ольга Петрова"), and the lexicon held Latin names only."""
    assert names_in_text("Yesterday Priya Nair called.") == {"Priya Nair": None}
    assert names_in_text("Today Kenji Watanabe wrote") == {"Kenji Watanabe": None}
    assert names_in_text("Привет! Это Ольга Петрова, передайте отчёт.") == {"Ольга Петрова": None}
    assert names_in_text("Γιώργος Παπαδόπουλος called") == {"Γιώργος Παπαδόπουλος": None}
    for thing in ("Visit Jackson Hole Resort", "Our Ford Mustang Mach", "The Iris Studio Team"):
        assert names_in_text(thing) == {}, thing


def test_a_writer_naming_themselves_and_a_name_found_in_lower_case_too():
    """Held-out misses: "Hi, Peregrine here." and "talked to rafael" beside a capitalised "Rafael" (the
    lower-case form was found, but the name was already known matched only capitalised)."""
    assert names_in_text("Hi, Peregrine here. Please cancel my order.") == {"Peregrine": None}
    assert names_in_text("This is Ana Lima from billing") == {"Ana Lima": None}
    assert names_in_text("Hi, Support here") == {} and names_in_text("This is Monday in London") == {}
    rows = [{"messages": [{"role": "user", "content": "Ask Rafael. I talked to rafael about the invoice."}]}]
    out, _ = anonymise_rows(rows, Anonymiser(b"test-key-not-secret"))
    assert "rafael" not in out[0]["messages"][0]["content"].lower()


def test_labels_greetings_and_sign_offs_a_third_held_out_set_found():
    assert names_in_text("Attendees: a, b\nAgenda: x, y") == {}                 # labels, not speakers
    assert names_in_text("Thandiwe: hi\nBongani: yo\nThandiwe: ok") == {"Thandiwe": None, "Bongani": None}
    assert names_in_text("Hallo Dietlinde, wie geht's?") == {"Dietlinde": None}
    assert names_in_text("Olá Luana, tudo bem?") == {"Luana": None}              # not "Olá Luana"
    assert names_in_text("Viele Grüße,\nMatthias") == {"Matthias": None}
    assert names_in_text("— Padraig") == {"Padraig": None} and names_in_text("Best,\nNorthwind") == {}
    assert names_in_text("Ich bin Kerstin und arbeite hier.") == {"Kerstin": None}
    assert names_in_text("IBAN DE89 3704 0044") == {}


@pytest.mark.parametrize("text, found", [
    ("Can you check if Priya approved the PR?", {"Priya": None}), ("Send the report to Marcus", {"Marcus": None}),
    ("book a table for me and Kenji at 7", {"Kenji": None}), ("what did Fatima say about the budget", {"Fatima": None}),
    ("Share the doc with Aoife and Beatriz", {"Aoife": None, "Beatriz": None}), ("Did Lars reply?", {"Lars": None}),
    ("Get Priya's calendar", {"Priya": None}), ("Priya, can you send it?", {"Priya": None}),
    ("Lars replied an hour ago", {"Lars": None}), ("Message from Jamal: running late", {"Jamal": None}),
    ("tell Svetlana I'm late", {"Svetlana": None}),                      # the pronoun is no surname
])
def test_a_first_name_alone_is_found_with_no_cue(text, found):
    """Rule 7: a lexicon first name on its own, where nothing says it is a name."""
    assert names_in_text(text) == found


@pytest.mark.parametrize("text", [
    "What's the weather in Hobart?", "weather for Bergen tomorrow", "Hobart weather please", "fly to Adelaide on Monday",
    "migrate the db to Aurora", "buy a Dell laptop", "the Lexus 350 is parked", "Charlotte traffic report",
    "Book the Jackson room", "Call the Milan office", "Put 'Yoga class' on my calendar", "Flights to San Jose",
    "Summarise the Kafka docs", "Read file Lorenzo.txt now",
])
def test_a_first_name_alone_is_not_read_into_places_products_or_titles(text):
    assert names_in_text(text) == {}


def test_a_lone_argument_value_is_left_to_the_key_rules():
    assert names_in_text("Kenji") == {} and names_in_text("Yoga class") == {}


def test_the_user_of_a_windows_account_is_an_account_name():
    assert usernames_in_text("Owner: CORP\\j.oconnor; also CORP\\\\lfernandes") == {"j.oconnor", "lfernandes"}
    assert usernames_in_text("HKLM\\Software\\Vendor and CORP\\Services") == set()   # a registry key, a word
