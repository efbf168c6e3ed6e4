"""What a chat message may hold, read the same way for eval cases and training rows.

Roles are OpenAI's four. Content is text: a string, or OpenAI's list of content parts
(`[{"type": "text", "text": "…"}, …]`, which chat APIs and many datasets use), whose text parts are
joined in order with nothing between them (as chat templates that accept parts render them).
A part of any other type (an image, audio, a file) cannot be rendered into a text-only
model's prompt: the caller refuses the case or quarantines the row instead of dropping it silently.
A tool result may also be structured (an object, a number, a list other than text parts, such as
a list of records that each carry a "type"): it is kept as its JSON text, which is what a serving
framework hands the model.
"""

from __future__ import annotations

import json
from typing import Any

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
