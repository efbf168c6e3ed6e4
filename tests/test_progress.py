"""Stage progress lines: format, ETA, and the bounded publishing rate (fake clock)."""

from orchestrator.progress import StageProgress, progress_line


def test_line_has_counts_elapsed_and_eta():
    assert progress_line("train step", 10, 40, 65.0) == "train step 10/40, 1m05s elapsed, ETA 3m15s"
    assert progress_line("eval case", 1, 96, 0.2) == "eval case 1/96, 0s elapsed"   # no rate measured yet
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


def test_trial_progress_without_a_terminal_is_lines_not_a_bar(monkeypatch):
    """`toolsweep trial > log`: a rich bar cannot repaint there, so counted stages print lines."""
    import io

    from rich.console import Console
    from rich.progress import Progress

    from orchestrator.console import RichProgress

    monkeypatch.setenv("TOOLSWEEP_PROGRESS_EVERY_S", "3600")
    buf = io.StringIO()
    with Progress(console=Console(file=buf, force_terminal=False, width=200)) as bar:
        progress = RichProgress(bar)
        for step in range(0, 97):
            progress.steps("train", step, 96)
    lines = [ln for ln in buf.getvalue().splitlines() if "train" in ln]
    assert len(lines) == 2  # the start, then the end: nothing in between within the interval
    assert "train 0/96" in lines[0] and "train 96/96" in lines[1]


def test_log_interval_is_read_from_the_environment_and_a_bad_value_is_one_line(monkeypatch):
    import pytest

    from orchestrator.errors import UsageError
    from orchestrator.progress import log_interval_s

    monkeypatch.delenv("TOOLSWEEP_PROGRESS_EVERY_S", raising=False)
    assert log_interval_s() == 30.0
    monkeypatch.setenv("TOOLSWEEP_PROGRESS_EVERY_S", "2.5")
    assert log_interval_s() == 2.5
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv("TOOLSWEEP_PROGRESS_EVERY_S", bad)
        with pytest.raises(UsageError, match=r"TOOLSWEEP_PROGRESS_EVERY_S=.*expected a number of seconds"):
            log_interval_s()


def test_a_bad_progress_interval_stops_a_command_before_it_starts(tmp_path):
    from tests.helpers import toolsweep

    res = toolsweep("check-config", "sweeps/smoke.yaml", env={"TOOLSWEEP_PROGRESS_EVERY_S": "often"}, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip() == ("usage error: TOOLSWEEP_PROGRESS_EVERY_S='often': expected a number of seconds "
                                  "≥ 0 (default 30)")


def test_case_lines_give_a_promotion_log_its_eval_progress(monkeypatch):
    """Promotion logs through a plain line callback; its evals (96 cases, minutes) publish through it:
    the first case, the last, and between them no more often than TOOLSWEEP_PROGRESS_EVERY_S."""
    from orchestrator.progress import case_lines

    lines: list[str] = []
    monkeypatch.setenv("TOOLSWEEP_PROGRESS_EVERY_S", "3600")
    on_case = case_lines(lines.append, "eval q4_k_m case")
    for done in range(1, 97):
        on_case(done, 96)
    assert [line.split(",")[0] for line in lines] == ["eval q4_k_m case 1/96", "eval q4_k_m case 96/96"]
    monkeypatch.setenv("TOOLSWEEP_PROGRESS_EVERY_S", "0")
    every = []
    on_case = case_lines(every.append, "eval base-q4_k_m case")
    for done in range(1, 4):
        on_case(done, 3)
    assert len(every) == 3 and every[1].startswith("eval base-q4_k_m case 2/3, ")
