"""benchmarks/train_throughput.py --repeats: each ratio pairs a run with the baseline run beside it."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("train_throughput", ROOT / "benchmarks/train_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(tokens_per_s, rss=10.0, losses=(2.0, 1.5)):
    return {"tokens_per_s": tokens_per_s, "peak_rss_gb": rss, "losses": list(losses)}


def test_ratios_are_medians_of_paired_repeats():
    bench = _bench()
    # the machine slowed down in repeat 2 for both trainers: the paired ratio stays 2, unpaired it would not
    runs = {"baseline": [_run(100), _run(50), _run(90)],
            "toolsweep": [_run(200, 2.0), _run(100, 2.5, (2.0, 1.5001)), _run(150, 2.0)]}
    out = bench.summarise_repeats(runs)
    ours = out["toolsweep"]
    assert (ours["ratio_tokens_per_s"], ours["ratio_tokens_per_s_min"], ours["ratio_tokens_per_s_max"]) == \
        (2.0, 150 / 90, 2.0)
    assert ours["tokens_per_s"] == 150 and ours["runs_tokens_per_s"] == [200, 100, 150]  # the median run
    assert ours["ratio_peak_rss"] == 0.2 and ours["repeats"] == 3
    assert abs(ours["max_abs_loss_diff_vs_baseline"] - 1e-4) < 1e-9
    assert out["baseline"]["ratio_tokens_per_s"] == 1.0 and out["baseline"]["max_abs_loss_diff_vs_baseline"] == 0


def test_an_even_number_of_repeats_takes_the_mean_of_the_middle_pair():
    bench = _bench()
    out = bench.summarise_repeats({"baseline": [_run(100), _run(100)], "toolsweep": [_run(200), _run(300)]})
    assert out["toolsweep"]["ratio_tokens_per_s"] == 2.5 and out["toolsweep"]["tokens_per_s"] == 200


def test_flop_model_counts_the_backward_only_through_adapted_layers():
    from types import SimpleNamespace

    bench = _bench()
    llama = SimpleNamespace(hidden_size=64, num_hidden_layers=4, vocab_size=1000, num_key_value_heads=2,
                            num_attention_heads=4, intermediate_size=128)
    every = bench.flops_per_trained_token(llama, mean_len=100, scored_share=0.1)
    assert bench.flops_per_trained_token(llama, 100, 0.1, top_layers=4) == every
    head = 2 * 2 * 64 * 1000 * 0.1                           # forward + input-gradient backward of the head
    per_layer_pass = (every - head) / 8                      # 4 layers forward + 4 backward, equal FLOPs each
    assert bench.flops_per_trained_token(llama, 100, 0.1, top_layers=1) == pytest.approx(5 * per_layer_pass + head)


def test_step_breakdown_sorts_profiled_ops_and_rates_products_and_attention():
    bench = _bench()
    ops = [  # one step: 1 s of products at 2 x 1000 x 1000 x 1000 x 50 calls = 100 GFLOP/s, ...
        {"name": "aten::mm", "shapes": [[1000, 1000], [1000, 1000]], "self_us": 0.6e6, "calls": 30},
        {"name": "aten::addmm_", "shapes": [[1000, 1000], [1000, 1000], [1000, 1000]], "self_us": 0.4e6, "calls": 20},
        # causal attention, batch 1, 2 heads, 1000 positions, dim 50: 2 x 2 x 2 x 1000^2 / 2 x 50 = 0.2 GFLOP
        {"name": "aten::_scaled_dot_product_flash_attention_for_cpu", "shapes": [[1, 2, 1000, 50]] * 3,
         "self_us": 0.004e6, "calls": 1},
        {"name": "aten::_scaled_dot_product_flash_attention_for_cpu_backward", "shapes": [[1, 2, 1000, 50]] * 4,
         "self_us": 0.01e6, "calls": 1},
        {"name": "aten::mul", "shapes": [[1000], [1000]], "self_us": 0.3e6, "calls": 100},
        {"name": "aten::_fused_adamw_", "shapes": [], "self_us": 0.086e6, "calls": 1},
    ]
    out = bench.step_breakdown(ops, steps=1, matmul_gflops_2048=200.0)
    assert abs(out["products"]["gflops"] - 100.0) < 1e-9 and abs(out["products"]["share_of_2048_rate"] - 0.5) < 1e-12
    assert abs(out["attention"]["gflops"] - 0.2 * 3.5 / 0.014) < 1e-6  # forward 0.2 + backward 2.5 x 0.2 GFLOP
    assert abs(out["elementwise"]["seconds_per_step"] - 0.3) < 1e-12 and abs(out["other"]["seconds_per_step"] - 0.086) < 1e-12
    assert abs(out["profiled_step"] - 1.4) < 1e-12
    assert abs(sum(out[k]["share"] for k in ("products", "attention", "elementwise", "other")) - 1.0) < 1e-12
    # at the 2048^2 rate the 100 GFLOP of products take 0.5 s and attention's 0.7 GFLOP 3.5 ms
    assert abs(out["step_if_products_at_2048_rate"] - (0.5 + 0.0035 + 0.3 + 0.086)) < 1e-9
