"""Chat templates shipped with toolsweep, and how a config names one."""

from __future__ import annotations

from pathlib import Path

BUILTIN_DIR = Path(__file__).parent / "templates"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.jinja"))


def load_template(name_or_path: str) -> str:
    """A built-in template by name (e.g. `toolchat`) or a `.jinja` file by path."""
    builtin = BUILTIN_DIR / f"{name_or_path}.jinja"
    if builtin.is_file():
        return builtin.read_text(encoding="utf-8")
    path = Path(name_or_path)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    raise FileNotFoundError(
        f"chat template {name_or_path!r} is neither a built-in ({', '.join(builtin_names())}) nor a file")
