"""`train.bf16` is a request: what each machine trains in (orchestrator/train/precision.py)."""

from pathlib import Path

from orchestrator.train.precision import cpu_flags, resolve_precision

ROOT = Path(__file__).resolve().parent.parent
AVX2 = {"fpu", "sse2", "avx", "avx2", "fma"}


def test_bf16_off_is_fp32_everywhere():
    assert resolve_precision(False, True, set()) == ("fp32", None)
    assert resolve_precision(False, False, AVX2 | {"avx512_bf16"}) == ("fp32", None)


def test_bf16_on_a_gpu_loads_bf16():
    assert resolve_precision(True, True, set()) == ("bf16", None)


def test_bf16_on_a_cpu_autocasts_only_where_the_cores_have_bf16():
    assert resolve_precision(True, False, AVX2 | {"avx512f", "avx512_bf16"}) == ("bf16-autocast", None)
    assert resolve_precision(True, False, AVX2 | {"amx_tile", "amx_bf16"}) == ("bf16-autocast", None)
    precision, note = resolve_precision(True, False, AVX2 | {"avx512f"})
    assert precision == "fp32"
    assert note == ("train.bf16: this CPU has none of avx512_bf16, amx_bf16; training in fp32 "
                    "(emulated bf16 would be far slower)")


def test_cpu_flags_reads_the_first_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512_bf16\n\n"
                    "processor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    (tmp_path / "arm").write_text("processor\t: 0\nFeatures\t: fp asimd bf16\n")
    assert cpu_flags(tmp_path / "arm") == {"fp", "asimd", "bf16"}
    assert cpu_flags(tmp_path / "absent") == set()


def test_preflight_notes_a_bf16_request_this_cpu_cannot_serve(monkeypatch):
    from orchestrator.config import load_config
    from orchestrator.search import preflight

    cfg = load_config(ROOT / "sweeps/smoke.yaml", {"train.bf16": True})
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(preflight, "cpu_flags", lambda: AVX2)
    notes = preflight.preflight(cfg)
    assert resolve_precision(True, False, AVX2)[1] in notes
    monkeypatch.setattr(preflight, "cpu_flags", lambda: AVX2 | {"avx512_bf16"})
    assert not [n for n in preflight.preflight(cfg) if n.startswith("train.bf16")]
