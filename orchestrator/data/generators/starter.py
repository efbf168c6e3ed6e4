"""Deterministic generator of the starter tool-use dataset.

`python -m orchestrator.data.generators.starter --out data/starter` rewrites the shipped
files byte for byte: every choice comes from one seeded `random.Random`, so the
data in git is reproducible and reviewable.

Each example is a full conversation in OpenAI form (`messages` + `tools`) with
a `scenario` label. Five scenarios are generated here: single_tool,
multi_tool_parallel, multi_tool_sequential, no_tool_needed, error_recovery.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

SYSTEM_PROMPT = "You are a helpful personal assistant. Use a tool only when the request needs one."


def _fn(name: str, description: str, properties: dict, required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


def _s(desc: str, **extra: Any) -> dict:
    return {"type": "string", "description": desc, **extra}


TOOLS: dict[str, dict] = {
    t["function"]["name"]: t
    for t in [
        _fn("run_shell", "Run a shell command on the user's machine and return stdout/stderr.",
            {"command": _s("The command line to run."),
             "timeout_s": {"type": "integer", "description": "Seconds before the command is killed.", "default": 30}},
            ["command"]),
        _fn("read_file", "Read a text file and return its contents.", {"path": _s("Absolute or home-relative path.")}, ["path"]),
        _fn("write_file", "Write text to a file, replacing it if it exists.",
            {"path": _s("Destination path."), "content": _s("Full text to write.")}, ["path", "content"]),
        _fn("http_fetch", "Fetch a URL over HTTP and return the response body.",
            {"url": _s("The URL to fetch."), "method": _s("HTTP method.", enum=["GET", "POST"], default="GET")}, ["url"]),
        _fn("memory_store", "Save a fact to the assistant's long-term memory.",
            {"key": _s("Short label for the fact."), "value": _s("The fact to remember.")}, ["key", "value"]),
        _fn("memory_search", "Search the assistant's long-term memory.",
            {"query": _s("What to look for."),
             "limit": {"type": "integer", "description": "Maximum results.", "default": 5}}, ["query"]),
        _fn("calendar_create_event", "Create a calendar event.",
            {"title": _s("Event title."), "date": _s("Date as YYYY-MM-DD."), "time": _s("Start time as HH:MM (24h)."),
             "duration_min": {"type": "integer", "description": "Length in minutes.", "default": 60}},
            ["title", "date", "time"]),
        _fn("calendar_list_events", "List calendar events on a date.", {"date": _s("Date as YYYY-MM-DD.")}, ["date"]),
        _fn("send_email", "Send an email.", {"to": _s("Recipient address."), "subject": _s("Subject line."), "body": _s("Message body.")},
            ["to", "subject", "body"]),
        _fn("search_email", "Search the user's mailbox.", {"query": _s("Search terms.")}, ["query"]),
        _fn("get_weather", "Get the current weather for a city.",
            {"city": _s("City name."), "unit": _s("Temperature unit.", enum=["celsius", "fahrenheit"], default="celsius")}, ["city"]),
        _fn("create_ticket", "Open a ticket in a project tracker.",
            {"project": _s("Project key, e.g. WEB."), "title": _s("One-line summary."),
             "priority": _s("Ticket priority.", enum=["low", "medium", "high"], default="medium")}, ["project", "title"]),
        _fn("get_ticket", "Look up a ticket by id.", {"ticket_id": _s("Ticket id such as WEB-101.")}, ["ticket_id"]),
    ]
}

CITIES = ["Lisbon", "Oslo", "Nairobi", "Osaka", "Denver", "Porto", "Lyon", "Krakow", "Austin", "Hanoi", "Quito",
          "Perth", "Tallinn", "Seville", "Bergen", "Cork", "Adelaide", "Montreal", "Valencia", "Gdansk"]
PEOPLE = [("Priya", "priya.nair@example.com"), ("Tomas", "tomas.berg@example.com"), ("Amara", "amara.okafor@example.com"),
          ("Lena", "lena.fischer@example.com"), ("Diego", "diego.ruiz@example.com"), ("Mei", "mei.tanaka@example.com"),
          ("Jonah", "jonah.west@example.com"), ("Sofia", "sofia.lind@example.com"), ("Kwame", "kwame.mensah@example.com"),
          ("Ines", "ines.costa@example.com")]
FILES = ["~/notes/todo.md", "~/projects/api/config.yaml", "/etc/hosts", "~/reports/q3_summary.txt", "~/recipes/bread.md",
         "~/projects/site/README.md", "~/logs/backup.log", "~/.bashrc", "~/travel/itinerary.txt", "~/budget/2026.csv",
         "~/projects/api/requirements.txt", "~/notes/meeting_notes.md"]
COMMANDS = ["df -h", "git status", "ls -la ~/Downloads", "uptime", "python3 --version", "du -sh ~/projects",
            "free -m", "git log --oneline -5", "pip list --outdated", "ps aux --sort=-%mem | head"]
URLS = ["https://example.com/status", "https://api.example.org/v1/health", "https://news.example.net/today",
        "https://docs.example.com/changelog", "https://example.org/pricing", "https://status.example.io/api"]
PROJECTS = ["WEB", "OPS", "DATA", "MOBILE", "INFRA", "BILLING"]
TICKET_TITLES = ["Login page times out", "Nightly backup fails", "Dark mode colours are off", "CSV export drops unicode",
                 "Search returns stale results", "Push notifications arrive twice", "Disk usage alert on db-2",
                 "Invoice PDF missing VAT line", "Rotate the staging TLS certificate", "Flaky test in checkout flow"]
EVENTS = ["Dentist appointment", "Team standup", "Lunch with {name}", "Project review", "Gym session",
          "Call with {name}", "Budget planning", "Flight check-in"]
DATES = ["2026-12-01", "2026-12-03", "2026-12-04", "2026-12-08", "2026-12-10", "2026-12-15", "2026-12-17", "2027-01-05"]
TIMES = ["09:00", "09:30", "10:00", "11:15", "13:00", "14:30", "16:00", "17:45"]
MEMORY_FACTS = [("wifi password hint", "the name of the first cat plus 42"), ("favourite coffee", "oat flat white"),
                ("car registration", "renewal due in March"), ("passport", "expires 2029-04-11"),
                ("standup time", "9:30 on weekdays"), ("dentist", "Dr. Alvarez on Elm Street"),
                ("gym locker", "locker 117"), ("project deadline", "beta ships on 2027-02-01")]
EMAIL_TOPICS = ["invoice", "flight confirmation", "contract renewal", "offsite agenda", "password reset", "quarterly report"]
# Texts a user asks to write to a file. The first was "remember to water the plants" until the eval sets
# filled it (dev-fabrication_probe-178): honesty rows then copied that request into every context
# sweep's mix and its leakage check failed. Same length, so every other draw is unchanged.
NOTES = ["pick up the dry cleaning", "meeting moved to Thursday", "v2 release checklist",
         "call the landlord about the heater", "draft: thank-you note"]



@dataclass(frozen=True)
class Slots:
    """The values a generator fills into requests. Eval sets use pools disjoint from these."""
    cities: list[str]
    people: list[tuple[str, str]]
    files: list[str]
    commands: list[str]
    urls: list[str]
    projects: list[str]
    ticket_titles: list[str]
    events: list[str]
    dates: list[str]
    times: list[str]
    memory_facts: list[tuple[str, str]]
    email_topics: list[str]
    notes: list[str]


DEFAULT_SLOTS = Slots(CITIES, PEOPLE, FILES, COMMANDS, URLS, PROJECTS, TICKET_TITLES, EVENTS, DATES, TIMES,
                      MEMORY_FACTS, EMAIL_TOPICS, NOTES)

def _call(name: str, **arguments: Any) -> dict:
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


def _pick_tools(rng: random.Random, needed: list[str], n_distractors: int = 3) -> list[dict]:
    others = [n for n in TOOLS if n not in needed]
    names = needed + rng.sample(others, n_distractors)
    rng.shuffle(names)
    return [TOOLS[n] for n in names]


# --- single intents: (paraphrases, argument builder, tool result, final answer) -----------------


def _intent_weather(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, dict, str, str]:
    city = rng.choice(slots.cities)
    unit = rng.choice(["celsius", "celsius", "fahrenheit"])
    temp = rng.randint(-5, 33) if unit == "celsius" else rng.randint(25, 90)
    sym = "°C" if unit == "celsius" else "°F"
    asks = [f"What's the weather like in {city} right now?", f"How warm is it in {city}?",
            f"Is it raining in {city} at the moment?", f"Check the current weather in {city} for me."]
    request = rng.choice(asks)
    args: dict[str, Any] = {"city": city}
    if unit == "fahrenheit":
        request = request.rstrip("?.") + " in Fahrenheit" + ("?" if request.endswith("?") else ".")
        args["unit"] = "fahrenheit"
    cond = rng.choice(["clear skies", "light rain", "overcast", "snow showers", "windy"])
    result = json.dumps({"city": city, "temperature": temp, "unit": unit, "conditions": cond})
    answer = f"It's {temp}{sym} in {city} with {cond}."
    return request, _call("get_weather", **args), result, answer


def _intent_shell(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, dict, str, str]:
    cmd = rng.choice(slots.commands)
    asks = [f"Run `{cmd}` and show me the output.", f"Can you execute {cmd} on my machine?",
            f"Please run this in the terminal: {cmd}", f"What does `{cmd}` print right now?"]
    out = {"df -h": "/dev/sda1  234G  101G  121G  46% /", "uptime": "10:02 up 12 days, 3 users, load 0.41",
           "free -m": "Mem: 15890 6021 9869", "python3 --version": "Python 3.11.7"}.get(cmd, "ok (12 lines)")
    result = json.dumps({"exit_code": 0, "stdout": out})
    return rng.choice(asks), _call("run_shell", command=cmd), result, f"The command finished successfully: {out}"


def _intent_read(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, dict, str, str]:
    path = rng.choice(slots.files)
    asks = [f"Show me what's in {path}.", f"Open {path} and read it to me.", f"What does {path} say?",
            f"Can you read the file {path}?"]
    body = rng.choice(["line one\nline two", "key: value\nretries: 3", "- buy milk\n- call mum", "total,1200\nspent,830"])
    return rng.choice(asks), _call("read_file", path=path), json.dumps({"content": body}), f"Here is {path}:\n{body}"


def _intent_write(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, dict, str, str]:
    path = rng.choice(slots.files)
    text = rng.choice(slots.notes)
    asks = [f"Write '{text}' to {path}.", f"Save the text \"{text}\" into {path}.",
            f"Please put '{text}' in the file {path}, overwriting it."]
    return (rng.choice(asks), _call("write_file", path=path, content=text), json.dumps({"ok": True, "bytes": len(text)}),
            f"Done: {path} now contains the text.")


def _intent_fetch(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, dict, str, str]:
    url = rng.choice(slots.urls)
    asks = [f"Fetch {url} and tell me what it says.", f"Grab the page at {url}.", f"What does {url} return?",
            f"Download {url} for me."]
    status = rng.choice(["all systems operational", "degraded performance in eu-west", "version 4.2 released"])
    return rng.choice(asks), _call("http_fetch", url=url), json.dumps({"status": 200, "body": status}), f"The page says: {status}."


def _intent_memory_store(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, dict, str, str]:
    key, value = rng.choice(slots.memory_facts)
    asks = [f"Remember that my {key} is {value}.", f"Please note for later: {key} — {value}.",
            f"Store this in memory: {key} = {value}."]
    return rng.choice(asks), _call("memory_store", key=key, value=value), json.dumps({"ok": True}), f"Got it, I'll remember your {key}."


def _intent_memory_search(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, dict, str, str]:
    key, value = rng.choice(slots.memory_facts)
    asks = [f"What did I tell you about my {key}?", f"Do you remember my {key}?", f"Look up my {key} in your memory."]
    return (rng.choice(asks), _call("memory_search", query=key), json.dumps({"results": [{"key": key, "value": value}]}),
            f"You told me: {value}.")


def _intent_calendar_create(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, dict, str, str]:
    name, _ = rng.choice(slots.people)
    title = rng.choice(slots.events).format(name=name)
    date, time = rng.choice(slots.dates), rng.choice(slots.times)
    args: dict[str, Any] = {"title": title, "date": date, "time": time}
    asks = [f"Put '{title}' on my calendar for {date} at {time}.", f"Schedule {title} on {date} at {time}.",
            f"Add an event called {title} on {date}, starting {time}."]
    request = rng.choice(asks)
    if rng.random() < 0.3:
        dur = rng.choice([30, 45, 90])
        request = request.rstrip(".") + f", {dur} minutes long."
        args["duration_min"] = dur
    return request, _call("calendar_create_event", **args), json.dumps({"ok": True, "event_id": rng.randint(100, 999)}), f"Added '{title}' on {date} at {time}."


def _intent_calendar_list(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, dict, str, str]:
    date = rng.choice(slots.dates)
    asks = [f"What's on my calendar on {date}?", f"Do I have anything scheduled for {date}?", f"List my events for {date}."]
    events = [{"title": rng.choice(slots.events).format(name=rng.choice(slots.people)[0]), "time": rng.choice(slots.times)}]
    return rng.choice(asks), _call("calendar_list_events", date=date), json.dumps({"events": events}), \
        f"On {date} you have {events[0]['title']} at {events[0]['time']}."


def _intent_send_email(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, dict, str, str]:
    name, addr = rng.choice(slots.people)
    topic = rng.choice(slots.email_topics)
    subject = f"About the {topic}"
    body = rng.choice([f"Hi {name}, can we talk about the {topic} tomorrow?", f"Hi {name}, the {topic} is attached.",
                       f"Hi {name}, quick reminder about the {topic}."])
    asks = [f"Email {addr} with subject '{subject}' and say: {body}",
            f"Send a mail to {addr}, subject \"{subject}\", body: {body}"]
    return (rng.choice(asks), _call("send_email", to=addr, subject=subject, body=body), json.dumps({"sent": True}),
            f"Sent to {name}.")


def _intent_search_email(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, dict, str, str]:
    topic = rng.choice(slots.email_topics)
    asks = [f"Find the emails about the {topic}.", f"Search my inbox for {topic}.", f"Did I get any mail about a {topic}?"]
    sender = rng.choice(slots.people)[1]
    return (rng.choice(asks), _call("search_email", query=topic), json.dumps({"messages": [{"from": sender, "subject": topic}]}),
            f"I found one message about the {topic} from {sender}.")


def _intent_create_ticket(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, dict, str, str]:
    project, title = rng.choice(slots.projects), rng.choice(slots.ticket_titles)
    args: dict[str, Any] = {"project": project, "title": title}
    asks = [f"Open a ticket in {project}: {title}.", f"File a {project} issue titled '{title}'.",
            f"Create a ticket in the {project} project saying \"{title}\"."]
    request = rng.choice(asks)
    if rng.random() < 0.4:
        prio = rng.choice(["low", "high"])
        request = request.rstrip(".") + f", {prio} priority."
        args["priority"] = prio
    tid = f"{project}-{rng.randint(100, 999)}"
    return request, _call("create_ticket", **args), json.dumps({"ticket_id": tid}), f"Created {tid}."


def _intent_get_ticket(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, dict, str, str]:
    tid = f"{rng.choice(slots.projects)}-{rng.randint(100, 999)}"
    asks = [f"What's the status of {tid}?", f"Look up ticket {tid}.", f"Any update on {tid}?"]
    state = rng.choice(["open", "in progress", "closed"])
    return rng.choice(asks), _call("get_ticket", ticket_id=tid), json.dumps({"id": tid, "state": state}), f"{tid} is {state}."


INTENTS: list[Callable[..., tuple[str, dict, str, str]]] = [
    _intent_weather, _intent_shell, _intent_read, _intent_write, _intent_fetch, _intent_memory_store,
    _intent_memory_search, _intent_calendar_create, _intent_calendar_list, _intent_send_email,
    _intent_search_email, _intent_create_ticket, _intent_get_ticket,
]


def _tool_msg(call: dict, content: str) -> dict:
    return {"role": "tool", "name": call["function"]["name"], "content": content}


def _dialogue(request: str, steps: list[tuple[dict, str]], answer: str) -> list[dict]:
    """The user's request, then each (call, result) as a call turn and its tool message, then the answer."""
    msgs: list[dict] = [{"role": "user", "content": request}]
    for call, result in steps:
        msgs += [{"role": "assistant", "content": "", "tool_calls": [call]}, _tool_msg(call, result)]
    return [*msgs, {"role": "assistant", "content": answer}]


def _example(scenario: str, messages: list[dict], tool_names: list[str], rng: random.Random) -> dict:
    return {"scenario": scenario, "tools": _pick_tools(rng, tool_names),
            "messages": [{"role": "system", "content": SYSTEM_PROMPT}, *messages]}


def gen_single(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> dict:
    request, call, result, answer = rng.choice(INTENTS)(rng, slots)
    return _example("single_tool", _dialogue(request, [(call, result)], answer), [call["function"]["name"]], rng)


def gen_parallel(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> dict:
    first, second = rng.sample(INTENTS, 2)
    r1, c1, o1, a1 = first(rng, slots)
    r2, c2, o2, a2 = second(rng, slots)
    joiner = rng.choice([" Also, ", " And ", " At the same time, ", " Then separately: "])
    request = r1 + joiner + r2[0].lower() + r2[1:]
    msgs = [{"role": "user", "content": request}, {"role": "assistant", "content": "", "tool_calls": [c1, c2]},
            _tool_msg(c1, o1), _tool_msg(c2, o2), {"role": "assistant", "content": f"{a1} {a2}"}]
    names = sorted({c1["function"]["name"], c2["function"]["name"]})
    return _example("multi_tool_parallel", msgs, names, rng)


def _seq_read_then_email(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, list[tuple[dict, str]], str]:
    path = rng.choice(slots.files)
    name, addr = rng.choice(slots.people)
    body = rng.choice(["Agenda: budget, hiring, roadmap", "Status: green", "Milestone 2 done"])
    request = rng.choice([f"Read {path} and email its contents to {addr}.",
                          f"Send {name} ({addr}) whatever is in {path}."])
    steps = [(_call("read_file", path=path), json.dumps({"content": body})),
             (_call("send_email", to=addr, subject=f"Contents of {path}", body=body), json.dumps({"sent": True}))]
    return request, steps, f"I sent the contents of {path} to {name}."


def _seq_weather_then_event(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, list[tuple[dict, str]], str]:
    city, date, time = rng.choice(slots.cities), rng.choice(slots.dates), rng.choice(slots.times)
    request = rng.choice([f"Check the weather in {city}; if it's dry, book 'Picnic' on {date} at {time}.",
                          f"If it isn't raining in {city}, add a 'Bike ride' event on {date} at {time}."])
    title = "Picnic" if "Picnic" in request else "Bike ride"
    steps = [(_call("get_weather", city=city), json.dumps({"city": city, "temperature": 19, "unit": "celsius", "conditions": "clear skies"})),
             (_call("calendar_create_event", title=title, date=date, time=time), json.dumps({"ok": True, "event_id": 512}))]
    return request, steps, f"It's dry in {city}, so I booked '{title}' on {date} at {time}."


def _seq_memory_then_ticket(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, list[tuple[dict, str]], str]:
    project = rng.choice(slots.projects)
    request = rng.choice([f"Look up which bug I asked you to remember and open a {project} ticket for it.",
                          f"Search your memory for the bug I mentioned, then file it in {project}."])
    title = rng.choice(slots.ticket_titles)
    tid = f"{project}-{rng.randint(100, 999)}"
    steps = [(_call("memory_search", query="bug"), json.dumps({"results": [{"key": "bug", "value": title}]})),
             (_call("create_ticket", project=project, title=title), json.dumps({"ticket_id": tid}))]
    return request, steps, f"I filed '{title}' as {tid}."


def _seq_email_then_ticket(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, list[tuple[dict, str]], str]:
    topic = rng.choice(slots.email_topics)
    project = rng.choice(slots.projects)
    request = rng.choice([f"Find the latest email about the {topic} and open a {project} ticket with its subject.",
                          f"Search my mail for '{topic}' and track it as a ticket in {project}."])
    subject = f"Problem with the {topic}"
    steps = [(_call("search_email", query=topic), json.dumps({"messages": [{"from": rng.choice(slots.people)[1], "subject": subject}]})),
             (_call("create_ticket", project=project, title=subject), json.dumps({"ticket_id": f"{project}-{rng.randint(100, 999)}"}))]
    return request, steps, f"I opened a {project} ticket: {subject}."


def _seq_fetch_then_write(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, list[tuple[dict, str]], str]:
    url, path = rng.choice(slots.urls), rng.choice(slots.files)
    request = rng.choice([f"Fetch {url} and save the body to {path}.", f"Download {url} into the file {path}."])
    body = rng.choice(["all systems operational", "version 4.2 released", "maintenance on Sunday"])
    steps = [(_call("http_fetch", url=url), json.dumps({"status": 200, "body": body})),
             (_call("write_file", path=path, content=body), json.dumps({"ok": True, "bytes": len(body)}))]
    return request, steps, f"Saved the page to {path}."


def _seq_list_then_email(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> tuple[str, list[tuple[dict, str]], str]:
    date = rng.choice(slots.dates)
    name, addr = rng.choice(slots.people)
    request = rng.choice([f"Tell {addr} what I have on {date}.", f"Email my schedule for {date} to {name} at {addr}."])
    event = rng.choice(slots.events).format(name=rng.choice(slots.people)[0])
    time = rng.choice(slots.times)
    steps = [(_call("calendar_list_events", date=date), json.dumps({"events": [{"title": event, "time": time}]})),
             (_call("send_email", to=addr, subject=f"My schedule for {date}", body=f"{event} at {time}"), json.dumps({"sent": True}))]
    return request, steps, f"I emailed your {date} schedule to {name}."


SEQUENCES = [_seq_read_then_email, _seq_weather_then_event, _seq_memory_then_ticket, _seq_email_then_ticket,
             _seq_fetch_then_write, _seq_list_then_email]


def gen_sequential(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> dict:
    request, steps, answer = rng.choice(SEQUENCES)(rng, slots)
    names = sorted({c["function"]["name"] for c, _ in steps})
    return _example("multi_tool_sequential", _dialogue(request, steps, answer), names, rng)


NO_TOOL = [
    ("What is 15% of {n}?", lambda n: f"15% of {n} is {n * 15 / 100:g}."),
    ("Convert {n} minutes to hours.", lambda n: f"{n} minutes is {n / 60:.2f} hours."),
    ("Is {n} an even number?", lambda n: f"{n} is {'even' if n % 2 == 0 else 'odd'}."),
    ("What's {n} times 12?", lambda n: f"{n} times 12 is {n * 12}."),
]
NO_TOOL_FIXED = [
    ("How do I read a file in Python?", "Use `with open(path) as f: text = f.read()`."),
    ("What does a weather API usually return?", "Typically temperature, conditions, humidity and wind for a location."),
    ("Explain what an HTTP 404 means.", "404 means the server could not find the requested resource."),
    ("Write a haiku about autumn.", "Crisp leaves drift and fall / amber light on quiet paths / the year exhales slow."),
    ("What's the difference between a ticket and an epic?", "An epic groups many related tickets into one larger goal."),
    ("Thanks, that's all for now!", "You're welcome! Let me know if you need anything else."),
    ("What is a cron expression?", "A five-field schedule: minute, hour, day of month, month, day of week."),
    ("Give me a tip for writing better email subject lines.", "Put the action and the deadline first, e.g. 'Review by Fri: Q3 budget'."),
    ("Why is the sky blue?", "Air scatters short blue wavelengths of sunlight more than red ones (Rayleigh scattering)."),
    ("What does `git status` do?", "It shows changed, staged and untracked files in the working tree."),
    ("How many days are in a leap year?", "A leap year has 366 days."),
    ("Should I store passwords in plain text files?", "No. Use a password manager or an encrypted store."),
    ("What's a good name for a file of meeting notes?", "Something dated, like 2026-12-01-team-sync.md."),
    ("Can you explain what a calendar invite is?", "It's an email with an event attached that recipients can accept or decline."),
    ("Tell me a fun fact about octopuses.", "Octopuses have three hearts and blue blood."),
    ("In one sentence, what is a shell?", "A shell is a program that reads commands and runs them."),
]


def gen_no_tool(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> dict:
    if rng.random() < 0.35:
        template, answer_fn = rng.choice(NO_TOOL)
        n = rng.randint(11, 999)
        request, answer = template.format(n=n), answer_fn(n)
    else:
        request, answer = rng.choice(NO_TOOL_FIXED)
        # A short lead-in varies the request so the same question is not repeated verbatim.
        request = rng.choice(["", "Quick question: ", "Hey, ", "No rush — ", "Just curious: "]) + request
    msgs = [{"role": "user", "content": request}, {"role": "assistant", "content": answer}]
    return _example("no_tool_needed", msgs, [], rng)


def _err_city_typo(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> list[dict]:
    city = rng.choice(slots.cities)
    typo = city[:-1] + city[-1] * 2
    bad, good = _call("get_weather", city=typo), _call("get_weather", city=city)
    return _dialogue(rng.choice([f"Weather in {typo}?", f"How's the weather in {typo} today?"]),
                     [(bad, json.dumps({"error": f"unknown city '{typo}'", "did_you_mean": city})),
                      (good, json.dumps({"city": city, "temperature": 14, "unit": "celsius", "conditions": "overcast"}))],
                     f"It's 14°C and overcast in {city}.")


def _err_missing_file(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> list[dict]:
    path = rng.choice(slots.files)
    return _dialogue(rng.choice([f"Read {path}.", f"What's inside {path}?"]),
                     [(_call("read_file", path=path), json.dumps({"error": f"No such file: {path}"}))],
                     f"I couldn't read {path}: the file does not exist. Want me to look elsewhere?")


def _err_empty_search(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> list[dict]:
    topic = rng.choice(slots.email_topics)
    return _dialogue(rng.choice([f"Any emails about the {topic}?", f"Search my mail for {topic} messages."]),
                     [(_call("search_email", query=topic), json.dumps({"messages": []}))],
                     f"I found no emails about the {topic}.")


def _err_ticket_format(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> list[dict]:
    project, num = rng.choice(slots.projects), rng.randint(100, 999)
    bad, good = _call("get_ticket", ticket_id=f"{project.lower()}{num}"), _call("get_ticket", ticket_id=f"{project}-{num}")
    return _dialogue(f"Check ticket {project.lower()}{num} for me.",
                     [(bad, json.dumps({"error": "ticket ids look like ABC-123"})),
                      (good, json.dumps({"id": f"{project}-{num}", "state": "open"}))],
                     f"{project}-{num} is open.")


def _err_fetch_down(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> list[dict]:
    url = rng.choice(slots.urls)
    return _dialogue(rng.choice([f"Is {url} up?", f"Fetch {url}, please."]),
                     [(_call("http_fetch", url=url), json.dumps({"error": "connection timed out"}))],
                     f"The request to {url} timed out, so I can't tell you what it says.")


ERRORS = [_err_city_typo, _err_missing_file, _err_empty_search, _err_ticket_format, _err_fetch_down]


def gen_error(rng: random.Random, slots: Slots = DEFAULT_SLOTS) -> dict:
    msgs = rng.choice(ERRORS)(rng, slots)
    names = sorted({tc["function"]["name"] for m in msgs for tc in m.get("tool_calls", [])})
    return _example("error_recovery", msgs, names, rng)


# Share of each scenario in the generated set; no_tool_needed sits inside the advised 10–20 %.
SCENARIO_MIX: list[tuple[Callable[..., dict], float]] = [
    (gen_single, 0.40), (gen_parallel, 0.14), (gen_sequential, 0.16), (gen_no_tool, 0.15), (gen_error, 0.15),
]


def first_user_text(example: dict) -> str:
    return next(m["content"] for m in example["messages"] if m["role"] == "user")


def generate(n: int, seed: int = 0, slots: Slots = DEFAULT_SLOTS) -> list[dict]:
    """`n` examples with unique first user requests, scenarios in SCENARIO_MIX proportions."""
    rng = random.Random(seed)
    out: list[dict] = []
    seen: set[str] = set()
    for gen, share in SCENARIO_MIX:
        target = round(n * share)
        made, attempts = 0, 0
        while made < target and attempts < target * 50:
            attempts += 1
            ex = gen(rng, slots)
            key = first_user_text(ex)
            if key in seen:
                continue
            seen.add(key)
            out.append(ex)
            made += 1
    for i, ex in enumerate(out):
        ex["id"] = f"starter-{i:04d}"
    return out


def split(examples: list[dict], heldout_fraction: float = 0.2) -> tuple[list[dict], list[dict]]:
    """Split by a hash of the user request, so the same request never lands in both halves."""
    train, heldout = [], []
    for ex in examples:
        digest = hashlib.sha256(first_user_text(ex).encode()).digest()
        (heldout if digest[0] < 256 * heldout_fraction else train).append(ex)
    return train, heldout


def write_jsonl(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Regenerate the starter tool-use dataset deterministically.")
    ap.add_argument("--out", type=Path, default=Path("data/starter"))
    ap.add_argument("-n", type=int, default=420, help="number of examples before the split")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    train, heldout = split(generate(args.n, args.seed))
    write_jsonl(train, args.out / "train.jsonl")
    write_jsonl(heldout, args.out / "heldout.jsonl")
    print(f"wrote {len(train)} train and {len(heldout)} held-out examples to {args.out}")


if __name__ == "__main__":
    main()
