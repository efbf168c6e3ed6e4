"""Render a chat template exactly as transformers does, without importing transformers.

The eval harness renders prompts from the template embedded in the GGUF under test, so what
the quantized model sees is what the trainer rendered. The Jinja environment mirrors
transformers' (`trim_blocks`, `lstrip_blocks`, a `tojson` that does not HTML-escape): a
test checks byte equality against `tokenizer.apply_chat_template`.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_GENERATION_TAG = re.compile(r"{%-?\s*(?:end)?generation\s*-?%}")


def strip_generation_markers(template: str) -> str:
    """The serving form of a training template: `{% generation %}` blocks unwrapped.

    The markers only tell transformers which tokens carry the loss; their removal does not
    change one rendered character, which a test checks.
    """
    return _GENERATION_TAG.sub("", template)


def _tojson(x: Any, ensure_ascii: bool = False, indent: int | None = None, separators=None, sort_keys: bool = False) -> str:
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _raise(message: str) -> None:
    raise TemplateError(message)


# The day the eval cases are dated ("Today is ..." in their system turns; "tomorrow" resolves against
# it). A chat template that asks for the date (`strftime_now`, as Llama 3's do) gets this day too:
# with the real clock, the same case would render, and could score, differently from day to day.
PINNED_TODAY = date(2026, 12, 2)


@lru_cache(maxsize=8)
def _compile(template: str):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.combine(PINNED_TODAY, time()).strftime(fmt)
    return env.from_string(strip_generation_markers(template))


def render_chat(template: str, messages: list[dict], tools: list[dict] | None = None,
                add_generation_prompt: bool = False, **extra: Any) -> str:
    return _compile(template).render(messages=messages, tools=tools or None,
                                     add_generation_prompt=add_generation_prompt, **extra)
