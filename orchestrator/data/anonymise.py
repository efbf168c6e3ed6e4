"""Deterministic, keyed anonymiser for tool-use conversations.

Every detected value is swapped for a stable fake: the fake is derived from HMAC-SHA256(key,
kind + value), so the same real value always maps to the same fake (across rows, files and runs)
while nobody without the key can map a fake back or confirm a guessed real value. Fakes keep
their kind's shape (an email stays an email, a ticket id stays `ABC-123`), and replacement works
on every string of a row — user and assistant text, nested tool-call arguments, tool results —
so a call's arguments and the result that echoes them still agree after anonymisation.

Detectors: regexes for emails, URLs, phone numbers, handles (`@user`) and ticket ids
(`ABC-123`; their prefix also becomes a known project key), plus a list of known real tokens
(names and other values no regex can find), matched case-insensitively on word boundaries.

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
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import unquote

REGEX_KINDS = ("url", "email", "handle", "ticket", "phone")
KNOWN_KINDS = ("name", "project", "other")

# Order matters where patterns overlap: a URL may hold an email or a handle, an email holds an
# `@domain` that is not a handle.
_PATTERNS = {
    "url": r"https?://[^\s\"'<>\]\)}]*[^\s\"'<>\]\)}.,;:!?]",
    "email": r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])",
    "handle": r"(?<![\w@/.])@[A-Za-z_][A-Za-z0-9_]{1,30}(?![\w@.-])",
    "ticket": r"(?<![\w-])[A-Z][A-Z0-9]{1,9}-[0-9]{1,6}(?![\w-])",
    # 10-15 digits with optional + and separators; dates and times are ruled out in _is_phone.
    "phone": r"(?<![\w+])\+?[0-9][0-9 ().-]{8,20}[0-9](?![\w-])",
}
# Uppercase-dash-number strings that are standards or versions, not tickets.
NOT_TICKET_PREFIXES = frozenset({"UTF", "SHA", "ISO", "RFC", "GPT", "COVID", "MD", "TLS", "SSL", "HTTP", "IPV",
                                 "CP", "WIN", "PEP", "ES", "X", "AES", "RSA", "P"})
_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}")

FIRST_NAMES = ["Alex", "Robin", "Sam", "Jordan", "Casey", "Morgan", "Avery", "Quinn", "Riley", "Jamie", "Taylor",
               "Rowan", "Emery", "Harper", "Sasha", "Noor", "Kai", "Remy", "Elliot", "Dana", "Frankie", "Hollis",
               "Ira", "Jules", "Lane", "Marlow", "Nico", "Oakley", "Parker", "Reese", "Sage", "Tatum"]
LAST_NAMES = ["Ashdown", "Brightwater", "Coldbrook", "Dunmore", "Eastwood", "Fairbank", "Greyling", "Hollins",
              "Ivesworth", "Kestrel", "Larchmont", "Merriweather", "Northcote", "Oakhurst", "Pennfold", "Quarry",
              "Redfern", "Stillwell", "Thornbury", "Underhill", "Vale", "Westbrook", "Yarrow", "Zeller"]


class SurvivingTokenError(ValueError):
    """A real value would survive into the output; nothing was written."""

    def __init__(self, kind: str, row: int, where: str, form: str):
        self.kind, self.row, self.where, self.form = kind, row, where, form
        super().__init__(f"row {row}: a {kind} value would survive at {where} ({form} form); refusing to write "
                         "the output (add the value to the known-tokens list or fix the row)")


@dataclass(frozen=True)
class KnownToken:
    kind: str
    text: str


@dataclass
class Report:
    rows: int = 0
    replaced: Counter = field(default_factory=Counter)   # occurrences replaced, per kind
    distinct: Counter = field(default_factory=Counter)   # distinct real values, per kind


def parse_known(text: str, source: str = "known tokens") -> list[KnownToken]:
    """One token per line; `kind: token` with kind in KNOWN_KINDS, else the line is a name. `#` comments."""
    tokens = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, sep, rest = line.partition(":")
        if sep and kind.strip() in KNOWN_KINDS and rest.strip():
            tokens.append(KnownToken(kind.strip(), rest.strip()))
        elif sep and kind.strip().isidentifier() and kind.strip() not in KNOWN_KINDS and " " not in kind.strip():
            raise ValueError(f"{source}:{n}: unknown kind {kind.strip()!r} (use one of {', '.join(KNOWN_KINDS)})")
        else:
            tokens.append(KnownToken("name", line))
    return tokens


def _is_phone(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    return 10 <= digits <= 15 and not _DATE_LIKE.search(value)


def _walk_strings(obj: Any, path: str = ""):
    """(path, string) for every string in a JSON value, dict keys included."""
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield f"{path}.{k}(key)", k
            yield from _walk_strings(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk_strings(v, f"{path}[{i}]")


def _map_strings(obj: Any, fn) -> Any:
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _map_strings(v, fn) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_map_strings(v, fn) for v in obj]
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
            decoded = json.loads(stripped)
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


class Anonymiser:
    def __init__(self, key: bytes, known: Iterable[KnownToken] = (), disabled: Iterable[str] = (),
                 not_ticket_prefixes: frozenset[str] = NOT_TICKET_PREFIXES):
        if not key:
            raise ValueError("the anonymiser key is empty")
        self.key = key
        self.disabled = frozenset(disabled)
        unknown = self.disabled - set(REGEX_KINDS) - set(KNOWN_KINDS)
        if unknown:
            raise ValueError(f"unknown detector kind(s): {sorted(unknown)}")
        self.not_ticket_prefixes = not_ticket_prefixes
        self.known: dict[str, KnownToken] = {}
        for tok in known:
            self.known.setdefault(tok.text.casefold(), tok)
        self._cache: dict[tuple[str, str], str] = {}
        self._compiled: re.Pattern | None = None

    # --- fakes ----------------------------------------------------------------------------------

    def _digest(self, kind: str, value: str, salt: int = 0) -> bytes:
        return hmac.new(self.key, f"{kind}\0{value}\0{salt}".encode(), hashlib.sha256).digest()

    def _pick(self, pool: list[str], digest: bytes, offset: int) -> str:
        # Skip fakes that equal a known real token: the survival check would flag them.
        usable = [p for p in pool if p.casefold() not in self.known]
        return usable[int.from_bytes(digest[offset:offset + 4], "big") % len(usable)]

    def _letters(self, digest: bytes, n: int) -> str:
        return "".join(chr(ord("A") + b % 26) for b in digest[:n])

    def _digits(self, digest: bytes, n: int) -> str:
        return "".join(str(b % 10) for b in digest[:n])

    def fake(self, kind: str, value: str) -> str:
        norm = value.casefold() if kind in KNOWN_KINDS or kind in ("email", "domain", "handle") else value
        cache_key = (kind, norm)
        if cache_key not in self._cache:
            self._cache[cache_key] = self._make_fake(kind, value, norm)
        return self._cache[cache_key]

    def _make_fake(self, kind: str, value: str, norm: str) -> str:
        for salt in range(16):
            d = self._digest(kind, norm, salt)
            fake = self._shape(kind, value, d)
            # A fake must not be a real value itself, or the survival check would (rightly) flag it.
            if fake.casefold() != norm.casefold() and fake.casefold() not in self.known:
                return fake
        raise RuntimeError(f"could not derive a fake distinct from the {kind} value")  # 16 HMAC collisions

    def _shape(self, kind: str, value: str, d: bytes) -> str:
        if kind == "name":
            words = value.split()
            fake = " ".join([self._pick(FIRST_NAMES, d, 0)] + [self._pick(LAST_NAMES, d, 4 + 4 * i)
                                                                   for i in range(max(len(words) - 1, 0))][:6])
            return fake.lower() if value.islower() else fake.upper() if value.isupper() and len(value) > 1 else fake
        if kind == "project":
            return self._letters(d, max(len(value), 2))
        if kind == "other":
            return f"redacted-{d[:4].hex()}"
        if kind == "domain":
            return f"{d[:3].hex()}.example"
        if kind == "email":
            local, _, domain = value.rpartition("@")
            first, last = self._pick(FIRST_NAMES, d, 0).lower(), self._pick(LAST_NAMES, d, 4).lower()
            return f"{first}.{last}{d[8] % 100}@{self.fake('domain', domain)}"
        if kind == "handle":
            return f"@{self._pick(FIRST_NAMES, d, 0).lower()}_{d[4:6].hex()}"
        if kind == "url":
            scheme, _, rest = value.partition("://")
            host, slash, path = rest.partition("/")
            fake = f"{scheme}://{self.fake('domain', host)}"
            return fake + (f"/{d[:5].hex()}" if slash and path else slash)
        if kind == "ticket":
            prefix, _, number = value.partition("-")
            first = str(1 + d[0] % 9) if len(number) > 1 else ""
            return f"{self.fake('project', prefix)}-{first}{self._digits(d[1:], len(number) - len(first))}"
        if kind == "phone":
            digits = iter(self._digits(d, 32))
            return "".join(next(digits) if c.isdigit() else c for c in value)
        raise ValueError(f"unknown kind {kind!r}")

    # --- detection and replacement ---------------------------------------------------------------

    def learn_ticket_prefixes(self, texts: Iterable[str]) -> None:
        """Ticket prefixes are project keys: make them known so a bare `WEB` maps like `WEB-101`'s prefix."""
        pattern = re.compile(_PATTERNS["ticket"])
        for text in texts:
            for m in pattern.finditer(text):
                prefix = m.group().partition("-")[0]
                if prefix not in self.not_ticket_prefixes and prefix.casefold() not in self.known:
                    self.known[prefix.casefold()] = KnownToken("project", prefix)
        self._compiled = None

    def _pattern(self) -> re.Pattern:
        if self._compiled is None:
            parts = [f"(?P<{k}>{_PATTERNS[k]})" for k in REGEX_KINDS if k not in self.disabled]
            # Longest first, so "Priya Nair" wins over "Priya".
            tokens = sorted((t for t in self.known.values() if t.kind not in self.disabled),
                            key=lambda t: -len(t.text))
            # Project keys are matched case-sensitively: "WEB" is a key, "web" is a word.
            names = [re.escape(t.text) for t in tokens if t.kind != "project"]
            projects = [re.escape(t.text) for t in tokens if t.kind == "project"]
            if names:
                parts.append(rf"(?P<known>(?<!\w)(?i:{'|'.join(names)})(?!\w))")
            if projects:
                parts.append(rf"(?P<project>(?<![\w-])(?:{'|'.join(projects)})(?![\w]))")
            self._compiled = re.compile("|".join(parts) if parts else r"(?!x)x")
        return self._compiled

    def text(self, s: str, counts: Counter | None = None, seen: dict[str, set] | None = None) -> str:
        def swap(m: re.Match) -> str:
            kind, value = m.lastgroup, m.group()
            if kind == "known":
                kind = self.known[value.casefold()].kind
            if kind == "ticket" and value.partition("-")[0] in self.not_ticket_prefixes:
                return value
            if kind == "phone" and not _is_phone(value):
                return value
            if counts is not None:
                counts[kind] += 1
            if seen is not None:
                seen.setdefault(kind, set()).add(value.casefold() if kind in KNOWN_KINDS else value)
            return self.fake(kind, value)

        return self._pattern().sub(swap, s)

    def originals(self, row: dict) -> dict[str, set[str]]:
        """Regex-detected values of a row (all detectors, disabled ones included), per kind."""
        found: dict[str, set[str]] = {}
        for _, s in _walk_strings(row):
            for kind in REGEX_KINDS:
                for m in re.finditer(_PATTERNS[kind], s):
                    v = m.group()
                    if kind == "phone" and not _is_phone(v):
                        continue
                    if kind == "ticket" and v.partition("-")[0] in self.not_ticket_prefixes:
                        continue
                    found.setdefault(kind, set()).add(v)
        return found


def _survival_pattern(values: dict[str, set[str]], known: Iterable[KnownToken]) -> re.Pattern | None:
    """One regex for every real value; the group name `r_<kind>` / `k_<kind>` says which kind matched."""
    def alternation(texts: Iterable[str]) -> str:
        return "|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True))

    parts = [rf"(?P<r_{kind}>(?<!\w)(?:{alternation(vals)})(?!\w))" for kind, vals in sorted(values.items()) if vals]
    by_kind: dict[str, list[str]] = {}
    for t in known:
        by_kind.setdefault(t.kind, []).append(t.text)
    for kind, texts in sorted(by_kind.items()):
        # Project keys are case-sensitive ("WEB" is a key, "web" a word); names are not.
        body = alternation(texts) if kind == "project" else f"(?i:{alternation(texts)})"
        parts.append(rf"(?P<k_{kind}>(?<!\w){body}(?!\w))")
    return re.compile("|".join(parts)) if parts else None


def check_no_survivors(rows: list[dict], originals: dict[str, set[str]], known: Iterable[KnownToken]) -> None:
    """Raise SurvivingTokenError at the first real value found in any output row, in any decoded form."""
    pattern = _survival_pattern(originals, known)
    if pattern is None:
        return
    for i, row in enumerate(rows):
        for where, s in _walk_strings(row):
            for form, text in decoded_forms(s):
                m = pattern.search(text)
                if m:
                    kind = m.lastgroup.split("_", 1)[1]
                    raise SurvivingTokenError(kind, i, where.lstrip(".") or "(row)", form)


def anonymise_rows(rows: list[dict], anon: Anonymiser) -> tuple[list[dict], Report]:
    """Anonymised copies of `rows` and per-kind counts; raises SurvivingTokenError before returning any."""
    anon.learn_ticket_prefixes(s for row in rows for _, s in _walk_strings(row))
    report = Report(rows=len(rows))
    seen: dict[str, set] = {}
    originals: dict[str, set[str]] = {}
    out = []
    for row in rows:
        for kind, vals in anon.originals(row).items():
            originals.setdefault(kind, set()).update(vals)
        out.append(_map_strings(row, lambda s: anon.text(s, report.replaced, seen)))
    report.distinct.update({k: len(v) for k, v in seen.items()})
    check_no_survivors(out, originals, anon.known.values())
    return out, report


def anonymise_file(src: Path, dest: Path, anon: Anonymiser) -> Report:
    """Read JSONL, anonymise, check, then write; on any error nothing is written."""
    rows = []
    for n, line in enumerate(src.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{src}:{n}: not JSON ({err.msg}); nothing written") from err
    out, report = anonymise_rows(rows, anon)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    tmp.replace(dest)
    return report
