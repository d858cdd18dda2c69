"""Finding the tasks: every module of the pipeline package, plus ``RunConfig.modules``.

Tasks are discovered, not listed: adding ``src/tasks/my_task.py`` is enough, and no shared file
(whose code would enter every task's signature) has to change. Two tasks with one class name
would make ``[Name]`` ambiguous, so that is an error naming both modules.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Sequence
from typing import TYPE_CHECKING

from framework.core.errors import UserError
from framework.task.project_modules import check_project_module

if TYPE_CHECKING:
    from framework.task.run_task import RunTask

# The package holding the pipeline's tasks, imported by name: the framework does not depend
# on it, it loads it like any module named in RunConfig.modules.
PIPELINE_PACKAGE = "tasks"


def import_module(name: str, what: str) -> None:
    """Import project module ``name``; any failure is one line naming the file and the fix."""
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:
        raise UserError(f"{what}: cannot import {name!r} ({error}); put it in src/ or fix the "
                        "name") from None
    except SyntaxError as error:
        raise UserError(f"{what}: {error.filename}:{error.lineno}: {error.msg}; fix the syntax "
                        "there") from None
    except Exception as error:  # the module's own code failed while it was imported
        raise UserError(f"{what}: importing {name!r} failed ({type(error).__name__}: "
                        f"{error}); fix that module") from None


def pipeline_modules() -> list[str]:
    """The modules of the pipeline package, found on disk without importing them first."""
    package = importlib.import_module(PIPELINE_PACKAGE)
    return [f"{PIPELINE_PACKAGE}.{info.name}"
            for info in pkgutil.iter_modules(package.__path__) if not info.name.startswith("_")]


def load_tasks(modules: Sequence[str]) -> dict[str, type[RunTask]]:
    """Every concrete ``RunTask`` defined by the pipeline package and by ``modules``."""
    from framework.task.run_task import RunTask

    for name in pipeline_modules():
        import_module(name, f"task module {name}")
    for name in modules:  # all checked before the first is imported
        check_project_module(name, "RunConfig.modules")
    for name in modules:
        import_module(name, "RunConfig.modules")
    found: dict[str, type[RunTask]] = {}
    pending = list(RunTask.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if inspect.isabstract(cls):
            continue
        other = found.get(cls.__name__)
        if other is not None and other is not cls:
            raise UserError(f"two tasks are called {cls.__name__}: in {other.__module__} and "
                            f"in {cls.__module__}; rename one (the [section] name must be unique)")
        found[cls.__name__] = cls
    return found
