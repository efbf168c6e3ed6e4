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

    from orchestrator.train import build_trainer

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

    from orchestrator.sft_trainer import LossPositionSFTTrainer
    from orchestrator.trial import prepare_inputs

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
    for unpad, head_only in ((False, True), (True, False)):
        lever = type("Lever", (LossPositionSFTTrainer,), {"unpad_rows": unpad, "head_on_trained_only": head_only})
        loss, acc, tokens = _losses(lever, inputs, cfg, tmp_path / f"lever-{unpad}-{head_only}")
        assert max(abs(a - b) for a, b in zip(trl_loss, loss)) < 1e-4, (unpad, head_only, trl_loss, loss)
        assert max(abs(a - b) for a, b in zip(trl_acc, acc)) < 1e-6 and tokens == trl_tokens
