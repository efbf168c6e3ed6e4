"""llama.cpp's converters are looked for before a trial trains (orchestrator/search/preflight.py): run from
a folder without the cache, a trial trained for minutes and then failed at export (a blind probe)."""

from orchestrator.config import parse_config
from orchestrator.quantize import llama_tools
from orchestrator.search.preflight import HERE, _model_problems


def test_missing_converters_are_named_before_anything_trains(monkeypatch, tmp_path):
    cfg = parse_config({"name": "t", "model": {"base": "tiny"}})
    monkeypatch.setattr(llama_tools, "tools_dir", lambda: tmp_path / "llama-cpp-tools" / "0.0")
    found = []
    _model_problems(cfg, found)
    assert [p for p in found if "converters" in p] == [
        f"{HERE}quantize: llama.cpp's converters are not in {tmp_path}/llama-cpp-tools/0.0 (the cache is read from "
        ".cache/ in the folder the command runs in, or TOOLSWEEP_CACHE): run `toolsweep setup-tools` there (`make "
        "install` does), or set quantize.llama_cpp_dir"]
    (tmp_path / "llama-cpp-tools" / "0.0").mkdir(parents=True)
    (tmp_path / "llama-cpp-tools" / "0.0" / "convert_hf_to_gguf.py").write_text("")
    found = []
    _model_problems(cfg, found)
    assert not [p for p in found if "converters" in p]
