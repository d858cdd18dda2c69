"""Reading the experiment's TOML file, before Luigi or MLflow is imported (``.env``:
``framework.config.environment``).

Luigi parses its TOML config at import time and raises on a syntax error, so the file is read and
checked here first with the standard library's ``tomllib``, which reports the line and column.
Everything in this module is cheap and import-light: it runs before any MLflow run exists.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framework.config.overrides import apply_overrides, assign, parse_toml
from framework.core.errors import UserError

RUN_SECTION = "RunConfig"
PATH_SECTION = "PathConfig"
DEFAULT_INPUT = "./input/"
RUN_URI_PREFIX = "runs:/"
SWEEP_SECTION = "Sweep"  # present -> the run is a sweep (framework/experiment/sweep.py)
# MLflow refuses longer experiment names (only once the run is being created).
MAX_EXPERIMENT_NAME = 500

RUN_KEYS = {
    "experiment_name": "the MLflow experiment to log into",
    "description": "a note shown on the run in the MLflow UI",
    "task": 'the task(s) to run, e.g. "Prediction" or ["Evaluator", "Prediction"]',
    "modules": "extra Python modules that define tasks, e.g. ['my_tasks']",
    "register_model": 'register the trained model in the Model Registry under this name',
}


@dataclass(frozen=True)
class RunSettings:
    """The ``[RunConfig]`` section."""

    experiment_name: str
    description: str
    tasks: tuple[str, ...]
    modules: tuple[str, ...] = ()
    register_model: str | None = None


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment file after overrides, with paths resolved from the project root.

    ``document`` is the effective TOML document (what gets logged); ``pins`` maps task names to
    the folders that ``[PathConfig]`` assigns them and ``run_pins`` to the ``runs:/<run_id>``
    URIs it names instead (resolved once the tracking store is open); ``sections`` holds every
    other section (task sections and Luigi's own, such as ``[core]``) exactly as written, and
    ``sweep`` the ``[Sweep]`` table (empty for a single run; not part of ``document``).
    """

    path: Path
    document: dict[str, Any]
    run: RunSettings
    input_dir: Path
    pins: dict[str, Path] = field(default_factory=dict)
    run_pins: dict[str, str] = field(default_factory=dict)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    sweep: dict[str, Any] = field(default_factory=dict)
    # "Section" / "Section.key" -> the flag that set it ("--set '...'"), for error messages.
    origins: dict[str, str] = field(default_factory=dict)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a missing file or a syntax error becomes a one-line ``UserError``."""
    if path.is_dir():
        raise UserError(f"config file {path} is a folder: pass --config PATH/TO/FILE.toml")
    if not path.is_file():
        raise UserError(f"config file {path} not found: pass --config PATH or create it")
    try:
        with path.open("rb") as handle:
            return parse_toml(handle.read().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text (byte {error.start}); a config must be a "
                        "UTF-8 TOML file: save it as UTF-8 or pass the right --config") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: invalid TOML: {error}; fix the syntax there") from None
    except OSError as error:
        raise UserError(f"config file {path} cannot be read ({error.strerror})") from None


def load_config(path: Path, project_root: Path, overrides: list[str],
                tasks: Sequence[str] = ()) -> ExperimentConfig:
    """Read, override and check the file's own sections; task sections are checked later.
    ``tasks`` (``--task``, applied after the ``--set`` overrides) replace ``RunConfig.task``.

    Raises ``UserError`` for a missing file, bad TOML, a malformed ``[RunConfig]`` or a
    ``[PathConfig]`` entry that points nowhere.
    """
    origins: dict[str, str] = {}
    document = apply_overrides(read_toml(path), overrides, origins)
    if tasks:
        flags = " ".join(f"--task {task!r}" for task in tasks)
        assign(document, [RUN_SECTION, "task"], list(tasks), flags, origins)
    return from_document(path, document, project_root, origins)


def from_document(path: Path, document: dict[str, Any], project_root: Path,
                  origins: dict[str, str]) -> ExperimentConfig:
    """The checked config of an (already overridden) TOML ``document`` read from ``path``."""
    for name, body in document.items():
        if not isinstance(body, dict):
            raise UserError(f"{path}: top-level key {name!r} must sit inside a [section]")
    run = parse_run_settings(document.get(RUN_SECTION), path, origins)
    entries = dict(document.get(PATH_SECTION, {}))
    run_pins = {task: value for task, value in entries.items()
                if isinstance(value, str) and value.startswith(RUN_URI_PREFIX)}
    input_dir, pins = parse_paths(
        {task: value for task, value in entries.items() if task not in run_pins},
        project_root, path, origins)
    sections = {name: body for name, body in document.items()
                if name not in (RUN_SECTION, PATH_SECTION, SWEEP_SECTION)}
    return ExperimentConfig(path, {k: v for k, v in document.items() if k != SWEEP_SECTION},
                            run, input_dir, pins, run_pins, sections,
                            dict(document.get(SWEEP_SECTION, {})), origins)


def origin_of(origins: dict[str, str], path: Path, section: str, key: str) -> Path | str:
    """Where ``section.key`` was set: the flag (``--set '...'``) that set it, else the file."""
    return origins.get(f"{section}.{key}", path)


def blamed(origins: dict[str, str], message: str) -> str:
    """``message`` prefixed with the flag that set the first ``Section.key`` it names, if a flag
    set one (a task's ``check()`` knows its keys, not where their values came from)."""
    named = []
    for key, origin in origins.items():
        found = re.search(rf"(?<![\w.]){re.escape(key)}(?!\w)", message) if "." in key else None
        if found and not message.startswith(f"{origin}: "):
            named.append((found.start(), origin))
    return f"{min(named)[1]}: {message}" if named else message


def parse_run_settings(section: dict[str, Any] | None, path: Path,
                       origins: dict[str, str] | None = None) -> RunSettings:
    """Check ``[RunConfig]``: known keys only, the right types, a task to run. An error names
    the flag that set the value (``origins``), else the file."""
    if section is None:
        raise UserError(f"{path}: no [RunConfig] section; add one with experiment_name and task")

    def at(key: str) -> Path | str:
        return origin_of(origins or {}, path, RUN_SECTION, key)

    for key in section:
        if key not in RUN_KEYS:
            known = ", ".join(RUN_KEYS)
            raise UserError(f"{at(key)}: unknown key RunConfig.{key}{suggest(key, RUN_KEYS)} "
                            f"(known: {known})")
    name = section.get("experiment_name")
    if not isinstance(name, str) or not name.strip():
        raise UserError(f"{at('experiment_name')}: RunConfig.experiment_name must be a "
                        'non-empty string, e.g. experiment_name = "titanic"')
    if len(name) > MAX_EXPERIMENT_NAME:
        raise UserError(f"{at('experiment_name')}: RunConfig.experiment_name is {len(name)} "
                        f"characters long; MLflow allows at most {MAX_EXPERIMENT_NAME}: shorten it")
    description = section.get("description", "")
    if not isinstance(description, str):
        raise UserError(f"{at('description')}: RunConfig.description must be a string")
    register = section.get("register_model")
    if register is not None and (not isinstance(register, str) or not register.strip()):
        raise UserError(f"{at('register_model')}: RunConfig.register_model must be a non-empty "
                        'string, e.g. register_model = "titanic", or left out')
    return RunSettings(
        experiment_name=name,
        description=description,
        tasks=string_list(section.get("task"), "RunConfig.task", at("task"), required=True),
        modules=string_list(section.get("modules", []), "RunConfig.modules", at("modules")),
        register_model=register,
    )


def string_list(value: Any, name: str, path: Path | str, required: bool = False
                ) -> tuple[str, ...]:
    """Accept a string or a list of strings; return them as a tuple."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise UserError(f"{path}: {name} must be a string or a list of strings")
    if required and not items:
        raise UserError(f"{path}: {name} is missing; name the task to run, "
                        'e.g. task = "Prediction"')
    return tuple(items)


def parse_paths(section: Any, project_root: Path, path: Path,
                origins: dict[str, str] | None = None) -> tuple[Path, dict[str, Path]]:
    """Resolve ``[PathConfig]`` folders: ``input`` plus one optional output folder per task.

    Every folder named must exist; relative paths are taken from the project root. An error
    names the flag that set the entry (``origins``), else the file.
    """
    entries = dict(section)
    input_dir = resolve_existing(entries.pop("input", DEFAULT_INPUT), "input", project_root,
                                 origin_of(origins or {}, path, PATH_SECTION, "input"))
    pins = {task: resolve_existing(value, task, project_root,
                                   origin_of(origins or {}, path, PATH_SECTION, task))
            for task, value in entries.items()}
    return input_dir, pins


def resolve_existing(value: Any, key: str, project_root: Path, path: Path | str) -> Path:
    """An existing folder named by ``PathConfig.<key>``, resolved from the project root."""
    if not isinstance(value, str) or not value:
        raise UserError(f"{path}: PathConfig.{key} must be a folder path string")
    folder = Path(value).expanduser()
    folder = folder if folder.is_absolute() else project_root / folder
    if not folder.is_dir():
        raise UserError(f"{path}: PathConfig.{key} = {value!r} points to {folder}, which is not "
                        "a folder; fix the path or remove the entry")
    return folder.resolve()


def suggest(word: str, candidates: Any) -> str:
    """``" (did you mean 'x'?)"`` for the closest candidate, or an empty string."""
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
