"""Import paths from the config: well formed, and only from allowed places, checked before
anything is imported."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tabular.derived import DerivedFeature, load_derived
from tabular.imports import ImportPathError, check_allowed, resolve, split_path

SRC = Path(__file__).resolve().parents[3] / "src"


def clean_python(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter (nothing imported yet) with src/ on the path."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, env={"PYTHONPATH": str(SRC)}, timeout=60)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project source folder on sys.path, with a package and a module with a syntax error."""
    package = tmp_path / "imports_probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("class Thing:\n    pass\n")
    (tmp_path / "imports_probe_broken.py").write_text("def broken(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("imports_probe_pkg", "imports_probe_broken"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("path", [".linear_model.X", "...", "x", "sklearn..X",
                                  "sklearn.ensemble.", "1abc.X", "sklearn.my-model.X", ""])
def test_malformed_paths(path: str) -> None:
    with pytest.raises(ImportPathError) as error:
        split_path(path, "Trainer.estimator")
    assert str(error.value) == (f"Trainer.estimator {path!r} is not an import path: write "
                                "package.module.Name, e.g. sklearn.ensemble.RandomForestClassifier")


def test_split_path() -> None:
    assert split_path("sklearn.ensemble.X", "w") == ("sklearn.ensemble", "X")


def test_sklearn_paths_are_allowed() -> None:
    from sklearn.ensemble import RandomForestClassifier

    assert resolve("sklearn.ensemble.RandomForestClassifier", "w", None) is RandomForestClassifier


@pytest.mark.parametrize("path", ["os.path.join", "pandas.DataFrame", "antigravity.X",
                                  "mlflow.server.auth.X"])
def test_other_installed_code_is_refused(path: str) -> None:
    with pytest.raises(ImportPathError) as error:
        resolve(path, "Trainer.estimator", SRC)
    message = str(error.value)
    assert f"Trainer.estimator: {path.split('.')[0]!r} (" in message
    assert "is not code this runner will import; use a class from src/ or an estimator " \
           "package (scikit-learn, xgboost, lightgbm, catboost)" in message


def test_refused_modules_are_not_imported() -> None:
    # antigravity opens a web browser and `this` prints the Zen of Python when imported.
    completed = clean_python(
        "import sys\n"
        "from tabular.imports import ImportPathError, resolve\n"
        "from tabular.derived import load_derived\n"
        "for attempt in (lambda: resolve('antigravity.X', 'E', None),\n"
        "                lambda: resolve('this.X', 'E', None),\n"
        "                lambda: load_derived(['antigravity.fly'])):\n"
        "    try:\n"
        "        attempt()\n"
        "    except ImportPathError as error:\n"
        "        print('refused', 'is not code this runner will import' in str(error))\n"
        "print(sorted({'antigravity', 'this', 'webbrowser'} & set(sys.modules)))\n")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["refused True"] * 3 + ["[]"]


def test_importing_the_package_costs_neither_sklearn_nor_matplotlib() -> None:
    modules = ("contract", "dataset", "derived", "estimators", "evaluation", "features",
               "imports", "plots", "predictions", "sources")
    completed = clean_python(
        "import sys\n"
        + "".join(f"import tabular.{name}\n" for name in modules)
        + "import titanic.features\n"
        "print(sorted({'sklearn', 'matplotlib'} & set(sys.modules)))\n")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_unknown_module(project: Path) -> None:
    with pytest.raises(ImportPathError, match=r"^w: no module named 'nosuchpkg' is installed"):
        resolve("nosuchpkg.X", "w", project)


def test_project_code_is_allowed_under_project_src(project: Path) -> None:
    thing = resolve("imports_probe_pkg.Thing", "w", project, libraries=False)
    assert thing.__name__ == "Thing"
    with pytest.raises(ImportPathError, match="use a class from src/ or an estimator package"):
        check_allowed("imports_probe_pkg", "w", SRC, libraries=True)  # not under that src


def test_libraries_false_allows_project_code_only(project: Path) -> None:
    with pytest.raises(ImportPathError) as error:
        resolve("sklearn.ensemble.RandomForestClassifier", "w", project, libraries=False)
    assert str(error.value).endswith("is not code this runner will import; use a class from src/")


def test_missing_name_and_syntax_error_in_project_code(project: Path) -> None:
    with pytest.raises(ImportPathError, match=r"^w: module imports_probe_pkg has no 'Nope'"):
        resolve("imports_probe_pkg.Nope", "w", project)
    with pytest.raises(ImportPathError) as error:
        resolve("imports_probe_broken.X", "w", project)
    assert str(error.value) == (f"w: {project / 'imports_probe_broken.py'}:1: syntax error "
                                "(invalid syntax); fix that file")


def test_missing_submodule_of_an_allowed_package() -> None:
    with pytest.raises(ImportPathError, match=r"cannot import 'sklearn\.ensembl' \(No module"):
        resolve("sklearn.ensembl.RandomForestClassifier", "w", None)


def test_load_derived_takes_marked_project_functions_only() -> None:
    (title,) = load_derived(["titanic.features.title"])
    assert isinstance(title, DerivedFeature) and title.path == "titanic.features.title"
    with pytest.raises(ImportPathError, match=r"extract_title is not marked with @tabular"):
        load_derived(["titanic.features.extract_title"])
    with pytest.raises(ImportPathError, match=r"'sklearn' .* use a class from src/$"):
        load_derived(["sklearn.base.clone"])
    with pytest.raises(ImportPathError, match=r"^Preprocessor\.derived_features 'title' is not"):
        load_derived(["title"])


def test_a_misspelt_derived_feature_suggests_the_closest_marked_one() -> None:
    with pytest.raises(ImportPathError) as refused:
        load_derived(["titanic.features.titel"])
    assert str(refused.value) == ("Preprocessor.derived_features: module titanic.features has no "
                                  "'titel' (did you mean 'title'?); fix the name")
    with pytest.raises(ImportPathError) as refused:  # only marked functions are suggested
        load_derived(["titanic.features.extract_titel"])
    assert "did you mean" not in str(refused.value)


def test_a_package_that_merely_requires_sklearn_is_not_imported() -> None:
    # mlflow requires scikit-learn, so "any dependent of scikit-learn" let it through.
    completed = clean_python(
        "import sys\n"
        "from tabular.imports import ImportPathError, resolve\n"
        "try:\n"
        "    resolve('mlflow.server.auth.X', 'Trainer.estimator', None)\n"
        "except ImportPathError as error:\n"
        "    print(error)\n"
        "print(sorted(name for name in sys.modules if name.startswith('mlflow')))\n")
    assert completed.returncode == 0, completed.stderr
    refusal, imported = completed.stdout.splitlines()
    assert refusal.startswith("Trainer.estimator: 'mlflow' (")
    assert "is not code this runner will import" in refusal
    assert imported == "[]"


def test_a_name_from_outside_the_named_package_is_refused() -> None:
    # sklearn.utils.validation does `from inspect import Parameter`: not sklearn's class.
    with pytest.raises(ImportPathError, match=r"is inspect\.Parameter, from outside the package"):
        resolve("sklearn.utils.validation.Parameter", "w", None)


def test_module_origin_imports_no_parent_package(project: Path) -> None:
    from tabular.imports import module_origin

    (project / "imports_probe_pkg" / "sub.py").write_text("raise SystemExit('imported')\n")
    assert module_origin("imports_probe_pkg.sub") == (project / "imports_probe_pkg" / "sub.py")
    assert "imports_probe_pkg" not in sys.modules
    assert module_origin("imports_probe_pkg.nope") is None
