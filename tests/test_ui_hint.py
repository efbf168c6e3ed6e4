"""The MLflow UI hint a sweep prints names the store it actually wrote to (pure string logic)."""

from orchestrator.console import ui_hint


def test_a_local_store_gets_the_mlflow_ui_command_for_that_store():
    hint = ui_hint("sqlite:///mlruns-seed1/mlflow.db", "3", "abc")
    assert "mlflow ui --backend-store-uri sqlite:///mlruns-seed1/mlflow.db" in hint
    assert hint.endswith("http://127.0.0.1:5000/#/experiments/3/runs/abc?workflowType=machine_learning")


def test_a_tracking_server_gets_a_link_to_itself():
    hint = ui_hint("https://mlflow.example.org/", "7", None)
    assert "mlflow ui" not in hint
    assert hint.endswith("https://mlflow.example.org/#/experiments/7?workflowType=machine_learning")
