"""Person names found without a list: what `toolsweep anonymise` swaps besides the `--known` tokens.

A name is only worth swapping when it is found where it is written, and a regex alone cannot tell
"Grace Hopper" from "grace period" or "Paris" the person from the city. So a capitalised span
(1-4 words, with particles such as "van der", "al-", "O'") counts as a person's name only where the
text or the row's structure says so:

1. after an honorific: "Mr. Tanaka", "dr. Ngozi Okonjo-Iweala", "Ms. O'Neill";
2. as a first name followed by a surname: the first word is a first name of the lexicon and the
   last one a surname or first name of it, or shaped like one ("O'Brien", "al-Rashid",
   "McAllister", "Okonjo-Iweala"): "Jean-Luc Picard", "Ahmed al-Rashid", "Zoë O'Brien"; or, after
   a first name that is no surname too, any capitalised word that names no thing ("Arjun Mehta",
   "Kenji Nakamura", but not "Ford Mustang", "Jackson Hole", "Hermes Gateway");
3. after words that take a person (not "from", "with" or "to" alone: places follow them too):
   "ask Priya", "cc: Li Wei", "talked to van der Berg", "Remind Olusegun" (any capitalised word but an
   ordinary one or an addressee that is no person: "email Support", "ask Siri", "text Mom"),
   "Call Anne-Marie", "Dear María José,"; after a greeting only a lexicon first name ("Hi Sam!");
   a sign-off ending a message ("Thanks, Siobhán"); or before "et al.";
4. before a mailbox ("Aigerim Nurlanovna <aigerim@example.kz>"), after a relation ("my father
   Venkatesh Iyer", "her wife Ana"), or as a transcript's speaker: a line-opening label where two
   lines or more are labelled ("Lars: anyone seen it?", "[09:12] Ana Lima: on it"; in lower case
   only a lexicon first name, "siddharth: ok"; never a role or field such as "User:", "Note:");
5. as a tool argument under a person's key ("attendees", "assignee", "recipient", "first_name", ...),
   or under a looser one ("name", "to", "contact", ...) when it starts with a lexicon first name
   (not a room, team or tool: "Conference Room Lincoln");
6. as the owner of a `first.last@` mailbox ("sanjay.patel@example.in" → "Sanjay Patel"), a writer naming
   themselves ("Hi, Peregrine here", "This is Ana Lima from billing"), a full name in capitals whose
   words are a listed first name and surname ("CALL MARGARET THOMPSON"), or a full name after the
   capitalised word that opens a sentence ("Yesterday Priya Nair called");
7. a lexicon first name alone, capitalised, with no cue ("check if Priya approved it", "send it to
   Marcus", "Did Lars reply?", "Get Priya's calendar"), unless it is a place (the time-zone database's
   cities, US states, countries, and cities Faker also lists as first names: "weather for Hobart", "fly to
   Bergen"), a product or brand named like a person ("migrate to Aurora", "a Dell laptop"), after a
   place preposition or an article ("in", "near", "the"), before a number ("Lexus 350"), or a lone
   argument value (rule 5 reads those); where it opens a sentence or a quotation only before a comma, a
   possessive or a verb that takes a person ("Priya, can you", "Lars replied"; not "'Yoga class'").

The lexicon is the first names and surnames of Faker's person providers (MIT; 86 locales, in Latin,
Cyrillic and Greek script: a CJK name has no word edges to match on, an Arabic one no capitals). Lexicon words that are also ordinary
English words or places ("May", "Will", "Case", "Paris", "Berlin") never count as a first name by
themselves (rules 2-4), only after an honorific or as a surname.

A lexicon first name typed in lower case counts only right after such a cue ("ask priya", "text
dmitri"), never after a greeting.

What is not found: any other name in lower case ("lunch with jennifer"), a name with no cue that is no
lexicon first name ("Olumide is out") or is also a place or a product ("Charlotte approved it"), a
surname alone with no cue, a name in a script without capitals or word spaces. List those in the
known-tokens file; the survival check then holds the output to them as well.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
import unicodedata
from typing import Any, Iterable, Iterator

from orchestrator.data import cjk

# Ordinary words, months, places and titles that Faker also lists as first names: never a first name alone.
NOT_FIRST_NAMES = frozenset("""
may will bill mark grant rose june april august summer hope joy faith page long young white black brown green
gray grey king hill wood stone rich ray dean bell chase cook frank guy hunter lane love major mason miles moon
park price reed rock sky star sun wolf fox day little north west south law case art sage ash jack rob pat sue san santa santo mercedes
val ivy iris lily daisy dawn eve faye gale holly amber autumn river storm can per else man son van le an do
ha ta to in on at be is it so no yes we me he she my our his her its all any one two more most best well
paris berlin london dallas denver austin florence victoria sydney chelsea georgia jordan madison lincoln
phoenix orlando houston boston york kent devon india china asia africa america israel jersey brooklyn
memphis nashville savannah virginia carolina dakota montana nevada sierra eden zion lourdes lorraine
monday tuesday wednesday thursday friday saturday sunday january february march july september october
november december spring winter christmas easter noel
team support sales admin office manager director user customer client guest staff all everyone sir madam
happy sunny lucky rusty sandy misty cherry candy ginger pepper honey crystal diamond pearl ruby jade
justice liberty unity harmony melody destiny trinity genesis serenity royal king prince princess duke
grace patience charity prudence constance verity honor honour felicity mercy precious angel baby
""".split())

# Who a request is addressed to that is not a person ("email Support", "ask Siri", "text Mom").
NOT_PEOPLE = frozenset("""mom mum dad mother father grandma grandpa granny nana papa mama siri alexa google cortana
chatgpt gemini claude copilot uber lyft support sales legal finance hr it ops security marketing engineering design
product admin team everyone all reception helpdesk service billing accounting management it's me him her them us
unassigned nobody none unknown anyone someone tbd tba pending
""".split())
GREETINGS = ("hi", "hello", "hey", "morning", "good morning", "good afternoon", "hola", "olá", "ola", "hallo",
             "bonjour", "salut", "ciao", "hej", "hei", "merhaba", "buenos días", "buenos dias", "bom dia", "boa tarde",
             "guten tag", "guten morgen", "cześć", "dzień dobry")
# Whom a greeting addresses that is no person: "Hi folks,", "Hello world!".
GROUP_ADDRESSEES = frozenset("folks guys everybody there friends world again both y'all yall people gang crew fam "
                             "peeps all everyone team".split())
HONORIFICS = ("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "mme", "mlle",
              "herr", "frau", "sr", "sra", "srta", "sgt", "capt", "rev", "judge", "officer", "detective")
PARTICLES = frozenset("van von de da del della der den di du la le al el bin ibn bint ter ten dos das".split())
# Words after which a capitalised span is a person (lower-cased, single spaces; matched right before it).
# Not "called" ("an event called Budget review") nor "from" / "with" / "to" alone (places follow them).
PERSON_CUES = ("ask", "asked", "tell", "told", "call", "email", "emailed", "e-mail", "message",
               "messaged", "text", "texted", "ping", "pinged", "remind", "invite", "invited", "cc", "bcc",
               "thank", "thanked", "meet", "met", "meeting with", "talk to", "talked to", "talk with",
               "talked with", "speak to", "speak with", "spoke to", "spoke with", "chat with", "chatted with",
               "lunch with", "dinner with", "coffee with", "call with", "sync with", "1:1 with", "assign to",
               "assigned to", "reassign to", "hand it to", "hand over to", "reply to", "dear", "hi", "hello",
               "hey", "good morning", "good afternoon", "morning", "attn", "attention", "my name is",
               "name is", "i'm", "i am", "signed by", "reported by", "requested by", "approved by", "notices to",
               # family and people one knows: "my father Venkatesh", "her wife Ana" ("partner" and
               # "client" alone precede companies as often: "our partner Stripe")
               "father", "mother", "dad", "mum", "mom", "wife", "husband", "son", "daughter", "brother",
               "sister", "fiancé", "fiance", "fiancée", "fiancee", "girlfriend", "boyfriend", "cousin", "aunt",
               "uncle", "nephew", "niece", "grandson", "granddaughter", "grandmother", "grandfather", "grandma",
               "grandpa", "stepson", "stepdaughter", "spouse", "friend", "colleague", "coworker", "co-worker",
               "boss", "roommate", "flatmate", "neighbour", "neighbor", "teammate", "my partner", "her partner",
               "his partner", "their partner", "my manager", "my doctor", "my dentist", "my lawyer", "my tutor",
               # introductions in other languages: "ich bin Kerstin", "me llamo Ana", "je m'appelle Luc"
               "ich bin", "ich heiße", "me llamo", "mi nombre es", "je m'appelle", "meu nome é", "mi chiamo",
               "nazywam się", "benim adım")
PERSON_CUES += tuple(g for g in GREETINGS if g not in PERSON_CUES)  # "hola Ana", "Hallo Dietlinde"
SIGN_OFFS = ("thanks", "thank you", "many thanks", "cheers", "best", "best regards", "regards", "kind regards",
             "warm regards", "sincerely", "yours", "yours truly", "love", "warmly", "cordially", "all the best",
             "talk soon", "see you", "viele grüße", "beste grüße", "liebe grüße", "mit freundlichen grüßen", "grüße",
             "saludos", "un saludo", "atentamente", "cordialement", "bien à vous", "amicalement", "atenciosamente",
             "abraços", "obrigado", "obrigada", "gracias", "danke", "merci", "cordiali saluti", "saluti",
             "pozdrawiam", "saygılarımla", "teşekkürler")
# Tool-argument keys whose string values are people; the looser ones need a lexicon first name.
PERSON_KEYS = frozenset("""first_name last_name full_name given_name family_name surname contact_name
customer_name patient_name employee_name guest_name owner_name sender_name recipient_name attendee attendees
participant participants invitee invitees assignee assignees recipient recipients reviewer reviewers patient
guest guests employee person people speaker speakers requester reporter author authors manager
passenger passengers traveler travelers traveller travellers candidate candidates interviewer interviewers
applicant applicants student students signatory signatories witness witnesses display_name real_name
displayname realname author_name from_name to_name sender_display_name cardholder cardholder_name account_holder
emergency_contact next_of_kin spouse watcher watchers approver approvers backup_owner on_call oncall on_call_engineer
mentor mentee supervisor employees colleague colleagues teammate teammates
apellido apellidos nombre_completo primer_apellido segundo_apellido sobrenome nome_completo prenom prénom vorname
nachname familienname cognome""".split())  # Spanish, Portuguese, French, German, Italian forms
# A company or a department sits under these as often as a person ("customer": "Victoria Falls Tours Ltd",
# "doctor": "Radiology"): a person only when the value reads as one (_person_like).
LOOSE_PERSON_KEYS = frozenset("name names to cc bcc contact contacts owner user member members host organizer "
                              "organiser sender with customer customers client doctor physician nurse tenant "
                              "landlord buyer seller beneficiary created_by updated_by assigned_to submitted_by "
                              "requested_by approved_by holder driver".split())

# Computed once: the name checks run on every capitalised span of every string of a dataset.
_NEVER_A_NAME = NOT_FIRST_NAMES | NOT_PEOPLE


@functools.lru_cache(maxsize=1)
def ordinary_words() -> frozenset[str]:
    """Common English words (Faker's en_US word list, ~1000): a capitalised one opens a sentence
    ("Add Nguyen Van Hung ...", "Forward ...") or names a thing, even where a locale lists it as a first
    name ("Add", "Chance", "Doctor"); never a first name on its own, never a bare surname."""
    return english_words() | _NEVER_A_NAME


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Faker's en_US word list alone (without the first-name look-alikes such as "Wood", which are
    surnames too)."""
    from faker.providers.lorem.en_US import Provider

    return frozenset(w.casefold() for w in Provider.word_list) | _PLACE_WORDS


@functools.lru_cache(maxsize=1)
def thing_words() -> frozenset[str]:
    """Words that name things, places, firms and roles rather than families: English words, Faker's
    street suffixes, company catch-phrase words, buzzwords and suffixes, the words of its job titles,
    and software nouns. After a first name they make a product or a place ("Hermes Gateway", "Iris
    Studio", "Luna Park"), not a surname."""
    from faker.providers.address.en_US import Provider as Address
    from faker.providers.company.en_US import Provider as Company
    from faker.providers.job.en_US import Provider as Job

    words = set(_SOFTWARE_WORDS) | {w.casefold() for w in Address.street_suffixes}
    for group in (*Company.catch_phrase_words, *Company.bsWords, Company.company_suffixes, Job.jobs):
        for phrase in group:
            words.update(w.casefold() for w in _WORD.findall(phrase))
    words |= _ORG_WORDS
    words |= {w[:-1] for w in words if w.endswith("s")}  # "Brooks" and "Brook", "Labs" and "Lab"
    return frozenset(words) | ordinary_words()


# What follows a person's name in an institution, a prize or a building named after one ("Alan Turing
# Institute", "Nobel Prize", "Martin Luther King Memorial").
_ORG_WORDS = frozenset("""institute foundation university college academy school hospital clinic museum gallery library
society association trust ministry agency corporation company award awards prize fellowship scholarship memorial
stadium arena theatre theater center centre hall airport station bridge park day fund""".split())


_SOFTWARE_WORDS = frozenset("""gateway dashboard pipeline server cluster service services api apis proxy engine studio
cloud labs lab analytics runner bot app apps platform portal monitor agent hub desk console cli sdk bridge router
worker scheduler queue cache database db store storage vault registry mesh stack kit toolkit works ops devops
suite core cloudops assistant copilot pilot beta alpha prod staging dev sandbox release edition pro plus max
mini lite air one go net web mobile desktop online live connect sync link flow flows board boards sheet sheets
docs drive mail chat meet calendar notes tasks harbour harbor wharf quay pier marina""".split())


# What follows a name-like word in a place or a building, not a surname: "Baker Street", "Union Station".
_PLACE_WORDS = frozenset("street st road rd avenue ave lane drive boulevard blvd way square place court plaza "
                         "station airport hospital bridge tower hall building cluster server".split())
_CUES_LONGEST_FIRST = sorted(PERSON_CUES, key=len, reverse=True)  # "reassign to" before "assign to"
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


def ordinary(word: str) -> bool:
    """An ordinary English word (or its plural): "The", "Operations", "Service" are no name."""
    folded = _fold(word)
    return folded in ordinary_words() or (folded.endswith("s") and folded[:-1] in ordinary_words())


def _alphabetic_script(word: str) -> bool:
    """Latin, Cyrillic or Greek letters: scripts written with spaces between words and capitals, so the
    rules that read a capitalised first name and surname apply ("Ольга Петрова"). Names in scripts
    without word spaces (CJK) or capitals (Arabic) have no edges or case to match on."""
    return all(unicodedata.name(c, "").startswith(("LATIN", "CYRILLIC", "GREEK")) or c in "'’-" for c in word)


def _latin(word: str) -> bool:
    return all(unicodedata.name(c, "").startswith("LATIN") or c in "'’-" for c in word)


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c)).casefold()


def _person_providers(locales: Iterable[str] | None = None) -> Iterator[type]:
    """Faker's person-name Provider of each locale (of every locale Faker ships when None); a locale
    module that does not load is skipped."""
    import faker.providers.person as person

    names = locales if locales is not None else (m.name for m in pkgutil.iter_modules(person.__path__))
    for name in names:
        try:
            yield importlib.import_module(f"{person.__name__}.{name}").Provider
        except (ImportError, AttributeError):
            continue


@functools.lru_cache(maxsize=1)
def lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames), accent-folded and case-folded, from Faker's person providers."""
    firsts: set[str] = set()
    lasts: set[str] = set()
    for provider in _person_providers():
        # Every list of given and family names a provider keeps: gendered forms ("Петрова", "Nováková"),
        # middle names, romanised ones beside the native script (ja_JP's "Sato", zh_CN's "Wei"), and the
        # lists some locales split by community (hi_IN's, et_EE's, ...); pairs as tuples of spellings.
        for attr in dir(provider):
            if attr.startswith("_") or "names" not in attr and "name_pairs" not in attr:
                continue
            into = firsts if ("first" in attr or "middle" in attr) else lasts if "last" in attr else None
            values = getattr(provider, attr, None)
            if into is None or not isinstance(values, (dict, list, tuple, set, frozenset)):
                continue
            spellings = (v for item in values for v in (item if isinstance(item, tuple) else (item,)))
            into.update(_fold(v) for v in spellings if isinstance(v, str) and len(v) >= 2 and _alphabetic_script(v))
    return frozenset(firsts), frozenset(lasts)


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and not (len(word) > 1 and word.isupper())


def _particle_surname(word: str) -> bool:
    """ "al-Rashid", "el-Amin", "bin-Laden": a lower-case particle joined to a capitalised surname."""
    head, sep, tail = word.partition("-")
    return bool(sep) and head.casefold() in PARTICLES and _capitalised(tail)


def _surname_shaped(word: str) -> bool:
    return (_particle_surname(word) or bool(re.match(r"(?:O['’]|Mc|Mac|Fitz)[A-Z]", word))
            or ("-" in word and all(_capitalised(p) for p in word.split("-"))))


def _second_name(word: str) -> bool:
    """A capitalised word after a first name that can be its surname: a lexicon surname or first name,
    surname-shaped, or a Latin-script word with diacritics that is no ordinary word ("Ira Wójcik",
    "Světlana Nováková"). A plain-ASCII word outside the lexicon is not enough: "Aurora Cluster"."""
    folded = _fold(word)
    firsts, lasts = lexicon()
    if folded in english_words():  # "Baker Street", "Aurora Cluster": a thing, not a surname
        return False
    return (folded in lasts or folded in firsts or _surname_shaped(word)
            or (_capitalised(word) and _latin(word) and not word.isascii() and folded not in ordinary_words()))


def _unlisted_surname(word: str) -> bool:
    """A capitalised word of letters outside the lexicon that names no thing: after a lexicon first name
    that is no surname too, the lexicon's gaps ("Arjun Mehta", "Kenji Nakamura", "Thandiwe Mokoena":
    Faker lists their surnames in other scripts or not at all). A first name that is also a surname
    opens brands and places as often ("Ford Mustang", "Jackson Hole")."""
    return (_capitalised(word) and word.isalpha() and len(word) >= 3 and _latin(word)
            and _fold(word) not in thing_words()
            and (word[1:].islower() or _surname_shaped(word)))  # "Dell PowerEdge": an inner capital makes a product


def is_first_name(word: str) -> bool:
    """A lexicon first name that is not also an ordinary word or a place ("Anne-Marie": its first part)."""
    first = word.split("-")[0]
    return _fold(first) not in ordinary_words() and _fold(first) in lexicon()[0] and _capitalised(first)


def _spans(text: str) -> Iterable[list[re.Match]]:
    """Every maximal run of capitalised words (particles allowed inside, or leading) joined by single spaces."""
    words = list(_WORD.finditer(text))
    i = 0
    while i < len(words):
        if not _name_word(words[i].group()):
            i += 1
            continue
        j = i + 1
        while j < len(words) and text[words[j - 1].end():words[j].start()] in (" ", ". " * _ends_in_initial(words[j - 1])) \
                and _name_word(words[j].group()):
            j += 1
        run = words[i:j]
        while run and run[-1].group().casefold() in PARTICLES:  # a name does not end on "van"
            run.pop()
        if run:
            yield run
        i = j


def _ends_in_initial(word: re.Match) -> bool:
    """ "J" of "Robert J. Kowalski", "Hans-H" of "Hans-H. Köhler": a capital alone, or after a hyphen, that
    a full stop follows; the name goes on after it."""
    return bool(re.fullmatch(r"(?:[^\W\d_]+-)?[A-Z]", word.group())) and word.string[word.end():word.end() + 1] == "."


_PRONOUN_I = frozenset("i i'm i’m i'll i’ll i've i’ve i'd i’d".split())


def _name_word(word: str) -> bool:
    if word.casefold() in _PRONOUN_I:  # "tell Svetlana I'm late": the pronoun ends the name
        return False
    return _capitalised(word) or word.casefold() in PARTICLES or _particle_surname(word)


def _trim(words: list[str], most: int = 4) -> list[str]:
    """The name part of a span: at most `most` name words (particles ride along), leading particles kept."""
    out, count = [], 0
    for w in words:
        if w.casefold() not in PARTICLES:
            if count == most:
                break
            count += 1
        out.append(w)
    return out


def _cue_before(text: str, start: int) -> str | None:
    before = re.sub(r"\s+", " ", text[max(0, start - 40):start]).casefold().rstrip(" :,")
    for cue in _CUES_LONGEST_FIRST:
        if before.endswith(cue) and not before[-len(cue) - 1:-len(cue)].isalnum():
            return cue
    return None


# Capitalised words that open a sentence before a name ("Ask Priya", "Dear María José", "Thanks Sam"):
# cut off the span, they are the cue.
_LEADING_CUES = frozenset(c for c in PERSON_CUES + SIGN_OFFS + HONORIFICS if " " not in c) | {"please", "and", "or",
                                                                                          "also"} \
    | {"ich", "je", "me", "mi", "meu"}  # the first words of "ich bin", "je m'appelle", "me llamo", "mi chiamo", ...


# "Dr Ngozi", "DR. NGOZI", "dr. Ngozi", but not "3126 ms\nEscalate": lower case needs its full stop.
_HONORIFIC_BEFORE = re.compile(r"\b(?:" + "|".join(
    f"{h.capitalize()}\\.?|{h.upper()}\\.?|{h}\\." for h in HONORIFICS) + r")[ \t]+$")
_SIGN_OFF_BEFORE = re.compile(r"(?i)(?:^|[\n.!])\s*(?:" + "|".join(re.escape(s) for s in SIGN_OFFS) + r")\s*[,!]?\s*$"
                              r"|(?:^|\n)[ \t]*(?:—|–|--)[ \t]*$")  # "— Ifeoma" on its own line


def _names_no_one(word: str) -> bool:
    """An ordinary word, an addressee that is no person ("Support"), or a word that names a thing."""
    return ordinary(word) or _fold(word) in NOT_PEOPLE or _fold(word) in thing_words()


def _listed_or_accented(word: str) -> bool:
    """A lexicon first name or surname, or a word written with letters beyond ASCII ("Siobhán", "Ольга")."""
    firsts, lasts = lexicon()
    return _fold(word) in firsts or _fold(word) in lasts or not word.isascii()


def _could_sign(core: list[str]) -> bool:
    """Whether the words after a sign-off can be a person: no word names a thing ("Acme Logistics"), and
    a single word is a lexicon name, written with diacritics ("Siobhán"), or at least no two English words
    run together ("Padraig", not "Northwind"). "Best,\nNorthwind" signs for a company, and swapping it as
    a person rewrote the company's name in every row of the file."""
    if any(_fold(w) in thing_words() for w in core):
        return False
    return len(core) >= 2 or _listed_or_accented(core[0]) or not _compound(core[0])


def _compound(word: str) -> bool:
    """Two English words run together, as firms name themselves ("Northwind", "Brightpath"); "Padraig" is none."""
    folded = _fold(word)
    words = english_words()
    return any(folded[:i] in words and folded[i:] in words for i in range(3, len(folded) - 2))


_EMAIL = re.compile(r"(?<![\w.+-])([^\W\d_]{3,}|[^\W\d_]{2,}-[^\W\d_]{2,})[._]([^\W\d_]{3,})\d{0,4}"
                    r"@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")  # "seo-yeon.choi@": a hyphenated given name too


def names_in_emails(text: str) -> dict[str, None]:
    """The person a `first.last@` mailbox names: "sanjay.patel@example.in" → "Sanjay Patel", when neither
    part is an ordinary word ("data.team@", "build.alerts@") or an addressee that is no person, and one
    is a lexicon name. The rows that carry a mailbox often carry its owner's name beside it ("Sanjay
    Patel accepted"), where no cue marks it."""
    firsts, lasts = lexicon()
    found: dict[str, None] = {}
    for m in _EMAIL.finditer(text):
        first, last = m.group(1), m.group(2)
        if _names_no_one(first) or _names_no_one(last):
            continue
        if _fold(first) in firsts or _fold(last) in lasts:
            found[f"{first.capitalize()} {last.capitalize()}"] = None
            found[f"{first.title()} {last.capitalize()}"] = None  # "Seo-yeon" or "Seo-Yeon", as rows write it
    return found


# Rule 7: a lexicon first name alone, with no cue ("Priya approved it", "send it to Marcus", "Did Lars
# reply?"). Not a first name alone: a city, state or country ("weather for Hobart", "fly to Bergen"), a
# product or brand that Faker also lists as a first name ("migrate to Aurora", "a Dell laptop"), a word
# after a place preposition or an article, a word before a number ("Lexus 350"); at a sentence's start
# only before a comma, a possessive or a verb that takes a person ("Priya, can you", "Lars replied").
_PLACE_BEFORE = frozenset("in at near into across around toward towards outside inside through via visit visiting "
                          "the a an".split())
_PERSON_VERBS = frozenset("""is was has had said says wants wanted needs needed asked asks called calls knows knew
thinks thought approved approves sent sends replied replies joined joins left mentioned wrote writes will would can
could should might must did does emailed texted booked shared told tells confirmed confirms agreed agrees and""".split())
_NOT_PEOPLE_NAMED_LIKE_PEOPLE = frozenset("""apollo athena atlas aurora cassandra ember haskell hermes hudson hugo jasper
loki mimir nova odin orion pascal thor travis vega arch bentley bose chanel dell dove gibson harley hilton kia lexus
porsche marshall ford""".split())
# Cities that Faker also lists as first names, beside the time-zone cities (a person's name more often
# than a city's, such as Eugene, Tyler or Pierre, is left out).
_CITIES_NAMED_LIKE_PEOPLE = frozenset("""alexandria atlanta augusta basel bergen bradford bristol cali charlotte cheyenne
cleveland columbia columbus dayton geneva hamilton helena irvine jackson kingston kobe lafayette milan modesto
montgomery odessa olympia raleigh reno richmond salvador trenton valencia venice verona washington wellington""".split())


@functools.lru_cache(maxsize=1)
def places() -> frozenset[str]:
    """Accent-folded, case-folded one-word places: the cities of the time-zone database, US states, countries."""
    import zoneinfo

    from faker.providers.address.en_US import Provider as Address

    words = {_fold(z.rsplit("/", 1)[-1].replace("_", " ")) for z in zoneinfo.available_timezones()}
    words |= {_fold(s) for s in (*Address.states, *Address.countries)}
    return frozenset(words) | _CITIES_NAMED_LIKE_PEOPLE


_QUOTES_OPENING = "\"'(“‘"
_WORD_CHAR = re.compile(r"\w")
_LETTER = re.compile(r"[^\W\d_]")
# After a first name alone: what rules it out, and what at a sentence's start rules it in. Matched at a
# position (pattern.match(text, end)), not on a slice: names_in_text runs over 100 KB long-context texts,
# where slicing the rest of the text for every candidate made rule 7 quadratic (0.6 s → 10.7 s).
_NOT_A_NAME_AFTER = re.compile(r"[ \t]*\d|[-@/_]|\.\w")            # "Lexus 350", "Lorenzo.txt", a path
_PERSON_AFTER = re.compile(r"['’]s\b|[ \t]*,")                     # "Priya's", "Priya, can you"
_VERB_AFTER = re.compile(r"[ \t]+([a-z]+)")


def _opens_sentence(text: str, start: int) -> bool:
    """Whether text[start:] opens a sentence, a line or a quotation ("Put 'Yoga class' on ..."): right
    after an opening quote, or after the text's start or a full stop, colon or line break, then spaces,
    then opening quotes. Walked back from `start`: no copy of the text before it."""
    if start and text[start - 1] in _QUOTES_OPENING:
        return True
    i = start
    while i and text[i - 1] in " \t":
        i -= 1
    return i == 0 or text[i - 1] in ".!?\n:"


def _word_before(text: str, start: int) -> str | None:
    """The letters right before `start` past any non-word characters ("flight to" → "to"), or None when a
    digit or underscore stands there instead."""
    i = start
    while i and not _WORD_CHAR.match(text[i - 1]):
        i -= 1
    j = i
    while j and _LETTER.match(text[j - 1]):
        j -= 1
    return text[j:i] if j < i else None


def _alone_first_name(text: str, start: int, end: int, word: str) -> bool:
    """Rule 7 for the capitalised word text[start:end] of a text of three words or more (a lone argument
    value, "Kenji", is rule 5's to read)."""
    folded = _fold(word)
    if len(word) < 3 or not is_first_name(word) or folded in _NEVER_A_NAME or folded in thing_words() \
            or folded in places() or folded in _NOT_PEOPLE_NAMED_LIKE_PEOPLE:
        return False
    if _NOT_A_NAME_AFTER.match(text, end) or text[start - 1:start] in ("@", "/", "#", "-", ".", "_"):
        return False  # a model number, a path, an address
    if _opens_sentence(text, start):
        verb = _VERB_AFTER.match(text, end)
        return bool(_PERSON_AFTER.match(text, end) or (verb and verb.group(1) in _PERSON_VERBS))
    previous = _word_before(text, start)
    return previous is None or previous.casefold() not in _PLACE_BEFORE


# Brands, shows and characters named with an honorific ("Dr Pepper", "MR. CLEAN MAGIC ERASER", "mr. robot"):
# the word after the honorific is theirs, not a person's.
_HONORIFIC_BRANDS = frozenset("""pepper martens oetker scholl scholl's clean muscle coffee bronner's proper baird's
robot bean who dash pac-man potato kipling layton freeze fix sheen""".split())
# Nouns that make the name before them a paper, a firm, a place or a day named after a person, not the person.
_NAMED_AFTER_PEOPLE = frozenset("""post times journal herald tribune gazette chronicle enterprises industries holdings
group inc corp ltd llc plc gmbh company co hospital clinic university college school academy institute foundation
hotel hotels airlines airways bank capital partners ventures labs studios records motors foods city stadium
arena airport memorial award prize trophy""".split())  # not "park", "day": Ji-woo Park, Doris Day
# After a name that ends in Jr. or Sr., "Day" too: "Martin Luther King Jr. Day".
_THING_AFTER = re.compile(r"\.?[ \t]+(?:Day|" + "|".join(w.capitalize() for w in _NAMED_AFTER_PEOPLE) + r")(?![\w'’-])")


# Names in scripts without capitals, where the capitalised-span rules see nothing: after an honorific
# ("Dr. 李娜", "Mr. 陈志强", "السيد محمد الشمري", "г-н Смирнов"), and a CJK surname before a form of
# address ("王小明先生", "佐藤さん", "김민수 님").
_CJK_RUN = f"[{cjk.RANGES}]{{1,4}}"
_ARABIC_WORD = r"[\u0600-\u06ff]{2,}"
_LATIN_HONORIFIC = r"\b(?:" + "|".join(f"{h.capitalize()}\\.?|{h}\\." for h in HONORIFICS) + r")[ \t]*"
_CASELESS_AFTER_HONORIFIC = re.compile(
    _LATIN_HONORIFIC + rf"({_CJK_RUN}(?:[ \u3000]{_CJK_RUN})?|{_ARABIC_WORD}(?:[ \t]+{_ARABIC_WORD}){{0,2}})"
    r"|(?:السيد|السيدة|الدكتور|الدكتورة|الأستاذ|الأستاذة)[ \t]+" + rf"({_ARABIC_WORD}(?:[ \t]+{_ARABIC_WORD}){{0,2}})"
    r"|(?<![\w-])(?:г-н|г-жа|господин|госпожа)\.?[ \t]+([А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?(?:[ \t]+[А-ЯЁ][а-яё]+){0,2})")


@functools.lru_cache(maxsize=1)
def _cjk_before_address() -> re.Pattern:
    """A CJK surname (Faker's zh, ja and ko lists), up to two given-name characters, then 先生/女士/さん/様/님/씨."""
    surnames: set[str] = set()
    for provider in _person_providers(("zh_CN", "zh_TW", "ja_JP", "ko_KR")):
        surnames.update(v for v in getattr(provider, "last_names", ()) if isinstance(v, str) and cjk.CJK.search(v))
    alternatives = "|".join(map(re.escape, sorted(surnames, key=len, reverse=True)))
    return re.compile(rf"((?:{alternatives})[{cjk.RANGES}]{{0,2}})[ ]?(?=先生|女士|小姐|さん|様|氏|님|씨)")


# Where a CJK name written against the next word ends: a form of address or a particle ("Mr. 陈志强先生",
# "Dr. 李娜说", "田中さんに"); the run after an honorific is cut there.
_CJK_NAME_END = re.compile(r"先生|女士|小姐|老师|医生|さん|様|氏|님|씨|[的说是在和与给にはがをのとへ에은는이가]")


def caseless_names(text: str) -> set[str]:
    found = set()
    for m in _CASELESS_AFTER_HONORIFIC.finditer(text):
        group = next(i for i, g in enumerate(m.groups(), 1) if g)
        start, end = m.span(group)
        if cjk.CJK.search(m.group(group)):  # looked for in the text: "先生" may straddle the run's end
            cut = _CJK_NAME_END.search(text, start + 1, end + 1)
            end = min(end, cut.start()) if cut else end
        name = text[start:end].strip()
        if len(name) >= 2:  # one CJK character alone ("Dr. 王") would be swapped in every word holding it
            found.add(name)
    if cjk.CJK.search(text):
        found |= {m.group(1) for m in _cjk_before_address().finditer(text)}
    return found


def names_in_text(text: str) -> dict[str, str | None]:
    """Person names in one string, by rules 1-4 of the module docstring: {name: "last" when a single
    word is known to be a surname (after an honorific, before "et al."), else None}."""
    found: dict[str, str | None] = {}
    firsts, lasts = lexicon()
    sentence_like = len(_WORD.findall(text)) >= 3  # rule 7 reads running text, counted once per text
    previous_end = -1
    for run in _spans(text):
        while run and run[0].group().casefold() in _LEADING_CUES:
            run = run[1:]
        if len(run) >= 2 and run[0].group().casefold() in PARTICLES \
                and (_cue_before(text, run[1].start()) or "").endswith(run[0].group().casefold()):
            run = run[1:]  # "ich bin Kerstin": "bin" ends the cue, it is no particle of the name here
        # A sentence's capitalised first word before a full name ("Yesterday Priya Nair called", "Это Ольга
        # Петрова"): the name is the rest, when the rest opens with a first name and its surname. Not after an
        # honorific ("Mrs. Bich Ngoc Pham" is all name) nor a listed surname: a family name written first
        # ("Nguyễn Thị Hương") kept its real part beside the fakes of the other two.
        surname_first = False
        while len(run) >= 3 and not is_first_name(run[0].group()) and is_first_name(run[1].group()) and (
                _second_name(run[2].group()) or (_fold(run[1].group()) not in lasts and _unlisted_surname(run[2].group()))) \
                and not _HONORIFIC_BEFORE.search(text[max(0, run[0].start() - 12):run[0].start()]):
            if _fold(run[0].group()) in lasts and not ordinary(run[0].group()):
                surname_first = True
                break
            run = run[1:]
        if not run:
            continue
        start, end = run[0].start(), run[-1].end()
        # an initial keeps its full stop, so the name is found as the text writes it ("Hans-H. Köhler")
        words = [w.group() + "." * (i < len(run) - 1 and _ends_in_initial(w)) for i, w in enumerate(run)]
        if re.search(r"['’]s$", words[-1]):  # "Mr. Georgiou's address": the name is "Georgiou"
            words[-1], end = words[-1][:-2], end - 2
        if (len(words) >= 2 and words[-1].casefold() in _NAMED_AFTER_PEOPLE) or (
                words[-1] in ("Jr", "Sr") and _THING_AFTER.match(text, end)):
            continue  # "the Washington Post", "Wayne Enterprises", "Ho Chi Minh City", "Martin Luther King Jr. Day"
        while len(words) >= 3 and _fold(words[-1]) in thing_words() and _fold(words[-1]) not in lexicon()[1]:
            words, end = words[:-1], run[len(words) - 2].end()  # "Alan Turing Institute": the name is "Alan Turing"
        core = [w for w in words if w.casefold() not in PARTICLES]
        if not core:
            continue
        name = " ".join(_trim(words))
        role = "last" if len(name.split()) == 1 else None
        honorific = _HONORIFIC_BEFORE.search(text[max(0, start - 12):start])
        cue = _cue_before(text, start)
        particle_led = words[0].casefold() in PARTICLES or _particle_surname(words[0])
        joined = previous_end >= 0 and re.fullmatch(r",? (?:and|&|or) |[,;] ", text[previous_end:start]) is not None
        if honorific and _fold(name) in _HONORIFIC_BRANDS:              # "Dr. Pepper", "Mr. Clean": products
            continue
        if honorific:                                                   # rule 1
            found[name] = role
        elif surname_first:                                             # rule 2, the family name first
            found[name] = None
        elif len(core) >= 2 and is_first_name(words[0]) and (_second_name(core[1]) or (
                _fold(words[0]) not in lasts and _unlisted_surname(core[1]))):
            found[name] = None                                          # rule 2
        elif _MAILBOX_AFTER.match(text, end) and _fold(core[0]) not in NOT_PEOPLE \
                and not all(ordinary(w) for w in core):                # "Mei Ling Wong <mei@example.com>"
            found[name] = None
        elif (cue or joined) and len(core) >= 2 and _fold(core[0]) not in NOT_PEOPLE and (
                _fold(core[1]) in lasts or _surname_shaped(core[1])):   # "cc Will Thompson and Grace Okonkwo"
            found[name] = None
        elif cue == "dear" and len(core) >= 2 and _fold(core[0]) in firsts and _fold(core[0]) not in NOT_PEOPLE \
                and (_second_name(core[1]) or _unlisted_surname(core[1])):  # "Dear Grace Hopper": a letter's addressee
            found[name] = None
        elif cue in GREETINGS and len(core) == 1 and re.match(r"[ \t]*[,!]", text[end:]) \
                and _fold(core[0]) not in NOT_PEOPLE | GROUP_ADDRESSEES and not ordinary(core[0]) \
                and _fold(core[0]) not in thing_words():  # "hi Sipho!": an addressee outside the lexicon too
            found[name] = None  # (not "Hi Grace,": found alone, an ordinary word would be swapped in "Grace period")
        elif cue and not any(_fold(w) in thing_words() or _fold(w) in NOT_PEOPLE for w in core[1:]) and (
                is_first_name(words[0]) or particle_led                 # rule 3: a cue word ("Dear Valued
                      or (cue not in GREETINGS and not ordinary(core[0])  # Customer" is none)
                          and (cue == "dear" or len(core[0]) >= 3 or _fold(core[0]) in lexicon()[1]))):
            found[name] = None
        elif joined and (is_first_name(words[0]) or particle_led or _surname_shaped(core[0])):
            found[name] = None                                          # "... and De Souza" after a name
        elif re.match(r"\s+et al\b", text[end:end + 8]) and _fold(core[0]) not in NOT_FIRST_NAMES:
            found[name] = role
        elif re.match(r"[ \t]*[.!]?[ \t]*(?:\n|$)", text[end:]) and not any(ordinary(w) for w in core) \
                and _SIGN_OFF_BEFORE.search(text[:start]) and _could_sign(core):  # a sign-off's name ends the message
            found[name] = None
        elif sentence_like and len(core) == 1 and _alone_first_name(text, start, end, core[0]):  # rule 7
            found[name] = None
        elif sentence_like and len(run) == 2 and _opens_sentence(text, start) and not is_first_name(words[0]) \
                and _alone_first_name(text, run[1].start(), end, words[1]):
            found[words[1]] = None                                      # "Did Lars reply?", "Get Priya's calendar"
        else:
            continue
        previous_end = end
    for match in _LOWER_WORD.finditer(text):  # "ask priya", "text dmitri": a lexicon first name typed in lower case
        word = match.group()
        cue = _cue_before(text, match.start())
        if cue and cue not in GREETINGS and cue != "dear" and len(word) >= 3 and word in firsts \
                and word not in _NEVER_A_NAME and not ordinary(word) and not text[match.end():match.end() + 1].isalnum():
            found.setdefault(word, None)
    for label in speaker_labels(text):
        found.setdefault(label, None)
    for match in _HERE_INTRO.finditer(text):  # "Hi, Peregrine here.": who is writing
        name = match.group(1) or match.group(2)
        if not any(map(_names_no_one, name.split())):
            found.setdefault(name, None)
    for name in sorted(caseless_names(text)):
        found.setdefault(name, None)
    for match in _CAPITALS_PAIR.finditer(text):  # "CALL MARGARET THOMPSON BEFORE 5PM": a shouted full name
        first, last = match.group(1), match.group(2)
        if _fold(first) in firsts and _listed_surname(last) and not ordinary(first) and not ordinary(last):
            found.setdefault(f"{first.title()} {last.title()}", None)
    for name in capitals_after_honorific(text):
        found.setdefault(name, "last" if " " not in name else None)
    for name in lower_case_after_honorific(text):
        found.setdefault(name, "last" if " " not in name else None)
    return found


def _listed_surname(word: str) -> bool:
    """A lexicon surname, or a hyphenated one each of whose parts is a lexicon name ("THATCHER-JONES")."""
    firsts, lasts = lexicon()
    parts = [_fold(p) for p in word.split("-")]
    return _fold(word) in lasts or (len(parts) > 1 and parts[-1] in lasts and all(p in lasts or p in firsts for p in parts))


# A name in capitals after an honorific ("DR. OLUWASEUN ADEYEMI", "MRS. ELEANOR FITZGERALD-BOYLE", "MR. JEAN-PIERRE
# LEFÈVRE"): the words in capitals after it, up to three; checked word by word in capitals_after_honorific.
_CAPITALS_AFTER_HONORIFIC = re.compile(r"(?<![^\W\d_])(?:" + "|".join(h.upper() for h in HONORIFICS) + r")\.?[ \t]+"
                                       r"([^\W\d_](?:[^\W\d_]|['’-])*(?:[ \t]+[^\W\d_](?:[^\W\d_]|['’-])*){0,2})")


def capitals_after_honorific(text: str) -> Iterator[str]:
    """Names in capitals after an honorific, title-cased (their fakes take the capitals back). The first
    word is the name unless it is an ordinary word alone ("MR. WHITE": learned, every "WHITE" of the file
    would be swapped, "WHITE HOUSE" too); a later word counts
    while it is in capitals and no ordinary word, and, in a text written in capitals ("DR. SMITH APPROVED
    THE PLAN"), only when it is a lexicon surname or hyphenated: there the name's end is not otherwise seen."""
    letters = [c for c in text if c.isalpha()]
    shouted = sum(c.islower() for c in letters) < len(letters) / 5  # a line or a message in capitals
    for match in _CAPITALS_AFTER_HONORIFIC.finditer(text):
        words = match.group(1).split()
        taken = []
        for i, word in enumerate(words):
            if not (word.isupper() and len(word.replace("-", "")) >= 2 and _WORD.fullmatch(word)):
                break
            if i > 0 and (ordinary(word) or shouted and not (_listed_surname(word) or "-" in word)):
                break
            taken.append(word)
        if taken and _fold(taken[0]) not in _HONORIFIC_BRANDS and not (len(taken) == 1 and ordinary(taken[0])):
            yield " ".join(w.title() for w in taken)


# A name typed in lower case after a lower-case honorific with its full stop ("spoke with dr. rosa parks-whitman"):
# not after a number ("300 ms. next"), and the name three letters or more a word ("ms. ng" would make every
# "ng" a name, `ng serve` too).
_LOWER_AFTER_HONORIFIC = re.compile(r"(?<![\w.])(?<!\d )(?:mr|mrs|ms|mx|dr|prof)\.[ \t]+([a-z][a-z'’-]{2,})"
                                    r"(?:[ \t]+([a-z][a-z'’-]{2,}))?(?![\w'’-])")


def lower_case_after_honorific(text: str) -> Iterator[str]:
    """A lower-case name after a lower-case honorific: its first word when a lexicon name and no ordinary
    word, and the word after it when the first is a lexicon first name and the second no ordinary word
    ("dr. rosa parks-whitman", "mr. kowalski"; not "dr. rosa today"). Lower case has no other sign of a
    name: "the dr. column" (debit), "mr. robot" and "mrs. dash" are no one."""
    firsts = lexicon()[0]
    for match in _LOWER_AFTER_HONORIFIC.finditer(text):
        first, second = match.group(1), match.group(2)
        if ordinary(first) or _fold(first) in _NEVER_A_NAME or _fold(first) in _HONORIFIC_BRANDS:
            continue
        if _fold(first) not in firsts and not _listed_surname(first):
            continue
        if second and _fold(first) in firsts and not ordinary(second) and _fold(second) not in _NEVER_A_NAME \
                and not any(ordinary(p) for p in second.split("-") if len(p) > 3 and "-" not in second):
            yield f"{first} {second}"
        else:
            yield first


# A writer naming themselves: "Hi, Peregrine here", "Hello - Ana Lima here", "This is Peregrine from billing".
_NAME_RE = r"([A-Z][^\W\d_]+(?:[ \t][A-Z][^\W\d_'’-]+)?)"
_HERE_INTRO = re.compile(rf"(?i:\b(?:hi|hello|hey|morning))[ \t]*[,!–—-]?[ \t]+{_NAME_RE}[ \t]+here\b"
                         rf"|(?i:\b(?:this is|it's|it’s))[ \t]+{_NAME_RE}[ \t]+from\b")

# Two words in capitals, overlapping pairs: "CALL MARGARET THOMPSON" yields (CALL, MARGARET), (MARGARET, THOMPSON).
_CAPITALS_PAIR = re.compile(r"(?<![^\W\d_])([A-Z][A-Z'’-]{2,})(?=[ \t]+([A-Z][A-Z'’-]{2,})(?![^\W\d_]))")  # "IBAN DE89": no


# A transcript line: "Lars: anyone seen it?", "[09:12] Ana Lima: on it", "10:02 siddharth: ok".
_SPEAKER_LINE = re.compile(r"^[ \t]*(?:\[[^\]\n]{1,25}\][ \t]*|\d{1,2}:\d{2}(?::\d{2})?[ \t]+)?"
                           r"(?P<label>[^\W\d_][\w.'’-]*(?: [^\W\d_][\w.'’-]*){0,2})[ \t]*:[ \t]", re.MULTILINE)
# Labels that are roles or fields, not speakers ("Q:", "User:", "Note:", "Subject:").
_NOT_SPEAKERS = frozenset("""user assistant system bot agent human ai model customer client caller operator support
moderator host interviewer interviewee speaker narrator q a question answer note notes nb ps summary status error
warning warn info debug trace fatal todo fixme subject from to cc bcc re fw fwd date time when where who what why how
id name title step example input output result results response request reply tool function call action
observation thought context task goal tip hint source sources update edit""".split())


def speaker_labels(text: str) -> list[str]:
    """The speakers of a transcript: line-opening labels ("Lars:", "[09:12] Ana Lima:") where at
    least two lines of the text are labelled. A label counts when it is no role or field ("User",
    "Note", "Subject"), no ordinary word and three letters or more ("M:", "E:" open a signature's
    lines), and it is capitalised in every part ("Anne-Marie", not "Co-authored-by") or a lexicon
    first name in lower case ("siddharth: can we push the demo?"); other lower-case labels may be
    programs ("worker:")."""
    matches = list(_SPEAKER_LINE.finditer(text))
    if len(matches) < 2:
        return []
    firsts = lexicon()[0]
    # a transcript with a listed name among its labels ("Hannah:") vouches for the unlisted ones ("Olusegun:")
    vouched = any(_fold(m.group("label")) in firsts for m in matches)
    speakers = []
    for m in matches:
        label = m.group("label")
        words = label.split()
        if label.casefold() in _NOT_SPEAKERS or any(w.casefold() in _NOT_SPEAKERS for w in words[:1]) \
                or all(ordinary(w) for w in words) or not all(_WORD.fullmatch(w) for w in words):
            continue
        if len(label.replace(" ", "")) < 3:  # "M:", "E:", "PS:": signature and note labels
            continue
        if len(words) == 1 and label[:1].isupper() and not (  # "Attendees:", "Agenda:" label one line each
                _listed_or_accented(label) or sum(m2.group("label") == label for m2 in matches) >= 2
                or (vouched and _fold(label) not in thing_words())):
            continue
        if all((_capitalised(w) and all(_capitalised(p) for p in w.split("-"))) or w.casefold() in PARTICLES
               for w in words) or (
                label.islower() and len(words) == 1 and len(label) >= 3 and _fold(label) in firsts
                and _fold(label) not in _NEVER_A_NAME):
            speakers.append(label)
    return speakers


_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z]+(?![\w'’-])")
# A display name's mailbox: "Mei Ling Wong <mei@example.com>" (RFC 5322), checked right after a span.
_MAILBOX_AFTER = re.compile(r"[ \t]*<[^<>\s@]+@[^<>\s@]+>")


def _name_shaped(value: str) -> bool:
    words = value.split()
    return 1 <= len(words) <= 4 and all(_WORD.fullmatch(w) for w in words) and any(_capitalised(w) for w in words) \
        and all(_capitalised(w) or w.casefold() in PARTICLES or _particle_surname(w) for w in words)


def _person_like(value: str) -> bool:
    """A loose key's value (`owner`, `user`, `name`) reads as a person: it opens with a lexicon first name,
    or, in two words or more, holds a lexicon surname ("Nguyễn Văn An", surname first)."""
    words = value.split()
    if _fold(words[0]) in _NOT_PEOPLE_NAMED_LIKE_PEOPLE:  # "Ford Mustang", "Dell Latitude" under `name`
        return False
    return is_first_name(words[0]) or (len(words) >= 2 and any(
        _fold(w) in lexicon()[1] and _fold(w) not in ordinary_words() for w in words))


def keyed_strings(obj: Any, key: str | None = None) -> Iterable[tuple[str, str]]:
    """(key, value) for every string under a key, at any depth (a list's items under the list's key);
    the key snake_cased and casefolded ("firstName" -> "first_name"), the value stripped."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from keyed_strings(v, str(k))
    elif isinstance(obj, list):
        for v in obj:
            yield from keyed_strings(v, key)
    elif isinstance(obj, str) and key is not None:
        yield re.sub(r"(?<=[a-z])(?=[A-Z])", "_", key).casefold().replace("-", "_"), obj.strip()


# Keys for a person's role, alone ("account_manager") or with `_name` / `_full_name` after it: strict keys.
_ROLE_KEYS = frozenset("""account_manager account_owner sales_rep salesperson representative technician practitioner
caregiver guardian policyholder policy_holder contact_person primary_contact point_of_contact signer addressee
lead_passenger lead_guest next_of_kin""".split())
# Roles that also name a thing when alone ("doctor": "Radiology", "billing": "Monthly", "parent": "Electronics"),
# but only a person with `_name` after them ("doctor_name", "billing_name", "legal_name").
_NAMED_ROLES = _ROLE_KEYS | LOOSE_PERSON_KEYS | frozenset("""agent parent child insured pilot reviewer approver requester
reporter assignee bill_to ship_to shipping billing legal full_legal maiden middle preferred kin""".split())


def _person_key(norm: str) -> bool:
    """A strict person key: PERSON_KEYS, a role key, or a role with `_name` after it."""
    role = re.sub(r"_(?:full_)?name$", "", norm)
    return norm in PERSON_KEYS or norm in _ROLE_KEYS or (role != norm and (role in PERSON_KEYS or role in _NAMED_ROLES))


def _as_name(value: str) -> str | None:
    """A value under a person's key as a name to learn: as written when it is name-shaped; a shouted one
    ("ROBERT J. KOWALSKI") or one typed in lower case ("sandra lee") title-cased, when its first word is
    a lexicon name; a middle initial ("Robert J. Kowalski") counts as a word."""
    words = [w for w in value.split() if not _INITIAL.fullmatch(w)]
    if not words or len(words) > 4 or not all(_WORD.fullmatch(w) for w in words):
        return None
    if _name_shaped(" ".join(words)):
        return value
    if not any(c.isupper() or c.islower() for c in value):  # a script without capitals: "王小明", "أحمد القحطاني"
        return value
    if (value.isupper() or value.islower()) and any(c.isalpha() for c in value) and (
            _fold(words[0]) in lexicon()[0] or (len(words) >= 2 and _fold(words[-1]) in lexicon()[1])) \
            and not all(ordinary(w) for w in words):
        return " ".join(w if _INITIAL.fullmatch(w) else w.title() for w in value.split())
    return None


_INITIAL = re.compile(r"[^\W\d_]\.")  # "J." in "Robert J. Kowalski"


def names_in_arguments(obj: Any) -> set[str]:
    """Person names among the string values of a call's arguments or a JSON tool result (rule 5): under a
    person's key, or a loose one when the value reads as a person; and FHIR's names (fhir_names)."""
    found = set(fhir_names(obj))
    for norm, value in keyed_strings(obj):
        person = _person_key(norm)
        if not (person or norm in LOOSE_PERSON_KEYS):
            continue
        name = _as_name(value)
        if name is None or (len(value.split()) == 1 and ordinary(value)) or _a_thing(value):  # "Unassigned"
            continue
        if person or _person_like(name):
            found.update({value, name})  # "sandra lee" as written, and "Sandra Lee" wherever it is written so
    return found


# FHIR resources name people in HumanName objects ({"family": "Nakamura", "given": ["Haruki"]}) and in
# references to a Patient, Practitioner, RelatedPerson or Person ({"reference": "Patient/1", "display": ...}).
_FHIR_PERSON_REFERENCE = re.compile(r"(?:.*/)?(?:Patient|Practitioner|RelatedPerson|Person)/[^/]+")


def fhir_names(obj: Any) -> Iterator[str]:
    if isinstance(obj, dict):
        family, given = obj.get("family"), obj.get("given")
        if isinstance(family, str) and isinstance(given, list) and all(isinstance(g, str) for g in given):
            whole = " ".join(p.strip() for p in [*given, family] if p.strip())  # its parts are learned with it
            if whole:
                yield whole
            if isinstance(obj.get("text"), str) and obj["text"].strip():
                yield obj["text"].strip()
        reference, display = obj.get("reference"), obj.get("display")
        if isinstance(reference, str) and isinstance(display, str) and _FHIR_PERSON_REFERENCE.fullmatch(reference) \
                and display.strip():
            yield display.strip()
        for v in obj.values():
            yield from fhir_names(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from fhir_names(v)


# Words that make a value under a person's key a room, a team or a tool ("Conference Room Lincoln").
_RESOURCE_WORDS = _SOFTWARE_WORDS | frozenset("""room rooms conference meeting boardroom auditorium hall floor building
wing booth huddle zoom team teams squad guild group channel office""".split())


def _a_thing(value: str) -> bool:
    """A value under a person's key that names a room, a team or a tool: one of its words is such a word
    and no lexicon name ("Mason Cook" and "Rose Hall" are people)."""
    firsts, lasts = lexicon()
    return any(w in _RESOURCE_WORDS and w not in lasts and w not in firsts for w in map(_fold, value.split()))


# Keys whose values are account names: any username-shaped value there is one ("mikkolehtinen").
USERNAME_KEYS = frozenset("""username user_name usernames login logins handle handles screen_name account_name
slack_user github_user gh_user nick nickname""".split())
_PERSON_LIST_KEYS = frozenset("watchers watcher members mentions cc bcc owners".split())
# Under a person's key (not a loose one such as `name`, which holds function names) a username needs a
# dot or hyphen to be told from a word or an identifier: "zhang.wei", "thandeka.m", "oluwaseun-b".
_USERNAME = re.compile(r"[a-z][a-z0-9]{1,30}")
_SEPARATED_USERNAME = re.compile(r"[a-z][a-z0-9]*(?:[._-][a-z0-9]+)+")
_DOTTED_USERNAME = re.compile(r"[a-z][a-z0-9]*(?:[.-][a-z0-9]+)+")


# A chat mention by account id, with or without a display name: "<@U024BE7LH|grace.hopper>" (Slack),
# "<@80351110224678912>" (Discord).
_MENTION = re.compile(r"<@([A-Za-z0-9._-]{2,40})(?:\|([^<>|\s]{2,40}))?>")


# A Windows account, DOMAIN\user ("CORP\j.oconnor", "CORP\\lfernandes" inside JSON text): the user is a person's login.
_DOMAIN_ACCOUNT = re.compile(r"(?<![\w\\])[A-Z][A-Z0-9-]{1,14}\\{1,2}([A-Za-z][A-Za-z0-9._-]{1,30}[A-Za-z0-9])(?![\w\\])")


def usernames_in_text(text: str) -> set[str]:
    """Account ids and display names a text's mentions show (the same id sits bare under a `user` key of
    the same message, and both must get one fake), and the user of a `DOMAIN\\user` account."""
    return {name for m in _MENTION.finditer(text) for name in m.groups() if name} | {
        m.group(1) for m in _DOMAIN_ACCOUNT.finditer(text)
        if not ordinary(m.group(1)) and not m.group().startswith(("HKLM", "HKCU", "HKCR", "HKU", "HKCC"))}  # registry keys


def usernames_in_arguments(obj: Any) -> set[str]:
    """Bare account names (no @) among a call's arguments or a JSON tool result: any lower-case
    username-shaped value under a username key, and a dotted one ("zhang.wei") under a person's
    key; never an ordinary word ("admin", "support")."""
    found: set[str] = set()
    for norm, value in keyed_strings(obj):
        if not value or ordinary(value) or _fold(value) in _NEVER_A_NAME:
            continue
        if norm in USERNAME_KEYS and (_USERNAME.fullmatch(value) or _SEPARATED_USERNAME.fullmatch(value)):
            found.add(value)
        elif norm in PERSON_KEYS | _PERSON_LIST_KEYS and _DOTTED_USERNAME.fullmatch(value) and len(value) <= 40:
            found.add(value)
    return found
