"""Precision of the anonymiser: values that look like personal data or secrets but are not (versions, git
remotes, placeholders under secret keys, PIN-ish keys) come back unchanged, and the real value in the same
shape beside each is still swapped."""

import json
import re

import pytest

from orchestrator.data.anonymise import Anonymiser, anonymise_rows

KEY = b"test-key-not-secret"


def _anonymised(row: dict) -> dict:
    out, _ = anonymise_rows([row], Anonymiser(KEY))
    return out[0]


def _user(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


def _user_text(text: str) -> str:
    return _anonymised(_user(text))["messages"][0]["content"]


def _call(arguments: dict, result: object | None = None) -> dict:
    messages = [{"role": "user", "content": "x"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": json.dumps(arguments)}}]}]
    if result is not None:
        messages.append({"role": "tool", "tool_call_id": "c", "content": json.dumps(result)})
    return {"messages": messages}


def _call_arguments(row: dict) -> dict:
    return json.loads(row["messages"][1]["tool_calls"][0]["function"]["arguments"])


def _tool_result(row: dict) -> object:
    return json.loads(row["messages"][2]["content"])


# --- a PIN under its key ----------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["pin", "pin_code", "card_pin", "pinCode", "PIN"])
def test_a_pin_under_its_key_is_swapped_with_as_many_digits_as_a_string(key):
    out = _anonymised(_call({key: "8831"}, {key: "8831", "ok": True}))
    pin = _call_arguments(out)[key]
    assert isinstance(pin, str) and re.fullmatch(r"\d{4}", pin) and pin != "8831"
    assert _tool_result(out)[key] == pin  # the call and its echo agree
    assert "8831" not in json.dumps(out)


def test_a_pin_held_as_an_integer_stays_an_integer_of_as_many_digits():
    out = _anonymised(_call({"card_pin": 8831, "account": {"pin": 490213}}))
    args = _call_arguments(out)
    assert isinstance(args["card_pin"], int) and len(str(args["card_pin"])) == 4 and args["card_pin"] != 8831
    assert isinstance(args["account"]["pin"], int) and len(str(args["account"]["pin"])) == 6
    assert args["account"]["pin"] != 490213


def test_a_pin_with_a_leading_zero_keeps_its_length():
    pin = _call_arguments(_anonymised(_call({"pin": "0912"})))["pin"]
    assert re.fullmatch(r"\d{4}", pin) and pin != "0912"


@pytest.mark.parametrize("arguments", [
    {"pin_length": 4000}, {"pinned": "8831"}, {"spinner": 8831}, {"pin": True}, {"pin": "required"},
    {"pin": 42}, {"pin_attempts": 3, "max_pin_retries": 1234}])
def test_keys_that_only_contain_pin_or_hold_no_pin_are_not_touched(arguments):
    assert _call_arguments(_anonymised(_call(arguments))) == arguments


# --- versions and build numbers are no phone numbers ------------------------------------------------

@pytest.mark.parametrize("text", [
    "Chrome 122.0.6261.112 fixed the bug.",
    "Version 10.0.19045.4170 of Windows is required.",
    "Azure Pipelines run 20240229.17 succeeded.",
    "Build date: 20240229, build id 20240229.17",
    "Pipeline version 2024.02.29.1701 deployed.",
    "Firmware 3.10.2402.2901 for the router.",
    "Upgrade to build 4410.2231.5567 tonight.",  # no rule of shape: the cue word before it
])
def test_dotted_versions_and_build_numbers_are_kept(text):
    assert _user_text(text) == text


@pytest.mark.parametrize("phone", ["555.123.4567", "1.555.123.4567", "06.12.34.56.78", "+44 20 7946 0958",
                                   "(555) 123-4567", "+33.6.12.34.56.78", "0470.12.34.56.78"])
def test_phone_numbers_written_with_dots_or_spaces_are_still_swapped(phone):
    out = _user_text(f"Call me on {phone} after five.")
    assert phone not in out and out.startswith("Call me on ") and out.endswith(" after five.")


# --- SSH git remotes are no email addresses ---------------------------------------------------------

@pytest.mark.parametrize("text", [
    "git clone git@github.com:org/repo.git",
    "git remote add origin git@gitlab.example.com:group/sub/repo.git",
    "git clone ssh://git@git.example.org/team/repo.git",
    "git clone ssh://git@git.example.org:2222/team/repo.git",
])
def test_ssh_git_remotes_are_kept(text):
    assert _user_text(text) == text


@pytest.mark.parametrize("text, email", [
    ("write to anna.kowalska@example.com: she knows", "anna.kowalska@example.com"),
    ("my address is git@kowalska.pl, write any time", "git@kowalska.pl"),
    ("write to git@kowalska.pl: I read it daily", "git@kowalska.pl"),
    ("scp anna@host.example.org:/tmp/report.pdf .", "anna@host.example.org"),  # a person's login, not `git`
])
def test_an_email_before_a_colon_or_any_other_user_is_still_swapped(text, email):
    assert email not in _user_text(text)


# --- placeholders under secret keys, nested in JSON text --------------------------------------------

@pytest.mark.parametrize("row", [
    _call({"path": "config.yaml", "content": "db:\n  password: changeme\n  host: localhost\n"}),
    _call({"q": "password: changeme\nusername: admin"}),
    _call({"q": "x"}, {"config": {"password": None, "token": None}}),
    _call({"q": "x"}, {"content": json.dumps({"db": {"password": None, "api_key": ""}})}),
    _call({"path": "settings.ini", "content": "[db]\npassword = CHANGE_ME\ntoken = ${DB_TOKEN}\n"}),
])
def test_placeholder_or_null_secrets_in_nested_json_are_kept_not_refused(row):
    assert _anonymised(row) == row


@pytest.mark.parametrize("value", [None, "", "changeme", "CHANGE_ME", "YOUR_API_KEY", "<password>", "***", "xxx",
                                   "${DB_PASSWORD}", "{{ secret }}", "DB_PASSWORD", "your-secret-here",
                                   "dummy-token-for-tests", "sk-...redacted", "REPLACE_WITH_TOKEN"])
def test_placeholder_values_under_secret_keys_are_kept(value):
    arguments = {"password": value, "api_key": value, "client_secret": value}
    row = _call(arguments, {"config": arguments})
    assert _anonymised(row) == row


@pytest.mark.parametrize("make_row", [
    lambda v: _call({"path": "config.yaml", "content": f"db:\n  password: {v}\n  host: localhost\n"}),
    lambda v: _call({"q": f"password: {v}\nusername: admin"}),
    lambda v: _call({"q": "x"}, {"content": json.dumps({"db": {"password": v}})}),
    lambda v: _call({"path": "settings.ini", "content": f"[db]\npassword = {v}\n"}),
])
def test_a_real_password_in_the_same_nested_layout_is_swapped(make_row):
    out = _anonymised(make_row("S3cr3t!x9"))
    assert "S3cr3t!x9" not in json.dumps(out)


@pytest.mark.parametrize("text", ["Missing secret: AWS_SECRET_ACCESS_KEY is not set in the environment.",
                                  "Missing token: GITHUB_TOKEN is not set.", "password: example-password",
                                  "auth:\n  token: REPLACE_WITH_TOKEN\n  timeout: 30"])
def test_variable_names_and_placeholders_after_a_secret_cue_are_kept(text):
    assert _user_text(text) == text


@pytest.mark.parametrize("text, secret", [("token: ghx_Zk3Jd9QpL2mN8vR4tY6u", "ghx_Zk3Jd9QpL2mN8vR4tY6u"),
                                          ("password: Example-2024!", "Example-2024!"),
                                          ("secret: K9X2_P2Q7_ZZ81", "K9X2_P2Q7_ZZ81")])
def test_a_real_secret_after_its_cue_is_still_swapped(text, secret):
    assert secret not in _user_text(text)


# --- long numeric ids and default PINs ----------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Epoch ms 1709251200000 in the log line.",
    "Order number 40012345 placed; invoice 7700123456.",
    "Tracking no. 770012345612 is in transit.",
    "The secret is stored at arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
    "Role arn:aws:iam::987654321098:role/deploy assumed.",
    "PIN: 0000 (unset)",
    "PIN: 1234 is the factory default on the demo unit.",
])
def test_ids_timestamps_and_default_pins_are_kept(text):
    assert _user_text(text) == text


@pytest.mark.parametrize("text, value", [
    ("Call 14155552671 after five.", "14155552671"),           # country code 1 and ten digits: a phone
    ("Call 447700900123 after five.", "447700900123"),
    ("invoice sent; call 7700123456 after five.", "7700123456"),  # the cue word is not right before it
    ("Bank account 4155552671 is overdrawn.", "4155552671"),  # an account number is personal: still hidden
    ("Card PIN: 4492, please confirm.", "4492"),
    ("urn:x:token:S3cr3t!x9 and token: S3cr3t!x9", "S3cr3t!x9"),  # the same value after a real cue
])
def test_phones_and_pins_beside_those_rules_are_still_swapped(text, value):
    assert value not in _user_text(text)


def test_a_default_pin_under_its_key_is_kept_and_a_real_one_beside_it_swapped():
    args = _call_arguments(_anonymised(_call({"pin": "1234", "card_pin": "4492"})))
    assert args["pin"] == "1234" and args["card_pin"] != "4492"
