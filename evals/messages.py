"""What a chat message may hold, read the same way for eval cases and training rows.

Roles are OpenAI's four. Content is text: a string, or OpenAI's list of content parts
(`[{"type": "text", "text": "…"}, …]`, which chat APIs and many datasets use), whose text parts are
joined in order with nothing between them (as chat templates that accept parts render them).
A part of any other type (an image, audio, a file) cannot be rendered into a text-only
model's prompt: the caller refuses the case or quarantines the row instead of dropping it silently.
A tool result may also be structured (an object, a number, a list other than text parts, such as
a list of records that each carry a "type"): it is kept as its JSON text, which is what a serving
framework hands the model.

Two other ways of writing calls are common in datasets and are read as the standard one
(`standard_message`), for training rows and eval cases alike: OpenAI's legacy form (an assistant
`function_call`, a `function` role for its result), and Hermes-style `<tool_call>{...}</tool_call>`
blocks written in an assistant's text, with results wrapped in `<tool_response>`. Reading them as
text instead would train on them as prose, and would make an eval case whose reference is such a
call expect no call at all.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Iterator

from evals.parser import parse_strict

ROLES = ("system", "user", "assistant", "tool")


class ContentError(ValueError):
    """Content that cannot become prompt text; `kind` is "non_text" or "bad_type"."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _is_parts(content: Any) -> bool:
    return isinstance(content, list) and bool(content) and all(
        isinstance(p, dict) and isinstance(p.get("type"), str) for p in content)


def content_text(content: Any, role: str) -> str:
    """The message's content as one string ('' for none), or ContentError saying what is wrong."""
    if content is None or isinstance(content, str):
        return content or ""
    if content == [] and role != "tool":  # no parts: no text (a tool's [] is an empty result, kept below)
        return ""
    if _is_parts(content) and not (role == "tool" and any(p["type"] != "text" for p in content)):
        texts = []
        for i, part in enumerate(content):
            if part["type"] in ("tool_use", "tool_result"):  # anthropic_turns reads them in their place
                raise ContentError("non_text", f"content part {i} is an Anthropic {part['type']!r} block out of place "
                                               "(tool_use belongs in an assistant turn, tool_result in a user turn)")
            if part["type"] != "text":
                raise ContentError("non_text", f"content part {i} is of type {part['type']!r}; only text parts "
                                               "can go into a text model's prompt")
            if not isinstance(part.get("text"), str):
                raise ContentError("bad_type", f"content part {i} is a text part without a string 'text'")
            texts.append(part["text"])
        return "".join(texts)
    if role == "tool":  # a structured tool result: the JSON text a framework would pass on
        return json.dumps(content, ensure_ascii=False)
    raise ContentError("bad_type", f"content is a JSON {type(content).__name__}; expected a string or a list "
                                   "of text parts")


TOOL_RESPONSE = re.compile(r"<tool_response>(.*?)</tool_response>", re.DOTALL)

# Chat control tokens as ChatML, Llama 3 and Phi-3 write them (<|im_end|>, <|eot_id|>, <|end|>).
# Tokenisers parse special tokens inside the rendered prompt's text, in training and in llama.cpp
# alike, so one inside a message or a tool's schema is read as a real turn boundary: the model
# is shown, and scored on, a conversation other than the one the row or case writes.
CONTROL_TOKEN = re.compile(r"<\|[A-Za-z0-9_]{1,40}\|>")


def is_control_character(char: str) -> bool:
    """A C0/C1 control character (NUL, a newline, ESC): nothing a reader sees, nothing a model writes."""
    return unicodedata.category(char) == "Cc"


def texts_within(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, str, bool]]:
    """Every text in a JSON value, keys included, in order: (path to it as keys and list indices, the
    text, whether it is a key). A key's path ends with the key itself."""
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, dict):
        for k, v in value.items():
            yield (*path, k), str(k), True
            yield from texts_within(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from texts_within(v, (*path, i))


def control_token_at(messages: Any, tools: Any = ()) -> str | None:
    """Where the first chat control token in the messages or tools sits ("message 1 content holds
    '<|im_end|>'"), or None."""
    places = [(f"message {i}", m) for i, m in enumerate(messages or [])]
    places += [(f"tool {i}", t) for i, t in enumerate(tools or [])]
    for label, value in places:
        for path, text, is_key in texts_within(value):
            found = CONTROL_TOKEN.search(text)
            if found:
                steps = [f".{p}" if isinstance(p, str) else f"[{p}]" for p in (path[:-1] if is_key else path)]
                where = (label + "".join(steps)).replace(f"{label}.", f"{label} ", 1) + (" key" if is_key else "")
                return f"{where} holds {found.group()!r}"
    return None


def inline_calls(text: str) -> tuple[str, list[dict]] | None:
    """(the text around them, [{"name", "arguments"}]) when an assistant's text writes its calls as
    Hermes-style `<tool_call>` blocks the strict parser reads, else None (blocks it cannot read stay
    text, for the caller to judge)."""
    if "<tool_call>" not in text:
        return None
    parsed = parse_strict(text)
    if not parsed.ok or not parsed.calls:
        return None
    return parsed.text, parsed.calls


def _blocks(content: Any, kind: str) -> bool:
    return isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == kind for p in content)


def _result_text(block: dict, where: str) -> str:
    """A `tool_result` block's content as the tool message's text; an error result says so."""
    try:
        text = content_text(block.get("content"), "tool")
    except ContentError as err:
        raise ContentError(err.kind, f"{where}: {err}") from None
    if block.get("is_error") is True and not text.lstrip().lower().startswith("error"):
        text = f"Error: {text}"  # is_error is the only sign of a failure in Anthropic's form; kept in the text
    return text


def anthropic_turns(messages: list) -> list:
    """Anthropic Messages turns in OpenAI form: an assistant's `tool_use` blocks become its
    `tool_calls` (id, name, `input` as the arguments), and a user turn's `tool_result` blocks become
    one `tool` message each (answering `tool_use_id`), followed by the turn's own text, if any.
    Other messages pass through unchanged; ContentError names a block that cannot be read."""
    if not isinstance(messages, list) or not any(
            isinstance(m, dict) and (_blocks(m.get("content"), "tool_use") or _blocks(m.get("content"), "tool_result"))
            for m in messages):
        return messages
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):  # the caller names a message that is no object
            out.append(m)
            continue
        content = m.get("content")
        if m.get("role") == "assistant" and _blocks(content, "tool_use"):
            calls, texts = [], []
            for j, block in enumerate(content):
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    if not isinstance(block.get("name"), str) or not block["name"]:
                        raise ContentError("bad_type", f"message {i} part {j}: a tool_use block without a name")
                    call = {"type": "function", "function": {"name": block["name"], "arguments": block.get("input", {})}}
                    if block.get("id") is not None:
                        call["id"] = block["id"]
                    calls.append(call)
                else:
                    texts.append(block)
            rest = {k: v for k, v in m.items() if k != "content"}
            out.append({**rest, "content": content_text(texts, "assistant") if texts else "",
                        "tool_calls": (m.get("tool_calls") or []) + calls})
        elif m.get("role") == "user" and _blocks(content, "tool_result"):
            texts = []
            for j, block in enumerate(content):
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    tool = {"role": "tool", "content": _result_text(block, f"message {i} part {j}")}
                    if block.get("tool_use_id") is not None:
                        tool["tool_call_id"] = block["tool_use_id"]
                    out.append(tool)
                else:
                    texts.append(block)
            if texts and content_text(texts, "user").strip():
                out.append({**{k: v for k, v in m.items() if k != "content"}, "content": texts})
        else:
            out.append(m)
    return out


def standard_message(m: dict) -> dict:
    """A copy of `m` with a legacy `function_call` / `function` role, a `developer` role (read as
    `system`), inline `<tool_call>` blocks and a single `<tool_response>` wrapper read as `tool_calls`
    and a plain `tool` message."""
    m = dict(m)
    if m.get("role") == "function":
        m["role"] = "tool"
    if m.get("role") == "developer":  # OpenAI's newer name for the system prompt's role
        m["role"] = "system"
    if m.get("role") == "assistant" and isinstance(m.get("function_call"), dict) and not m.get("tool_calls"):
        m["tool_calls"] = [{"type": "function", "function": m["function_call"]}]
    m.pop("function_call", None)
    if m.get("role") == "assistant" and not m.get("tool_calls") and isinstance(m.get("content"), str):
        inline = inline_calls(m["content"])
        if inline is not None:
            m["content"] = inline[0]
            m["tool_calls"] = [{"type": "function", "function": call} for call in inline[1]]
    if m.get("role") == "tool" and isinstance(m.get("content"), str):
        responses = TOOL_RESPONSE.findall(m["content"])
        if len(responses) == 1:
            m["content"] = responses[0].strip()
    return m

