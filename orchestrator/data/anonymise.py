"""Deterministic, keyed anonymiser for tool-use conversations.

Every detected value is swapped for a stable fake: the fake is derived from HMAC-SHA256(key,
kind + value), so the same real value always maps to the same fake (across rows, files and runs)
while nobody without the key can map a fake back or confirm a guessed real value. Fakes keep
their kind's shape (an email stays an email, a ticket id stays `ABC-123`), and replacement works
on every string of a row — user and assistant text, nested tool-call arguments, tool results —
so a call's arguments and the result that echoes them still agree after anonymisation.

Detectors: regexes for emails, URLs (not those on localhost, private addresses or example domains),
credentials (`sk_live_…`, `ghp_…`, `AKIA…`, JWTs, whatever follows "Bearer "; passwords after their cues
and a PIN after its label: secrets_under_keys), public IPv4 and IPv6
addresses, phone numbers (one identity per national number, whatever country code or trunk 0 it is
written with), handles (`@user`) and ticket ids (`ABC-123`, in any case; their prefix also becomes a
known project key); person names (names.py), identity numbers, birth dates and street addresses
(personal_ids.py) where the row says what they are; plus a list of known real tokens (names and other
values no detector can find), matched case-insensitively on word boundaries.
A known name's parts are real tokens too: "Priya Nair" also finds "Priya" and "Nair" alone (and
"Priya's"), with and without accents ("José" finds "Jose"); a part that is also a common word
("May", "Grant") or has two letters is matched only capitalised, so "you may" stays. A name's fake
is built from its parts' fakes, so "Priya Nair" → "Alex Dunmore" and "Priya" alone → "Alex".
Boundaries are letters and digits, not `\w`: `_` separates (`OPS-4821_notes.md`, `priya_nair`),
and a value ending a sentence ("ping @priya.") is still found. Names in scripts written without
spaces (CJK) are matched without boundaries.

The output is checked before anything is written: if any known token or any regex-detected
original value survives anywhere in a row — plainly, or inside a JSON-escaped, percent-encoded,
HTML-escaped or base64 form — `SurvivingTokenError` names the kind, row and location (never the
value, which would leak into logs) and nothing is written. The replacement itself does not try
to decode such forms: refusing is safer than guessing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import ipaddress
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import unquote

from evals import jsontext
from orchestrator.data import cjk, personal_ids
from orchestrator.data.cjk import cjk_free_parts, cjk_free_pieces
from orchestrator.data.names import (PARTICLES, keyed_strings, lexicon, names_in_arguments, names_in_emails,
                                     names_in_text, ordinary, usernames_in_arguments, usernames_in_text)
from orchestrator.errors import DataError, UsageError
from evals.textio import read_text

REGEX_KINDS = ("url", "email", "secret", "iban", "card", "handle", "ticket", "ip", "phone")
KNOWN_KINDS = ("name", "project", "other")
PERSONAL_KINDS = personal_ids.KINDS  # identity numbers, birth dates, street addresses: found after a cue or under a key

# Words that stand before "at" in prose ("write to me at …", "meet at noon"): no written-out mailbox
# starts with one, and a match from there would swallow the start of the real one after it.
_WORDS_BEFORE_AT = [rf"(?i:{w})[ \t]" for w in """me us him her them it you i we they look looking meet meeting arrive
arrives arrived be is are was were am stay staying live lives living work works working based born home here there
reach write email mail contact available sit sits stop start starts end ends begins due held up out in on off back
now then only also best least once all one aim aimed good bad great later early noon night""".split()]

# Fixed-width labels a PIN follows (lookbehinds in the secret pattern): "PIN: 4492", "pin=4492", "PIN is 4492".
_PIN_LABELS = [f"{pin}{code}{sep}" for pin in ("PIN", "Pin", "pin") for code in ("", " code", " number")
               for sep in (": ", ":", "=", " is ") + ((" ",) if pin == "PIN" else ())]  # "pin 3000 to the board"
_PIN_LABELS = [rf"(?<![\w-]){re.escape(label)}" for label in sorted(_PIN_LABELS, key=len, reverse=True)]

# Order matters where patterns overlap: a URL may hold an email or a handle, an email holds an
# `@domain` that is not a handle.
_PATTERNS = {
    # With a scheme; or, without one, a profile on the sites whose paths are people's names.
    "url": r"https?://[^\s\"'<>\]\)}]*[^\s\"'<>\]\)}.,;:!?]|(?<![\w./@-])(?:www\.)?(?:linkedin\.com/in|github\.com"
           r"|gitlab\.com|twitter\.com|x\.com|facebook\.com|instagram\.com|t\.me)/[^\s\"'<>\]\)}]*[^\s\"'<>\]\)}.,;:!?]",
    # Letters of any script in the mailbox and the domain ("josé.garcía@correo.es" survived).
    "email": r"(?<![\w.+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])"
             # written out against scrapers: "jane dot doe at example dot com", "jane.doe [at] example [dot] com"
             r"|(?<![\w.+-])(?!" + "|".join(_WORDS_BEFORE_AT) + r")"
             r"[\w.+-]+(?:[ \t]+(?i:dot)[ \t]+[\w+-]+)*[ \t]*(?:[\[({](?i:at)[\])}]|[ \t](?i:at)[ \t])[ \t]*"
             r"[\w-]+(?:[ \t]*(?:[\[({](?i:dot)[\])}]|[ \t](?i:dot)[ \t])[ \t]*[\w-]+)*"
             r"[ \t]*(?:[\[({](?i:dot)[\])}]|[ \t](?i:dot)[ \t])[ \t]*[^\W\d_]{2,6}(?![\w-])",
    # Dots may sit inside a handle (@sofia.g, @kwame.mensah) and a full stop may end the sentence after
    # one ("ping @name."), but a handle does not end in a domain (@name.com). A chat mention's id
    # ("<@U024BE7LH|name>") is an account name learned from the text (usernames_in_text), not a handle.
    # Letters of any script and inner hyphens too ("@élodie", "@hyun-woo4" survived).
    "handle": r"(?<![\w@/.<])@(?![\w.]*\.(?:com|org|net|io|dev|ai|co|edu|gov|app)\b)[^\W\d][\w]{1,30}"
              r"(?:[.-][\w]+)*(?![\w@-])(?!\.\w)",
    # `_` and `/` separate ids in file names and paths: OPS-4821_notes.md, /tickets/OPS-4821/
    "ticket": r"(?<![A-Za-z0-9-])[A-Z][A-Z0-9]{1,9}-[0-9]{1,6}(?![A-Za-z0-9-])",
    # Credentials whose shape says what they are: Stripe-style `sk_live_…`, OpenAI-style `sk-…`, GitHub
    # tokens, AWS access key ids, Slack tokens, JWTs, and whatever follows "Bearer ".
    "secret": r"(?<![\w-])(?:[spr]k_(?:live|test)_[A-Za-z0-9]{12,}|sk-[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}"
              r"|github_pat_[A-Za-z0-9_]{30,}|xox[abposr]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}"
              r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{30,}|AIza[0-9A-Za-z_-]{35}"
              r"|npm_[A-Za-z0-9]{36}|pypi-[A-Za-z0-9_-]{50,}|whsec_[A-Za-z0-9+/=]{16,}"
              r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})(?![\w-])"
              r"|(?<![A-Z0-9])AKIA[0-9A-Z]{16}(?![A-Za-z0-9])|(?<=[Bb]earer )[A-Za-z0-9._~+/-]{16,}=*"
              # HTTP Basic credentials (base64 of user:password), an API key or token header's value (a
              # digit and a letter in it: "Api-Key: 9f8e7d…", not "Token: refresh-on-expiry"), a PEM key's body
              r"|(?<=Basic )(?=[A-Za-z+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}"
              r"|(?:(?<=[Aa]pi[-_ ][Kk]ey: )|(?<=[Aa]pi[-_ ][Kk]ey=)|(?<=[Aa]pikey: )|(?<=[Aa]pikey=)|(?<=[Tt]oken: )"
              r"|(?<=[Tt]oken=))(?=[A-Za-z._~+/-]*\d)(?=[\d._~+/-]*[A-Za-z])[A-Za-z0-9._~+/-]{16,}=*"
              # A PEM key's body, its lines broken by newlines or, pasted inside JSON or a `.env` value, by
              # literal `\n` escapes (the armour lines around it are kept: _shape keeps the escapes)
              r"|(?<=PRIVATE KEY-----)(?:\s|\\[nr])*[A-Za-z0-9+/=](?:[A-Za-z0-9+/=\s]|\\[nr]){15,}?(?=(?:\s|\\[nr])*-----END)"
              # A PIN after its label ("PIN: 4492", "pin code is 0911"): swapped where it stands (_PIN_LABELS)
              r"|(?:" + "|".join(rf"(?<={label})" for label in _PIN_LABELS) + r")\d{4,8}(?![\w-]|[.,]\d)",
    # An IBAN (two letters, two check digits, up to 30 letters and digits, in groups of four or not) and a
    # payment card number (13-19 digits, in groups of four, Amex's 4-6-5, or none); each must pass its
    # checksum (_let_go), so an order number or a phone number of that length is rarely taken for one.
    "iban": r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?![A-Za-z0-9])",
    "card": r"(?<![\w+-])(?:[0-9]{13,19}|[0-9]{4}(?:[ -][0-9]{4}){2}[ -][0-9]{1,7}|[0-9]{4}[ -][0-9]{6}[ -][0-9]{5})"
            r"(?![\w-]|[.,][0-9])",
    # A public IPv4 or IPv6 address (private, loopback, link-local and documentation ranges are no one's:
    # _is_public_ip); before `phone`, whose digits-and-dots pattern a dotted quad also fits.
    "ip": r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)|(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])",
    # 10-15 digits with optional + and separators; dates and times are ruled out in _is_phone. Not after
    # a hyphen: a UUID's last group ("…-426614174000") is no phone number.
    "phone": r"(?<![\w+-])\+?[0-9][0-9 ().-]{8,20}[0-9](?![\w-])",
}
# Uppercase-dash-number strings that are standards or versions, not tickets.
NOT_TICKET_PREFIXES = frozenset({"UTF", "SHA", "ISO", "RFC", "GPT", "COVID", "MD", "TLS", "SSL", "HTTP", "IPV",
                                 "CP", "WIN", "PEP", "ES", "X", "AES", "RSA", "P", "SKU",
                                 "MRN", "SSN", "NHS", "DOB", "NDA"})  # labels: "MRN-4471902" is a record number
_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}")

# Fake names: 128 given names and 32 x 24 = 768 compound surnames (98 304 full names). With 32 and 24
# whole names, 400 distinct people got 222 distinct fakes, and one row read "from Lane Brightwater to
# Lane Brightwater"; with 64 given names, 30 first names got 24 fakes ("invite Hollis, Hollis and
# Arden"). Each fake is still a pure function of the key and the real value, so two people can still
# share a given name's fake, as two real people can share a given name.
FIRST_NAMES = ["Alex", "Robin", "Sam", "Jordan", "Casey", "Morgan", "Avery", "Quinn", "Riley", "Jamie", "Taylor",
               "Rowan", "Emery", "Harper", "Sasha", "Noor", "Kai", "Remy", "Elliot", "Dana", "Frankie", "Hollis",
               "Ira", "Jules", "Lane", "Marlow", "Nico", "Oakley", "Parker", "Reese", "Sage", "Tatum",
               "Arden", "Blair", "Cameron", "Darcy", "Emrys", "Finley", "Galen", "Hayden", "Indigo", "Jesse", "Kendall",
               "Logan", "Milan", "Nova", "Onyx", "Peyton", "Raven", "Skyler", "Toby", "Vesper", "Wren", "Yael", "Zephyr",
               "Ari", "Bellamy", "Corin", "Dario", "Ellis", "Florian", "Greer", "Harlow", "Ivo",
               "Adair", "Alder", "Amari", "Ashby", "Aubrey", "Bailey", "Briar", "Carmen", "Cass", "Charlie",
               "Arlo", "Blaine", "Drew", "Darby", "Elia", "Emerson", "Evan", "Fallon", "Hadley", "Idris", "Jael",
               "Jody", "Kamari", "Keegan", "Kerry", "Kiran", "Lennon", "Linden", "Lior", "Loren", "Luca", "Lumi",
               "Marin", "Micah", "Nell", "Noa", "Oren", "Ozzie", "Paz", "Perry", "Esme", "Presley", "Reagan",
               "Rory", "Rune", "Shay", "Sidney", "Sloan", "Stevie", "Sutton", "Teagan", "Tenzin", "Tove", "Umi",
               "Vale", "Wynn", "Zuri", "Ainsley", "Coby", "Ellery", "Kasey", "Laken", "Mika", "Tamsin"]
_SURNAME_HEADS = ["Ash", "Bright", "Cold", "Dun", "East", "Fair", "Grey", "Holl", "Ives", "Kes", "Larch", "Merri",
                  "North", "Oak", "Penn", "Red", "Still", "Thorn", "Under", "West", "Black", "Elm", "Fern", "Glen",
                  "Hart", "Lang", "Marsh", "Pike", "Rook", "Stan", "Wins", "Yew"]
_SURNAME_TAILS = ["down", "water", "brook", "more", "wood", "bank", "ling", "worth", "mont", "cote", "hurst", "fold",
                  "well", "bury", "hill", "field", "ford", "ley", "ton", "combe", "gate", "stead", "wick", "mere"]
LAST_NAMES = [head + tail for head in _SURNAME_HEADS for tail in _SURNAME_TAILS]


# Parts of a name that also read as ordinary words: matched only when capitalised (or in capitals).
COMMON_WORD_NAMES = frozenset("""may will bill mark grant rose june april august summer hope joy faith page long
young white black brown green gray grey king hill wood stone rich ray dean bell chase cook frank guy hunter lane
love major mason miles moon park price reed rock sky star sun wolf fox day little north west south law case art
sage ash jack rob pat sue val ivy iris lily daisy dawn eve faye gale holly amber autumn river storm""".split())
# Words of a name that identify no one alone, not treated as parts: the particles names.py reads inside
# names, and the short connectors of Spanish, Portuguese and Irish names ("y", "e", "O", "Mc", "St").
NAME_PARTICLES = PARTICLES | frozenset("st mc mac o y e".split())
_CJK_RANGES, _CJK = cjk.RANGES, cjk.CJK
# A token's edges: no letter or digit may touch it (`_`, `/`, `'` and punctuation separate; CJK does not
# count as a letter here). A value starts where no letter or digit runs into it, or right after a JSON
# escape inside JSON text ("Best,\\nOmar" in call arguments: the "n" of "\\n" is no letter of the name).
_BEFORE, _AFTER = rf"(?:(?<![^\W_{_CJK_RANGES}])|(?<=\\[nrtbf]))", rf"(?![^\W_{_CJK_RANGES}])"


def _particle_led(word: str) -> bool:
    """ "al-Rashid", "el-Amin": a name particle joined by a hyphen to the rest of the word."""
    head, sep, tail = word.partition("-")
    return bool(sep and tail) and head.casefold() in PARTICLES


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def name_parts(name: str) -> list[str]:
    """The words (and hyphen parts) of a known name that identify a person alone: "Anne-Marie de
    Vries" → Anne-Marie, Anne, Marie, Vries. The whole name itself is not included."""
    parts: list[str] = []
    for word in name.split():
        word = word.strip(".,;:()\"")
        pieces = [word] + (word.split("-") if "-" in word else [])
        for piece in pieces:
            # "Văn" too: its accent-free form is the particle "van", which fakes keep as it stands
            if len(piece) >= 2 and strip_accents(piece).casefold() not in NAME_PARTICLES and piece != name \
                    and piece not in parts:
                parts.append(piece)
    return parts


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_CYRILLIC_ENDINGS = "аяоеёыийуюьэ"


def _inflected_stem(text: str) -> str | None:
    """For a Cyrillic name, the stem its grammatical cases share (Иванова, Иванову, Ивановой → Иванов);
    None for other scripts, whose names do not inflect in running text (a possessive 's is separate)."""
    if not _CYRILLIC.search(text) or " " in text:
        return None
    stem = text.rstrip(_CYRILLIC_ENDINGS + _CYRILLIC_ENDINGS.upper())
    return stem if len(stem) >= 3 else None


_JOINED = re.compile(r"([^\W\d_]{3,})([._-])([^\W\d_]{3,})")


def _listed_name_word(word: str) -> bool:
    """A found name's word matched in any case too ("sione" after "Sione Taufa", "silva" after "Luana da
    Silva"): a lexicon first name or surname of four letters or more that is no ordinary word."""
    folded = strip_accents(word).casefold()
    firsts, lasts = lexicon()
    return (" " not in word and len(folded) >= 4 and not ordinary(word) and folded not in COMMON_WORD_NAMES
            and (folded in firsts or folded in lasts))


def _distinctive(name: str) -> bool:
    """Two or more words, each at least three letters and none an ordinary English word."""
    words = name.split()
    return len(words) >= 2 and all(len(w) > 2 and not ordinary(w) for w in words)


def _joined_forms(name: str) -> list[str]:
    """How a two-word distinctive name is written inside paths, mail aliases and usernames: priya.raman,
    priya_raman, priya-raman, priyaraman and, with a surname of four letters or more, praman."""
    words = name.split()
    if len(words) != 2 or not _distinctive(name) or not _JOINED.fullmatch(f"{words[0]}.{words[1]}"):
        return []
    first, last = (w.casefold() for w in words)
    return [f"{first}{sep}{last}" for sep in ("", ".", "_", "-")] + ([f"{first[0]}{last}"] if len(last) >= 4 else [])


def _surnames_beside(texts: Iterable[str], singles: set[str]) -> dict[str, None]:
    """Full names written as a single name already found plus the word after it: "Dear Rajesh" found
    "Rajesh", and "complaint from Rajesh Krishnamurthy" then kept "Krishnamurthy" beside the fake.
    The next word counts when it is written like the name (capitalised after a capitalised name, or
    lower-case after a lower-case one) and is no ordinary word."""
    if not singles:
        return {}
    pattern = re.compile(rf"{_BEFORE}({'|'.join(re.escape(n) for n in sorted(singles, key=len, reverse=True))})"
                         r"[ \t]+([^\W\d_][^\W\d_'’-]{2,})(?![\w@])")
    found: dict[str, None] = {}
    for text in texts:
        for m in pattern.finditer(text):
            first, second = m.group(1), m.group(2)
            same_case = second[0].isupper() if first[0].isupper() else second.islower()
            # in lower case only a lexicon surname: "ahmed yesterday" learned "yesterday", swapped in every row
            listed = second[0].isupper() or strip_accents(second).casefold() in lexicon()[1]
            if same_case and listed and not ordinary(second):  # ordinary() covers names.py's never-a-name words too
                found[f"{first} {second}"] = None
    return found


def _is_exact_part(part: str) -> bool:
    return len(part) <= 2 or part.casefold() in COMMON_WORD_NAMES


def _alternatives(tokens: Iterable["KnownToken"]) -> str:
    """One regex alternation for known tokens, longest first, each with its own edges and case rule."""
    alts = []
    for t in sorted(tokens, key=lambda t: -len(t.text)):
        body = re.escape(t.text)
        stem = _inflected_stem(t.text) if t.kind == "name" else None
        if stem:
            body = f"(?i:{re.escape(stem)}[{_CYRILLIC_ENDINGS}]{{0,3}})"
        elif t.kind == "project" and t.exact:  # a key learned from ticket ids: "WEB" is a key, "web" a word
            pass
        elif t.exact:  # as written, capitalised, or in capitals ("van der Berg", "Van der Berg", "VAN DER BERG")
            body = "|".join(re.escape(v) for v in dict.fromkeys((t.text, t.text[:1].upper() + t.text[1:], t.text.upper())))
        else:
            body = f"(?i:{body})"
        edges = ("", "") if _CJK.search(t.text) else (_BEFORE, _AFTER)
        if t.kind == "name":  # "San Jose", "Santa Clara": a place, whoever else is called Jose or Clara
            edges = (_NOT_AFTER_PLACE_PREFIX + edges[0], edges[1])
        alts.append(f"{edges[0]}(?:{body}){edges[1]}")
    return "|".join(alts)


_NOT_AFTER_PLACE_PREFIX = "".join(f"(?<!{re.escape(p)} )" for p in (
    "San", "Santa", "Santo", "São", "Saint", "Sainte", "St.", "Port", "Fort", "Mount", "Lake", "Los", "Las", "Nueva"))


class SurvivingTokenError(DataError):
    """A real value would survive into the output; nothing was written."""

    def __init__(self, kind: str, row: int, where: str, form: str, disabled: bool = False):
        self.kind, self.row, self.where, self.form = kind, row, where, form
        if disabled:  # the value was found; --disable is why it was not swapped
            advice = (f"the {kind} detector is switched off with --disable {kind}: its values are found but not "
                      f"swapped; drop --disable {kind}, or remove the value from the row")
        elif form == "plain":
            advice = "add the value to the known-tokens list or fix the row"
        else:  # --known cannot help: replacement never rewrites inside an encoding, it only refuses
            advice = (f"the anonymiser does not rewrite text inside a {form} form: decode it in the row, or remove "
                      "that string, and run again")
        article = "an" if kind[:1] in "aeiou" else "a"
        super().__init__(f"row {row + 1}: {article} {kind} value would survive at {where} ({form} form); refusing to write "
                         f"the output ({advice})")


@dataclass(frozen=True)
class KnownToken:
    kind: str
    text: str
    # A name: matched only as written, capitalised or in capitals (parts that are common words).
    # A project: matched only as written (a key learned from ticket ids; one given in --known: any case).
    exact: bool = False


@dataclass
class Report:
    rows: int = 0
    replaced: Counter = field(default_factory=Counter)   # occurrences replaced, per kind
    distinct: Counter = field(default_factory=Counter)   # distinct real values, per kind
    detected_names: int = 0                              # names found in the rows themselves (names.py)


def parse_known(text: str, source: str = "known tokens") -> list[KnownToken]:
    """One token per line; `kind: token` with kind in KNOWN_KINDS, else the line is a name. `#` comments."""
    tokens = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, sep, rest = line.partition(":")
        if sep and kind.strip() in KNOWN_KINDS and not rest.strip():
            raise DataError(f"{source}:{n}: '{kind.strip()}:' with no token after it")
        if sep and kind.strip() in KNOWN_KINDS and rest.strip():
            tokens.append(KnownToken(kind.strip(), rest.strip()))
        elif sep and kind.strip().isidentifier() and kind.strip() not in KNOWN_KINDS and " " not in kind.strip():
            raise DataError(f"{source}:{n}: unknown kind {kind.strip()!r} (use one of {', '.join(KNOWN_KINDS)})")
        else:
            tokens.append(KnownToken("name", line))
    return tokens


# Digit runs the phone pattern matches that are something else: a Unix time in seconds (10 digits from 1;
# no 10-digit national number starts with 1), an unbroken run from 1 of 12 digits or more (a Unix time in
# milliseconds, an AWS account id: country code 1 is North America's, whose numbers are 11 digits with
# it), an ISBN-13, an id that opens with a year ("2024-000123").
_NOT_PHONE = re.compile(r"1(?:\d{9}|\d{11,})|97[89]-?\d{1,5}-?\d+-?\d+-?\d|(?:19|20)\d\d-\d{4,}")


# A build id that opens with its date: "20240229.17" (Azure DevOps' YYYYMMDD.N), "2024.02.29.1701".
_DATED_BUILD = re.compile(r"(?:19|20)\d\d\.?(?:0[1-9]|1[0-2])\.?(?:0[1-9]|[12]\d|3[01])\.\d+(?:\.\d+)*")


def _dotted_version(value: str) -> bool:
    """Digit groups joined by dots alone that read as a version or a build number, not a phone number.
    A phone written with dots groups its digits as a dialling plan does ("555.123.4567", "1.555.123.4567",
    "06.12.34.56.78"), so the dotted run is a version when
    - a group after the first has one digit ("122.0.6261.112", "10.0.19045.4170"): no plan writes a lone digit
      inside a number;
    - the first group is one digit other than a one-digit country code, 1 or 7 ("3.10.2402.2901");
    - it opens with a date: YYYYMMDD.N or YYYY.MM.DD.N ("20240229.17", "2024.02.29.1701").
    A version cue before it ("version 10.0.19045", "build 4410.1234.567") is read in _let_go."""
    if not re.fullmatch(r"\d+(?:\.\d+)+", value):  # "+", spaces, brackets or hyphens: written as a phone
        return False
    groups = value.split(".")
    return (any(len(g) == 1 for g in groups[1:]) or (len(groups[0]) == 1 and groups[0] not in "17")
            or bool(_DATED_BUILD.fullmatch(value)))


def _is_phone(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    return (10 <= digits <= 15 and not _DATE_LIKE.search(value) and not _NOT_PHONE.fullmatch(value)
            and not _DOTTED_QUAD.fullmatch(value) and not _dotted_version(value))


_DOTTED_QUAD = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}")
# Addresses that identify no one: private, shared (CGNAT), loopback, link-local, documentation and
# benchmark ranges, multicast and reserved. Swapping them would only break configs and examples.
_NOT_PERSONAL_NETS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/3",
    # public DNS resolvers: everyone's, in every network config
    "1.1.1.1/32", "1.0.0.1/32", "8.8.8.8/32", "8.8.4.4/32", "9.9.9.9/32", "149.112.112.112/32", "208.67.222.222/32",
    "208.67.220.220/32"))


def _is_public_ip(value: str) -> bool:
    if ":" in value:  # IPv6: only global unicast is anyone's (not ::1, fe80::, fc00::, 2001:db8::)
        try:
            return ipaddress.IPv6Address(value).is_global and value.count(":") >= 2
        except ValueError:  # a time ("12:30:45"), a MAC address: no address
            return False
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:  # an octet over 255 or a leading zero: a version or an id, not an address
        return False
    return not any(address in net for net in _NOT_PERSONAL_NETS)


_VERSION_BEFORE = re.compile(r"(?i)(?:\bv|\bversion|\bver\.?|\brelease|\bbuild|\bfirmware|\bkernel|\bbuild (?:no\.?|id|number)"
                             r"|\brevision|\brev\.?)[ :#]*$")
# Hosts that are no one's: this machine, private networks, names reserved for examples and tests (RFC 2606).
_NO_ONES_HOST = re.compile(r"(?i)(?:localhost|[\w.-]+\.(?:localhost|local|internal|test|invalid|example)"
                           r"|(?:[\w-]+\.)*example\.(?:com|org|net))$")


def _url_host(url: str) -> str:
    rest = url.partition("://")[2] or url
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    return host.strip("[]") if host.startswith("[") else host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _no_ones_url(url: str) -> bool:
    """A URL on this machine, a private address or a reserved example domain: `http://localhost:8080/health`
    identifies no one, and swapping it broke the tool calls that use it."""
    host = _url_host(url).rstrip(".")
    if _NO_ONES_HOST.fullmatch(host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return not _is_public_ip(host)


# A value under a credential's key ("password": "…", `aws_secret_access_key = …`) is a secret whatever its
# shape, when it looks like one: a digit, or upper and lower case, and no ordinary word or placeholder. The
# credential word is the key or its last part ("refresh_token", not "max_tokens", "tokenizer", "passenger").
_CREDENTIAL_WORDS = r"(?:password|passwd|passphrase|pwd|secret|token|api_?key|apikey|access_?key|private_?key(?:_?id)?" \
                    r"|client_?secret|auth_?key|credentials?)"
_SECRET_KEY = re.compile(rf"(?:^|_){_CREDENTIAL_WORDS}$")  # on keyed_strings' snake_cased, casefolded key
# Keys whose value is a password, which may be words ("correct horse battery staple"); a token or an API key
# never holds a space, so a value with spaces under one is something else.
_PASSWORD_KEY = re.compile(r"(?:^|_)(?:password|passwd|passphrase|pwd|secret)$")
_SECRET_IN_TEXT = re.compile(rf"(?i)(?<![\w-])(?:[\w-]*[_-])?{_CREDENTIAL_WORDS}(?![\w-])[\"']?"
                             r"(?:[ \t]*[:=][ \t]*|[ \t]+(?:is|was|reads)[ \t]+)[\"']?"  # "password: …", "password is …"
                             r"([^\s\"',;]{6,})")
# The start of an ARN or a URN up to here, unbroken: in "arn:aws:secretsmanager:…:secret:prod/db-AbCdEf" the
# credential word is a field (the resource's type) and what follows it the secret's name, not its value.
_URN_FIELD = re.compile(r"(?i)\b(?:arn|urn):[^\s:]*(?::[^\s:]*)*:$")
# Short forms of "password" in text only, as keys they are other things ("pass": a boarding pass, "pw": a
# width): "pass=Tr0ub4dor&3x", "wifi pw: gr33nTea#9", "new pass: …".
_PASS_IN_TEXT = re.compile(r"(?i)(?<![\w-])(?:pass|pw)[ \t]*[:=][ \t]*[\"']?([^\s\"',;]{6,}?)\.?(?![^\s\"',;])")
# A credential word and its value with only a space between ("with password toor1234", "secret Zk3J…"):
# read as a credential only when the value could be no word: see _bare_secret_shaped.
_BARE_SECRET_IN_TEXT = re.compile(rf"(?i)(?<![\w-])(?P<word>{_CREDENTIAL_WORDS}|pw)[ \t]+([^\s\"',;]{{6,}}?)[.!?)]?(?!\S)")
# A login written as a user and a password after the word "credentials" or "login": "credentials: admin /
# Welcome123!", "login is root:toor1234"; the user is an account name, left to the username rules.
_LOGIN_PAIR_IN_TEXT = re.compile(r"(?i)(?<![\w-])(?:credentials?|creds|login)[ \t]*(?:[:=]|is|are)[ \t]*"
                                 r"[^\s/:\"',;]+[ \t]*[/:][ \t]*([^\s\"',;]{6,}?)\.?(?![^\s\"',;])")
# A passphrase after "password:" ("Password: purple monkey dishwasher"): the rest of its line when it is two
# to six words and none of them is a word of prose ("Password: reset it via the portal" is advice).
_PASSPHRASE_IN_TEXT = re.compile(r"(?i)(?<![\w-])(?:password|passphrase|passwd)[ \t]*[:=][ \t]*[\"']?"
                                 r"([^\s\"',;.]+(?:[ \t]+[^\s\"',;.]+){1,5})[\"']?[.!]?[ \t]*(?:\n|$)")
_PROSE_WORDS = frozenset("""a an the it is are was be to of in on at by for from with via and or not no yes your my our
his her their this that these those see use set reset change changed changing same as below above here there
please must should will can cannot can't don't required optional hidden masked redacted unknown none null empty
old new just still only then if when where how what which who sent sending stored saved updated expired
characters chars letters digits symbols minimum maximum min max length long strong weak invalid incorrect wrong
ok accepted rejected successfully""".split())


# A call or a subscript of a (dotted) name: what code assigns to a password variable, not the password.
_CODE_AFTER_CUE = re.compile(r"[A-Za-z_][\w.]*[(\[]")
# An environment variable's name or a template's placeholder in capitals ("DB_PASSWORD", "CHANGE_ME",
# "YOUR_API_KEY", "AWS_S3_BUCKET"): each part is letters, then digits if any; a generated secret mixes them
# ("K9X2_P2Q7").
_UPPER_SNAKE_NAME = re.compile(r"[A-Z]+[0-9]*(?:_[A-Z]+[0-9]*)+")
# Words that mark a value as a stand-in for the real one ("your-secret-here", "dummy-token-for-tests",
# "sk-...redacted"): a template teaches "put yours here", and a fake in its place taught random credentials.
_PLACEHOLDER_WORDS = frozenset("""your here change changeme replace example sample dummy placeholder redacted fake
test tests demo insert todo tbd""".split())
_WORDS_ONLY = re.compile(r"[A-Za-z]+(?:[-_.]+[A-Za-z]+)*")


def _placeholder(value: str) -> bool:
    """A value that stands in for a credential: an upper-snake name, or letters-only words with a
    placeholder word among them. A real password in that layout has a digit or a symbol other than `-_.`."""
    if _UPPER_SNAKE_NAME.fullmatch(value):
        return True
    return bool(_WORDS_ONLY.fullmatch(value)) and any(
        w.casefold() in _PLACEHOLDER_WORDS for w in re.split(r"[-_.]+", value))


def _secret_shaped(value: str, in_text: bool = False) -> bool:
    """Whether a credential's value looks like one; in running text it needs a digit or a symbol too
    ("password: Priya" is no password)."""
    # "-----BEGIN …": a PEM key's armour line, not the key (its body is a secret of its own: _PATTERNS)
    if not (6 <= len(value) <= 200 and " " not in value and value[:1] not in "$<*{[(%" and len(set(value)) > 3
            and not value.startswith("---")):
        return False
    if ordinary(value) or re.fullmatch(r"\d+|\d{4}-\d\d-\d\d.*|https?://.*", value):
        return False
    if _CODE_AFTER_CUE.match(value):  # `pw = getpass.getpass(`, `secret = os.environ[`: code reading one
        return False
    if _placeholder(value):
        return False
    symbol_or_digit = any(c.isdigit() or not c.isalnum() for c in value)
    return symbol_or_digit or (not in_text and any(c.isupper() for c in value) and any(c.islower() for c in value))


def _bare_secret_shaped(word: str, value: str) -> bool:
    """A value after a credential word and a space: a password needs a digit and a letter ("password
    toor1234", not "password manager" or "password v2"); a secret or token, which is long and random, 16
    characters or more with a digit, a capital and a small letter ("secret Zk3Jd9Qp…", not "token limit")."""
    if not _secret_shaped(value, in_text=True):
        return False
    has = lambda test: any(map(test, value))  # noqa: E731
    if re.fullmatch(r"(?i)password|passwd|passphrase|pwd|pw", word):
        return has(str.isdigit) and has(str.isalpha) and not re.fullmatch(r"(?i)v?\d+(?:\.\d+)*[a-z]?", value)
    return len(value) >= 16 and has(str.isdigit) and has(str.isupper) and has(str.islower)


def _passphrase_shaped(value: str) -> bool:
    """A value of several words under a password key or after "password:" is the passphrase, whole
    ("correct horse battery staple"), unless a word of it is prose or a placeholder ("not set", "see vault")."""
    words = value.split()
    return (len(words) >= 2 and len(value) <= 200 and value[:1] not in "$<*{[(%"
            and not any(w.casefold().strip("'\"") in _PROSE_WORDS for w in words))


# A PIN's key ("pin", "pin_code", "card_pin", "pinCode"; not "pin_length", "pinned", "spinner") and its
# value, four to eight digits as a string or an integer.
_PIN_KEY = re.compile(r"(?:^|_)pin(?:_?(?:code|number))?$")
_PIN_VALUE = re.compile(r"\d{4,8}")


def _default_pin(digits: str) -> bool:
    """One digit repeated or a run up or down ("0000", "1234", "654321"): a factory default or a
    placeholder, printed in every manual; no one's own PIN to hide."""
    steps = {int(b) - int(a) for a, b in zip(digits, digits[1:])}
    return len(steps) == 1 and steps <= {-1, 0, 1}


def pins_under_keys(obj: Any, key: str | None = None) -> Iterator[str]:
    """A PIN under its key at any depth (`{"pin": "8831"}`, `{"card_pin": 8831}`), as its digits: the key is
    its label, as "PIN: " is in text (_PIN_LABELS)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from pins_under_keys(v, re.sub(r"(?<=[a-z])(?=[A-Z])", "_", str(k)).casefold().replace("-", "_"))
    elif isinstance(obj, list):
        for v in obj:
            yield from pins_under_keys(v, key)
    elif key is not None and _PIN_KEY.search(key) and isinstance(obj, (str, int)) and not isinstance(obj, bool):
        digits = str(obj).strip()
        if _PIN_VALUE.fullmatch(digits) and not _default_pin(digits):
            yield digits


def secrets_under_keys(obj: Any) -> Iterator[str]:
    """String values under credential keys at any depth (a password's value whole, passphrases too), PINs
    under their keys, and `password: …` / `token=…`, `pass=…`, "password toor1234" and "credentials: user /
    password" in text."""
    for key, value in keyed_strings(obj):
        if _SECRET_KEY.search(key) and _secret_shaped(value):
            yield value
        elif _PASSWORD_KEY.search(key) and _passphrase_shaped(value):
            yield value
    yield from pins_under_keys(obj)
    for _, text in _walk_strings(obj):
        # JSON text (call arguments, a tool result) is read as the values it holds, each its own text: read
        # escaped, `"password: changeme\nhost: …"` gave the value `changeme\nhost:` and `{"token": null}`
        # gave `null}`, which no swap of the decoded text could reach, and the survival check refused the file.
        if _json_text_value(text, 1) is not None:
            continue
        for m in (*_SECRET_IN_TEXT.finditer(text), *_PASS_IN_TEXT.finditer(text), *_LOGIN_PAIR_IN_TEXT.finditer(text)):
            if _secret_shaped(m.group(1), in_text=True) and not _URN_FIELD.search(text[:m.start()]):
                yield m.group(1)
        for m in _BARE_SECRET_IN_TEXT.finditer(text):
            if _bare_secret_shaped(m.group("word"), m.group(2)):
                yield m.group(2)
        for m in _PASSPHRASE_IN_TEXT.finditer(text):
            if _passphrase_shaped(m.group(1)):
                yield m.group(1)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _luhn_check_digit(body: str) -> str:
    return next(c for c in "0123456789" if _luhn_valid(body + c))


def _iban_remainder(iban: str) -> int:
    text = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in text)) % 97


def _iban_valid(value: str) -> bool:
    compact = value.replace(" ", "")
    return 15 <= len(compact) <= 34 and _iban_remainder(compact) == 1


# Words after "@" in code, not people: Java and Kotlin annotations, Python decorators, CSS at-rules,
# doc-comment tags.
CODE_AT_WORDS = frozenset("""override transactional test autowired component service entity deprecated suppresswarnings
functionalinterface inject bean configuration controller restcontroller requestmapping getmapping postmapping value
nonnull nullable jsonproperty before after beforeeach aftereach mock media import keyframes supports charset
font-face page layer property staticmethod classmethod abstractmethod dataclass cached_property lru_cache wraps
app router pytest param params return returns throws throw see since author version link inheritdoc deprecated
interface implementation end synthesize objc available main composable preview login_required cache csrf_exempt
require_http_methods api_view permission_classes shared_task task retry receiver register validator field_validator
model_validator root_validator validates click command option argument group fixture mark patch contextmanager
asynccontextmanager total_ordering singledispatch overload final jit njit
here channel everyone all""".split())  # and chat's group mentions (Slack's @here, @channel, @everyone): no one's account


def _written_out_email(value: str) -> str:
    """ "jane dot doe at example dot com" -> "jane.doe@example.com"."""
    value = re.sub(r"\s*[\[({](?i:at)[\])}]\s*|\s+(?i:at)\s+", "@", value.strip(), count=1)
    return re.sub(r"\s*[\[({](?i:dot)[\])}]\s*|\s+(?i:dot)\s+", ".", value)


# Words an unbroken run of digits after them numbers a document or a transaction by ("invoice 7700123456",
# "order no. 40012345678"); a phone number after them is written with a word for it ("order line"). Not
# "account": an account number is personal too, and swapped as a phone number it stays hidden.
_DOCUMENT_NUMBER_BEFORE = re.compile(r"(?i)\b(?:invoice|order|receipt|transaction|txn|tracking|reference|ref|booking"
                                     r"|confirmation|case|ticket)(?:[ \t]*(?:no\.?|number|id|#))?[ \t]*[:#]?[ \t]*$")


def _number_of_something_else(value: str, text: str, start: int) -> bool:
    """A phone-shaped match that its neighbours say is another number: dotted digits after a version cue
    ("version 10.0.19045.4170", "build id 2402.2901.55"), unbroken digits after a document's or a
    transaction's word ("invoice 7700123456"), or a field between colons of an identifier
    ("arn:aws:…:us-east-1:123456789012:secret:…", "urn:…:4155552671:…")."""
    before, end = text[max(0, start - 24):start], start + len(value)
    if re.fullmatch(r"\d+(?:\.\d+)+", value) and _VERSION_BEFORE.search(before[-16:]):
        return True
    if value.isdigit() and _DOCUMENT_NUMBER_BEFORE.search(before):
        return True
    return value.isdigit() and before.endswith(":") and text[end:end + 1] == ":"


def _git_remote(value: str, text: str, start: int) -> bool:
    """`git@github.com:org/repo.git`, `ssh://git@host/group/repo.git`: the SSH user `git` with a path (after
    `:` or `/`) behind the host is a repository's remote, no one's mailbox. A person's address before a colon
    in prose ("write to anna@example.com: she knows") has a space after it, and any other user stays a mailbox."""
    end = start + len(value)
    return value.partition("@")[0] == "git" and bool(re.match(r"[:/][\w~.-]", text[end:end + 2]))


def _let_go(kind: str, value: str, text: str, start: int, not_ticket_prefixes: frozenset[str]) -> bool:
    """Whether a detector's match is, on a closer look, not what it detects."""
    if kind == "card":
        return not _luhn_valid("".join(c for c in value if c.isdigit()))
    if kind == "iban":
        return not _iban_valid(value)
    if kind == "handle":  # "@Override", "@media", "@app.route": code, not a person
        return value[1:].split(".")[0].casefold() in CODE_AT_WORDS
    if kind == "phone":
        return not _is_phone(value) or _number_of_something_else(value, text, start)
    if kind == "ip":  # "version 4.19.2.1" is no address
        return not _is_public_ip(value) or bool(_VERSION_BEFORE.search(text[max(0, start - 16):start]))
    if kind == "ticket":
        return value.partition("-")[0] in not_ticket_prefixes
    if kind == "url":
        return _no_ones_url(value)
    if kind == "secret" and value.isdigit():  # a PIN after its label: "PIN: 0000 (unset)" is a default
        return _default_pin(value)
    if kind == "email" and _git_remote(value, text, start):
        return True
    if kind == "email" and "@" not in value:  # written out: "look at example dot com" is no mailbox
        return not re.search(r"[\[({]", value) and ordinary(re.split(r"[\s.]", value.strip(), maxsplit=1)[0])
    # A mailbox is swapped on any domain, example.com too: data sets write people's addresses there
    # (a URL on such a host is an endpoint, and swapping it broke the calls that use it).
    return False


# A phone number is its national significant number (NSN): the digits after the country code or the
# trunk 0. "06 12 34 56 78" and "+33 6 12 34 56 78", "07700 900123" and "+447700900123", "612 345 678"
# and "+34 612 345 678" are one number each and get one fake. What comes before the NSN (country code,
# trunk 0, an international 00) stays as each occurrence writes it: it says where, not who, and a fake
# country code would make the number another country's. ITU calling codes are prefix-free: 1 and 7 are
# one digit, those below two, every other three.
_TWO_DIGIT_COUNTRY_CODES = frozenset("20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "
                                     "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98".split())
# A national number this short or shorter is read only once the same number was seen with its country
# code or trunk 0 (learn_phone_numbers): alone, "612 345 678" could as well be a count.
_SHORT_NSN_DIGITS = range(7, 10)


def _country_code_length(digits: str) -> int:
    return 1 if digits[:1] in ("1", "7") else 2 if digits[:2] in _TWO_DIGIT_COUNTRY_CODES else 3


def _phone_prefix_length(value: str) -> int:
    """How many leading digits of a phone number are not its NSN: `+`/`00` and a country code, a
    country code written without `+` (more than ten digits), or a national trunk 0."""
    digits = "".join(c for c in value if c.isdigit())
    written = value.lstrip()
    if written.startswith("+") or written.startswith("00"):
        skip = 2 if written.startswith("00") else 0
        prefix = skip + _country_code_length(digits[skip:])
    elif digits.startswith("0"):
        return 1
    elif len(digits) > 10 and value.isdigit():  # "447700900123", "14155552671": a country code without its +
        prefix = _country_code_length(digits)
    elif len(digits) == 11 and digits[0] == "1" and written[1:2] in (" ", "-", ".", "("):
        prefix = 1  # "1-415-555-2671", "1 (415) 555-2671": North America's country code as its own group
    else:  # "(21) 98765-4321", "138 0013 8000": a national number written with separators is all NSN
        return 0
    # "+44 (0)20 7946 0958": a trunk 0 written after the country code is no part of the number either
    return prefix + 1 if digits[prefix:prefix + 1] == "0" else prefix


def _national_number(value: str) -> str:
    digits = "".join(c for c in value if c.isdigit())
    return digits[_phone_prefix_length(value):]


def _laid_out(value: str, fake: str, part=str.isdigit) -> str:
    """`value` with its last len(fake) characters for which `part` holds replaced by the fake's, in order;
    separators, and the digits before them (a phone's country code, trunk 0), as written."""
    kept = sum(map(part, value)) - len(fake)
    chars = iter(fake)
    out = []
    for c in value:
        if part(c):
            out.append(c if kept > 0 else next(chars))
            kept -= 1
        else:
            out.append(c)
    return "".join(out)


def _separated_digits(number: str) -> str:
    """A regex for `number`'s digits with at most one space, dot or hyphen between any two."""
    return r"(?<![\w+.-])" + r"[ .-]?".join(number) + r"(?![\w-]|[.-]\d)"


def _walk_strings(obj: Any, path: str = "", numbers: bool = False):
    """(path, string) for every string in a JSON value, dict keys included; with `numbers`, every
    integer too, as its digits: `{"phone": 4155552671}` holds a phone number as surely as
    `"4155552671"` does."""
    if isinstance(obj, str):
        yield path, obj
    elif numbers and isinstance(obj, int) and not isinstance(obj, bool):
        yield path, str(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield f"{path}.{k}(key)", k
            yield from _walk_strings(v, f"{path}.{k}", numbers)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk_strings(v, f"{path}[{i}]", numbers)


def _map_strings(obj: Any, fn, number_fn=None) -> Any:
    """`obj` with `fn` applied to every string value (not dict keys) and `number_fn`, when given,
    to every integer (not bool)."""
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _map_strings(v, fn, number_fn) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_map_strings(v, fn, number_fn) for v in obj]
    if number_fn is not None and isinstance(obj, int) and not isinstance(obj, bool):
        return number_fn(obj)
    return obj


_B64_RUN = re.compile(r"[A-Za-z0-9+/]{12,}={0,2}")


def decoded_forms(text: str, depth: int = 0) -> Iterable[tuple[str, str]]:
    """(form, text) for the string and the encodings a value could hide in."""
    yield "plain", text
    if depth > 2:
        return
    stripped = text.strip()
    if stripped[:1] in "{[\"":
        try:
            decoded = jsontext.loads(stripped)
        except ValueError:
            decoded = None
        if decoded is not None:
            for _, s in _walk_strings(decoded):
                for form, t in decoded_forms(s, depth + 1):
                    yield ("json-escaped" if form == "plain" else form), t
    if "%" in text:
        yield "percent-encoded", unquote(text)
    if "&" in text:
        yield "html-escaped", html.unescape(text)
    for run in _B64_RUN.findall(text):
        try:
            raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        yield "base64", raw


_NAME_KINDS = ("name", "name_first", "name_last")
# A credential's kind prefix, kept in its fake ("ghp_", "sk_live_", "AKIA"); "" for any other.
_SECRET_PREFIX = re.compile(r"[spr]k_(?:live|test)_|sk-(?:proj-|live-|test-)?|gh[pousr]_|github_pat_|xox[abposr]-"
                            r"|glpat-|SG\.|hf_|AIza|npm_|pypi-|whsec_|AKIA|eyJ|")


def _case_like(original: str, fake: str) -> str:
    """The fake in the case of the original: all lower, all capitals, or as the fake is written."""
    if original.islower():
        return fake.lower()
    if original.isupper() and len(original) > 1:
        return fake.upper()
    return fake


class Anonymiser:
    def __init__(self, key: bytes, known: Iterable[KnownToken] = (), disabled: Iterable[str] = (),
                 not_ticket_prefixes: frozenset[str] = NOT_TICKET_PREFIXES):
        if not key:
            raise UsageError("the anonymiser key is empty")
        self.key = key
        self.disabled = frozenset(disabled)
        unknown = self.disabled - set(REGEX_KINDS) - set(KNOWN_KINDS) - set(PERSONAL_KINDS)
        if unknown:
            raise UsageError(f"--disable: unknown detector kind(s) {sorted(unknown)} (known: "
                             f"{', '.join(REGEX_KINDS + KNOWN_KINDS + PERSONAL_KINDS)})")
        self.not_ticket_prefixes = not_ticket_prefixes
        self.known: dict[str, KnownToken] = {}
        self.name_role: dict[str, str] = {}  # casefolded accent-free name part -> "first" | "last"
        known = list(known)
        for tok in known:  # whole tokens first: a value given whole keeps its own case rule
            self._add_known(tok)
        for tok in known:
            if tok.kind == "name":
                self._add_name_parts(tok.text, exact=False)
        self.detected_names: set[str] = set()
        self.short_numbers: set[str] = set()  # 7-9-digit NSNs seen with a country code or trunk 0
        self._cache: dict[tuple[str, str], str] = {}
        self._compiled: dict[frozenset, re.Pattern | None] = {}  # by the regex kinds left out (_pattern)

    def _add_name_parts(self, name: str, exact: bool) -> None:
        for part in name_parts(name):
            self._add_name_part(name, part, exact)

    def _add_name_part(self, name: str, part: str, exact: bool) -> None:
        words = name.split()
        role = "first" if len(words) == 1 or part in (words[0], *words[0].split("-")) else "last"
        key = strip_accents(part).casefold()
        if self.name_role.get(key) != "first":
            self.name_role[key] = role
        self._add_known(KnownToken("name", part, exact=exact or _is_exact_part(part)))

    def learn_names(self, names: dict[str, str | None]) -> None:
        """Names found in the rows themselves (orchestrator/data/names.py), {name: "last" for a lone
        surname}: swapped like known names, but matched only as written, capitalised or in capitals,
        since they were found capitalised ("Grace Hopper" found does not make every "grace" a name);
        in any case where that cannot hit a word: a name of two distinctive words, or a word that is a
        lexicon name and no ordinary word ("sione", "silva": _listed_name_word)."""
        new = sorted(n for n in names if n.casefold() not in self.known)
        for name in new:
            # A name of two or more words none of which is an ordinary word ("Priya Raman", not "Grace
            # Hopper" or "Will Page") is the person in any case: "ping priya raman" kept the surname.
            self._add_known(KnownToken("name", name, exact=not (_distinctive(name) or _listed_name_word(name))))
            if names[name] == "last":  # "Mr. Tanaka": its fake is a surname too
                self.name_role.setdefault(strip_accents(name).casefold(), "last")
            for joined in _joined_forms(name):  # "priya.raman", "priya_raman": paths, aliases, usernames
                self._add_known(KnownToken("name", joined))
        for name in new:  # parts that are ordinary words or two letters ("Will", "Li") would hit other text
            for part in name_parts(name):
                # "The", "Service", "Will": never swapped alone; two CJK characters are a whole name part ("佐藤")
                if (len(part) > 2 or (len(part) == 2 and cjk.CJK.search(part))) and not ordinary(part):
                    self._add_name_part(name, part, exact=not _listed_name_word(part))
        for name in names:  # found in lower case ("talked to rafael") and known capitalised ("Rafael"): both forms
            known = self.known.get(name.casefold())
            if name.islower() and known is not None and known.exact and known.kind == "name" and not ordinary(name):
                for text in dict.fromkeys((known.text, strip_accents(known.text))):
                    self.known[text.casefold()] = KnownToken("name", text, exact=False)
        self.detected_names.update(new)
        self._compiled = {}

    def learn_usernames(self, values: Iterable[str]) -> None:
        """Bare account names the rows' arguments show (names.usernames_in_arguments), swapped wherever
        they appear as written: the handle detector finds only `@name`."""
        for value in sorted(values):
            if value.casefold() not in self.known:
                self._add_known(KnownToken("username", value, exact=True))
        self._compiled = {}

    def learn_personal(self, values: dict[str, str]) -> None:
        """Identity numbers, birth dates and street addresses the rows state ({value: kind}, personal_ids.py):
        swapped wherever they appear, in any case; an id number also where it is written without separators."""
        for value, kind in sorted(values.items()):
            if kind not in self.disabled:
                for form in (value, *personal_ids.other_forms(value, kind)):
                    self._add_known(KnownToken(kind, form))
        self._compiled = {}

    def lookup(self, value: str) -> KnownToken:
        """The known token a matched text stands for (itself, or the name an inflected form comes from)."""
        found = self.known.get(value.casefold())
        if found is not None:
            return found
        for tok in sorted(self.known.values(), key=lambda t: -len(t.text)):
            stem = _inflected_stem(tok.text) if tok.kind == "name" else None
            if stem and value.casefold().startswith(stem.casefold()):
                return tok
        raise KeyError(value)

    def _add_known(self, tok: KnownToken) -> None:
        for text in dict.fromkeys((tok.text, strip_accents(tok.text))):  # "José" also finds "Jose"
            self.known.setdefault(text.casefold(), KnownToken(tok.kind, text, tok.exact))

    # --- fakes ----------------------------------------------------------------------------------

    def _digest(self, kind: str, value: str, salt: int = 0) -> bytes:
        return hmac.new(self.key, f"{kind}\0{value}\0{salt}".encode(), hashlib.sha256).digest()

    def _pick(self, pool: list[str], digest: bytes, offset: int) -> str:
        """The pool entry the digest points at, in the whole pool: a pick among only the entries that
        are not real tokens shifted with every name a file held, so the same person got another fake
        in another file. A pick that is a real token is redrawn with the next salt (_make_fake)."""
        return pool[int.from_bytes(digest[offset:offset + 4], "big") % len(pool)]

    def _letters(self, digest: bytes, n: int) -> str:
        return "".join(chr(ord("A") + b % 26) for b in digest[:n])

    def _digits(self, digest: bytes, n: int) -> str:
        return "".join(str(b % 10) for b in digest[:n])

    def fake(self, kind: str, value: str) -> str:
        if kind == "email" and "@" not in value:  # a written-out address is the address: one fake, written plainly
            value = _written_out_email(value)
        if kind in _NAME_KINDS:
            norm = strip_accents(value).casefold()
        elif kind in KNOWN_KINDS or kind in ("email", "domain", "handle", "username", "ticket"):
            norm = value.casefold()
        elif kind == "phone":  # "+91 98765 43210" and "098765 43210" are one number: one fake, each in its own format
            norm = _national_number(value)
        elif kind in ("card", "iban", "id_number"):  # "4539 1488 0343 6467" and "4539148803436467": one card, one fake
            norm = "".join(c for c in value if c.isalnum()).upper()
        elif kind == "address":
            norm = value.casefold()
        elif kind == "birth_date":  # one date in any layout: one fake, written in each occurrence's layout
            return self._birth_date_fake(value)
        else:
            norm = value
        cache_key = (kind, norm)
        if cache_key not in self._cache:
            self._cache[cache_key] = self._make_fake(kind, norm if kind in ("card", "iban", "id_number") else value, norm)
        fake = self._cache[cache_key]
        if kind in ("phone", "card", "iban"):  # the fake laid out as this occurrence writes the number
            return _laid_out(value, fake, str.isalnum if kind == "iban" else str.isdigit)
        if kind == "id_number":  # laid out as written, a letter in the case this occurrence writes it in
            return "".join(f.lower() if v.islower() else f for v, f in zip(value, _laid_out(value, fake, str.isalnum)))
        # Names, tickets and addresses are cached in one case and take the case of each occurrence.
        return _case_like(value, fake) if kind in _NAME_KINDS or kind in ("ticket", "address", "project") else fake

    def _birth_date_fake(self, value: str) -> str:
        norm = personal_ids.date_key(value)
        for salt in range(64):
            fake = personal_ids.fake_birth_date(value, self._digest("birth_date", norm, salt))
            if personal_ids.date_key(fake) != norm and fake != value:
                return fake
        raise RuntimeError("could not derive a fake distinct from the birth_date value")  # 64 HMAC collisions

    def _name_word_fake(self, word: str, role: str) -> str:
        """One word of a multi-word name: particles stay ("van der Berg" → "van der Yarrow", "al-Rashid" →
        "al-Vale"), a name that opens with one is a surname throughout."""
        if word.casefold() in PARTICLES:
            return word
        hyphened_initial = re.fullmatch(r"([^\W\d_]{2,})-([^\W\d_]\.)", word)
        if hyphened_initial:  # "Hans-H.": the given name's fake and another initial ("Tenzin-R.")
            head, initial = hyphened_initial.groups()
            return f"{self._name_word_fake(head, role)}-{self._name_word_fake(initial, role)}"
        if re.fullmatch(r"[^\W\d_]\.", word):  # a middle initial stays an initial: "J." -> "R."
            letter = next(c for salt in range(64) for c in self._letters(self._digest("initial", word.upper(), salt), 1)
                          if c != word[0].upper())
            return letter + "."
        if _particle_led(word):
            head, _, tail = word.partition("-")
            return f"{head}-{self.fake('name_last', tail)}"
        return self.fake(f"name_{role}", word.title() if word.isupper() or word.islower() else word)

    def _make_fake(self, kind: str, value: str, norm: str) -> str:
        kept: set[str] = set()
        if kind == "address":  # "Rua", "Street"
            kept = set(re.split(r"[^\w]+", value.casefold()))
        elif kind == "secret":  # the vendor's prefix ("sk-proj-"), whatever project key "PROJ-12" made known
            kept = set(re.split(r"[^\w]+|\d+|_", _SECRET_PREFIX.match(value).group().casefold()))
        for salt in range(64):
            d = self._digest(kind, norm, salt)
            fake = self._shape(kind, value, d)
            # A fake must not be a real value itself, or the survival check would (rightly) flag it.
            if fake.casefold() != norm.casefold() and not self._holds_real_token(fake, kept):
                return fake
        raise RuntimeError(f"could not derive a fake distinct from the {kind} value")  # 64 HMAC collisions

    def _holds_real_token(self, fake: str, kept: set[str] = frozenset()) -> bool:
        """Whether a fake is, or (an email's or a username's name parts) contains, a known real token;
        words the fake keeps from the value (an address's street type) do not count."""
        return fake.casefold() in self.known or any(
            part in self.known for part in re.split(r"[^\w]+|\d+|_", fake.casefold()) if len(part) > 2 and part not in kept)

    def _shape(self, kind: str, value: str, d: bytes) -> str:
        if kind == "name":  # each word's own fake, so a part alone maps as it does inside the whole name
            joined = _JOINED.fullmatch(value)
            # a hyphenated name learned as a name ("Fitzgerald-Boyle", "Anne-Marie") is one surname or given
            # name, faked as in the full name: as a joined form it was "Jordan-Kesley" beside "Mrs. Ari Keswood"
            if joined and not (joined.group(2) == "-" and strip_accents(value).casefold() in self.name_role):
                # "priya.raman" -> "oakley.brightwater": the parts' fakes, the separator kept
                first, sep, last = joined.groups()
                return f"{self._name_word_fake(first, 'first')}{sep}{self._name_word_fake(last, 'last')}"
            words = value.split()
            if len(words) == 1:
                role = self.name_role.get(strip_accents(value).casefold(), "first")
                return self.fake(f"name_{role}", value.title() if value.isupper() or value.islower() else value)
            first_role = "last" if words[0].casefold() in PARTICLES or _particle_led(words[0]) else "first"
            return " ".join(self._name_word_fake(w, first_role if i == 0 else "last") for i, w in enumerate(words))
        if kind == "name_first":
            return self._pick(FIRST_NAMES, d, 0)
        if kind == "name_last":
            return self._pick(LAST_NAMES, d, 4)
        if kind == "project":
            return self._letters(d, max(len(value), 2))
        if kind == "other" and value.isdigit():  # a member number stays a number of as many digits (an int too)
            return ("0" if value[0] == "0" else str(1 + d[0] % 9)) + self._digits(d[1:], len(value) - 1)
        if kind == "other":
            return f"redacted-{d[:4].hex()}"
        if kind == "id_number":
            return personal_ids.fake_id_number(value, d)
        if kind == "address":
            return personal_ids.fake_address(value, d, LAST_NAMES)
        if kind == "domain":
            return f"{d[:3].hex()}.example"
        if kind == "email":
            local, _, domain = value.rpartition("@")
            first, last = self._pick(FIRST_NAMES, d, 0).lower(), self._pick(LAST_NAMES, d, 4).lower()
            return f"{first}.{last}{d[8] % 100}@{self.fake('domain', domain)}"
        if kind == "handle":  # the bare account's fake behind the @: "@lina.kraft" and "lina.kraft" agree
            return "@" + self.fake("username", value[1:])
        if kind == "username":  # a bare account name: the same shape without the @
            return f"{self._pick(FIRST_NAMES, d, 0).lower()}.{self._pick(LAST_NAMES, d, 4).lower()}{d[8] % 100}"
        if kind == "url":
            scheme, sep, rest = value.partition("://")
            if not sep:  # "linkedin.com/in/..." written without a scheme stays without one
                scheme, rest = "", value
            host, slash, path = rest.partition("/")
            fake = f"{scheme}{sep}{self.fake('domain', host)}"
            return fake + (f"/{d[:5].hex()}" if slash and path else slash)
        if kind == "ticket":
            prefix, _, number = value.partition("-")
            first = str(1 + d[0] % 9) if len(number) > 1 else ""
            return f"{self.fake('project', prefix)}-{first}{self._digits(d[1:], len(number) - len(first))}"
        if kind == "phone":  # the NSN's digits: the area or mobile prefix kept (where and what kind, not who)
            nsn = _national_number(value)
            keep = 3 if len(nsn) >= 9 else 2  # "90" of Japan's 090, "219" of a Rio mobile, a US area code
            fake = nsn[:keep] + self._digits(d[1:], len(nsn) - keep)
            if len(nsn) == 10 and nsn[3] in "23456789":  # a North American exchange never starts with 0 or 1
                fake = fake[:3] + str(2 + d[0] % 8) + fake[4:]
            return fake
        if kind == "secret" and value.isdigit():  # a PIN: as many digits, a leading 0 only where it had one (an int too)
            return ("0" if value[0] == "0" else str(1 + d[0] % 9)) + self._digits(d[1:], len(value) - 1)
        if kind == "secret":  # the token's kind prefix kept ("ghp_", "sk_live_", "AKIA"), the rest redrawn
            prefix = _SECRET_PREFIX.match(value).group()
            pool = cycle(self._digits(d * 8, 256))  # digits 0-9 from the digest, as many as needed (a PEM body)
            # a PEM body pasted in JSON text breaks its lines with literal `\n` escapes: they stay escapes
            pieces = re.split(r"(\\[nr])", value[len(prefix):])
            return prefix + "".join(piece if i % 2 else "".join(
                (chr(ord("a") + (int(next(pool)) * 7 + j) % 26) if c.islower() else
                 chr(ord("A") + (int(next(pool)) * 7 + j) % 26) if c.isupper() else next(pool) if c.isdigit() else c)
                for j, c in enumerate(piece)) for i, piece in enumerate(pieces))
        if kind == "card":  # (value: the digits) the network's first four kept (a Mastercard stays one), the
            body = value[:4] + self._digits(d[1:], len(value) - 5)  # rest redrawn, the check digit valid again
            return body + _luhn_check_digit(body)
        if kind == "iban":  # (value: compact) the country kept, the account redrawn, digits as digits, letters as letters
            bban = "".join(self._letters(d[i % 32:i % 32 + 1], 1) if c.isalpha() else str(d[i % 32] % 10)
                           for i, c in enumerate(value[4:], 1))
            check = 98 - _iban_remainder(value[:2] + "00" + bban)
            return f"{value[:2]}{check:02d}{bban}"
        if kind == "ip" and ":" in value:  # a global IPv6 address outside the documentation prefix
            for offset in range(0, 24, 2):
                groups = [0x2400 + int.from_bytes(d[offset:offset + 2], "big") % 0x1000] + [
                    int.from_bytes(d[(offset + 2 * i) % 30:(offset + 2 * i) % 30 + 2], "big") for i in range(1, 8)]
                fake = str(ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups)))
                if _is_public_ip(fake):
                    return fake.upper() if value.isupper() else fake
            return "2400:cb00::1"
        if kind == "ip":  # a public-looking address (first octet 11-223 outside the ranges above)
            for offset in range(0, 28, 4):
                fake = ".".join(str(b) for b in (11 + d[offset] % 213, d[offset + 1], d[offset + 2], 1 + d[offset + 3] % 254))
                if _is_public_ip(fake):
                    return fake
            return f"198.51.100.{1 + d[0] % 254}"  # a documentation address: no one's
        raise ValueError(f"unknown kind {kind!r}")

    # --- detection and replacement ---------------------------------------------------------------

    def learn_ticket_prefixes(self, texts: Iterable[str]) -> None:
        """Ticket prefixes are project keys: make them known so a bare `WEB` maps like `WEB-101`'s prefix.
        The ids themselves become known in any case: a tool result's `sup-4821` or a URL slug is the
        ticket `SUP-4821` the user asked about (it survived while its upper-case twin was swapped)."""
        pattern = re.compile(_PATTERNS["ticket"])
        for text in cjk_free_pieces(texts):
            for m in pattern.finditer(text):
                prefix = m.group().partition("-")[0]
                if prefix not in self.not_ticket_prefixes and prefix.casefold() not in self.known:
                    self.known[prefix.casefold()] = KnownToken("project", prefix, exact=True)
                if prefix not in self.not_ticket_prefixes:
                    self.known.setdefault(m.group().casefold(), KnownToken("ticket", m.group()))
        self._compiled = {}

    def learn_secrets(self, values: Iterable[str]) -> None:
        """Credentials found under their keys (secrets_under_keys): swapped wherever they appear as written."""
        for value in values:
            self.known.setdefault(value.casefold(), KnownToken("secret", value, exact=True))
        self._compiled = {}

    def learn_phone_numbers(self, texts: Iterable[str]) -> None:
        """National numbers of seven to nine digits that some text writes with a country code or a trunk
        0 ("+34 612 345 678"): written alone elsewhere ("612345678") they are the same number."""
        pattern = re.compile(_PATTERNS["phone"])
        for text in cjk_free_pieces(texts):
            for m in pattern.finditer(text):
                value = m.group()
                if _is_phone(value) and _phone_prefix_length(value) and len(_national_number(value)) in _SHORT_NSN_DIGITS:
                    self.short_numbers.add(_national_number(value))
        self._compiled = {}

    def _short_numbers_pattern(self) -> str | None:
        if not self.short_numbers:
            return None
        return "|".join(_separated_digits(n) for n in sorted(self.short_numbers, key=len, reverse=True))

    def _pattern(self, skip: frozenset[str] = frozenset()) -> re.Pattern:
        """Every detector's alternative but the regex kinds in `skip`: a span one regex matched and then
        let go is read again without it ("DE00 1234 5678 9012" is no valid IBAN, but it holds a phone
        number's digits; "203.0.113.45" is no public address, but it may be a known token)."""
        if skip not in self._compiled:
            self._compiled[skip] = self._build_pattern(skip)
        return self._compiled[skip]

    def _build_pattern(self, skip: frozenset[str]) -> re.Pattern:
        parts = [f"(?P<{k}>{_PATTERNS[k]})" for k in REGEX_KINDS if k not in self.disabled and k not in skip]
        short = self._short_numbers_pattern()  # learned values, like known tokens: read in let-go spans too
        if short and "phone" not in self.disabled:
            parts.append(f"(?P<phone_nsn>{short})")
        # Longest first (in _alternatives), so "Priya Nair" wins over "Priya".
        tokens = [t for t in self.known.values() if t.kind not in self.disabled]
        names = [t for t in tokens if t.kind != "project" and t.kind not in PERSONAL_KINDS]
        projects = [t for t in tokens if t.kind == "project"]
        personal = [t for t in tokens if t.kind in PERSONAL_KINDS]
        if personal:  # before the regexes: "943 476 5919" after "NHS number" is that, not a phone number
            parts.insert(0, f"(?P<personal>{_alternatives(personal)})")
        if names:
            parts.append(f"(?P<known>{_alternatives(names)})")
        if projects:
            parts.append(rf"(?P<project>(?<!-)(?:{_alternatives(projects)}))")
        return re.compile("|".join(parts) if parts else r"(?!x)x")

    def text(self, s: str, counts: Counter | None = None, seen: dict[str, set] | None = None) -> str:
        def swapper(skip: frozenset[str]):
            return lambda m: swap(m, skip)

        def swap(m: re.Match, skip: frozenset[str]) -> str:
            kind, value = m.lastgroup, m.group()
            if kind == "phone_nsn":  # "612345678" after "+34 612 345 678": the same number
                kind = "phone"
            elif kind in ("known", "personal"):
                tok = self.lookup(value)
                kind = tok.kind
                if kind == "name":  # an inflected form maps to its name's fake (in the form's case)
                    value = _case_like(value, tok.text) if value.casefold() != tok.text.casefold() else value
            if m.lastgroup in REGEX_KINDS and _let_go(kind, value, m.string, m.start(), self.not_ticket_prefixes):
                inner = skip | {m.lastgroup}  # another detector or a known token may still find something in it
                return self._pattern(inner).sub(swapper(inner), value)
            if counts is not None:
                counts[kind] += 1
            if seen is not None:
                seen.setdefault(kind, set()).add(value.casefold() if kind in KNOWN_KINDS else value)
            return self.fake(kind, value)

        spaced = self._spaced_cjk_names()
        if spaced is not None:  # "田中 宏": read whole before the text is cut where CJK meets a space
            s = spaced.sub(lambda m: swap(m, frozenset()), s)
        return "".join(self._pattern().sub(swapper(frozenset()), part) for part in cjk_free_parts(s))

    def _spaced_cjk_names(self) -> re.Pattern | None:
        key = frozenset({"<spaced cjk names>"})
        if key not in self._compiled:
            names = [t for t in self.known.values() if t.kind == "name" and cjk.CJK.search(t.text) and " " in t.text]
            self._compiled[key] = (re.compile("(?P<known>" + "|".join(
                re.escape(t.text) for t in sorted(names, key=lambda t: -len(t.text))) + ")") if names else None)
        return self._compiled[key]

    def number(self, n: int, counts: Counter | None = None, seen: dict[str, set] | None = None) -> int:
        """A JSON integer that is an identity number or a birth date (`{"dob": 19870314}`) the rows state,
        a PIN found under its key (`{"pin": 8831}`), a value listed as `other:`, or a phone number written as
        digits becomes its fake (the same fake the number's text form gets; a phone's or a PIN's fake starts
        with 0 only where the number did, so it keeps its length)."""
        digits = str(n)
        known = self.known.get(digits)
        if known is not None and known.kind in ("id_number", "birth_date", "other", "secret") and known.kind not in self.disabled:
            kind = known.kind
        elif "phone" not in self.disabled and (digits in self.short_numbers or (
                re.fullmatch(_PATTERNS["phone"], digits) and _is_phone(digits))):
            kind = "phone"
        else:
            return n
        if counts is not None:
            counts[kind] += 1
        if seen is not None:
            seen.setdefault(kind, set()).add(digits)
        return int(self.fake(kind, digits))

    def originals(self, row: dict) -> dict[str, set[str]]:
        """Regex-detected values of a row (all detectors, disabled ones included), per kind."""
        found: dict[str, set[str]] = {}
        short = self._short_numbers_pattern()
        for s in cjk_free_pieces(plain for _, text in _walk_strings(row, numbers=True) for plain in _plain_texts(text)):
            for kind in REGEX_KINDS:
                for m in re.finditer(_PATTERNS[kind], s):
                    # A PIN is swapped only after its label: four digits alone elsewhere in a file are as
                    # often a quantity or a year, and looking for them would refuse whole files.
                    if kind == "secret" and m.group().isdigit():
                        continue
                    if not _let_go(kind, m.group(), s, m.start(), self.not_ticket_prefixes):
                        found.setdefault(kind, set()).add(m.group())
            for m in re.finditer(short, s) if short else ():
                found.setdefault("phone", set()).add(m.group())
        return found


def _json_text_value(s: str, depth: int) -> Any | None:
    """The value `s` holds when it is JSON text (an object or array: a tool result, call arguments, a
    payload encoded twice) and `depth` layers remain to look into, else None. Detection, the originals
    the survival check looks for and the swap all read JSON text by this one rule, so they agree."""
    if not (depth and s.lstrip()[:1] in "{["):
        return None
    try:
        return jsontext.loads(s)
    except json.JSONDecodeError:
        return None


def _plain_texts(s: str, depth: int = 3) -> Iterator[str]:
    """The texts a string holds as values are swapped (anonymised_string): itself, or, for JSON text,
    every string and integer inside it, decoded (the escaped text's `\\nbob@x.io` is no address)."""
    parsed = _json_text_value(s, depth)
    if parsed is None:
        yield s
        return
    for _, leaf in _walk_strings(parsed, numbers=True):
        yield from _plain_texts(leaf, depth - 1)


def _survival_pattern(values: dict[str, set[str]], known: Iterable[KnownToken]) -> re.Pattern | None:
    """One regex for every real value; the group name `r_<kind>` / `k_<kind>` says which kind matched."""
    def alternation(texts: Iterable[str]) -> str:
        return "|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True))

    parts = [rf"(?P<r_{kind}>{_BEFORE}(?:{alternation(vals)}){_AFTER})" for kind, vals in sorted(values.items()) if vals]
    by_kind: dict[str, list[KnownToken]] = {}
    for t in known:
        by_kind.setdefault(t.kind, []).append(t)
    for kind, tokens in sorted(by_kind.items()):  # the same case rules and edges the replacement used
        parts.append(f"(?P<k_{kind}>{_alternatives(tokens)})")
    return re.compile("|".join(parts)) if parts else None


def check_no_survivors(rows: list[dict], originals: dict[str, set[str]], known: Iterable[KnownToken],
                       disabled: frozenset[str] = frozenset()) -> None:
    """Raise SurvivingTokenError at the first real value found in any output row, in any decoded form."""
    pattern = _survival_pattern(originals, known)
    if pattern is None:
        return
    for i, row in enumerate(rows):
        for where, s in _walk_strings(row, numbers=True):
            for form, text in decoded_forms(s):
                m = pattern.search(text)
                if m:
                    kind = m.lastgroup.split("_", 1)[1]
                    raise SurvivingTokenError(kind, i, where.lstrip(".") or "(row)", form, disabled=kind in disabled)


def _texts_and_values(rows: list[dict]) -> Iterator[tuple[str | None, Any]]:
    """In row order: (text, None) for every string that is no JSON text and every such string inside
    JSON text, (None, value) for every decoded JSON value and, after its strings, every row itself (for the detectors that
    read arguments under their keys)."""
    for row in rows:
        for _, s in _walk_strings(row):
            for text, parsed in _json_layers(s):
                # JSON text itself is no text: read escaped, "READY\\napi-1" held a DOMAIN\\user login
                yield (text, None) if parsed is None else (None, parsed)
        yield None, row


_HANDLE = re.compile(_PATTERNS["handle"])  # compiled once: _bare_handles runs on every string of every row


def _bare_handles(text: str) -> set[str]:
    """The account behind each `@handle` with a dot, an underscore, a hyphen or a digit in it ("@lina.kraft"
    -> "lina.kraft"): a call argument or a path writes it without the @. A plain word ("@support") is left
    to the handle detector alone: as a bare word it would be swapped in every sentence."""
    return {m.group()[1:] for part in cjk_free_parts(text) for m in _HANDLE.finditer(part)
            if re.search(r"[._\d-]", m.group()[1:]) and not _let_go("handle", m.group(), part, m.start(), NOT_TICKET_PREFIXES)}


@dataclass
class Detected:
    """What the rows themselves show, beside what the regexes find: person names ({name: "last" for a
    lone surname}), account names, credentials, and personal values ({value: kind}: personal_ids.py)."""
    names: dict[str, str | None] = field(default_factory=dict)
    accounts: set[str] = field(default_factory=set)
    secrets: dict[str, None] = field(default_factory=dict)
    personal: dict[str, str] = field(default_factory=dict)


def _detected(rows: list[dict]) -> Detected:
    """Names, accounts, credentials and personal values the rows show (names.py, secrets_under_keys,
    personal_ids.py), from one walk of them: the strings inside JSON text too ("body": "...Best,\nOmar"),
    arguments under a person's, an account's, a credential's or a personal value's key at any depth; then
    the full names a single name found there forms with the word after it (_surnames_beside)."""
    found = Detected()
    texts: list[str] = []
    for text, value in _texts_and_values(rows):
        if text is not None:
            texts.append(text)
            found.names.update(names_in_text(text))
            found.names.update(names_in_emails(text))
            found.accounts |= usernames_in_text(text) | _bare_handles(text)
            for personal, kind in personal_ids.values_in_text(text).items():
                found.personal.setdefault(personal, kind)
        else:
            found.names.update(dict.fromkeys(names_in_arguments(value)))
            found.accounts |= usernames_in_arguments(value)
            found.secrets.update(dict.fromkeys(secrets_under_keys(value)))
            for personal, kind in personal_ids.values_under_keys(value).items():
                found.personal.setdefault(personal, kind)
    singles = {n for n in found.names if len(n.split()) == 1 and found.names[n] != "last"}
    found.names.update(_surnames_beside(texts, singles))
    # A "name" inside a street address is the street's ("ship to Rua Augusta 112"): the address is swapped whole.
    addresses = [value for value, kind in found.personal.items() if kind == personal_ids.ADDRESS]
    found.names = {n: role for n, role in found.names.items() if not any(n in a for a in addresses)}
    return found


def _json_layers(s: str, depth: int = 3) -> Iterator[tuple[str, Any]]:
    """(text, its JSON value or None) for `s` and, when `s` is JSON text (a tool result, call arguments,
    a payload encoded twice), for every string inside it, `depth` layers down."""
    parsed = _json_text_value(s, depth)
    yield s, parsed
    if parsed is not None:
        stack = [parsed]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str):
                yield from _json_layers(item, depth - 1)


_LETTER_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u([0-9a-fA-F]{4})")


def _letters_unescaped(s: str) -> str:
    """JSON text (a tool result, call arguments) with its `\\uXXXX` escapes of letters written as the
    letters: the same JSON value, but "Nguy\\u1ec5n" becomes "Nguyễn", which the name swap can see
    (it swapped the decoded form's name nowhere, and the survival check then refused the file)."""
    if "\\u" not in s or s.lstrip()[:1] not in "{[":
        return s

    def letter(m: re.Match) -> str:
        ch = chr(int(m.group(2), 16))
        return m.group(1) + ch if ch.isalpha() and not ch.isascii() else m.group(0)
    return _LETTER_ESCAPE.sub(letter, s)


# A JSON string literal or number token. In text that parses as JSON, a quote outside a string always opens one.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?')


def anonymised_string(s: str, anon: Anonymiser, counts: Counter | None = None, seen: dict[str, set] | None = None,
                      depth: int = 3) -> str:
    """`s` anonymised; when it is JSON text (a tool result, call arguments, a payload encoded twice), each
    string inside it is anonymised as the decoded value it holds and written back in place, and each
    integer as a number, so the text stays the same JSON with only values changed. Swapping on the
    escaped text read `\\n` as a letter: "READY\\napi-1" became "READY\\k…" (invalid JSON), and values
    right after an escape were missed or swallowed the next line."""
    if _json_text_value(s, depth) is None:
        return anon.text(s, counts, seen)

    def token(m: re.Match) -> str:
        raw = m.group()
        if raw[0] != '"':
            if not re.fullmatch(r"-?\d+", raw):
                return raw
            n = int(raw)
            return str(anon.number(n, counts, seen))
        value = json.loads(raw)
        swapped = anonymised_string(value, anon, counts, seen, depth - 1)
        return raw if swapped == value else json.dumps(swapped, ensure_ascii=False)
    return _JSON_TOKEN.sub(token, s)


def anonymise_rows(rows: list[dict], anon: Anonymiser) -> tuple[list[dict], Report]:
    """Anonymised copies of `rows` and per-kind counts; raises SurvivingTokenError before returning any.
    The person names the rows show (names.py) are swapped too, unless the `name` detector is disabled."""
    # One spelling per text: "Jose\u0301" (an accent as a combining mark, as macOS writes it) and "José"
    # are the same name, and matched only one way the surname survived and the fake took the stray accent.
    rows = [_map_strings(row, lambda s: unicodedata.normalize("NFC", _letters_unescaped(s))) for row in rows]
    found = _detected(rows)
    names = found.names
    if "name" not in anon.disabled:
        anon.learn_names(names)
    if "handle" not in anon.disabled:
        anon.learn_usernames(found.accounts)
    anon.learn_personal(found.personal)
    anon.learn_ticket_prefixes(s for row in rows for _, s in _walk_strings(row))
    anon.learn_phone_numbers(s for row in rows for _, s in _walk_strings(row, numbers=True))
    if "secret" not in anon.disabled:
        anon.learn_secrets(found.secrets)
    report = Report(rows=len(rows), detected_names=len(anon.detected_names))
    seen: dict[str, set] = {}
    originals: dict[str, set[str]] = {}
    out = []
    for row in rows:
        for kind, vals in anon.originals(row).items():
            originals.setdefault(kind, set()).update(vals)
        out.append(_map_strings(row, lambda s: anonymised_string(s, anon, report.replaced, seen),
                                lambda n: anon.number(n, report.replaced, seen)))
    report.distinct.update({k: len(v) for k, v in seen.items()})
    # The check runs every detector, disabled ones too (as the regex kinds' `originals` do): with
    # `--disable name` the names the rows show are not swapped, so they make the file refuse.
    unswapped = [KnownToken("name", n, exact=True) for n in names] if "name" in anon.disabled else []
    unswapped += [KnownToken(kind, value) for value, kind in found.personal.items() if kind in anon.disabled]
    check_no_survivors(out, originals, [*anon.known.values(), *unswapped], anon.disabled)
    return out, report


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null", int: "number",
            float: "number"}.get(type(value), type(value).__name__)


def anonymise_file(src: Path, dest: Path, anon: Anonymiser) -> Report:
    """Read JSONL, anonymise, check, then write; on any error nothing is written."""
    rows = []
    for n, line in enumerate(read_text(src, "JSONL file", DataError).splitlines(), 1):
        if line.strip():
            try:
                row = jsontext.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{src}:{n}: not JSON ({err.msg}); nothing written") from None
            if not isinstance(row, dict):  # the data stages read one object per row; anything else is no row
                raise DataError(f"{src}:{n}: a JSON {_json_type(row)}, expected one object (a row) per line; "
                                "nothing written")
            rows.append(row)
    if not rows:
        raise DataError(f"{src}: no rows (the file is empty or blank); nothing written")
    out, report = anonymise_rows(rows, anon)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    tmp.replace(dest)
    return report
