"""Task sections checked against the tasks' Luigi parameters, then handed to Luigi.

A task's Luigi parameters are its schema: each key of ``[TaskName]`` must be one of them and its
TOML value must have the parameter's type. Luigi's own TOML reader passes raw TOML values to
``Parameter.parse``, which breaks list parameters, so the checked values are installed into
Luigi's config in the string form its parameters parse.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import luigi
from luigi.configuration import get_config
from luigi.task_register import Register

from framework.config.file import (
    PATH_SECTION,
    RUN_SECTION,
    ExperimentConfig,
    origin_of,
    suggest,
)
from framework.core.errors import UserError

# Sections Luigi reads that are not Config classes.
LUIGI_EXTRA_SECTIONS = {"logging"}
# Parameters the runner sets itself; they never come from a config file.
RUNNER_PARAMETERS = {"run_id", "work_id"}
# The TOML types each kind of Luigi parameter accepts (checked most specific first).
TOML_TYPES: list[tuple[type, tuple[type, ...], str]] = [
    (luigi.BoolParameter, (bool,), "true or false"),
    (luigi.IntParameter, (int,), "an integer"),
    (luigi.FloatParameter, (int, float), "a number"),
    (luigi.DictParameter, (dict,), "a table, e.g. {max_depth = 5}"),
    (luigi.ListParameter, (list,), "an array, e.g. ['a', 'b']"),
    (luigi.TupleParameter, (list,), "an array, e.g. ['a', 'b']"),
    (luigi.ChoiceParameter, (str,), "a string"),
]


@functools.cache  # a class's parameters never change; a sweep asks once per configuration
def task_parameters(task: type[luigi.Task]) -> dict[str, luigi.Parameter]:
    """The parameters a config section may set for ``task`` (shared: do not change it)."""
    return {name: param for name, param in task.get_params() if name not in RUNNER_PARAMETERS}


def luigi_sections() -> set[str]:
    """Config sections that belong to Luigi itself, e.g. ``core``, ``worker``, ``scheduler``."""
    import luigi.interface
    import luigi.scheduler

    return {name for name, cls in Register._get_reg().items()
            if isinstance(cls, type) and issubclass(cls, luigi.Config)} | LUIGI_EXTRA_SECTIONS


class WrongType(TypeError):
    """A TOML value of the wrong type; the message says which type is wanted."""


def check_value(task: str, key: str, param: luigi.Parameter, value: Any) -> Any:
    """``value`` normalised by ``param``; anything unusable is a ``UserError`` naming the fix.

    The value must also survive ``param.serialize``, the form it is handed to Luigi in.
    """
    name = f"{task}.{key}"
    try:
        typed = coerce(param, value)
        param.serialize(typed)
        return typed
    except WrongType as wanted:
        raise UserError(f"{name} = {value!r} has the wrong type: expected {wanted} "
                        f"({param.description or 'see the task'})") from None
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as error:
        raise UserError(f"{name} = {value!r} is not accepted: {error}") from None


def coerce(param: luigi.Parameter, value: Any) -> Any:
    """The typed value of ``param`` for a TOML ``value``; ``WrongType`` if it cannot be.

    Other kinds of parameters (dates, enums, ...) read a TOML string the way Luigi reads
    their command-line value.
    """
    if type(param) is luigi.Parameter:
        expected: tuple[tuple[type, ...], str] | None = ((str,), "a string")
    else:
        expected = next(((types, text) for kind, types, text in TOML_TYPES
                         if isinstance(param, kind)), None)
    if expected is None:
        return param.normalize(param.parse(value) if isinstance(value, str) else value)
    accepted, wanted = expected
    # TOML booleans are ints to Python; they are never numbers here.
    if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
        raise WrongType(wanted)
    return param.normalize(value)


def check_sections(
    config: ExperimentConfig, tasks: Mapping[str, type[luigi.Task]]
) -> dict[str, dict[str, Any]]:
    """Check every section and return the normalised values of each task's section.

    Unknown sections, unknown keys and wrong types are ``UserError``s with a suggestion.
    """
    luigi_own = luigi_sections()
    values: dict[str, dict[str, Any]] = {}
    for section, body in config.sections.items():
        if section in tasks:
            values[section] = check_task_section(section, body, tasks[section], config.origins,
                                                 config.path)
        elif section in luigi_own:
            check_luigi_section(section, body)
        else:
            raise UserError(f"{config.origins.get(section, config.path)}: unknown section "
                            f"[{section}]"
                            f"{suggest(section, list(tasks) + sorted(luigi_own))}; "
                            f"tasks are: {', '.join(sorted(tasks))}")
    origin = origin_of(config.origins, config.path, RUN_SECTION, "task")
    check_task_names(config.run.tasks, tasks,  # --task names itself: no "in RunConfig.task"
                     "" if str(origin).startswith("--task") else "RunConfig.task", origin)
    check_pin_names(config, tasks)
    return values


def check_task_section(task: str, body: Mapping[str, Any], cls: type[luigi.Task],
                       origins: Mapping[str, str] | None = None, path: Path | None = None
                       ) -> dict[str, Any]:
    """The section's values checked; an error names the flag that set a value, else the file
    (``path``) it was read from."""
    params = task_parameters(cls)
    checked = {}
    for key, value in body.items():
        origin = (origins or {}).get(f"{task}.{key}", path)
        prefix = f"{origin}: " if origin else ""
        if key not in params:
            known = ", ".join(params) or "none"
            raise UserError(f"{prefix}unknown key {task}.{key}{suggest(key, params)}; "
                            f"{task} takes: {known}")
        try:
            checked[key] = check_value(task, key, params[key], value)
        except UserError as error:
            raise UserError(f"{prefix}{error}") from None
    return checked


def check_luigi_section(section: str, body: Mapping[str, Any]) -> None:
    """Values Luigi would choke on mid-run (``[core] workers = "abc"``) are refused now.

    Only keys of a Luigi ``Config`` class of that name are checked, the way Luigi reads them:
    a string is parsed, anything else normalised. Other keys are Luigi's business.
    """
    cls = Register._get_reg().get(section)
    if not (isinstance(cls, type) and issubclass(cls, luigi.Config)):
        return
    params = dict(cls.get_params())
    for key, value in body.items():
        param = params.get(key)
        if param is None:
            continue
        try:
            typed = param.normalize(param.parse(value) if isinstance(value, str) else value)
            if isinstance(param, luigi.IntParameter) and not isinstance(typed, int):
                raise ValueError("expected an integer")
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as error:
            raise UserError(f"[{section}] {key} = {value!r} is not accepted by Luigi "
                            f"({error}); {param.description or 'see Luigi configuration'}"
                            ) from None


def check_task_names(names: Iterable[str], tasks: Mapping[str, type], what: str,
                     origin: Path | str = "") -> None:
    """Every name is a task's; an error says where the names came from: ``what`` (the key or
    flags) and ``origin`` (the file or flag), either may be empty."""
    prefix = f"{origin}: " if origin else ""
    for name in names:
        if name not in tasks:
            raise UserError(f"{prefix}unknown task {name!r}{f' in {what}' if what else ''}"
                            f"{suggest(name, tasks)}; known tasks: {', '.join(sorted(tasks))}")


def check_pin_names(config: ExperimentConfig, tasks: Mapping[str, type]) -> None:
    """Each ``[PathConfig]`` entry but ``input`` pins a task: a typo of either is refused,
    naming the file or the flag it came from."""
    for name in [*config.pins, *config.run_pins]:
        if name not in tasks:
            origin = origin_of(config.origins, config.path, PATH_SECTION, name)
            raise UserError(f"{origin}: unknown entry {PATH_SECTION}.{name}"
                            f"{suggest(name, ['input', *tasks])}; {PATH_SECTION} takes input "
                            f"(the data folder) and a task's name to pin its output: "
                            f"{', '.join(sorted(tasks))}")


def install_luigi_config(config: ExperimentConfig, values: Mapping[str, Mapping[str, Any]],
                         tasks: Mapping[str, type[luigi.Task]]) -> None:
    """Replace whatever Luigi read from disk with the checked configuration.

    Task values go in the string form ``Parameter.parse`` expects; Luigi's own sections keep
    their TOML values, which its TOML parser hands out as they are. The runner configures
    logging itself, so Luigi is told not to.
    """
    data: dict[str, dict[str, Any]] = {
        section: dict(body) for section, body in config.sections.items() if section not in tasks
    }
    for task, body in values.items():
        params = task_parameters(tasks[task])
        data[task] = {key: params[key].serialize(value) for key, value in body.items()}
    data.setdefault("core", {})["no_configure_logging"] = True
    get_config("toml").data = data
