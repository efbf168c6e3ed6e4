from rich.console import Console

from orchestrator.search.table import best_so_far, trial_table

OBJ = {"tool_f1": "max", "fabrication_rate": "min"}
ROWS = [
    {"trial_id": "t1", "status": "TERMINATED", "epoch": 2, "train.learning_rate": 0.0005, "tool_f1": 0.40,
     "fabrication_rate": 0.30},
    {"trial_id": "t2", "status": "RUNNING", "epoch": 1, "train.learning_rate": 0.001, "tool_f1": 0.55,
     "fabrication_rate": 0.35},
    {"trial_id": "t3", "status": "ERROR", "epoch": None, "train.learning_rate": 0.002, "tool_f1": None,
     "fabrication_rate": None},
    {"trial_id": "t4", "status": "TERMINATED", "epoch": 1, "train.learning_rate": 0.0007, "tool_f1": 0.20,
     "fabrication_rate": 0.10},
]


def test_best_so_far_honours_each_direction_and_skips_missing_values():
    assert best_so_far(ROWS, OBJ) == {"tool_f1": (0.55, "t2"), "fabrication_rate": (0.10, "t4")}
    assert best_so_far([], OBJ) == {}


def _render(table, width=120) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_table_rows_caption_and_directions():
    text = _render(trial_table(ROWS, OBJ, ["train.learning_rate"], "sweep s", max_epochs=2))
    lines = text.splitlines()
    assert "tool f1 ↑" in text and "fabrication rate ↓" in text and "learning rate" in text
    row = next(line for line in lines if " t1 " in line)
    assert "TERMINATED" in row and "2/2" in row and "0.400" in row and "0.300" in row and "0.0005" in row
    row = next(line for line in lines if " t3 " in line)
    assert "ERROR" in row and row.count("—") == 3
    caption = " ".join(lines[-2:]).split()  # the caption wraps to the table's width
    assert " ".join(caption) == ("1 error, 1 running, 2 terminated | best tool_f1 0.550 (t2); "
                                 "best fabrication_rate 0.100 (t4)")


def test_states_stay_whole_in_an_80_column_log():
    text = _render(trial_table(ROWS, {"tool_selection_accuracy": "max", "no_tool_accuracy": "max"},
                               ["train.learning_rate", "train.lora.rank", "data.max_train_examples", "train.epochs"]),
                   width=80)
    assert text.count("TERMINATED") == 2
