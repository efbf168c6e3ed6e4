"""Eval harness throughput against a naive loop, on the same GGUF, cases and prompts, greedy.

    python benchmarks/eval_throughput.py [--model X.gguf] [--cases evals/sets/test.jsonl] [--limit 24]
                                         [--json out.json]

Runs, one after the other in this process:

- reference: every case alone from a fresh context with the harness's prefill chunk (`n_batch`).
  This *defines* a case's output (evals/runner.py).
- naive:     the loop a user would write: file order, a fresh context per case, llama-cpp-python's
  default chunk of 512.
- one lane:  one context on every thread: prompts in prefix order, the cache reused up to a chunk
             boundary (the harness before lanes).
- harness:   toolsweep's path, `evals.harness.evaluate`: the same order and reuse, on the auto lanes
             (evals/lanes.py: on a CPU, one context per thread scoring neighbouring blocks at once).
- unaligned: the same order with llama-cpp-python's own reuse (any shared prefix, the lever the
  harness gives up): to show what that lever would buy and what it costs in identical outputs.

It prints cases/s for each, where the harness's time goes (prompt tokens prefilled vs reused,
tokens decoded, seconds in each at rates measured here), and a limit: the time if only the tokens
that no earlier prompt shares were prefilled (perfect caching) at the best prefill rate measured,
and the outputs were decoded in batches of 8 sequences (approximated by the rate of 8-token
decodes). `identical_outputs` compares each path with the reference, byte for byte.
Without --model it scores SmolLM2-135M (the embedded base) converted to q4_k_m, as a trial would.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from orchestrator.offline import offline_defaults  # noqa: E402

offline_defaults()

from evals.cases import load_cases, take  # noqa: E402
from evals.harness import evaluate, is_probe, order_for_prefix_reuse, render  # noqa: E402
from evals.lanes import lane_threads  # noqa: E402
from evals.runner import DEFAULT_N_BATCH, GGUFRunner, common_prefix, gpu_offload, usable_cpus  # noqa: E402
from evals.template import strip_generation_markers  # noqa: E402
from orchestrator.train.chat_template import load_template  # noqa: E402


def default_model(base: str = "smollm2-135m") -> Path:
    """smollm2-135m: the newest trial's q4_k_m, else SmolLM2-135M converted to q4_k_m once under .cache/.
    tiny-qwen3.5: the hybrid (Gated DeltaNet + attention) test model converted to q8_0 once."""
    if base == "smollm2-135m":
        runs = sorted(ROOT.glob("runs/*/gguf/tuned-q4_k_m.gguf"), key=lambda p: p.stat().st_mtime)
        if runs:
            return runs[-1]
    from orchestrator.train import base_model
    from orchestrator.quantize import export
    from orchestrator.config import TinyQwen35Config
    from orchestrator.paths import cache_dir

    models = ROOT / cache_dir() / "models"
    stem, qtype = ("smollm2", "q4_k_m") if base == "smollm2-135m" else ("tiny-qwen3.5", "q8_0")
    out = ROOT / cache_dir() / "bench"
    target = out / f"{stem}-{qtype}.gguf"
    if not target.is_file():
        hf_base = (base_model.embedded_smollm2(models) if base == "smollm2-135m"
                   else base_model.tiny_qwen35(models, TinyQwen35Config()))
        hf = export.export_base(hf_base, out / f"hf-{stem}", strip_generation_markers(load_template("toolchat")))
        export.to_gguf(hf, out, stem, [qtype], keep_f16=False)
    return target


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def run_fresh(runner: GGUFRunner, prompts: list[str], max_tokens: int) -> list[dict]:
    return [runner.generate(p, max_tokens, fresh=True) for p in prompts]


def run_reusing(runner: GGUFRunner, prompts: list[str], max_tokens: int) -> list[dict]:
    runner.llm.reset()
    runner.plan(prompts)  # what the harness does: a recurrent/hybrid model saves states at shared boundaries
    return [runner.generate(p, max_tokens) for p in prompts]


def run_unaligned(runner: GGUFRunner, prompts: list[str], max_tokens: int) -> list[dict]:
    """llama-cpp-python's own prefix reuse: any shared prefix, wherever it ends."""
    from evals.runner import STOP

    runner.llm.reset()
    outs = []
    for p in prompts:
        tokens = runner.llm.tokenize(p.encode(), add_bos=False, special=True)
        out = runner.llm.create_completion(prompt=tokens, max_tokens=max_tokens, temperature=0.0, top_k=1, stop=STOP)
        outs.append({"text": out["choices"][0]["text"], "completion_tokens": out["usage"]["completion_tokens"]})
    return outs


def rates(model: Path, tokens: list[int], n_threads: int) -> dict:
    """Prefill tok/s per chunk size, and decode tok/s for 1 and for 8 tokens per decode."""
    import llama_cpp

    out = {}
    for n_batch in (64, 512):
        llm = llama_cpp.Llama(model_path=str(model), n_ctx=4096, n_batch=n_batch, n_ubatch=n_batch,
                              n_threads=n_threads, verbose=False)
        (_, secs) = timed(lambda: llm.eval(tokens))
        out[f"prefill_tok_s_nb{n_batch}"] = len(tokens) / secs
        if n_batch == 512:
            def single():
                for _ in range(32):
                    llm.eval([llm.sample(top_k=1, temp=0.0)])
            (_, secs) = timed(single)
            out["decode_tok_s"] = 32 / secs

            def eights():
                for _ in range(8):
                    llm.eval(tokens[:8])
            (_, secs) = timed(eights)
            out["decode8_tok_s"] = 64 / secs
        llm.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="GGUF to score (default: see --base)")
    ap.add_argument("--base", choices=["smollm2-135m", "tiny-qwen3.5"], default="smollm2-135m",
                    help="without --model: smollm2-135m (newest trial q4_k_m, else SmolLM2 q4_k_m) or "
                         "tiny-qwen3.5 (the hybrid recurrent model, q8_0: saved states instead of KV reuse)")
    ap.add_argument("--cases", type=Path, default=ROOT / "evals/sets/test.jsonl")
    ap.add_argument("--limit", type=int, default=24, help="call cases, spread over scenarios")
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--n-batch", type=int, default=DEFAULT_N_BATCH, help="the harness's prefill chunk")
    ap.add_argument("--lanes", type=int, default=None,
                    help="the harness's lanes (default: auto, as eval.lanes: null; see evals/lanes.py)")
    ap.add_argument("--json", type=Path, help="write the numbers here")
    args = ap.parse_args()
    model = args.model or default_model(args.base)
    threads = usable_cpus()
    cases = take([c for c in load_cases(args.cases) if not is_probe(c)], args.limit)
    template = strip_generation_markers(load_template("toolchat"))
    ordered = order_for_prefix_reuse(cases, template)
    prompts = [p for p, _ in ordered]
    ids = [c["id"] for _, c in ordered]

    harness_runner = GGUFRunner(model, n_ctx=4096, n_threads=threads, n_batch=args.n_batch)
    reference, reference_s = timed(lambda: run_fresh(harness_runner, prompts, args.max_new_tokens))
    harness_runner.stats = {"prompt_tokens": 0, "reused_tokens": 0, "states_saved": 0}
    one_lane, one_lane_s = timed(lambda: run_reusing(harness_runner, prompts, args.max_new_tokens))
    reuse = dict(harness_runner.stats)
    recurrent = harness_runner.recurrent
    unaligned, unaligned_s = timed(lambda: run_unaligned(harness_runner, prompts, args.max_new_tokens))
    tokens = [harness_runner.llm.tokenize(p.encode(), add_bos=False, special=True) for p in prompts]
    harness_runner.close()

    # The harness as trials and promotion run it: evals.harness.evaluate on the auto lanes.
    lane_split = lane_threads(args.lanes, threads, gpu_offload(), model.stat().st_size)
    lanes = [GGUFRunner(model, n_ctx=4096, n_threads=n, n_batch=args.n_batch) for n in lane_split]
    report, harness_s = timed(lambda: evaluate(cases, lanes, template, args.max_new_tokens))
    by_id = {rec["id"]: rec for rec in report["cases"]}
    harness = [{"text": by_id[i]["output"], "completion_tokens": by_id[i]["completion_tokens"]} for i in ids]
    lane_reused = sum(r.stats["reused_tokens"] for r in lanes)
    for runner in lanes:
        runner.close()

    naive_runner = GGUFRunner(model, n_ctx=4096, n_threads=threads, n_batch=512)
    naive_outs, naive_s = timed(lambda: run_fresh(naive_runner, [render(c, template) for c in cases],
                                                   args.max_new_tokens))  # file order
    naive_runner.close()
    naive_by_id = {c["id"]: o for c, o in zip(cases, naive_outs)}
    naive = [naive_by_id[i] for i in ids]

    r = rates(model, max(tokens, key=len), threads)
    n = len(prompts)
    total_prompt = sum(map(len, tokens))
    decoded = sum(o["completion_tokens"] for o in harness)
    prefilled = total_prompt - reuse["reused_tokens"]
    unshared = sum(len(t) - (common_prefix(t, tokens[i - 1]) if i else 0) for i, t in enumerate(tokens))
    best_prefill = max(r["prefill_tok_s_nb64"], r["prefill_tok_s_nb512"])
    limit_s = unshared / best_prefill + decoded / r["decode8_tok_s"]
    prefill_s = prefilled / r[f"prefill_tok_s_nb{args.n_batch}"] if f"prefill_tok_s_nb{args.n_batch}" in r else None
    decode_s = decoded / r["decode_tok_s"]
    same = lambda outs: sum(a["text"] == b["text"] for a, b in zip(outs, reference))  # noqa: E731

    print(f"model {model.name}; {n} call cases from {args.cases.name}; {threads} threads; harness n_batch {args.n_batch}"
          + (f"; recurrent/hybrid: the harness restores saved states ({reuse['states_saved']} saved)" if recurrent else ""))
    print(f"prompt tokens {total_prompt}: prefilled {prefilled}, reused {reuse['reused_tokens']} "
          f"({reuse['reused_tokens'] / total_prompt:.0%}); shared with the previous prompt at all: "
          f"{total_prompt - unshared} ({(total_prompt - unshared) / total_prompt:.0%}); output tokens {decoded}")
    print("measured rates: " + ", ".join(f"{k} {v:.0f}" for k, v in r.items()))
    if prefill_s is not None:
        print(f"one lane's time at those rates: prefill {prefill_s:.1f} s, decode {decode_s:.1f} s, "
              f"other {one_lane_s - prefill_s - decode_s:.1f} s")
    print(f"harness: {len(lanes)} lane(s) of {'+'.join(map(str, lane_split))} thread(s); "
          f"they reused {lane_reused} prompt tokens (one lane: {reuse['reused_tokens']})")
    print(f"{'run':<11}{'seconds':>9}{'cases/s':>9}{'identical to reference':>24}")
    rows = (("reference", reference_s, n), ("naive", naive_s, same(naive)), ("one lane", one_lane_s, same(one_lane)),
            ("harness", harness_s, same(harness)), ("unaligned", unaligned_s, same(unaligned)),
            ("limit", limit_s, None))
    for label, secs, ident in rows:
        print(f"{label:<11}{secs:>9.1f}{n / secs:>9.3f}{'' if ident is None else f'{ident}/{n}':>24}")
    print(f"harness vs naive: {naive_s / harness_s:.2f}x; harness reaches {limit_s / harness_s:.0%} of the limit")
    # The limit itself, against the naive loop: the most any eval path could gain on these prompts here
    # (every unshared prompt token prefilled once at the best rate, decode batched 8 ways, no other cost).
    print(f"the limit is {naive_s / limit_s:.2f}x the naive loop: no path, invariant or not, can beat that on "
          f"these cases on this machine ({(total_prompt - unshared) / total_prompt:.0%} of prompt tokens shared)")
    result = {
        "model": model.name, "cases": n, "threads": threads, "n_batch": args.n_batch, "recurrent": recurrent,
        "states_saved": reuse["states_saved"],
        "lanes": lane_split,
        "seconds": {"reference": reference_s, "naive": naive_s, "one_lane": one_lane_s, "harness": harness_s,
                    "unaligned": unaligned_s, "limit": limit_s},
        "ratio_vs_naive": naive_s / harness_s, "fraction_of_limit": limit_s / harness_s,
        "limit_ratio_vs_naive": naive_s / limit_s,
        "identical_outputs": same(harness) == n, "identical": {"harness": same(harness), "naive": same(naive),
                                                               "one_lane": same(one_lane),
                                                               "unaligned": same(unaligned)},
        "tokens": {"prompt": total_prompt, "prefilled": prefilled, "reused": reuse["reused_tokens"],
                   "unshared": unshared, "decoded": decoded},
        "rates": r, "harness_time_split_s": {"prefill": prefill_s, "decode": decode_s},
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
