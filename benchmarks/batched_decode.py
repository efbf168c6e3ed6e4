"""Is batched decoding row-invariant in llama.cpp's CPU kernels? Measured, not assumed.

    python benchmarks/batched_decode.py [--model X.gguf] [--cases 8] [--width 4] [--steps 24] [--json out.json]

The eval's reference output of a case is what the model produces for that case alone from a fresh
context (evals/runner.py). Decoding several cases together (one `llama_decode` whose batch holds
one new token per sequence, each sequence with its own KV stream) would cut the per-token cost of
decode, the larger share of the harness's time. It may only be used if every sequence's logits
are byte-identical to the ones it gets alone. This script checks that directly:

- alone:   each prompt in a fresh context, prefilled in chunks of `--n-batch` (as the harness
           does), then `--steps` greedy tokens decoded one at a time;
- batched: `--width` prompts per context (one KV stream each), each prefilled alone in the same
           chunks, then decoded together, one token per sequence per `llama_decode`.

It prints, per decode step, how many sequences' logits differ from their alone run (bytes), the
largest absolute logit difference, how many greedy continuations diverge, and the decode time of
both paths. Prefill is unchanged between the two, so any difference is the batched decode's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.eval_throughput import default_model  # noqa: E402
from evals.cases import load_cases, take  # noqa: E402
from evals.harness import is_probe, order_for_prefix_reuse  # noqa: E402
from evals.runner import DEFAULT_N_BATCH, usable_cpus  # noqa: E402
from evals.template import strip_generation_markers  # noqa: E402
from orchestrator.train.chat_template import load_template  # noqa: E402


class Batched:
    """A llama.cpp context holding `width` sequences, each in its own KV stream (low-level API)."""

    def __init__(self, model_path: Path, width: int, n_ctx_per_seq: int, n_batch: int, threads: int,
                 repack: bool = True):
        import llama_cpp

        self.lib = llama_cpp
        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = 0
        mparams.use_extra_bufts = repack  # False: no repacked weights, one dot product per output element
        self.model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), mparams)
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = n_ctx_per_seq * width
        cparams.n_batch = cparams.n_ubatch = n_batch
        cparams.n_seq_max = width
        cparams.kv_unified = False  # a stream per sequence: each attends only to its own cells
        cparams.n_threads = cparams.n_threads_batch = threads
        self.ctx = llama_cpp.llama_init_from_model(self.model, cparams)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(self.model))
        self.batch = llama_cpp.llama_batch_init(max(n_batch, width), 0, width)
        self.n_batch = n_batch

    def decode(self, items: list[tuple[int, int, int, bool]]) -> list[np.ndarray]:
        """items: (token, position, sequence, wants_logits); returns the logits rows asked for."""
        b = self.batch
        b.n_tokens = len(items)
        for j, (tok, pos, seq, out) in enumerate(items):
            b.token[j], b.pos[j], b.n_seq_id[j], b.logits[j] = tok, pos, 1, out
            b.seq_id[j][0] = seq
        if self.lib.llama_decode(self.ctx, b) != 0:
            raise RuntimeError("llama_decode failed")
        rows = []
        for j, (_, _, _, out) in enumerate(items):
            if out:
                ptr = self.lib.llama_get_logits_ith(self.ctx, j)
                rows.append(np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy())
        return rows

    def prefill(self, tokens: list[int], seq: int) -> np.ndarray:
        """Chunks of n_batch from position 0, as a fresh run computes them; the last token's logits."""
        last = None
        for start in range(0, len(tokens), self.n_batch):
            chunk = tokens[start:start + self.n_batch]
            end = start + len(chunk) == len(tokens)
            rows = self.decode([(t, start + i, seq, end and i == len(chunk) - 1) for i, t in enumerate(chunk)])
            last = rows[-1] if rows else last
        return last

    def clear(self) -> None:
        self.lib.llama_memory_clear(self.lib.llama_get_memory(self.ctx), True)

    def close(self) -> None:
        self.lib.llama_batch_free(self.batch)
        self.lib.llama_free(self.ctx)
        self.lib.llama_model_free(self.model)


def greedy(groups: list[list[list[int]]], runner: Batched, steps: int) -> tuple[list[list[np.ndarray]], float]:
    """Per prompt, the logits of each of `steps` greedy decode steps; and the decode seconds."""
    logits: list[list[np.ndarray]] = []
    decode_s = 0.0
    for group in groups:
        runner.clear()
        last = [runner.prefill(tokens, seq) for seq, tokens in enumerate(group)]
        seen = [[row] for row in last]
        next_tok = [int(np.argmax(row)) for row in last]
        start = time.perf_counter()
        for step in range(steps - 1):
            rows = runner.decode([(next_tok[s], len(group[s]) + step, s, True) for s in range(len(group))])
            for s, row in enumerate(rows):
                seen[s].append(row)
                next_tok[s] = int(np.argmax(row))
        decode_s += time.perf_counter() - start
        logits += seen
    return logits, decode_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="GGUF (default: as benchmarks/eval_throughput.py)")
    ap.add_argument("--cases", type=int, default=8, help="call cases of evals/sets/test.jsonl")
    ap.add_argument("--width", type=int, default=4, help="sequences decoded together")
    ap.add_argument("--steps", type=int, default=24, help="greedy tokens per sequence")
    ap.add_argument("--n-batch", type=int, default=DEFAULT_N_BATCH, help="prefill chunk (the harness's)")
    ap.add_argument("--no-repack", action="store_true",
                    help="load without llama.cpp's repacked weight layouts (use_extra_bufts=False), for both paths")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    model = args.model or default_model()
    threads = usable_cpus()
    template = strip_generation_markers(load_template("toolchat"))
    cases = take([c for c in load_cases(ROOT / "evals/sets/test.jsonl") if not is_probe(c)], args.cases)
    prompts = [p for p, _ in order_for_prefix_reuse(cases, template)]

    alone_ctx = Batched(model, 1, 4096, args.n_batch, threads, not args.no_repack)
    tokenize = alone_ctx.lib.llama_tokenize
    vocab = alone_ctx.lib.llama_model_get_vocab(alone_ctx.model)

    def tokens_of(text: str) -> list[int]:
        raw = text.encode()
        buf = (alone_ctx.lib.llama_token * (len(raw) + 8))()
        n = tokenize(vocab, raw, len(raw), buf, len(buf), False, True)
        return list(buf[:n])

    toks = [tokens_of(p) for p in prompts]
    alone, alone_s = greedy([[t] for t in toks], alone_ctx, args.steps)
    alone_ctx.close()
    together_ctx = Batched(model, args.width, 4096, args.n_batch, threads, not args.no_repack)
    groups = [toks[i:i + args.width] for i in range(0, len(toks), args.width)]
    together, together_s = greedy(groups, together_ctx, args.steps)
    together_ctx.close()

    per_step = []
    for step in range(args.steps):
        differ = sum(a[step].tobytes() != b[step].tobytes() for a, b in zip(alone, together))
        worst = max(float(np.max(np.abs(a[step] - b[step]))) for a, b in zip(alone, together))
        per_step.append({"step": step, "sequences_differing": differ, "max_abs_logit_diff": worst})
    diverged = sum(any(int(np.argmax(x)) != int(np.argmax(y)) for x, y in zip(a, b)) for a, b in zip(alone, together))
    print(f"model {model.name}; {len(prompts)} call cases; width {args.width}; {args.steps} greedy steps; "
          f"{threads} threads; prefill chunk {args.n_batch}")
    print(f"{'step':>5}{'seqs with other logits':>24}{'max |logit diff|':>18}")
    for row in per_step:
        print(f"{row['step']:>5}{row['sequences_differing']:>24}{row['max_abs_logit_diff']:>18.3e}")
    print("step 0 is the prefill's last token (same path in both): a check of the set-up")
    print(f"greedy continuations that diverge: {diverged}/{len(prompts)}")
    print(f"decode time: alone {alone_s:.2f} s, batched {together_s:.2f} s ({alone_s / together_s:.2f}x)")
    invariant = all(r["sequences_differing"] == 0 for r in per_step)
    print("batched decode is row-invariant here" if invariant else
          "batched decode is NOT row-invariant here: the harness keeps decoding one sequence at a time")
    if args.json:
        args.json.write_text(json.dumps({"model": model.name, "cases": len(prompts), "width": args.width,
                                         "steps": args.steps, "invariant": invariant, "diverged": diverged,
                                         "decode_s": {"alone": alone_s, "batched": together_s},
                                         "per_step": per_step}, indent=2))


if __name__ == "__main__":
    main()
