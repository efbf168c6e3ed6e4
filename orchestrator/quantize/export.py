"""Adapter → merged HF model → GGUF (f16) → quantized GGUFs. Edge module: imports torch, peft, llama_cpp.

bf16 is not a quantization of the f16 file but a second conversion from the HF weights: the
converter writes bf16 directly, so a bf16 GGUF matches the precision SmolLM2-style checkpoints are published in.

The serving chat template (generation markers stripped) is saved with the tokenizer, so
llama.cpp's converter embeds it as `tokenizer.chat_template` and the eval renders from the
file itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import math
import os
import shutil
import sys
from pathlib import Path

import llama_cpp
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

from orchestrator.errors import TrainingError
from orchestrator.train.base_model import tokenizer_from
from orchestrator.quantize import llama_tools

FTYPES = {
    "f16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16,
    "q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
    "q6_k": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K,
    "q5_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M,
    "q5_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_0,
    "q4_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
    "q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0,
}


def _save_tokenizer(src: Path | str, dest: Path, serving_template: str) -> None:
    tok = tokenizer_from(src)  # the saved tokenizer.json as it is (see base_model.tokenizer_from)
    tok.chat_template = serving_template
    tok.save_pretrained(dest)


# The largest magnitude a float16 holds: the GGUF is converted in f16 first, and a weight past it is inf there.
F16_MAX = 65504.0


def unrepresentable_weight(model: torch.nn.Module) -> str | None:
    """Where a merged model's weights cannot become an f16 GGUF, or None: the first tensor holding a NaN,
    an inf or a value past float16's range. A diverged run (a learning rate or a LoRA scale far too large)
    went on through merge and conversion and failed at quantization as an "unexpected" llama.cpp error."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            peak = p.abs().max().item() if p.numel() else 0.0  # one pass: a NaN or an inf makes the peak one
            if not math.isfinite(peak):
                return f"{name} holds NaN or inf"
            if peak > F16_MAX:
                return f"{name} holds {peak:.3g}, past float16's largest value {F16_MAX:g}"
    return None


def merge_adapter(base: Path | str, adapter_dir: Path, out_dir: Path, serving_template: str) -> Path:
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    where = unrepresentable_weight(merged)
    if where:
        raise TrainingError(f"training diverged: the merged model's {where}, so no GGUF can hold it; lower "
                            "train.learning_rate, or the adapter's scale train.lora.alpha / train.lora.rank")
    merged.save_pretrained(out_dir)
    _save_tokenizer(adapter_dir, out_dir, serving_template)
    return out_dir


def export_base(base: Path, out_dir: Path, serving_template: str) -> Path:
    """The untuned base with the same serving template: the baseline is scored on equal terms."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if "text_config" in json.loads((base / "config.json").read_text()):
        # A vision-language checkpoint (Qwen3.5 is published as one): training loads only its language
        # model (AutoModelForCausalLM), and the tuned model is saved text-only. Export the base the same
        # way, so both convert from the same kind of folder (and tokenizer class; see tokenizer_from).
        AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32).save_pretrained(out_dir)
        _save_tokenizer(base, out_dir, serving_template)
        return out_dir
    for f in base.iterdir():
        if f.suffix in (".safetensors", ".json") and not f.name.startswith("tokenizer") and f.name != "chat_template.json":
            target = out_dir / f.name
            if not target.exists():
                os.symlink(f.resolve(), target)
    _save_tokenizer(base, out_dir, serving_template)
    return out_dir


@contextlib.contextmanager
def _stderr_to(log_path: Path):
    """llama.cpp's quantizer prints per-tensor lines from C; keep them in a log, not the console."""
    sys.stderr.flush()
    saved = os.dup(2)
    with log_path.open("ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def quantize(f16_path: Path, out_path: Path, qtype: str, n_threads: int | None = None) -> Path:
    if qtype == "f16":
        shutil.copyfile(f16_path, out_path)
        return out_path
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPES[qtype]
    params.nthread = n_threads or os.cpu_count() or 1
    # written under a temporary name and renamed when whole: a failed quantization left a half-written
    # file under the final name, beside the models that are complete
    partial = out_path.with_name(out_path.name + ".part")
    with _stderr_to(out_path.with_suffix(".quantize.log")):
        rc = llama_cpp.llama_model_quantize(str(f16_path).encode(), str(partial).encode(), ctypes.byref(params))
    if rc != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"llama_model_quantize({qtype}) failed with code {rc} on {f16_path} (its log: "
                           f"{out_path.with_suffix('.quantize.log')})")
    os.replace(partial, out_path)
    return out_path


def to_gguf(hf_dir: Path, out_dir: Path, stem: str, qtypes: list[str], llama_cpp_dir: Path | None = None,
            keep_f16: bool = True) -> dict[str, Path]:
    """Convert a HF directory to f16 GGUF, then quantize to each type; returns {qtype: path}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    f16 = llama_tools.convert_hf_to_gguf(hf_dir, out_dir / f"{stem}-f16.gguf", "f16", llama_cpp_dir,
                                         log_path=out_dir / f"{stem}-convert.log")
    files = {q: quantize(f16, out_dir / f"{stem}-{q}.gguf", q) for q in qtypes if q not in ("f16", "bf16")}
    if "bf16" in qtypes:
        files["bf16"] = llama_tools.convert_hf_to_gguf(hf_dir, out_dir / f"{stem}-bf16.gguf", "bf16", llama_cpp_dir,
                                                       log_path=out_dir / f"{stem}-convert-bf16.log")
    if keep_f16 or "f16" in qtypes:
        files["f16"] = f16
    else:
        f16.unlink()
    return files
