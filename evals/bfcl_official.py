"""The official BFCL AST checker, loaded from the installed bfcl-eval package, behind our call format.

bfcl-eval is installed without its dependencies (its model handlers pull in half of PyPI), so
`bfcl_eval.constants.model_config`, which the checker imports only for `MODEL_CONFIG_MAPPING`,
is replaced by a stub before the checker is imported. The checker consults that mapping only in
`convert_func_name`, for dotted function names, as `MODEL_CONFIG_MAPPING[model_name.replace("_",
"/")].underscore_to_dot`; our model name has no underscore and maps to `underscore_to_dot=False`,
so names such as `math.factorial` are compared as they are (our cases keep the dots).

Used to cross-check `evals.bfcl.bfcl_match` (see evals/bfcl_diff.py), not on the scoring path.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from functools import lru_cache
from typing import Any

from evals.bfcl import bfcl_root, is_irrelevance, to_bfcl_output

MODEL_NAME = "toolsweep"  # no "_" (BFCL turns "_" into "/" before looking the name up)
_STUB = "bfcl_eval.constants.model_config"


class _StubModelConfig:
    underscore_to_dot = False  # keep "." in function names


def _import_package() -> None:
    """Make `import bfcl_eval` resolve to the installed package found by `bfcl_root()`."""
    if "bfcl_eval" in sys.modules:
        return
    root = bfcl_root()
    spec = importlib.util.spec_from_file_location("bfcl_eval", root / "__init__.py",
                                                  submodule_search_locations=[str(root)])
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import bfcl_eval from {root}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bfcl_eval"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["bfcl_eval"]
        raise


@lru_cache(maxsize=None)
def _checker() -> types.SimpleNamespace:
    _import_package()
    if _STUB not in sys.modules:
        stub = types.ModuleType(_STUB, "toolsweep stub: only what the AST checker needs")
        stub.MODEL_CONFIG_MAPPING = {MODEL_NAME: _StubModelConfig()}
        sys.modules[_STUB] = stub
    ast = importlib.import_module("bfcl_eval.eval_checker.ast_eval.ast_checker")
    enums = importlib.import_module("bfcl_eval.constants.enums")
    if MODEL_NAME not in ast.MODEL_CONFIG_MAPPING:  # the real config was already loaded elsewhere
        ast.MODEL_CONFIG_MAPPING = {**ast.MODEL_CONFIG_MAPPING, MODEL_NAME: _StubModelConfig()}
    utils = importlib.import_module("bfcl_eval.utils")
    return types.SimpleNamespace(ast_checker=ast.ast_checker, python=enums.Language.PYTHON,
                                 is_empty_output=utils.is_empty_output,
                                 is_function_calling_format_output=utils.is_function_calling_format_output)


def official_result(case: dict, calls: list[dict]) -> dict[str, Any]:
    """BFCL's verdict dict ({"valid", "error", ...}) on our calls for a case from `load_category`,
    reached the way BFCL's eval runner reaches it for a function-calling model's decoded output."""
    bfcl = _checker()
    meta = case["bfcl"]
    output = to_bfcl_output(calls)
    if is_irrelevance(meta["category"]):
        # relevance runner: a decodable, non-empty call list is a failure for irrelevance entries
        called = not bfcl.is_empty_output(output)
        return {"valid": not called, "error": ["called a function"] if called else []}
    if not bfcl.is_function_calling_format_output(output):
        return {"valid": False, "error": ["Did not output in the specified format."]}
    return bfcl.ast_checker(meta["functions"], output, meta["ground_truth"], bfcl.python,
                            meta["category"], MODEL_NAME)


def official_match(case: dict, calls: list[dict]) -> bool:
    """Whether the official BFCL checker accepts `calls` ([{"name", "arguments"}]) for `case`."""
    return bool(official_result(case, calls)["valid"])
