"""The warm interpreter the end-to-end tests start most runs in (``support/warm.py``) runs
``src/runner.py`` as ``python src/runner.py`` does: the same arguments, ``sys.path``,
``__main__``, working folder, environment, ``PYTHONPATH`` with its ``sitecustomize``, exit
handlers and exit code, in a process of its own with none of the project's modules loaded.

The project's ``src/runner.py`` is replaced by a probe that reports what it sees; each case
runs once cold and once warm, and the reports must match.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from support.project import Project

PROBE = r'''
import atexit, json, os, signal, sys
import __main__
report = {
    "argv": sys.argv, "path": sys.path[:3], "main_file": __main__.__file__,
    "name": __name__, "cwd": os.getcwd(), "variable": os.environ.get("PROBE_VARIABLE"),
    "project_modules": sorted(m for m in ("framework", "tabular", "titanic", "luigi")
                              if m in sys.modules),
    "sigint_default": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
    "stdin": os.read(0, 10).decode(), "customized": "probe_customized" in sys.modules,
}
print(json.dumps(report))
atexit.register(lambda: print("exit handler ran", file=sys.stderr))
if "--raise" in sys.argv:
    raise ValueError("probe failed")
sys.exit(int(sys.argv[1]))
'''
SITECUSTOMIZE = "import sys, types; sys.modules['probe_customized'] = types.ModuleType('x')\n"


@pytest.fixture
def probe(project: Project) -> Project:
    (project.root / "src" / "runner.py").write_text(PROBE)
    return project


def both(project: Project, *args: str, **env: str) -> tuple:
    """(cold result, warm result) of ``python src/runner.py ARGS``."""
    project.cold = True
    cold = project.run(*args, **env)
    project.cold = False
    return cold, project.run(*args, **env)


@pytest.mark.skipif(os.environ.get("TESTS_COLD_RUNNER") == "1", reason="no warm runs")
def test_a_warm_run_sees_what_a_fresh_interpreter_sees(probe: Project, tmp_path: Path):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    cold, warm = both(probe, "3", "a b", PROBE_VARIABLE="x", PYTHONPATH=str(hooks))
    assert (cold.returncode, warm.returncode) == (3, 3), cold.stderr + warm.stderr
    seen = json.loads(cold.stdout)
    assert json.loads(warm.stdout) == seen
    assert seen["argv"] == ["src/runner.py", "3", "a b"]
    assert seen["path"][:2] == [str(probe.root / "src"), str(hooks)]
    assert seen["customized"] and seen["variable"] == "x" and seen["project_modules"] == []
    assert cold.stderr == warm.stderr == "exit handler ran\n"


@pytest.mark.skipif(os.environ.get("TESTS_COLD_RUNNER") == "1", reason="no warm runs")
def test_an_uncaught_error_is_a_traceback_and_exit_1_in_both(probe: Project):
    cold, warm = both(probe, "0", "--raise")
    assert (cold.returncode, warm.returncode) == (1, 1)
    for result in (cold, warm):
        assert result.stderr.splitlines()[-2:] == ["ValueError: probe failed",
                                                   "exit handler ran"], result.stderr
    assert json.loads(warm.stdout) == json.loads(cold.stdout)


# Like src/runner.py: an exit handler that ends the process registered first, the settings
# the runner puts in the environment before anything imports MLflow, then the libraries.
LIBRARY_PROBE = r'''
import atexit, json, os, sys, weakref
atexit.register(lambda: (sys.stdout.flush(), sys.stderr.flush(), os._exit(0)))
from framework.config.environment import ENV_DEFAULTS  # what the runner sets before MLflow loads
for name, value in ENV_DEFAULTS.items():
    os.environ.setdefault(name, value)
import logging, mlflow, numpy, sklearn
class Held: pass
held = Held()
weakref.finalize(held, print, "finalizer ran", file=sys.stderr)
print(json.dumps({
    "mlflow_level": logging.getLogger("mlflow").level,
    "environment": sorted(os.environ),
    "working_memory": sklearn.get_config()["working_memory"],
}))
print(json.dumps({"hash": hash("runner"), "numpy": float(numpy.random.random())}))
'''


@pytest.mark.skipif(os.environ.get("TESTS_COLD_RUNNER") == "1", reason="no warm runs")
def test_libraries_see_the_runs_environment_and_exit_as_in_a_fresh_interpreter(
        project: Project):
    (project.root / "src" / "runner.py").write_text(LIBRARY_PROBE)
    cold, warm = both(project)
    seen, got = json.loads(cold.stdout.splitlines()[0]), json.loads(warm.stdout.splitlines()[0])
    again = project.run()
    problems = [f"stderr {cold.stderr!r} vs {warm.stderr!r}"] * (cold.stderr != warm.stderr)
    problems += [f"{k}: cold only {sorted(set(seen[k]) - set(got[k]))}, warm only "
                 f"{sorted(set(got[k]) - set(seen[k]))}" if isinstance(seen[k], list)
                 else f"{k}: {seen[k]} vs {got[k]}" for k in seen if seen[k] != got[k]]
    # numpy's global generator is seeded again in every fork; str hashes are not (the hash
    # seed is fixed when an interpreter starts: docs/development.md says so).
    problems += ["same seeds"] * (warm.stdout.splitlines()[1] == again.stdout.splitlines()[1])
    # A variable a library reads on import, set for one run: it must see it.
    tuned = project.run(SKLEARN_WORKING_MEMORY="64")
    problems += ["SKLEARN_WORKING_MEMORY ignored"] * (
        json.loads(tuned.stdout.splitlines()[0])["working_memory"] != 64)
    assert not problems


@pytest.mark.skipif(os.environ.get("TESTS_COLD_RUNNER") == "1", reason="no warm runs")
def test_runs_stay_warm_whatever_mlflow_telemetry_left_in_this_process(
        project: Project, monkeypatch: pytest.MonkeyPatch):
    """MLflow sets or unsets ``_MLFLOW_TELEMETRY_SESSION_ID`` in the environment of whichever
    process imports it (this one too, when a test imports MLflow with telemetry on, or runs the
    runner in-process with it off). Each fork decides on telemetry again with its run's
    environment, so that variable must not send every later run of this process to a fresh
    interpreter (it did: a third of the suite's runs)."""
    from support import warm

    name = "_MLFLOW_TELEMETRY_SESSION_ID"
    monkeypatch.setenv(name, "set-by-an-earlier-import")
    assert warm.usable(project.root, {}, project.env())
    monkeypatch.delenv(name)
    assert warm.usable(project.root, {}, project.env())
