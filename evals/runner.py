"""The one eval module that imports llama_cpp: greedy generation on a GGUF file.

**A case's output is what the model produces for that case alone, from a fresh context.** Every
path through this runner gives exactly that text, whatever case ran before it:

- llama.cpp prefills a prompt in chunks of `n_batch` tokens counted from position 0, and the
  floating-point path of a token depends on the chunk it was computed in. Reusing the KV cache of
  any shared prefix (llama-cpp-python's default) computes the suffix in other chunks than a fresh
  run would, and on near-ties greedy decoding flips (measured: 2-3 of 24 SmolLM2 cases).
- So the runner keeps only the part of the cached prefix that ends on a chunk boundary. Every
  token after it is computed in the same chunk, with the same cache contents before it, as in a
  fresh run: the outputs are byte-identical to the fresh-context reference (tests/test_eval_invariance.py),
  and the shared system turn with the tool catalogue is still prefilled once per run of cases
  that share it, less up to one chunk.

`n_batch` is therefore part of what defines a reference output; `describe()` records it.

**Recurrent and hybrid models** (Qwen3.5: Gated DeltaNet layers with a running state beside
full-attention layers) cannot cut their memory back to a shorter prefix: llama.cpp refuses the
partial removal and llama-cpp-python then re-evaluates the whole prompt (its PR #2108), and a raw
`eval` on top of the stale state would be wrong. For them the runner keeps *saved states* instead:
told the order of the prompts (`plan`), it prefills each prompt up to the chunk boundary it shares
with the next one, saves the state there (`save_state`), and the next prompt restores it and
prefills only the rest. The chunks are the ones a fresh run computes, so outputs stay identical to
the fresh reference; without a plan every prompt runs from a fresh context.
"""

from __future__ import annotations

import os
import time

import llama_cpp
import numpy as np

from evals.errors import ModelFileError
from evals.lanes import usable_cpus
from evals.model_files import check_gguf

STOP = ["<|im_end|>"]
# llama.cpp's `general.file_type` values (enum llama_ftype) for the types toolsweep writes or meets.
FILE_TYPES = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 7: "q8_0", 8: "q5_0", 9: "q5_1", 10: "q2_k", 11: "q3_k_s",
              12: "q3_k_m", 13: "q3_k_l", 14: "q4_k_s", 15: "q4_k_m", 16: "q5_k_s", 17: "q5_k_m", 18: "q6_k",
              32: "bf16"}


def gpu_offload() -> bool:
    """True when this llama.cpp build offloads layers to a GPU (the runner then puts all of them there)."""
    return bool(llama_cpp.llama_supports_gpu_offload())


# Prefill chunk: small enough that an aligned shared prefix keeps most of a 300-600-token system
# turn, large enough that prefill stays matrix-bound (see benchmarks/eval_throughput.py).
DEFAULT_N_BATCH = 64


def common_prefix(a, b) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def aligned_reuse(cached: list[int], tokens: list[int], n_batch: int) -> int:
    """How many cached tokens a prompt may reuse and still be computed exactly as from a fresh
    context: the shared prefix rounded down to a chunk boundary, leaving at least one token to
    prefill (the logits of the last prompt token must come from a live decode)."""
    keep = common_prefix(cached, tokens) // n_batch * n_batch
    while keep >= len(tokens) and keep > 0:
        keep -= n_batch
    return max(keep, 0)


class GGUFRunner:
    def __init__(self, model_path: str | os.PathLike, n_ctx: int = 4096, n_threads: int | None = None,
                 seed: int = 0, n_batch: int = DEFAULT_N_BATCH):
        self.path = str(model_path)
        self.n_batch = n_batch
        self.n_ctx = n_ctx  # as asked: llama.cpp may round its context up, and the check holds to this
        self.stats = {"prompt_tokens": 0, "reused_tokens": 0, "states_saved": 0}
        self._save_at: dict[tuple[int, ...], int] = {}   # prompt tokens -> boundary to save a state at
        self._states: dict[tuple[int, ...], object] = {}  # prefix tokens -> llama-cpp-python LlamaState
        # All layers on the GPU when llama.cpp was built with one (a no-op on CPU builds). Threads: the
        # CPUs this process may run on, not the host's count (a pod or taskset sees fewer).
        check_gguf(self.path)
        try:
            self.llm = llama_cpp.Llama(model_path=self.path, n_ctx=n_ctx, n_threads=n_threads or usable_cpus(),
                                       n_gpu_layers=-1 if gpu_offload() else 0,
                                       n_batch=n_batch, n_ubatch=n_batch, seed=seed, verbose=False)
        except ValueError as err:  # llama-cpp-python's "Failed to load model from file" / "... llama_context"
            if "context" in str(err):  # the weights loaded; the KV cache for n_ctx tokens did not fit
                raise ModelFileError(f"{self.path}: llama.cpp loaded the model but could not create a {n_ctx}-token "
                                     f"context ({err}); lower eval.n_ctx / --n-ctx") from None
            raise ModelFileError(f"{self.path}: llama.cpp could not load it ({err}); the file may be truncated "
                                 f"or of an architecture this llama.cpp does not know") from None

        model = self.llm.model
        self.recurrent = bool(llama_cpp.llama_model_is_recurrent(model) or llama_cpp.llama_model_is_hybrid(model))

    @property
    def chat_template(self) -> str | None:
        return self.llm.metadata.get("tokenizer.chat_template")

    def context_problem(self, prompt: str, max_tokens: int) -> str | None:
        """Why `prompt` plus `max_tokens` new tokens cannot fit this context, or None."""
        return self._overflow(len(self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)), max_tokens)

    def _overflow(self, need: int, max_tokens: int) -> str | None:
        if need + max_tokens > self.n_ctx:
            return (f"its prompt is {need} tokens and the answer may take {max_tokens} more, over the "
                    f"{self.n_ctx}-token context (raise eval.n_ctx / --n-ctx, or lower max_new_tokens)")
        return None

    def generate(self, prompt: str, max_tokens: int, fresh: bool = False) -> dict:
        """Greedy completion of `prompt`. `fresh=True` discards the whole cache first: the reference
        path, which every other call must equal (see the module docstring)."""
        # Same tokenisation as training: special tokens parsed, no BOS added (the template writes its own).
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        # No answer is cut short to fit: a later probe round whose longer prompt leaves less room than
        # the budget would otherwise be scored on a truncated answer.
        overflow = self._overflow(len(tokens), max_tokens)
        if overflow:
            return {"text": "", "latency_s": 0.0, "completion_tokens": 0, "prompt_tokens": len(tokens),
                    "error": overflow}
        keep = self._reuse(tokens, fresh)
        start = time.perf_counter()
        out = self.llm.create_completion(prompt=tokens, max_tokens=max_tokens, temperature=0.0,
                                         top_k=1, stop=STOP)
        latency = time.perf_counter() - start
        return {"text": out["choices"][0]["text"], "latency_s": latency,
                "completion_tokens": out["usage"]["completion_tokens"], "prompt_tokens": len(tokens),
                "reused_tokens": keep}

    def plan(self, prompts: list[str]) -> None:
        """The order the prompts will run in. A recurrent/hybrid model saves, while prefilling each
        prompt, its state at the chunk boundary shared with the next (see the module docstring)."""
        if not self.recurrent:
            return  # KV-cache models reuse the cached prefix directly
        toks = [self.llm.tokenize(p.encode("utf-8"), add_bos=False, special=True) for p in prompts]
        self._save_at = {}
        for this, nxt in zip(toks, toks[1:]):
            boundary = aligned_reuse(this, nxt, self.n_batch)
            if boundary:
                self._save_at[tuple(this)] = boundary

    def _reuse(self, tokens: list[int], fresh: bool) -> int:
        """Keep the chunk-aligned part of the cached prefix; returns how many tokens are kept."""
        if self.recurrent:
            return self._reuse_state(tokens, fresh)
        cached = [] if fresh else self.llm.input_ids[:self.llm.n_tokens].tolist()
        keep = aligned_reuse(cached, tokens, self.n_batch)
        # llama-cpp-python reuses the longest cached prefix it finds; showing it only `keep` tokens makes
        # that the chunk-aligned one (it drops the KV cells after `keep` itself; 0 resets the context).
        self.llm.n_tokens = keep
        self.stats["prompt_tokens"] += len(tokens)
        self.stats["reused_tokens"] += keep
        return keep

    def _reuse_state(self, tokens: list[int], fresh: bool) -> int:
        """Recurrent/hybrid: restore the longest saved state that is a chunk-aligned prefix of
        `tokens`, else start from a cleared memory; then prefill up to the planned boundary and save
        the state there. Leaves the context at the returned position, with no logits pending."""
        keep = 0
        if not fresh:
            for b in range((len(tokens) - 1) // self.n_batch * self.n_batch, 0, -self.n_batch):
                state = self._states.get(tuple(tokens[:b]))
                if state is not None:
                    self.llm.load_state(state)
                    keep = b
                    break
        if keep == 0:
            self.llm.reset()  # clears the recurrent state too
        save_at = 0 if fresh else self._save_at.get(tuple(tokens), 0)
        if save_at > keep:
            self.llm.eval(tokens[keep:save_at])  # chunks from `keep`: the ones a fresh run computes
            self._states = {tuple(tokens[:save_at]): self.llm.save_state()}  # one state: the next prompt's
            self.stats["states_saved"] += 1
        self.stats["prompt_tokens"] += len(tokens)
        self.stats["reused_tokens"] += keep
        return keep

    def prompt_logits(self, prompt: str, fresh: bool = False) -> tuple[bytes, int]:
        """The raw float32 logits after the prompt's last token, through the same reuse path as
        `generate`, and the tokens reused: invariance tests compare these bytes, which move on any
        change of floating-point path, where a greedy output moves only on a near-tie."""
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        keep = self._reuse(tokens, fresh)
        if keep == 0 and not self.recurrent:
            self.llm.reset()
        self.llm.eval(tokens[self.llm.n_tokens:])  # a recurrent model may already stand at its saved boundary
        return bytes(np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self.llm.n_vocab(),))), keep

    def describe(self) -> dict:
        """Reproducibility facts about the model file and the llama.cpp build that runs it."""
        ftype = self.llm.metadata.get("general.file_type")
        return {"quant_type": FILE_TYPES.get(int(ftype), f"ftype {ftype}") if ftype is not None else "unknown",
                "llama_cpp_python": llama_cpp.__version__,
                "gpu_offload": gpu_offload(),
                "n_batch": self.n_batch,  # prefill chunk: part of what defines a reference output
                "llama_system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip()}

    def roundtrip(self, prompt: str) -> str:
        """The prompt after tokenize → detokenize: anything the vocabulary cannot carry shows up here."""
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        return self.llm.detokenize(tokens, special=True).decode("utf-8", errors="replace")

    def close(self) -> None:
        self.llm.close()

