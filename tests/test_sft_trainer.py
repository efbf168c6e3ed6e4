"""toolsweep's trainer computes TRL's loss: per-step loss equal to plain `SFTTrainer` to 1e-4.

Same tiny Llama, rows, seed, LoRA and arguments; only the trainer class differs. LoRA dropout is
0 here because the two trainers draw dropout masks per batch and per row respectively.
"""

from pathlib import Path

import pytest

from orchestrator.config import SweepConfig
from orchestrator.paths import cache_dir

pytestmark = pytest.mark.slow


def _losses(trainer_cls, inputs, cfg, out: Path) -> tuple[list[float], list[float], list[float]]:
    from transformers import TrainerCallback

    from orchestrator.train.trainer import build_trainer

    logged: list[dict] = []

    class Keep(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                logged.append(logs)

    trainer = build_trainer(inputs.base, inputs.tokenizer, inputs.train_ds, cfg.train, out, [Keep()],
                            trainer_cls=trainer_cls)
    trainer.train()
    return ([float(x["loss"]) for x in logged], [float(x["mean_token_accuracy"]) for x in logged],
            [float(x["num_tokens"]) for x in logged])


def test_per_step_loss_equals_plain_trl(tmp_path):
    from trl import SFTTrainer

    from orchestrator.train.sft_trainer import LossPositionSFTTrainer
    from orchestrator.recipes.trial import prepare_inputs

    cfg = SweepConfig.model_validate({
        "name": "trainer-parity", "output_dir": str(tmp_path / "runs"), "model": {"base": "tiny"},
        "data": {"mix": {"total": 12}},
        # batch 3 x accumulation 2 over 12 rows: padded batches of uneven rows, 2 optimizer steps per epoch
        "train": {"epochs": 2, "batch_size": 3, "grad_accum": 2, "max_length": 1024, "learning_rate": 5e-3,
                  "lora": {"rank": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj", "down_proj"]}},
    })
    inputs = prepare_inputs(cfg, cache_dir(), eval_limit=1, data_dir=tmp_path / "data")
    assert len(inputs.train_ds) >= 10
    trl_loss, trl_acc, trl_tokens = _losses(SFTTrainer, inputs, cfg, tmp_path / "trl")
    ours_loss, ours_acc, ours_tokens = _losses(LossPositionSFTTrainer, inputs, cfg, tmp_path / "ours")
    assert len(trl_loss) == len(ours_loss) >= 4
    # the learning rate is high enough that the loss moves: the comparison covers updated weights too
    assert abs(trl_loss[-1] - trl_loss[0]) > 1e-3
    assert max(abs(a - b) for a, b in zip(trl_loss, ours_loss)) < 1e-4, (trl_loss, ours_loss)
    assert max(abs(a - b) for a, b in zip(trl_acc, ours_acc)) < 1e-6
    assert trl_tokens == ours_tokens

    # each lever alone (what benchmarks/train_throughput.py times) keeps the math too
    for unpad, head_only, fuse, norm in ((False, True, False, False), (True, False, False, False),
                                         (False, False, True, False), (False, False, False, True)):
        lever = type("Lever", (LossPositionSFTTrainer,),
                     {"unpad_rows": unpad, "head_on_trained_only": head_only, "fuse_lora": fuse, "analytic_norm": norm})
        loss, acc, tokens = _losses(lever, inputs, cfg, tmp_path / f"lever-{unpad}-{head_only}-{fuse}-{norm}")
        assert max(abs(a - b) for a, b in zip(trl_loss, loss)) < 1e-4, (unpad, head_only, fuse, norm, trl_loss, loss)
        assert max(abs(a - b) for a, b in zip(trl_acc, acc)) < 1e-6 and tokens == trl_tokens


def test_fused_lora_forward_equals_peft_in_output_and_gradients():
    """The fused forward covers every plain LoRA layer and gives PEFT's outputs and gradients."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    from orchestrator.train.sft_trainer import _fused_adapters

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2))
    model = get_peft_model(model, LoraConfig(r=4, lora_alpha=12, lora_dropout=0.0,
                                             target_modules=["q_proj", "v_proj", "up_proj", "down_proj"]))
    for name, p in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.5)  # B starts at zero: make the adapter's term count
    ids = torch.randint(0, 64, (2, 9))

    def run(fused: bool):
        model.zero_grad()
        with _fused_adapters(model, fused) as n_fused:
            loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
        return n_fused, loss.detach(), grads

    n_plain, loss_plain, grads_plain = run(False)
    n_fused, loss_fused, grads_fused = run(True)
    assert n_plain == 0 and n_fused == 2 * 4  # every adapted layer of both blocks
    assert torch.allclose(loss_plain, loss_fused, atol=1e-6)
    for name, g in grads_plain.items():
        assert torch.allclose(g, grads_fused[name], atol=1e-5, rtol=1e-4), name
    with _fused_adapters(model, True):
        pass
    assert all("forward" not in vars(m) for m in model.modules())  # PEFT's forward is back after the block


def test_bf16_on_a_bf16_cpu_autocasts_and_stays_near_the_fp32_loss(tmp_path):
    """`train.bf16: true` on a CPU with avx512_bf16/AMX trains under autocast: the loss curve moves
    off fp32's (bf16 matmuls: the math changes, which is why it is logged) but stays close to it."""
    from orchestrator.recipes.trial import prepare_inputs
    from orchestrator.train.precision import NATIVE_BF16_FLAGS, cpu_flags
    from orchestrator.train.sft_trainer import LossPositionSFTTrainer
    from orchestrator.train.trainer import build_trainer

    if not set(NATIVE_BF16_FLAGS) & cpu_flags():
        pytest.skip(f"this CPU has none of {NATIVE_BF16_FLAGS}: train.bf16 trains in fp32 here")
    spec = {"name": "bf16", "output_dir": str(tmp_path / "runs"), "model": {"base": "tiny"}, "data": {"mix": {"total": 8}},
            "train": {"epochs": 2, "batch_size": 4, "max_length": 1024, "learning_rate": 5e-3,
                      "lora": {"rank": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj", "down_proj"]}}}
    fp32_cfg = SweepConfig.model_validate(spec)
    bf16_cfg = SweepConfig.model_validate({**spec, "train": {**spec["train"], "bf16": True}})
    inputs = prepare_inputs(fp32_cfg, cache_dir(), eval_limit=1, data_dir=tmp_path / "data")
    fp32_loss, _, fp32_tokens = _losses(LossPositionSFTTrainer, inputs, fp32_cfg, tmp_path / "fp32")
    bf16_loss, _, bf16_tokens = _losses(LossPositionSFTTrainer, inputs, bf16_cfg, tmp_path / "bf16")
    trainer = build_trainer(inputs.base, inputs.tokenizer, inputs.train_ds, bf16_cfg.train, tmp_path / "probe")
    assert (trainer.precision, trainer.autocast_bf16, trainer.precision_note) == ("bf16-autocast", True, None)
    assert fp32_tokens == bf16_tokens and len(bf16_loss) == len(fp32_loss) >= 4
    gap = max(abs(a - b) for a, b in zip(fp32_loss, bf16_loss))
    assert 0 < gap < 0.05 * max(fp32_loss), (fp32_loss, bf16_loss)


def test_top_layers_adapts_only_the_last_layers_and_runs_the_rest_without_a_graph(tmp_path):
    """`train.lora.top_layers: 1` on the 2-layer tiny Llama: adapters only in layer 1, layer 0 runs
    with no autograd graph (nothing to train below it), and the loss is still plain TRL's."""
    from trl import SFTTrainer

    from orchestrator.recipes.trial import prepare_inputs
    from orchestrator.train.sft_trainer import LossPositionSFTTrainer
    from orchestrator.train.trainer import build_trainer

    cfg = SweepConfig.model_validate({
        "name": "top-layers", "output_dir": str(tmp_path / "runs"), "model": {"base": "tiny"},
        "data": {"mix": {"total": 8}},
        "train": {"epochs": 1, "batch_size": 2, "max_length": 1024, "learning_rate": 5e-3,
                  "lora": {"rank": 4, "alpha": 8, "dropout": 0.0, "top_layers": 1}},
    })
    inputs = prepare_inputs(cfg, cache_dir(), eval_limit=1, data_dir=tmp_path / "data")
    trainer = build_trainer(inputs.base, inputs.tokenizer, inputs.train_ds, cfg.train, tmp_path / "probe")
    adapted = {name.split(".layers.")[1].split(".")[0] for name, _ in trainer.model.named_parameters()
               if "lora_" in name}
    assert adapted == {"1"}
    assert sum(trainer.adapter_targets.values()) == 7  # q/k/v/o + gate/up/down of one layer

    graph_in = {}
    layers = trainer.model.get_base_model().model.layers
    for index, layer in enumerate(layers):
        layer.register_forward_hook(lambda mod, args, out, i=index: graph_in.__setitem__(
            i, (out[0] if isinstance(out, tuple) else out).requires_grad))
    trainer.train()
    assert graph_in == {0: False, 1: True}

    trl_loss, _, _ = _losses(SFTTrainer, inputs, cfg, tmp_path / "trl")
    ours_loss, _, _ = _losses(LossPositionSFTTrainer, inputs, cfg, tmp_path / "ours")
    assert len(trl_loss) == len(ours_loss) >= 3
    assert max(abs(a - b) for a, b in zip(trl_loss, ours_loss)) < 1e-4, (trl_loss, ours_loss)


def test_analytic_rms_norm_gives_autograds_output_and_gradients_and_only_where_it_applies():
    """The written-out RMSNorm: the forward's bits are transformers', the input and weight gradients
    autograd's to float rounding; copies of Llama's norm are covered, Qwen3.5's `1 + w` norm and
    non-fp32 inputs keep their own forward; every module has its own forward back after the block."""
    import torch
    from transformers.models.llama.modeling_llama import LlamaRMSNorm
    from transformers.models.qwen2.modeling_qwen2 import Qwen2RMSNorm
    from transformers.models.qwen3_5.modeling_qwen3_5 import Qwen3_5RMSNorm

    from orchestrator.train.rms_norm import analytic_norms

    torch.manual_seed(0)
    model = torch.nn.ModuleList([LlamaRMSNorm(48, eps=1e-5), Qwen2RMSNorm(48, eps=1e-6), Qwen3_5RMSNorm(48)])
    for norm in model:
        torch.nn.init.normal_(norm.weight)
    x = torch.randn(3, 7, 48) * 4 + 1
    grad_out = torch.randn(3, 7, 48)

    def run(enabled: bool, dtype=torch.float32):
        outs, grads = [], []
        with analytic_norms(model, enabled) as n_patched:
            for norm in model:
                norm.zero_grad()
                xi = x.to(dtype).clone().requires_grad_()
                y = norm(xi)
                y.backward(grad_out.to(dtype))
                outs.append(y.detach())
                grads.append((xi.grad, norm.weight.grad.clone()))
        return n_patched, outs, grads

    n_off, outs_off, grads_off = run(False)
    n_on, outs_on, grads_on = run(True)
    assert (n_off, n_on) == (0, 2)  # Llama's and its Qwen2 copy; not Qwen3.5's
    for y_off, y_on in zip(outs_off, outs_on):
        assert torch.equal(y_off, y_on)
    for (dx_off, dw_off), (dx_on, dw_on) in zip(grads_off, grads_on):
        assert torch.allclose(dx_off, dx_on, atol=1e-5, rtol=1e-5)
        assert torch.allclose(dw_off, dw_on, atol=1e-4, rtol=1e-5)
    _, bf16_off, _ = run(False, torch.bfloat16)
    _, bf16_on, _ = run(True, torch.bfloat16)
    assert all(torch.equal(a, b) for a, b in zip(bf16_off, bf16_on))
    assert all("forward" not in vars(m) for m in model)
