"""Personal numbers, birth dates and street addresses: what identifies a person besides a name or a contact.

A bare run of digits is as often an order number as a passport, so these are found only where the text or
the row's structure says what they are:

1. an identity number after a cue that names the document: "SSN 123-45-6789", "passport no. X12345678",
   "national insurance number QQ 12 34 56 C", "driver's licence D1234-56789-01234", "Aadhaar 2345 6789
   0123", "Tax ID (TIN): 12-3456789", "MRN 00482913", "BSN 123456782"; a US social security number in its
   3-2-4 layout with dashes is found with no cue (its area, group and serial ranges must hold);
2. a birth date after "born", "DOB", "date of birth", "birthday" (and their German, French and Spanish
   forms): "born on March 14, 1987", "DOB: 14/03/1987", "birthday is 14th of March", "dob 19870314";
3. a street address: a house number, capitalised words and a street type ("221B Baker Street", "1600
   Pennsylvania Avenue NW, Suite 200", "350 5th Ave"); a street type first ("12 rue de Rivoli", "Calle
   Mayor 5", "Via Roma 12": a house number is required); a compound street name and its number
   ("Hauptstraße 5", "Kalverstraat 92", "Drottninggatan 7");
4. any of these as a tool argument under its key ("ssn", "passportNumber", "date_of_birth",
   "home_address": the street part of the value), integers too (`{"bsn": 123456782}`).

Not found: a number with no cue ("my number is 123456789", an SSN written without dashes), a birth date
with no cue, an address with no house number or no street type ("the flat above the bakery"), postcodes
and cities alone. List those in the known-tokens file (`other: …`).

The fakes keep the shape: an id keeps its layout, letters stay letters and digits digits; a birth date
keeps its format, its day and month redrawn and its year moved by one to three years (the age stays
roughly right); an address keeps its house number's length, its street type, particles and unit words,
and its street name becomes another name. Pure functions: the anonymiser supplies the keyed digest.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from orchestrator.data.cjk import cjk_free_parts

ID_NUMBER, BIRTH_DATE, ADDRESS = "id_number", "birth_date", "address"
KINDS = (ID_NUMBER, BIRTH_DATE, ADDRESS)

# --- identity numbers --------------------------------------------------------------------------------------

# Cues matched in any case: no ordinary word of a language the data is likely in reads like one.
_ID_CUES_ANY_CASE = r"""social[ -]security(?:[ -](?:number|no|num))?|ssn|social[ -]insurance(?:[ -]number)?
|passport|national[ -](?:id|identity|identification|insurance)(?:[ -](?:card|number|no))?|ni[ -]number|nino
|(?:driver'?s?|driving)[ -]licen[cs]e|licen[cs]e[ -](?:number|no)|tax[ -](?:id|identification|file[ -]number)
|aadhaa?r|pan[ -]card|bsn|burgerservicenummer|personnummer|personal[ -](?:id|identity|identification)
|id[ -](?:card|number)|identity[ -](?:card|number|document)|nhs[ -]number|medicare(?:[ -]number)?|mrn
|medical[ -]record(?:[ -]number)?|patient[ -](?:id|number)|health[ -](?:card|insurance)[ -]number|cpf|curp
|codice[ -]fiscale|steuer-?id|steueridentifikationsnummer|sozialversicherungsnummer|pesel
|reisepass(?:nummer)?|personalausweis(?:nummer)?|ausweisnummer|passeport|pasaporte|passaporto|passaporte
|s[ée]curit[ée][ -]sociale|seguridad[ -]social|seguran[çc]a[ -]social|आधार""".replace("\n", "")
# Acronyms that are ordinary words in lower case ("sin" in Spanish, "ein" in German, "pan", "tin", "nie").
_ID_CUES_CAPITALS = r"SIN|PAN|TIN|EIN|ITIN|TFN|NIE|DNI|NIF|CPR|HETU"
_ID_CUE_WORDS = rf"(?:(?i:{_ID_CUES_ANY_CASE})|{_ID_CUES_CAPITALS})"
_ID_CUE = re.compile(
    rf"(?<![\w-]){_ID_CUE_WORDS}(?!\w|-[^\W\d])"                  # "MRN-4471902", not "ssn-lookup"
    r"(?:\s*\([A-Za-z]{2,6}\))?"                                # "Tax ID (TIN)"
    r"(?:\s*(?i:numbers?|no\.?|num\.?|nr\.?|#|id|card))?"      # "passport no.", "SSN#"
    r"\s*(?:(?i:is|was|reads|of)\s+|[:=#-]\s*)?"               # "is", ":", "="
    r"(?P<value>[A-Za-z0-9]+(?:[ .-][A-Za-z0-9]+){0,7})")
# Cues in scripts written without spaces, where the number follows with no edge: Chinese resident id and
# passport, Japanese My Number, passport and insurance card numbers, Korean resident registration number.
_ID_CUE_CJK = re.compile(r"(?:身份证(?:号码?)?|居民身份证号码?|护照(?:号码?)?|社会保障号码?|マイナンバー|パスポート(?:番号)?"
                         r"|保険証番号|被保険者番号|住民票コード|주민등록번호|여권(?:번호)?)[ \t]*[:：]?[ \t]*(?:是|は|为|為|는|은)?[ \t]*"
                         r"(?P<value>[A-Za-z0-9]+(?:[ .-][A-Za-z0-9]+){0,7})")
# A US social security number as it is usually written: area 001-899 but 666, group 01-99, serial 0001-9999.
_SSN = re.compile(r"(?<![\w.-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-]|\.\d)")
_CUE_ALONE = re.compile(_ID_CUE_WORDS)


def _id_like_groups(candidate: str) -> str | None:
    """The id at the start of `candidate` ("X12345678 expires soon" -> "X12345678"): its groups while
    each holds a digit or is one to three capitals ("QQ 12 34 56 C"), no trailing word of capitals, no
    leading cue ("my mrn is MRN 00734521": the id is "00734521")."""
    groups = re.split(r"([ .-])", candidate)
    while len(groups) > 2 and _CUE_ALONE.fullmatch(groups[0]):
        groups = groups[2:]
    taken: list[str] = []
    for i in range(0, len(groups), 2):
        group = groups[i]
        if not (any(c.isdigit() for c in group) or (group.isupper() and group.isalpha() and len(group) <= 3)):
            break
        taken.extend([groups[i - 1], group] if taken else [group])
    while taken and taken[-1].isalpha() and len(taken[-1]) > 1:  # "123456789 OK": the word is not the id
        taken = taken[:-2]
    value = "".join(taken)
    return value if _id_shaped(value) else None


def _id_shaped(value: str) -> bool:
    """Enough to be an identity number: six digits or more, or four digits among six characters or more."""
    digits = sum(c.isdigit() for c in value)
    alnum = sum(c.isalnum() for c in value)
    if len(value) > 40 or not re.fullmatch(r"[A-Za-z0-9]+(?:[ .-][A-Za-z0-9]+)*", value or "-"):
        return False
    return digits >= 6 or (digits >= 4 and alnum >= 6)


def id_numbers_in_text(text: str) -> Iterator[str]:
    for m in (*_ID_CUE.finditer(text), *_ID_CUE_CJK.finditer(text)):
        value = _id_like_groups(m.group("value"))
        if value:
            yield value
    yield from (m.group() for m in _SSN.finditer(text))


# --- birth dates -------------------------------------------------------------------------------------------

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?" \
         r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_ORDINAL = r"(?:st|nd|rd|th)"
# A date written as eight digits, YYYYMMDD (forms, HL7 and EHR exports): only a valid month and day of a
# year 1900-2099 reads as one, and only after a birth-date cue or under a birth-date key.
_COMPACT_DATE = r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_DATE = (rf"\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}(?![\d/.-]*\d)"                     # 1987-03-14
         rf"|(?<!\d){_COMPACT_DATE}(?![\d/.-]*\d)"                                   # 19870314
         rf"|\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:\d{{4}}|\d{{2}})(?![\d/.-]*\d)"          # 14/03/1987, 02.11.75
         rf"|\d{{1,2}}{_ORDINAL}?(?:\s+of)?\s+(?i:{_MONTH})\.?(?:,?\s+\d{{4}})?(?!\w)"   # 14th of March 1987
         rf"|(?i:{_MONTH})\.?\s+\d{{1,2}}{_ORDINAL}?(?:,?\s+\d{{4}})?(?!\w)")          # March 14, 1987
_DOB_CUE = re.compile(
    r"(?i:(?<![\w-])(?:born(?:\s+on)?|d\.?o\.?b\.?|date\s+of\s+birth|birth\s*date|birthday|geboren(?:\s+am)?"
    r"|geburtsdatum|n[ée]e?\s+le|date\s+de\s+naissance|nacid[oa]\s+el|fecha\s+de\s+nacimiento)(?![\w-]))"
    rf"\s*(?:(?i:is|was|on|:|=|-)\s*)?(?P<value>{_DATE})")
_DATE_ONLY = re.compile(rf"(?:{_DATE})")
_ISO_DATE = re.compile(r"(\d{4})([-/.])(\d{1,2})([-/.])(\d{1,2})")              # year, sep, month, sep, day
_NUMERIC_DATE = re.compile(r"(\d{1,2})([/.-])(\d{1,2})([/.-])(\d{4}|\d{2})")    # a, sep, b, sep, year
_COMPACT = re.compile(r"(\d{4})(\d\d)(\d\d)")                                      # year, month, day


def birth_dates_in_text(text: str) -> Iterator[str]:
    yield from (m.group("value") for m in _DOB_CUE.finditer(text))


# --- street addresses --------------------------------------------------------------------------------------

_HOUSE = r"\d{1,5}[A-Za-z]?(?:[-/]\d{1,5}[A-Za-z]?)?"
_STREET_TYPES = ("Street Avenue Road Lane Drive Boulevard Way Court Place Terrace Close Crescent Square Highway Parkway "
                 "Circle Alley Row Walk Gardens Grove Mews Trail Loop Plaza Quay").split()
_STREET_ABBREVIATIONS = "St Ave Rd Ln Dr Blvd Ct Pl Sq Hwy Pkwy Cir".split()  # "St." takes its full stop, "Street." not
_DIRECTIONS = "N S E W NE NW SE SW North South East West".split()
_UNIT_WORDS = "Apt Apartment Suite Ste Unit Flat Floor Fl".split()
# A word of a street's name; a full stop only after an abbreviation ("St. Mary", "Mt."): "Madrid. GP Dr." ends a
# sentence, and read as one name it made "28013 Madrid. GP Dr." an address (Dr for Drive).
_NAME_WORD = r"(?:[A-Z][^\W\d_]*(?:['’.-][^\W\d_]+)*|[A-Z][^\W\d_]{0,2}\.|\d{1,3}(?:st|nd|rd|th))"
_UNIT = rf"(?:,?\s+(?:{'|'.join(_UNIT_WORDS)})\.?\s*#?\s*[A-Za-z0-9-]{{1,6}}(?![\w-])|\s*#\s*\d+[A-Za-z]?(?![\w-]))"
_ENGLISH = (rf"(?<![\w.,/-]){_HOUSE}\s+(?:(?:{'|'.join(_DIRECTIONS)})\.?\s+)?{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}?"
            rf"\s+(?:(?:{'|'.join(_STREET_TYPES)})(?![\w-])|(?:{'|'.join(_STREET_ABBREVIATIONS)})(?![\w-])\.?)(?:\s+(?:{'|'.join(_DIRECTIONS[:8])})(?![\w-]))?{_UNIT}?")
# A street type written first: French, Spanish, Catalan, Italian, Portuguese ("12 rue de Rivoli", "Calle Mayor 5").
_TYPES_FIRST = ("rue avenue boulevard chemin allée impasse quai calle avenida paseo carrer rua travessa praça viale "
                "piazza corso ulica aleja").split()
_PARTICLES = "de du des la le les del da do dos das di della dei delle dello d' l'".split()
_TYPE_FIRST = (rf"(?<![\w-])(?:(?P<house_before>{_HOUSE}),?\s+)?"
               rf"(?:(?i:{'|'.join(_TYPES_FIRST)})|Via|ul\.)\s*"
               rf"(?:(?i:de la|{'|'.join(p for p in _PARTICLES if not p.endswith(chr(39)))})\s+|(?i:d'|l'))*"
               r"[A-ZÀ-Þ][^\W\d_]*(?:['’-][^\W\d_]+)*(?:\s+[A-ZÀ-Þ][^\W\d_]*(?:['’-][^\W\d_]+)*){0,3}"
               rf"(?:,?\s+(?:(?i:n[º°o]\.?)\s*)?(?P<house_after>{_HOUSE})(?![\w-]))?")
# Compound street names (German, Dutch, Scandinavian) and the number after them.
_COMPOUND_SUFFIXES = ("straße strasse str. weg gasse platz allee straat laan plein gracht kade gatan gata vägen väg "
                      "vej veien").split()
_COMPOUND = (rf"(?<![\w-])(?:[A-ZÄÖÜÅØÆ][^\W\d_]*(?:{'|'.join(re.escape(s) for s in _COMPOUND_SUFFIXES)})"
             rf"|[A-ZÄÖÜ][^\W\d_]*\s+(?:Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee))\s+{_HOUSE}(?![\w-])")
_ADDRESS = re.compile(rf"(?P<english>{_ENGLISH})|(?P<first>{_TYPE_FIRST})|(?P<compound>{_COMPOUND})")
# Words before a street type that make the phrase a product, a court or a count, not a street: "5 Google
# Drive files", "the 9 Supreme Court justices", "2 Shared Drive folders".
_NOT_STREET_WORDS = frozenset("""google shared team my our your his her their supreme district county federal appeals
food inner death memory hard solid usb flash disk cloud network external test""".split())


_LOWER_WORD_AFTER = re.compile(r"\s+[a-z]")


def addresses_in_text(text: str) -> Iterator[str]:
    for m in _ADDRESS.finditer(text):
        if m.lastgroup == "first" and not (m.group("house_before") or m.group("house_after")):
            continue  # "Place Vendôme", "rue de Rivoli" with no number: a place, not where someone lives
        if m.group().startswith("Via") and _LOWER_WORD_AFTER.match(text, m.end()):
            continue  # "Via Slack 5 people": English "via", a count; "Via Roma 12, Milano" is a street
        if m.lastgroup == "english" and any(w.casefold() in _NOT_STREET_WORDS for w in re.findall(r"[^\W\d_]+", m.group())):
            continue
        yield m.group().strip()


# --- under a tool argument's key ----------------------------------------------------------------------------

_ID_KEY = re.compile(
    r"(?:^|_)(?:ssn|social_security(?:_number|_no)?|sin|social_insurance_number|passport(?:_no|_number|_id)?"
    r"|national_(?:id|identity|insurance)(?:_number|_no|_card)?|ni_number|nino|tax_(?:id|number|code)|tin|ein|itin"
    r"|tfn|(?:drivers?|driving)_licen[cs]e(?:_number|_no)?|licen[cs]e_(?:number|no)|aadhaa?r(?:_number|_no)?"
    r"|pan(?:_number|_no)?|bsn|personnummer|nhs_(?:number|no)|medicare_(?:number|no)|mrn|medical_record_(?:number|no)"
    r"|patient_(?:id|number)|health_card_number|id_card(?:_number|_no)?|identity_(?:number|card|card_number)|dni|nie|nif"
    r"|resident_(?:id|registration_number)|citizen_id|emirates_id|(?:health_)?insurance_(?:number|no|id)"
    r"|cpf|curp|codice_fiscale|steuer_id|pesel)$")
_DOB_KEY = re.compile(r"(?:^|_)(?:dob|date_of_birth|birth_?date|birthday|born(?:_on)?)$")
_ADDRESS_KEY = re.compile(r"(?:^|_)(?:address(?:_line)?_?\d?|addr|street(?:_address)?|street_line_?\d?|residence)$")
_NOT_ADDRESS_KEY = re.compile(r"(?:^|_)(?:email|e_mail|mail|ip|mac|web|url|wallet|server|host|memory|pointer)(?:_|$)")


def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).casefold().replace("-", "_").replace(" ", "_")


def _keyed_scalars(obj: Any, key: str | None = None) -> Iterator[tuple[str, str]]:
    """(snake_cased key, value as text) for every string and integer under a key, at any depth."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _keyed_scalars(v, _snake(str(k)))
    elif isinstance(obj, list):
        for v in obj:
            yield from _keyed_scalars(v, key)
    elif key is not None and isinstance(obj, (str, int)) and not isinstance(obj, bool):
        yield key, str(obj).strip()


def _street_of(value: str) -> str | None:
    """The street part of an address argument: what the text rules find in it, or else its first
    comma-separated part when that holds a house number and a word ("12 elm st, springfield")."""
    found = list(addresses_in_text(value))
    if found:
        return found[0]
    head = value.split(",")[0].strip()
    if re.fullmatch(rf"{_HOUSE}\s+[^\W\d_][\w'’. -]*|[^\W\d_][\w'’. -]*?\s+{_HOUSE}", head):
        return head
    return None


def values_under_keys(obj: Any) -> dict[str, str]:
    """{value: kind} for identity numbers, birth dates and street addresses under their keys."""
    found: dict[str, str] = {}
    for key, value in _keyed_scalars(obj):
        if _ID_KEY.search(key) and _id_shaped(value) and sum(c.isdigit() for c in value) >= 4:
            found.setdefault(value, ID_NUMBER)
        elif _DOB_KEY.search(key) and _DATE_ONLY.fullmatch(value):
            found.setdefault(value, BIRTH_DATE)
        elif _ADDRESS_KEY.search(key) and not _NOT_ADDRESS_KEY.search(key) and any(c.isdigit() for c in value):
            street = _street_of(value)
            if street:
                found.setdefault(street, ADDRESS)
    return found


def values_in_text(text: str) -> dict[str, str]:
    """{value: kind} for the identity numbers, birth dates and street addresses a text states; where
    CJK runs into a value ("SSN是512-44-9083"), also in the parts between CJK runs."""
    found: dict[str, str] = {}
    for part in dict.fromkeys([text, *cjk_free_parts(text)]):
        for kind, values in ((ID_NUMBER, id_numbers_in_text(part)), (BIRTH_DATE, birth_dates_in_text(part)),
                             (ADDRESS, addresses_in_text(part))):
            for value in values:
                found.setdefault(value, kind)
    return found


def other_forms(value: str, kind: str) -> list[str]:
    """Other spellings of the same value to swap too: an id number without its separators."""
    if kind == ID_NUMBER:
        compact = re.sub(r"[ .-]", "", value)
        if compact != value and len(compact) >= 6:
            return [compact]
    return []


# --- fakes ------------------------------------------------------------------------------------------------


def _digit_stream(digest: bytes) -> Iterator[int]:
    while True:
        for b in digest:
            yield b


def fake_id_number(value: str, digest: bytes) -> str:
    """Every letter a keyed letter (in its case), every digit a keyed digit, separators as written."""
    stream = _digit_stream(digest)
    out = []
    for c in value:
        if c.isdigit():
            out.append(str(next(stream) % 10))
        elif c.isalpha():
            letter = chr(ord("A") + next(stream) % 26)
            out.append(letter.lower() if c.islower() else letter)
        else:
            out.append(c)
    return "".join(out)


def _ordinal(n: int) -> str:
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _month_word(original: str, month: int) -> str:
    """Month `month` written as `original` is: in full or as three letters, in its case."""
    name = MONTHS[month - 1]
    word = name if len(original) > 3 or original.casefold() == "may" else name[:3]
    if original.isupper() and len(original) > 1:
        return word.upper()
    return word.capitalize() if original[:1].isupper() else word


def date_key(value: str) -> str:
    """One spelling of a date for every layout that says it unambiguously ("1987-03-14", "14 March 1987",
    "March 14th, 1987", "14/03/1987": "1987-03-14"), so each layout gets the same fake; the value as
    written where the layout leaves day and month open ("03/04/1987") or names no year."""
    iso = _ISO_DATE.fullmatch(value)
    if iso:
        return f"{int(iso[1]):04d}-{int(iso[3]):02d}-{int(iso[5]):02d}"
    compact = _COMPACT.fullmatch(value)
    if compact:
        return f"{compact[1]}-{compact[2]}-{compact[3]}"
    numeric = _NUMERIC_DATE.fullmatch(value)
    if numeric and len(numeric[5]) == 4 and (int(numeric[1]) > 12) != (int(numeric[3]) > 12):  # one can only be the day
        day, month = (numeric[1], numeric[3]) if int(numeric[1]) > 12 else (numeric[3], numeric[1])
        return f"{int(numeric[5]):04d}-{int(month):02d}-{int(day):02d}"
    month_word = re.search(rf"(?i:{_MONTH})", value)
    year = re.search(r"(?<!\d)\d{4}(?!\d)", value)
    day = re.search(r"(?<!\d)\d{1,2}(?!\d)", re.sub(r"(?<!\d)\d{4}(?!\d)", "", value))
    if month_word and year and day:
        month = next(i for i, name in enumerate(MONTHS, 1) if name.startswith(month_word.group().casefold()[:3]))
        return f"{int(year.group()):04d}-{month:02d}-{int(day.group()):02d}"
    return value


def fake_birth_date(value: str, digest: bytes) -> str:
    """The same format; the year moved by one to three years either way, day and month redrawn from the
    digest alone (the day 1-12, so a numeric date reads right as day/month and as month/day), so the
    same digest gives the same date in every layout."""
    shift = (1 + digest[0] % 3) * (1 if digest[1] % 2 else -1)
    month, day = 1 + digest[2] % 12, 1 + digest[3] % 12

    def year(y: str) -> str:
        return f"{(int(y) + shift) % 100:02d}" if len(y) == 2 else str(int(y) + shift)

    def padded(original: str, n: int) -> str:  # "03" stays two digits, "3" one
        return f"{n:0{len(original)}d}" if original.startswith("0") or len(original) == 2 else str(n)

    iso = _ISO_DATE.fullmatch(value)
    if iso:
        y, sep1, m, sep2, d = iso.groups()
        return f"{year(y)}{sep1}{padded(m, month)}{sep2}{padded(d, day)}"
    compact = _COMPACT.fullmatch(value)
    if compact:  # still eight digits: an integer argument stays an integer of the same length
        return f"{year(compact[1])}{month:02d}{day:02d}"
    numeric = _NUMERIC_DATE.fullmatch(value)
    if numeric:
        a, sep1, b, sep2, y = numeric.groups()
        first, second = (month, day) if int(b) > 12 else (day, month)  # "07/22/1991" is month first
        return f"{padded(a, first)}{sep1}{padded(b, second)}{sep2}{year(y)}"
    out = re.sub(rf"(?i:{_MONTH})(?![^\W\d_])", lambda m: _month_word(m.group(), month), value, count=1)
    out = re.sub(rf"(?<!\d)\d{{1,2}}(?P<suffix>{_ORDINAL})?(?!\d)",
                 lambda m: f"{day}{_ordinal(day) if m.group('suffix') else ''}", out, count=1)
    return re.sub(r"(?<!\d)\d{4}(?!\d)", lambda m: year(m.group()), out, count=1)


_KEEP_IN_ADDRESS = frozenset(w.lower() for w in [
    *_STREET_TYPES, *_STREET_ABBREVIATIONS, *_DIRECTIONS, *_UNIT_WORDS, *_TYPES_FIRST, "Via", *_PARTICLES, "no", "nº",
    "n°", "ul", "Straße", "Strasse", "Str", "Weg", "Gasse", "Platz", "Allee"])


def fake_address(value: str, digest: bytes, street_names: list[str]) -> str:
    """House and unit numbers redrawn (same length), street types, directions, particles and unit words
    kept, each other word of the street's name another name from `street_names`; a compound street name
    keeps its suffix ("Hauptstraße" -> "Ashbrookstraße")."""
    stream = _digit_stream(digest)
    out = []
    previous_number = None
    for tok in re.findall(r"\d+|[^\W\d_]+|[^\w]+|_", value):
        if tok.isdigit():
            first = str(1 + next(stream) % 9) if tok[0] != "0" else "0"
            number = first + "".join(str(next(stream) % 10) for _ in tok[1:])
            out.append(number)
            previous_number = int(number)
            continue
        if tok[:1].isalpha():
            low = tok.lower()  # not casefold: "ß" would become "ss" and the suffix lengths would not add up
            if previous_number is not None and low in ("st", "nd", "rd", "th"):  # "5th": the new number's suffix
                out.append(_ordinal(previous_number) if tok.islower() else _ordinal(previous_number).upper())
            elif low in _KEEP_IN_ADDRESS or len(tok) == 1:
                out.append(tok)
            else:
                suffix = next((s for s in _COMPOUND_SUFFIXES if low.endswith(s.rstrip(".")) and len(low) > len(s)), "")
                stem_len = len(tok) - len(suffix.rstrip("."))
                pick = street_names[int.from_bytes(bytes(next(stream) for _ in range(4)), "big") % len(street_names)]
                pick = pick.upper() if tok[:stem_len].isupper() and stem_len > 1 else (
                    pick.lower() if tok[:1].islower() else pick)
                out.append(pick + tok[stem_len:])
        else:
            out.append(tok)
        previous_number = None
    return "".join(out)

