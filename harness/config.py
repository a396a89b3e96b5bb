"""Scenario files: schema, `include:`, path rules and the cross-checks that make a scenario usable.

`load_scenario` is the only way in: it returns a fully checked Scenario or raises ConfigError
with one line naming the file, the field and what is wrong.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from harness.data import Document, EvalItem, TrainItem, read_jsonl
from harness.documents import is_folder_corpus, read_folder
from harness.errors import ConfigError, format_validation_error
from harness.prompts import SOURCE_FORMS
from harness.scorers import SCORERS
from harness.scorers.business_flow import stated_action

Kind = Literal["vertical_vocabulary", "multi_fact_qa", "business_flow", "custom"]
DATA_DIR_ENV = "HARNESS_DATA_DIR"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileSizes(_Strict):
    """How many train and eval records a profile takes (the first N of each file)."""

    train: StrictInt = Field(ge=1)  # strict: YAML's `true` or "8" is not a count
    eval: StrictInt = Field(ge=1)


class CorpusUpdate(_Strict):
    """A later version of the corpus and the eval items whose answers follow it."""

    corpus: str
    eval: str


class RagPrompt(_Strict):
    """How a retrieving strategy's prompt is laid out for this scenario (harness.prompts.with_sources), chosen
    on its train split for correctness (bench/decoding.py), never on eval."""

    form: str
    cite: bool = True  # ask for the ids of the sources used (citations are measured apart either way)

    @field_validator("form")
    @classmethod
    def _known_form(cls, v: str) -> str:
        if v not in SOURCE_FORMS:
            raise ValueError(f"unknown form '{v}' (known: {', '.join(SOURCE_FORMS)})")
        return v


class ScenarioSpec(_Strict):
    """The YAML file as written (after `include:` merging), before any data is read."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    description: str = Field(min_length=1)
    kind: Kind
    corpus: str
    train: str
    eval: str
    corpus_update: CorpusUpdate | None = None
    scorer: str
    profiles: dict[str, ProfileSizes] = Field(min_length=1)
    # the same instruction for every strategy, in training and in answering
    system_prompt: str = Field(default="Answer the question in one short sentence.", min_length=1)
    # RAG's prompt for this scenario; absent: the profile's source_form, with the citation request
    rag_prompt: RagPrompt | None = None

    @field_validator("scorer")
    @classmethod
    def _known_scorer(cls, v: str) -> str:
        if v not in SCORERS:
            raise ValueError(SCORERS.unknown(v))
        return v


@dataclass(frozen=True)
class Scenario:
    """A validated scenario with its records loaded."""

    spec: ScenarioSpec
    path: Path
    corpus: list[Document]
    train: list[TrainItem]
    eval: list[EvalItem]
    corpus_update: list[Document] | None = None
    eval_update: list[EvalItem] | None = None
    # sha256 of the YAML and of every data file, so that results can be tied to exact inputs
    file_hashes: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    def sizes(self, profile: str) -> ProfileSizes:
        try:
            return self.spec.profiles[profile]
        except KeyError:
            raise ConfigError(
                f"{self.path}: profiles: no profile '{profile}' (defined: {', '.join(self.spec.profiles)})"
            ) from None

    def train_for(self, profile: str) -> list[TrainItem]:
        return self.train[: self.sizes(profile).train]

    def eval_for(self, profile: str) -> list[EvalItem]:
        return self.eval[: self.sizes(profile).eval]

    def rag_prompt_for(self, default_form: str) -> RagPrompt:
        """The prompt layout a retrieving strategy uses here: the scenario's own choice, else the profile's."""
        return self.spec.rag_prompt or RagPrompt(form=default_form)

    def eval_update_for(self, profile: str) -> list[EvalItem]:
        return (self.eval_update or [])[: self.sizes(profile).eval]


# ----------------------------------------------------------------------------- YAML + include
class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (PyYAML silently keeps the last)."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _read_yaml(path: Path, shown: str) -> dict[str, Any]:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except FileNotFoundError:
        raise ConfigError(f"{shown}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{shown}: is a folder, not a scenario YAML file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{shown}{where}: invalid YAML: {problem}") from None
    if raw is None:
        raise ConfigError(f"{shown}: the file is empty")
    if not isinstance(raw, dict):
        raise ConfigError(f"{shown}: expected a mapping of fields, got {type(raw).__name__}")
    return raw


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _load_with_includes(path: Path, shown: str, stack: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Like lm-eval's `include:`: included files are merged first, the including file wins. Included
    files obey the data path rule: they stay inside the scenario's folders (allowed_roots)."""
    if path in stack:
        raise ConfigError(f"{shown}: include: cycle (a file includes itself)")
    raw = _read_yaml(path, shown)
    includes = raw.pop("include", None)
    if includes is None:
        return raw
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ConfigError(f"{shown}: include: expected a path or a list of paths")
    merged: dict[str, Any] = {}
    roots = allowed_roots(stack[0] if stack else path)
    for inc in includes:
        inc_path = (path.parent / Path(inc).expanduser()).resolve()
        if not any(inc_path.is_relative_to(r) for r in roots):
            raise ConfigError(f"{shown}: include: path '{inc}' leaves the scenario's folder "
                              f"(allowed: {', '.join(str(r) for r in roots)}; set {DATA_DIR_ENV} to allow another)")
        if not inc_path.is_file():
            raise ConfigError(f"{shown}: include: file not found: {inc}")
        merged = _deep_merge(merged, _load_with_includes(inc_path, f"{shown} -> {inc}", stack + (path,)))
    return _deep_merge(merged, raw)


# ----------------------------------------------------------------------------- paths
def allowed_roots(yaml_path: Path) -> list[Path]:
    """Where a scenario's data may live: its project folder, and the user's data folders.

    The project folder is the YAML's folder, or that folder's parent when it is called
    `scenarios` (the layout `scenarios/x.yaml` + `datasets/x/...`). HARNESS_DATA_DIR may add
    more folders (os.pathsep-separated).
    """
    here = yaml_path.resolve().parent
    roots = [here.parent if here.name == "scenarios" else here]
    roots += [Path(p).expanduser().resolve() for p in os.environ.get(DATA_DIR_ENV, "").split(os.pathsep) if p]
    return roots


def _resolve_data_path(yaml_path: Path, shown: str, field_path: str, value: str) -> Path:
    candidate = (yaml_path.parent / Path(value).expanduser()).resolve()
    roots = allowed_roots(yaml_path)
    if not any(candidate.is_relative_to(r) for r in roots):
        raise ConfigError(
            f"{shown}: {field_path}: path '{value}' leaves the scenario's folder "
            f"(allowed: {', '.join(str(r) for r in roots)}; set {DATA_DIR_ENV} to allow another)"
        )
    if not candidate.is_file():
        raise ConfigError(f"{shown}: {field_path}: file not found: {value}")
    return candidate


def _resolve_folder(yaml_path: Path, shown: str, field_path: str, value: str) -> tuple[Path, str | None]:
    """A folder corpus (`docs/`) or a glob (`docs/**/*.pdf`): its folder, inside the allowed roots, and the pattern."""
    parts = Path(value).parts
    first_glob = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[")), len(parts))
    folder = Path(*parts[:first_glob]) if first_glob else Path(".")
    pattern = str(Path(*parts[first_glob:])) if first_glob < len(parts) else None
    candidate = (yaml_path.parent / folder.expanduser()).resolve()
    roots = allowed_roots(yaml_path)
    if not any(candidate.is_relative_to(r) for r in roots):
        raise ConfigError(f"{shown}: {field_path}: path '{value}' leaves the scenario's folder "
                          f"(allowed: {', '.join(str(r) for r in roots)}; set {DATA_DIR_ENV} to allow another)")
    if not candidate.is_dir():
        raise ConfigError(f"{shown}: {field_path}: folder not found: {folder} (a corpus is a .jsonl file, a folder "
                          "of documents, or a glob)")
    return candidate, pattern


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- cross-checks
def _check_items(shown: str, items: list[EvalItem], doc_ids: set[str], spec: ScenarioSpec, corpus_name: str) -> None:
    needs = SCORERS.get(spec.scorer).requires
    for n, item in enumerate(items):
        where = f"{shown}: item {n + 1} ('{item.id}')"
        if item.gold_doc_ids == [] and "gold_doc_ids" in item.model_fields_set:
            raise ConfigError(f"{where}: gold_doc_ids: an empty list; leave the field out when no gold document is "
                              "known (retrieval is then not measured on the item)")
        for gid in item.gold_doc_ids:
            if gid not in doc_ids:
                raise ConfigError(f"{where}: gold_doc_ids: unknown document id '{gid}' (not in {corpus_name})")
        for fname in needs:
            if not getattr(item, fname):
                raise ConfigError(f"{where}: {fname}: required by scorer '{spec.scorer}' but empty")
        if spec.kind == "multi_fact_qa" and len(set(item.gold_doc_ids)) < 2:
            raise ConfigError(f"{where}: gold_doc_ids: a multi_fact_qa item needs at least two different documents")
        if item.wrong_options and len(item.wrong_options) != 3:
            raise ConfigError(f"{where}: wrong_options: expected 3 wrong options, got {len(item.wrong_options)}")
        if item.reference in item.wrong_options:
            raise ConfigError(f"{where}: wrong_options: the reference answer is listed as a wrong option")


def _check_train_items(shown: str, items: list[TrainItem], spec: ScenarioSpec) -> None:
    """Training items are asked back (train_accuracy): what the scorer needs must be stated or derivable.
    A business-flow response must hold the JSON action; facts fall back to the response itself."""
    if "expected_fields" not in SCORERS.get(spec.scorer).requires:
        return
    for n, item in enumerate(items):
        if stated_action(item) is None:
            raise ConfigError(f"{shown}: item {n + 1} ('{item.id}'): response: scorer '{spec.scorer}' needs the "
                              "expected action as a JSON object in the response (or expected_fields)")


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge, validate and load a scenario YAML; ConfigError names what is wrong and where."""
    yaml_path = Path(path)
    shown = str(path)
    raw = _load_with_includes(yaml_path.resolve(), shown)
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{shown}: {format_validation_error(exc)}") from None

    hashes = {"scenario": _sha256(yaml_path)}

    def load(field_path: str, value: str, model: type) -> list:
        p = _resolve_data_path(yaml_path, shown, field_path, value)
        hashes[field_path] = _sha256(p)
        return read_jsonl(p, model, shown=f"{shown}: {field_path} ({value})")

    def load_corpus(field_path: str, value: str) -> list[Document]:
        if not is_folder_corpus(value):
            return load(field_path, value, Document)
        folder, pattern = _resolve_folder(yaml_path, shown, field_path, value)
        docs, hashes[field_path] = read_folder(folder, pattern, shown=f"{shown}: {field_path} ({value})")
        return docs

    corpus = load_corpus("corpus", spec.corpus)
    train = load("train", spec.train, TrainItem)
    _check_train_items(f"{shown}: train ({spec.train})", train, spec)
    evals = load("eval", spec.eval, EvalItem)
    _check_items(f"{shown}: eval ({spec.eval})", evals, {d.id for d in corpus}, spec, "corpus")

    corpus_u = eval_u = None
    if spec.corpus_update is not None:
        corpus_u = load_corpus("corpus_update.corpus", spec.corpus_update.corpus)
        eval_u = load("corpus_update.eval", spec.corpus_update.eval, EvalItem)
        _check_items(f"{shown}: corpus_update.eval ({spec.corpus_update.eval})", eval_u,
                     {d.id for d in corpus_u}, spec, "corpus_update.corpus")

    for pname, sizes in spec.profiles.items():
        for what, have in (("train", len(train)), ("eval", len(evals))):
            want = getattr(sizes, what)
            if want > have:
                raise ConfigError(f"{shown}: profiles.{pname}.{what}: asks for {want} records but the file has {have}")
        if eval_u is not None and sizes.eval > len(eval_u):
            raise ConfigError(f"{shown}: profiles.{pname}.eval: asks for {sizes.eval} records but corpus_update.eval "
                              f"({spec.corpus_update.eval}) has {len(eval_u)}: the update set is answered at the same "
                              "size as the eval set")

    return Scenario(spec=spec, path=yaml_path, corpus=corpus, train=train, eval=evals,
                    corpus_update=corpus_u, eval_update=eval_u, file_hashes=hashes)


# ----------------------------------------------------------------------------- built-ins
def project_root() -> Path:
    """The checkout harness runs from (where the built-in scenarios/ and datasets/ live)."""
    return Path(__file__).resolve().parent.parent


def builtin_scenario_paths() -> list[Path]:
    return sorted((project_root() / "scenarios").glob("*.yaml"))


def resolve_scenario_arg(value: str) -> Path:
    """`--scenario` takes a path or the name of a built-in scenario."""
    p = Path(value)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    for candidate in builtin_scenario_paths():
        if candidate.stem == value:
            return candidate
    known = ", ".join(c.stem for c in builtin_scenario_paths())
    raise ConfigError(f"--scenario: no scenario file or built-in scenario named '{value}' (built-in: {known})")
