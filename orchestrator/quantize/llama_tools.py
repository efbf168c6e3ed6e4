"""llama.cpp's conversion scripts, taken from the installed llama-cpp-python's own sdist.

The converters must match the llama.cpp that llama-cpp-python compiled (GGUF keys and tensor
layouts move between releases), and PyPI's `gguf` lags behind them. So the install step
downloads the sdist of exactly the installed version and unpacks `convert_hf_to_gguf.py`,
`convert_lora_to_gguf.py`, `conversion/` and `gguf-py/` into a cache outside git.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

from orchestrator.errors import ToolsweepError
from orchestrator.offline import offline_defaults
from orchestrator.paths import cache_dir

DEFAULT_CACHE = cache_dir() / "llama-cpp-tools"
WANTED = ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py", "conversion/", "gguf-py/")


class ToolsMissing(ToolsweepError, RuntimeError):
    label = "setup error"
    pass


def installed_version() -> str:
    return metadata.version("llama-cpp-python")


def tools_dir(cache: Path = DEFAULT_CACHE, version: str | None = None) -> Path:
    return cache / (version or installed_version())


def _wanted(member: str) -> str | None:
    """Path of `member` relative to vendor/llama.cpp, if it is one of the files we keep."""
    marker = "/vendor/llama.cpp/"
    if marker not in member:
        return None
    rel = member.split(marker, 1)[1]
    return rel if any(rel == w or (w.endswith("/") and rel.startswith(w)) for w in WANTED) else None


def fetch(cache: Path = DEFAULT_CACHE, version: str | None = None) -> Path:
    """Download the sdist (pip's cache makes repeats instant) and unpack the converters."""
    version = version or installed_version()
    dest = tools_dir(cache, version)
    if (dest / "convert_hf_to_gguf.py").is_file() and (dest / "gguf-py").is_dir():
        return dest
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "llama-cpp-python", "-q", "-d", tmp, f"llama-cpp-python=={version}"], check=True)
        sdists = list(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        if not sdists:
            raise ToolsMissing(f"pip produced no llama-cpp-python {version} sdist")
        staging = Path(tempfile.mkdtemp(dir=cache.parent if cache.parent.exists() else None))
        with tarfile.open(sdists[0]) as tar:
            for member in tar.getmembers():
                rel = _wanted(member.name)
                if rel and member.isfile():
                    target = staging / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with tar.extractfile(member) as src:
                        target.write_bytes(src.read())
    if not (staging / "convert_hf_to_gguf.py").is_file():
        raise ToolsMissing(f"the llama-cpp-python {version} sdist carries no vendor/llama.cpp/convert_hf_to_gguf.py")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(dest)  # atomic: a half-unpacked cache never looks complete
    return dest


def converter_dir(configured: Path | None = None, cache: Path = DEFAULT_CACHE) -> Path:
    """Where convert_hf_to_gguf.py lives: the config's llama.cpp checkout, else the cache."""
    directory = configured or tools_dir(cache)
    if not (directory / "convert_hf_to_gguf.py").is_file():
        hint = ("point quantize.llama_cpp_dir at a llama.cpp checkout" if configured
                else "run `toolsweep setup-tools` (the install step does)")
        raise ToolsMissing(f"no convert_hf_to_gguf.py in {directory}: {hint}")
    return directory


# Model types whose llama.cpp converter also exports the multi-token-prediction (MTP) head. The hub
# Qwen3.5 checkpoints ship `mtp.*` tensors, but transformers' *ForCausalLM drops them on load
# (`_keys_to_ignore_on_load_unexpected`), so a merged fine-tune has none, and the converter asserts
# on a model without them (qwen.py `_QwenMtpMixin`): convert without the draft head.
NO_MTP_MODEL_TYPES = ("qwen3_5", "qwen3_5_text", "qwen3_5_moe", "qwen3_5_moe_text", "qwen3_next")


def extra_converter_args(model_dir: Path) -> list[str]:
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return []
    types = {config.get("model_type"), (config.get("text_config") or {}).get("model_type")}
    return ["--no-mtp"] if types & set(NO_MTP_MODEL_TYPES) else []


def convert_hf_to_gguf(model_dir: Path, outfile: Path, outtype: str = "f16", llama_cpp_dir: Path | None = None,
                       log_path: Path | None = None) -> Path:
    """Run llama.cpp's converter in a subprocess with its own bundled gguf-py."""
    tools = converter_dir(llama_cpp_dir)
    env = offline_defaults({**os.environ, "PYTHONPATH": str(tools / "gguf-py")})
    env.pop("NO_LOCAL_GGUF", None)
    partial = outfile.with_name(outfile.name + ".part")  # renamed when whole (see quantize in export.py)
    cmd = [sys.executable, str(tools / "convert_hf_to_gguf.py"), str(model_dir), "--outfile", str(partial),
           "--outtype", outtype, *extra_converter_args(model_dir)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if log_path:
        log_path.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"convert_hf_to_gguf failed (exit {proc.returncode}) for {model_dir}:\n{tail}")
    os.replace(partial, outfile)
    return outfile


if __name__ == "__main__":
    print(fetch())
