"""Judgment track: requests that look like a tool's job but call for no tool.

Rows teach calling; a model trained only on them starts calling a tool whenever one looks related
(measured in the smoke demo: tuned on the starter data alone, SmolLM2 called a tool on 5-7 of 12
no-tool test cases that the untuned base answered). Two situations, each with the tempting tool
in the row's tool list beside distractors:

- `near_miss`: a general question about a tool's domain ("what is the difference between CC and
  BCC?" with `send_email` offered); the assistant answers from knowledge.
- `underspecified`: an action request missing what the call needs ("email my manager" with no
  address or text); the assistant asks for the missing arguments instead of inventing them.

The texts are written here, apart from the eval sets' no-tool templates (orchestrator/data/generators/eval_sets.py): the
categories are the same, the sentences are not, and the trial's leakage check compares both.
Rows carry `meta.track = "judgment"`; with no tool calls they fill the mix's no-tool quota.
"""

from __future__ import annotations

import random

from orchestrator.data.dedupe import dedupe_key
from orchestrator.data.generators.distinct import draw_distinct
from orchestrator.data.generators.starter import SYSTEM_PROMPT, _pick_tools

# The two situations, drawn in turn. Under-specified requests were drawn twice as often (after 160 rows at a 1:1 split,
# SmolLM2 still called a tool on 4 of 4 under-specified test requests); with the no-tool share at 0.64 the
# demo's candidate then failed near misses instead (3 of 3 dev and 3 of 4 test no-tool failures on
# 2026-12-06 were general questions answered with a call), so the split is even again and the
# near-miss table twice as varied.
ROTATION = ("near_miss", "underspecified")

# tool -> (question, answer): general knowledge near a tool's domain that the tool cannot give.
NEAR_MISS: dict[str, list[tuple[str, str]]] = {
    "get_weather": [
        ("What's the difference between weather and climate?",
         "Weather is the state of the atmosphere over hours or days; climate is its average pattern over decades."),
        ("What does a 40% chance of rain actually mean?",
         "That on days with forecasts like this one, rain falls at a given spot about 4 times in 10."),
        ("Why does it get colder the higher you climb a mountain?",
         "Air expands and cools as pressure drops with height, roughly 6.5 °C per kilometre."),
        ("What does relative humidity measure?",
         "How much water vapour the air holds compared with the most it could hold at that temperature."),
        ("What causes thunder?",
         "Lightning heats the air around it so fast that the air expands with a bang; that shock wave is thunder."),
        ("What is the dew point?",
         "The temperature at which air becomes saturated and water starts to condense as dew or fog."),
    ],
    "send_email": [
        ("What's the difference between CC and BCC?",
         "Everyone sees who is on CC; BCC recipients get the message without the others seeing them."),
        ("How long should a good email subject line be?",
         "Short enough to read at a glance: about 4 to 8 words that say what the email is for."),
        ("Any tips for writing a polite follow-up email?",
         "Keep it brief, remind them of your earlier message, restate the one thing you need and thank them."),
        ("How should I sign off a formal email?",
         "'Kind regards' or 'Best regards' followed by your full name works in almost any formal setting."),
        ("When is reply-all the right choice?",
         "Only when everyone on the thread needs your answer; otherwise reply to the sender alone."),
        ("What does FYI mean at the top of an email?",
         "'For your information': the message is something to know about, with nothing you need to do."),
    ],
    "search_email": [
        ("How do spam filters decide what is junk?",
         "They score messages on sender reputation, links, wording and past reports, and file high scores as junk."),
        ("Is it safe to open attachments from people I don't know?",
         "No. Unexpected attachments are a common way to spread malware; confirm with the sender first."),
        ("What is phishing?",
         "A scam message that poses as someone you trust to get you to click a link or hand over a password."),
        ("Why do some emails end up in the promotions tab?",
         "The mail provider sorts bulk marketing mail there by its sender and format, apart from personal mail."),
    ],
    "calendar_create_event": [
        ("How long should a daily stand-up meeting last?",
         "About 15 minutes: short updates and blockers, with longer talks taken offline."),
        ("What does an all-day event mean in a calendar?",
         "An event tied to a date rather than a time of day, such as a holiday or a deadline."),
        ("How much notice should a meeting invitation give?",
         "At least a day for a short meeting and about a week for a long or external one."),
        ("Why put an agenda in a meeting invite?",
         "People arrive knowing what will be decided and can prepare, so the meeting stays short."),
    ],
    "calendar_list_events": [
        ("How many working days are in a typical year?",
         "About 260: 52 weeks of 5 days, before public holidays and leave."),
        ("What is time blocking?",
         "Planning your day as blocks of time, each reserved for one kind of work."),
        ("What is the difference between a week and a fortnight?",
         "A fortnight is two weeks: fourteen days."),
        ("Which months have 31 days?",
         "January, March, May, July, August, October and December."),
    ],
    "run_shell": [
        ("What is the difference between a relative and an absolute path?",
         "An absolute path starts at the root (/home/me/notes.txt); a relative one starts from the current folder."),
        ("Why is running rm -rf as root considered dangerous?",
         "It deletes everything it is pointed at without asking, including system files, and cannot be undone."),
        ("What is a shell script?",
         "A text file of shell commands that run one after another, like a small program."),
        ("What does the grep command do, in short?",
         "It prints the lines of its input that match a pattern."),
        ("What does chmod +x do to a file?",
         "It marks the file as executable, so it can be run as a program."),
        ("What is an environment variable?",
         "A named value the shell passes to every program it starts, such as PATH or HOME."),
        ("What does the pipe symbol | do in a shell?",
         "It sends the output of the command on its left into the command on its right."),
        ("What's the difference between > and >> in a shell?",
         "> replaces the file's contents with the output; >> adds the output to the end of the file."),
    ],
    "read_file": [
        ("What is a CSV file?",
         "A plain-text table: one record per line, with values separated by commas."),
        ("What does the file permission 644 mean?",
         "The owner can read and write; the group and everyone else can only read."),
        ("What is the difference between a text file and a binary file?",
         "A text file holds characters you can read in an editor; a binary file holds bytes meant for a program."),
        ("What does JSON stand for?",
         "JavaScript Object Notation: a plain-text format for nested keys, values and lists."),
    ],
    "write_file": [
        ("How should I name files so they sort by date?",
         "Start the name with the date as YYYY-MM-DD, for example 2026-03-14-notes.txt."),
        ("Is plain text or a word-processor file better for notes?",
         "Plain text: any program can open it, it diffs and searches well, and it will still open in 20 years."),
        ("Should I put spaces in file names?",
         "Better not: dashes or underscores avoid quoting trouble in scripts and links."),
        ("What is a file extension for?",
         "It tells people and programs what kind of file it is, such as .txt for text or .png for an image."),
    ],
    "http_fetch": [
        ("What's the difference between HTTP and HTTPS?",
         "HTTPS is HTTP over an encrypted TLS connection, so others on the network cannot read or alter it."),
        ("What does DNS do?",
         "It turns names like example.org into the IP addresses computers use to connect."),
        ("What is an API?",
         "A defined way for one program to ask another for data or actions, such as a set of web endpoints."),
        ("What is a query string in a URL?",
         "The part after the ?, holding key=value pairs the server reads, like ?page=2."),
        ("What is a browser cookie?",
         "A small piece of data a website stores in your browser to remember you between visits."),
    ],
    "memory_store": [
        ("What's a good way to remember a long passphrase?",
         "Pick four or more random unrelated words and picture them in one scene; never reuse it across sites."),
        ("Does writing things down help you remember them?",
         "Yes. Writing by hand makes you process the idea, which helps recall later."),
        ("How can I get better at remembering people's names?",
         "Repeat the name back when you meet them and link it to something about them."),
        ("What is a mnemonic?",
         "A memory aid, like a rhyme or an acronym, that makes something easier to recall."),
    ],
    "memory_search": [
        ("What is spaced repetition?",
         "Reviewing something at growing intervals, just before you would forget it, so it sticks with less effort."),
        ("What's the opposite of 'ancient'?", "Modern."),
        ("What's another word for 'happy'?", "Glad, cheerful or content, depending on the tone you want."),
        ("What is the plural of 'analysis'?", "Analyses."),
        ("What does 'ephemeral' mean?", "Lasting only a short time."),
    ],
    "create_ticket": [
        ("What makes a good bug report?",
         "Steps to reproduce, what you expected, what happened instead, and the version and environment."),
        ("What's the difference between a bug and a feature request?",
         "A bug is behaviour that breaks what was promised; a feature request asks for something new."),
        ("How detailed should a ticket description be?",
         "Enough for someone new to act on it: the goal, the context or steps to reproduce, and what done means."),
        ("What's the difference between severity and priority on a bug?",
         "Severity is how bad the problem is; priority is how soon the team will work on it."),
        ("What is a user story?",
         "A short request written from a user's view: as a <role>, I want <goal>, so that <reason>."),
    ],
    "get_ticket": [
        ("What does it mean when a ticket is marked 'won't fix'?",
         "The team agrees it is a real issue but has decided not to change anything for it."),
        ("What's the difference between a resolved ticket and a closed one?",
         "Resolved means the fix is in and waits for confirmation; closed means nobody needs to act on it again."),
        ("What does it mean when a ticket is blocked?",
         "Work on it cannot go on until something else, often another ticket, is done first."),
    ],
}

# tool -> (request, clarifying reply): an action whose call would need arguments the user did not give.
UNDERSPECIFIED: dict[str, list[tuple[str, str]]] = {
    "send_email": [
        ("Email my manager about it.",
         "Sure. What is your manager's address, and what should the subject and message say?"),
        ("Shoot off a quick message to the team.",
         "Happy to. Which address should it go to, and what should it say?"),
        ("Write an email for me.",
         "Of course. Who is it for, and what should the subject and the message be?"),
        ("Mail this to someone.",
         "Who should I send it to, and what subject and text should the email have?"),
    ],
    "calendar_create_event": [
        ("Schedule a meeting for me.",
         "Of course. What should the meeting be called, and on which date and at what time?"),
        ("Block out some time on my calendar.",
         "Which day and time should I block, and what should I call it?"),
        ("Add an appointment.",
         "Sure. What is the appointment, and on which date and at what time?"),
    ],
    "create_ticket": [
        ("File a bug about this.",
         "I can do that. Which project should the ticket go in, and what should its title be?"),
        ("Open an issue for the problem.",
         "Which project tracker should it go in, and how should I title it?"),
        ("Log a ticket.",
         "Which project is it for, and what should the ticket say?"),
    ],
    "get_weather": [
        ("Will I need an umbrella today?",
         "Which city are you in? I'll check the weather there."),
        ("Check the forecast.",
         "For which city should I check the weather?"),
    ],
    "read_file": [
        ("Open that document for me.",
         "Which file do you mean? Please give me its path."),
        ("Show me what's in the file.",
         "Which file? Tell me its path and I'll read it."),
        ("Look at my notes file.",
         "Where is the file? Please give me its full path."),
    ],
    "write_file": [
        ("Save these notes somewhere.",
         "Which file should I save them to, and what exactly should it contain?"),
        ("Write that down to a file.",
         "What should the file contain, and at which path should I save it?"),
    ],
    "run_shell": [
        ("Run that script again.",
         "Which command or script should I run? Please give me the exact command."),
        ("Execute it for me.",
         "What should I run? Please give me the exact command."),
    ],
    "http_fetch": [
        ("Check the website for me.",
         "Which URL should I fetch?"),
        ("Grab that page.",
         "Which page do you mean? Please give me its URL."),
    ],
    "memory_store": [
        ("Don't forget that.",
         "What should I remember? Tell me the fact and I'll save it."),
        ("Keep this in mind for later.",
         "Sure. What exactly should I save, and under what label?"),
        ("Make a note of it.",
         "What is the fact you want me to keep? I'll store it once you tell me."),
    ],
    "memory_search": [
        ("Look it up in your memory.",
         "What should I look for? Tell me the topic or keyword."),
    ],
    "get_ticket": [
        ("What's the status of my ticket?",
         "Which ticket? Please give me its id, such as ABC-123."),
        ("Check on that ticket.",
         "Which ticket do you mean? I need its id."),
    ],
    "search_email": [
        ("Find that email from last week.",
         "What should I search for: a sender, a subject or a topic?"),
        ("Search my inbox.",
         "What should I look for in your mail?"),
    ],
    "calendar_list_events": [
        ("What's on for that day?",
         "Which date do you mean? Give me the day and I'll list its events."),
    ],
}

LEAD_INS = ["", "Hi! ", "Quick one: ", "Hey, ", "Question: ", "Sorry to bother you, "]


def make_example(rng: random.Random, scenario: str) -> dict:
    table = NEAR_MISS if scenario == "near_miss" else UNDERSPECIFIED
    tool = rng.choice(sorted(table))
    request, reply = rng.choice(table[tool])
    lead = rng.choice(LEAD_INS)
    request = lead + (request[0].lower() + request[1:] if lead.endswith((": ", ", ")) else request)
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": request},
                {"role": "assistant", "content": reply}]
    return {"scenario": "no_tool_needed", "tools": _pick_tools(rng, [tool]), "messages": messages,
            "meta": {"track": "judgment", "scenario": scenario, "tempting_tool": tool}}


def generate(n: int, seed: int = 0) -> list[dict]:
    """`n` judgment conversations, a third near misses and two thirds under-specified requests,
    distinct in request and tool list (the same request recurs with other tools, as it would in use)."""
    rng = random.Random(f"judgment-{seed}")
    # distinct by the dedupe stage's own key, so none of these rows is quarantined as a duplicate
    return draw_distinct(n, lambda i: make_example(rng, ROTATION[i % len(ROTATION)]), dedupe_key, "judgment")
