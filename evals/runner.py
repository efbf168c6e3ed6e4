"""The one eval module that imports llama_cpp: greedy generation on a GGUF file.

One `Llama` object serves the whole case set, so consecutive prompts that share a prefix
(the system turn with the tool catalogue) skip its prefill: llama-cpp-python keeps the KV
cache of the previous prompt and only evaluates the differing suffix.
"""

from __future__ import annotations

import os
import time

import llama_cpp

STOP = ["<|im_end|>"]
# llama.cpp's `general.file_type` values (enum llama_ftype) for the types toolsweep writes or meets.
FILE_TYPES = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 7: "q8_0", 8: "q5_0", 9: "q5_1", 10: "q2_k", 11: "q3_k_s",
              12: "q3_k_m", 13: "q3_k_l", 14: "q4_k_s", 15: "q4_k_m", 16: "q5_k_s", 17: "q5_k_m", 18: "q6_k",
              32: "bf16"}


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class GGUFRunner:
    def __init__(self, model_path: str | os.PathLike, n_ctx: int = 4096, n_threads: int | None = None,
                 seed: int = 0):
        self.path = str(model_path)
        # All layers on the GPU when llama.cpp was built with one (a no-op on CPU builds). Threads: the
        # CPUs this process may run on, not the host's count (a pod or taskset sees fewer).
        self.llm = llama_cpp.Llama(model_path=self.path, n_ctx=n_ctx, n_threads=n_threads or usable_cpus(),
                                   n_gpu_layers=-1 if llama_cpp.llama_supports_gpu_offload() else 0,
                                   seed=seed, verbose=False)

    @property
    def chat_template(self) -> str | None:
        return self.llm.metadata.get("tokenizer.chat_template")

    def generate(self, prompt: str, max_tokens: int) -> dict:
        # Same tokenisation as training: special tokens parsed, no BOS added (the template writes its own).
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        room = self.llm.n_ctx() - len(tokens)
        if room <= 0:
            return {"text": "", "latency_s": 0.0, "completion_tokens": 0, "prompt_tokens": len(tokens),
                    "error": "prompt longer than n_ctx"}
        start = time.perf_counter()
        out = self.llm.create_completion(prompt=tokens, max_tokens=min(max_tokens, room), temperature=0.0,
                                         top_k=1, stop=STOP)
        latency = time.perf_counter() - start
        return {"text": out["choices"][0]["text"], "latency_s": latency,
                "completion_tokens": out["usage"]["completion_tokens"], "prompt_tokens": len(tokens)}

    def describe(self) -> dict:
        """Reproducibility facts about the model file and the llama.cpp build that runs it."""
        ftype = self.llm.metadata.get("general.file_type")
        return {"quant_type": FILE_TYPES.get(int(ftype), f"ftype {ftype}") if ftype is not None else "unknown",
                "llama_cpp_python": llama_cpp.__version__,
                "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
                "llama_system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip()}

    def roundtrip(self, prompt: str) -> str:
        """The prompt after tokenize → detokenize: anything the vocabulary cannot carry shows up here."""
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        return self.llm.detokenize(tokens, special=True).decode("utf-8", errors="replace")

    def close(self) -> None:
        self.llm.close()


def gguf_metadata(path: str | os.PathLike) -> dict:
    """Header metadata without loading tensors (vocab_only)."""
    llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    try:
        return dict(llm.metadata)
    finally:
        llm.close()
