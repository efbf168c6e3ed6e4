"""Stage progress lines: format, ETA, and the bounded publishing rate (fake clock)."""

from orchestrator.progress import StageProgress, progress_line


def test_line_has_counts_elapsed_and_eta():
    assert progress_line("train step", 10, 40, 65.0) == "train step 10/40, 1m05s elapsed, ETA 3m15s"
    assert progress_line("epoch 1 eval case", 96, 96, 30.0) == "epoch 1 eval case 96/96, 30s elapsed"


def test_published_at_most_every_interval_and_at_stage_edges():
    now = [0.0]
    lines: list[str] = []
    p = StageProgress(lines.append, min_interval_s=10, clock=lambda: now[0])
    for step in range(1, 41):  # one step a second
        now[0] += 1
        p.update("train step", step, 40)
    assert lines[0].startswith("train step 1/40") and lines[-1].startswith("train step 40/40")
    assert len(lines) == 1 + 3 + 1  # first, every 10 s, last
    now[0] += 1
    p.update("epoch 1 eval case", 1, 8)  # a new stage publishes at once
    assert lines[-1].startswith("epoch 1 eval case 1/8, 0s elapsed")
