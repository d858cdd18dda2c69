"""Bad data and bad code references: one line, exit 2, and no MLflow run, before anything runs.

Every case is a real ``python src/runner.py`` in one copy of the project, each with its own
small config and data folder; they run a few at a time because each is only startup cost.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import toml

from support.project import Project, copy_project, one_line_error

IRIS = "examples/data/iris"
DIABETES = "examples/data/diabetes"


def small(n: int = 12) -> pd.DataFrame:
    """A tiny binary dataset: id, two features, a yes/no label with 6 of each."""
    return pd.DataFrame({"id": range(n), "x": [float(i % 5) for i in range(n)],
                         "colour": ["red", "blue", "green"] * (n // 3),
                         "label": ["yes", "no"] * (n // 2)})


def write(folder: Path, train: pd.DataFrame, test: pd.DataFrame | None = None) -> None:
    folder.mkdir(parents=True)
    train.to_csv(folder / "train.csv", index=False)
    test = train.drop(columns=["label"]) if test is None else test
    test.to_csv(folder / "test.csv", index=False)


def corrupt_zip(folder: Path) -> None:
    """A stored (uncompressed) member whose bytes no longer match its CRC."""
    folder.mkdir(parents=True)
    path = folder / "data.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("train.csv", small().to_csv(index=False))
        archive.writestr("test.csv", small().drop(columns=["label"]).to_csv(index=False))
    data = bytearray(path.read_bytes())
    spot = data.index(b"red")  # inside the first member's stored data
    data[spot] = ord("R")
    path.write_bytes(bytes(data))


def big_zip(folder: Path) -> None:
    folder.mkdir(parents=True)
    table = pd.concat([small()] * 60_000).to_csv(index=False)  # ~1.5 MB, compresses to little
    with zipfile.ZipFile(folder / "data.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.csv", table)
        archive.writestr("test.csv", small().drop(columns=["label"]).to_csv(index=False))


def bomb_zip(folder: Path, expanded_mb: int = 600) -> None:
    """About 0.9 MB of zip whose train.csv (two classes, as a real table would have) inflates
    to ``expanded_mb`` MB; written in pieces: the test never holds it whole."""
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "data.zip", "w", zipfile.ZIP_DEFLATED,
                         compresslevel=9) as archive:
        with archive.open("train.csv", "w", force_zip64=True) as member:
            member.write(b"x,label\n")
            block = b"0,1\n1,0\n" * (2**20 // 8)
            for _ in range(expanded_mb):
                member.write(block)
        archive.writestr("test.csv", "x\n0\n")


def make_data(root: Path) -> None:
    data = root / "bad"
    with_nan = small().astype({"label": object})
    with_nan.loc[3, "label"] = None
    write(data / "nan", with_nan)
    write(data / "one_class", small().assign(label="yes"))
    rare = small().assign(label=["yes"] * 10 + ["no"] * 2)
    write(data / "rare", rare)
    test = small().drop(columns=["label"]).astype({"id": float})
    test.loc[2, "id"] = None
    write(data / "no_id", small(), test)
    write(data / "no_feature", small(), small().drop(columns=["label", "colour"]))
    write(data / "fine", small())
    latin = data / "latin"
    latin.mkdir()
    (latin / "train.csv").write_bytes("id,x,colour,label\n1,2,rouge\xe9,yes\n".encode("latin-1")
                                      + b"2,3,bleu,no\n" * 11)
    (latin / "test.csv").write_text("id,x,colour\n1,2,red\n")
    corrupt_zip(data / "crc")
    big_zip(data / "big")
    bomb_zip(data / "bomb")
    write(data / "header_only", small().head(0))
    write(data / "inf", small().assign(x=[1.0, float("inf")] * 6))
    write(data / "inf_test", small(), small().drop(columns=["label"]).assign(
        x=[-float("inf")] + [1.0] * 11))


def config(input_dir: str, task: str = "Evaluator", **sections: dict[str, Any]) -> str:
    document: dict[str, Any] = {
        "RunConfig": {"experiment_name": "bad", "task": task},
        "PathConfig": {"input": input_dir},
        "Preprocessor": {"target": "label", "id_column": "id"},
    }
    for name, values in sections.items():
        document.setdefault(name, {}).update(values)
    return toml.dumps(document)


CASES: dict[str, tuple[str, list[str], str]] = {
    # name: (config text, extra args, a phrase the one error line must contain)
    "nan target": (config("bad/nan"), [], "missing in 1 training row"),
    "single class": (config("bad/one_class"), [], "single class"),
    "class smaller than folds": (config("bad/rare"), [], "fewer than Evaluator.folds = 5"),
    "missing id in test": (config("bad/no_id", "Prediction"), [], "id column 'id' is missing"),
    "test lacks a feature": (config("bad/no_feature"), [], "no column(s) 'colour'"),
    "target not inferable": (config("bad/fine", Preprocessor={"target": "", "test_file": ""}),
                             [], "target is not set"),
    "prediction without a test table": (
        config("bad/fine", "Prediction", Preprocessor={"test_file": ""}), [],
        "Prediction needs a test table"),
    "regressor for a classification": (
        config("bad/fine", Trainer={"estimator": "sklearn.linear_model.Ridge"}), [],
        "not a classifier, and the problem is binary"),
    "classifier for a regression": (
        config(DIABETES, Preprocessor={"train_file": "diabetes.zip:tables/fit.csv",
                                       "test_file": "diabetes.zip:tables/score.csv",
                                       "target": "progression", "id_column": "patient"}),
        [], "not a regressor, and the problem is regression"),
    "binary problem with three classes": (
        config(IRIS, Preprocessor={"target": "species", "id_column": "flower_id",
                                   "problem": "binary"}), [], "has 3 classes, not 2"),
    "text forced numeric": (config("bad/fine", Preprocessor={"numeric_columns": ["colour"]}),
                            [], "holds text such as 'red'"),
    "not utf-8": (config("bad/latin"), [], "set Preprocessor.encoding"),
    "zip member fails its CRC": (config("bad/crc", Preprocessor={"train_file": "data.zip:train.csv",
                                                            "test_file": "data.zip:test.csv"}),
                                 [], "is damaged"),
    "zip member over the limit": (config("bad/big", Preprocessor={"max_member_mb": 1}), [],
                                  "over the 1 MB limit"),
    "header-only csv": (config("bad/header_only"), [], "train.csv has a header but no rows"),
    "inf in a feature": (config("bad/inf"), [], "feature 'x' holds inf in 6 row(s)"),
    "inf in a feature of the test table": (config("bad/inf_test", "Prediction"), [],
                                           "test.csv (first: data row 1)"),
    "stdlib estimator is not imported": (
        config("bad/fine", Trainer={"estimator": "antigravity.Fly"}), ["--dry-run"],
        "'antigravity'"),
    "malformed estimator path": (config("bad/fine", Trainer={"estimator": ".linear_model.X"}),
                                 [], "is not an import path"),
    "dots only": (config("bad/fine", Trainer={"estimator": "..."}), [], "is not an import path"),
    "derived feature outside src": (
        config("bad/fine", Preprocessor={"derived_features": ["os.path.join"]}), [],
        "not code this runner will import"),
    "two tasks with one name": (config("bad/fine", RunConfig={"modules": ["dupe"]}), [],
                                "two tasks are called Trainer"),
    "module with a syntax error": (config("bad/fine", RunConfig={"modules": ["broken"]}), [],
                                   "broken.py:1"),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, titanic_dir: Path
             ) -> tuple[Project, dict[str, subprocess.CompletedProcess[str]]]:
    project = copy_project(tmp_path_factory.mktemp("bad") / "project", titanic_dir)
    make_data(project.root)
    project.add_module("dupe", "from framework.task.run_task import RunTask\n\n"
                               "class Trainer(RunTask):\n    def produce(self, out):\n"
                               "        pass\n")
    project.add_module("broken", "def oops(:\n")
    for index, (text, _, _) in enumerate(CASES.values()):
        project.write_config(text, f"case{index}.toml")

    def run(index: int, args: list[str]) -> subprocess.CompletedProcess[str]:
        return project.run("--config", f"case{index}.toml", *args)

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run, index, args)
                   for index, (name, (_, args, _)) in enumerate(CASES.items())}
        return project, {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_data_is_one_line_exit_2_and_no_run(outcomes, case: str):
    _, results = outcomes
    result = results[case]
    assert result.returncode == 2, result.stdout + result.stderr
    assert CASES[case][2] in one_line_error(result)
    assert "running" not in result.stdout


def test_no_case_left_a_run_in_the_store(outcomes):
    project, _ = outcomes
    assert project.all_runs() == []


def test_the_refused_stdlib_module_was_never_imported(outcomes):
    """``antigravity`` opens a web browser when imported; the check must not import it."""
    _, results = outcomes
    result = results["stdlib estimator is not imported"]
    assert "webbrowser" not in result.stdout + result.stderr
    assert "is not code this runner will import" in result.stderr


BOMB = config("bad/bomb", Preprocessor={"train_file": "data.zip:train.csv",
                                        "test_file": "data.zip:test.csv", "id_column": ""})


# Starts the runner and writes "<exit code> <its ru_maxrss in KiB>" to argv[1]. Linux carries
# the peak of the memory a process replaced at exec into its ru_maxrss, and subprocess starts
# a child with vfork, sharing the parent's memory until exec: a runner started straight from
# this test process reported this process's peak (405 MB on CI) instead of its own. Started
# from this small launcher, it reports its own.
MEASURING_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def run_measured(project: Project, *args: str) -> tuple[int, str, float]:
    """(exit code, stderr, peak resident memory in MB) of one ``python src/runner.py ARGS``:
    its own ``ru_maxrss``, from ``os.wait4`` in a small launcher process."""
    measured = project.root / "measured.txt"
    with (project.root / "err.txt").open("w+") as err:
        subprocess.run([sys.executable, "-c", MEASURING_LAUNCHER, str(measured),
                        sys.executable, "src/runner.py", *args], cwd=project.root,
                       env=project.env(), stderr=err, check=True)
        err.seek(0)
        code, peak_kib = measured.read_text().split()
        return int(code), err.read(), int(peak_kib) / 1024


@pytest.mark.parametrize("args", [[], ["--dry-run"]])
def test_a_zip_bomb_is_refused_before_the_run_without_inflating_it(outcomes, args):
    """0.9 MB inflating to 600 MB: refused on the ratio, the runner's peak memory stays at
    what its imports take (the old check inflated it: 2.6 GB)."""
    project, _ = outcomes
    assert (project.root / "bad" / "bomb" / "data.zip").stat().st_size < 2**20
    project.write_config(BOMB, "bomb.toml")
    code, stderr, peak_mb = run_measured(project, "--config", "bomb.toml", *args)
    assert peak_mb < 400, f"peak {peak_mb:.0f} MB"
    assert code == 2, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "data.zip:train.csv expands" in lines[0] and "over the 100x limit" in lines[0]
    assert "Preprocessor.max_zip_ratio" in lines[0]
    assert project.all_runs() == []
