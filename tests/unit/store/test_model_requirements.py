"""Saving a model checks only the requirements the installed packages may not meet.

MLflow warns when a model's pip requirements do not match the installed packages, and maps
every installed distribution's files to find them (about 0.3 s a process). The Trainer pins
the installed versions, which meet themselves: ``models.check_only_unproven_requirements``
drops those from the check, and leaves MLflow's warning for any other. Each case saves a
real model in a forked process (the hook is process-wide, and MLflow's map is built once).
"""

from __future__ import annotations

import logging
import multiprocessing
from importlib import metadata
from pathlib import Path

import mlflow.sklearn
import mlflow.utils.requirements_utils as requirements_utils
import pytest
from sklearn.linear_model import LogisticRegression

from framework.store import models

SKLEARN = f"scikit-learn=={metadata.version('scikit-learn')}"
PANDAS = f"pandas=={metadata.version('pandas')}"
_CONTEXT = multiprocessing.get_context("fork")


def _save(folder: str, requirements: list[str], out: multiprocessing.Queue) -> None:
    """Save a model with ``requirements``; put whether MLflow built its package map, and the
    mismatch warnings it logged."""
    warnings: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warnings.append(record.getMessage())

    logging.getLogger("mlflow").addHandler(Keep(logging.WARNING))
    requirements_utils._MODULES_TO_PACKAGES = None  # as in a new process (private: test only)
    try:
        models.check_only_unproven_requirements()
        model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
        mlflow.sklearn.save_model(model, folder, pip_requirements=requirements,
                                  serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_PICKLE)
    except Exception as error:  # to the test, with its message, not a queue timeout
        out.put(error)
        return
    mismatches = [text for text in warnings if "mismatch" in text]
    out.put((requirements_utils._MODULES_TO_PACKAGES is not None, mismatches))


def save_in_a_fork(folder: Path, requirements: list[str]) -> tuple[bool, str]:
    out = _CONTEXT.Queue()
    process = _CONTEXT.Process(target=_save, args=(str(folder), requirements, out))
    process.start()
    reply = out.get(timeout=60)
    process.join(timeout=10)
    if isinstance(reply, Exception):
        raise reply
    mapped, mismatches = reply
    assert process.exitcode == 0
    return mapped, "\n".join(mismatches)


def test_installed_pins_are_not_checked_again(tmp_path: Path) -> None:
    mapped, mismatches = save_in_a_fork(tmp_path / "model", [SKLEARN, PANDAS])
    assert not mapped  # MLflow never listed the installed distributions' files
    assert not mismatches
    assert SKLEARN in (tmp_path / "model" / "requirements.txt").read_text()


def test_a_requirement_not_installed_still_warns_and_names_only_itself(tmp_path: Path) -> None:
    mapped, mismatches = save_in_a_fork(tmp_path / "model", [SKLEARN, "pandas==0.0.1"])
    assert mapped
    assert "pandas==0.0.1" in mismatches and "scikit-learn" not in mismatches


@pytest.mark.parametrize("line", [
    "pandas==0.0.1", "pandas>=1", f"{PANDAS}; python_version < '3'",
    PANDAS.replace("pandas", "pandas[pyarrow]"),
    "./wheels/pandas.whl", "no-such-distribution==1.0", "pandas",
])
def test_only_a_plain_pin_of_the_installed_version_is_proven(line: str) -> None:
    assert not models._installed(line)


def test_the_installed_versions_are_proven() -> None:
    assert models._installed(SKLEARN) and models._installed(PANDAS)
    assert models._installed(PANDAS.replace("pandas", "Pandas"))  # names compare normalized
