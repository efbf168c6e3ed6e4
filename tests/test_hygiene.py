"""Only named edge modules may import the heavy frameworks; everything else stays pure Python."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = {"torch", "transformers", "peft", "trl", "llama_cpp", "mlflow", "ray", "datasets"}
EDGE_MODULES = {
    "orchestrator/train/base_model.py": {"torch", "transformers"},
    "orchestrator/train/trainer.py": {"torch", "transformers", "peft", "trl", "datasets"},
    "orchestrator/train/sft_trainer.py": {"torch", "trl", "peft"},
    "orchestrator/train/rms_norm.py": {"torch", "transformers"},
    "orchestrator/quantize/export.py": {"torch", "transformers", "peft", "llama_cpp"},
    "orchestrator/tracking.py": {"mlflow"},
    "orchestrator/data/sources.py": {"datasets"},
    "orchestrator/release/registry.py": {"mlflow"},
    "orchestrator/recipes/sweep.py": {"ray", "transformers"},
    "evals/runner.py": {"llama_cpp"},
    "orchestrator/data/generators/teacher_server.py": {"llama_cpp"},
}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_heavy_imports_only_in_edge_modules():
    offenders = {}
    for pkg in ("orchestrator", "evals"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            heavy = _imported_roots(path) & HEAVY
            allowed = EDGE_MODULES.get(rel, set())
            if heavy - allowed:
                offenders[rel] = sorted(heavy - allowed)
    assert not offenders, f"heavy imports outside edge modules: {offenders}"


def test_evals_is_the_bottom_layer():
    """`evals/` (harness, parser, scorer, metric table) imports nothing from `orchestrator/`: the
    orchestration layers build on it, never the other way round."""
    upward = [path.relative_to(ROOT).as_posix() for path in sorted((ROOT / "evals").rglob("*.py"))
              if "orchestrator" in _imported_roots(path)]
    assert not upward, f"evals/ modules importing orchestrator/: {upward}"


def test_edge_list_is_current():
    for rel in EDGE_MODULES:
        assert (ROOT / rel).is_file(), rel


def test_cli_help_does_not_load_frameworks():
    import subprocess
    import sys
    code = ("import sys; from orchestrator.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'transformers', 'mlflow', 'llama_cpp', 'ray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
