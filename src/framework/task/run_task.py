"""``RunTask``: the base every pipeline task inherits.

To add a task: subclass ``RunTask``, declare typed Luigi parameters with defaults and
descriptions (their values come from the ``[YourTask]`` section of ``luigi.toml``), return
upstream tasks from ``requires()`` with ``self.upstream(Upstream)``, and write your files in
``produce(out)``. The base decides where the folder lives, writes it atomically, and tells Luigi
the task is complete only when its folder verifies.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import luigi

from framework.core import names
from framework.core.lifeline import die_with_runner, ensure_runner_alive, raise_held_interrupt
from framework.core.names import manifest_tag
from framework.core.secrets import redact_tree
from framework.outputs import signing
from framework.outputs.folder import OutputFolder
from framework.store import models, tracking
from framework.store import remote_outputs as remote
from framework.store.datasets import RawTable
from framework.task import adoption
from framework.task.context import current_run
from framework.task.dag import upstream_model

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

T = TypeVar("T", bound="RunTask")


class RunTask(luigi.Task):
    """A task whose outputs live in one verified folder of the current MLflow run.

    Subclass contract:
    - ``produce(out)`` writes every output into the (empty, staging) folder ``out``;
    - ``check()`` may raise ``framework.core.errors.UserError`` for bad input; the runner calls it
      before the MLflow run is created, for every task that is not already complete;
    - ``self.input()`` gives the upstream tasks' ``OutputFolder``s, shaped like ``requires()``;
    - ``model_folder``: set it to the name of a sub-folder of the output that ``produce``
      writes as an MLflow model; the framework makes it a logged model (``framework.store.models``);
    - ``scores_model_of``: the name of a task whose model this task's metrics score without
      reading it (built from that task's settings, ``borrowed_parameters``): the metrics are
      linked to its logged model once the DAG has run (``framework.experiment.scoring``);
    - ``datasets()`` may return the raw tables the task reads (``framework.store.datasets``);
    - ``required_files`` names the entries (files, or folders holding files) every output of the
      task must hold: a run that did not write them fails, a folder that lacks them is never
      complete (so never reused or accepted as a pin).
    """

    model_folder: ClassVar[str | None] = None
    scores_model_of: ClassVar[str | None] = None  # see borrowed_parameters, experiment/scoring.py
    required_files: ClassVar[tuple[str, ...]] = ()

    # Not part of the Luigi task id: ``work_id`` is (framework/task/adoption.py).
    run_id: str = luigi.Parameter(  # type: ignore[assignment]
        significant=False,
        description="ID of the MLflow run that owns this task's outputs (set by the runner)."
    )
    work_id: str = luigi.Parameter(  # type: ignore[assignment]
        default="",
        description="This task's identity on Luigi's scheduler: its signature when the work "
                    "may be shared with other runners, else the run id (set by the runner)."
    )

    @classmethod
    def of_run(cls: type[T], run_id: str) -> T:
        """The task as run ``run_id`` runs it (the runner's way to make a root task)."""
        return cls(run_id=run_id, work_id=adoption.work_id(cls.get_task_family(), run_id))

    def upstream(self, task: type[T]) -> T:
        """An upstream task of the same run, configured from its own section.

        Use this, not Luigi's ``clone``: ``clone`` copies every parameter the two tasks share
        by name, so an ``Evaluator.seed`` would silently become the ``Trainer``'s seed.
        """
        return task.of_run(self.run_id)

    def output_dir(self) -> Path:
        """``[PathConfig].<TaskName>`` when set, else ``<run artifacts>/<TaskName>/``."""
        return current_run().output_dir(self.task_family)

    def output(self) -> OutputFolder:
        """The task's folder; for shared work another runner completed, its verified copy."""
        folder = adoption.adopted(self.work_id) or self.output_dir()
        return OutputFolder(folder, self.task_family, self.required_files)

    def complete(self) -> bool:
        return self.output().exists() or adoption.adopt(self.task_family, self.work_id, self.run_id,
                                                       self.required_files) is not None

    def input_dir(self) -> Path:
        """The raw data folder, ``[PathConfig].input``."""
        return current_run().input_dir

    def parameters(self) -> dict[str, str]:
        """This task's parameters as strings (the runner's ``run_id`` and ``work_id`` left
        out)."""
        params = self.to_str_params(only_significant=True)
        params.pop("run_id", None)
        params.pop("work_id", None)
        return params

    def borrowed_parameters(self) -> dict[str, str]:
        """Parameters of other tasks that decide this task's output, keyed ``Task.param``
        (e.g. the Trainer's settings of the model the Evaluator cross-validates). They enter
        the signature as this task's own do; a change reads ``parameter Trainer.seed 0 -> 1``.
        """
        return {}

    def check(self) -> None:
        """Raise ``UserError`` when the task's input is unusable. Runs before the MLflow run."""

    def plan_notes(self) -> list[str]:
        """Lines the plan prints under this task when it is about to run (e.g. what it decided
        about its input); called after ``check()``, before the MLflow run exists."""
        return []

    def raw_inputs(self) -> list[Path]:
        """Raw files this task reads (not upstream outputs); their bytes enter its signature."""
        return []

    def code_modules(self) -> list[str]:
        """Modules whose code (and the project modules they import) enters the signature."""
        return [type(self).__module__]

    def headline_metric(self) -> tuple[str, str] | None:
        """(metric, "maximize" or "minimize") that best judges this task's results, or None.

        A sweep without ``[Sweep] metric`` ranks its configurations by the first one found.
        """
        return None

    def model_name(self) -> str | None:
        """What this task's model is, e.g. its estimator's class; None for none or unknown.

        Its logged model is called ``<experiment>-<model_name>`` (else ``<experiment>-<Task>``),
        and the run is named after it.
        """
        return None

    def metric_names(self) -> tuple[str, ...]:
        """The metrics this task logs, known before it runs: a sweep refuses a ``metric`` no
        task of its DAG names (when at least one names any)."""
        return ()

    def run_tags(self) -> dict[str, str]:
        """Tags this task adds to the run, decided before it starts (e.g. an inferred setting)."""
        return {}

    def datasets(self) -> list[RawTable]:
        """The raw tables this task reads, for the run's Datasets (name, source, context).

        Logged for every task of the DAG, also when its output is reused; loaders are
        called in the runner's process, before the tasks run.
        """
        return []

    @abstractmethod
    def produce(self, out: Path) -> None:
        """Write this task's outputs into ``out``."""

    def run(self) -> None:
        """Write the folder atomically, then record its manifest's digest on the run: the tag
        reuse and pins check, so a rewritten manifest is never trusted."""
        raise_held_interrupt()  # Ctrl-C while Luigi announced this task: do not start it
        die_with_runner()
        signature = current_run().signatures.get(self.task_family)
        record: dict[str, Any] = {names.MANIFEST_RUN_KEY: self.run_id,
                                  names.MANIFEST_PARAMS_KEY: self.parameters()}
        if signature is not None:
            record |= {names.MANIFEST_SIGNATURE_KEY: signature.digest,
                       names.MANIFEST_SIGNATURE_PARTS_KEY: signature.parts()}
        output = self.output()
        # The manifest is an artifact too: no secret in it (its recorded digest is kept whole).
        # ``writing`` stores ``published`` when the block ends, so what is added to it here
        # (metrics, the model id) is published with the files, atomically.
        published = redact_tree(record)
        model_id = None
        try:
            with output.writing(published, before_publish=ensure_runner_alive) as staging:
                self.produce(staging)
                published[names.MANIFEST_METRICS_KEY] = dict(self._logged_metrics())
                published[names.MANIFEST_METRICS_MODEL_KEY] = upstream_model(self)
                if self.model_folder:
                    model_id = self._create_model(staging / self.model_folder)
                    published[names.MANIFEST_MODEL_ID_KEY] = model_id
        except BaseException:
            if model_id:
                models.finalize(self._client(), model_id, ok=False)
            raise
        if model_id:
            models.finalize(self._client(), model_id, ok=True)
        if current_run().upload and output.path.parent == current_run().artifact_dir:
            # Before the digest tag: readers take a remote folder as complete only with it.
            remote.upload(self._client(), self.run_id, output.path, self.task_family)
        digest = output.manifest_digest() or ""
        tracking.set_run_tags(current_run().tracking_uri, self.run_id,
                              {manifest_tag(self.task_family): digest,
                               **signing.signature_tags(self.task_family, digest)})

    def _create_model(self, folder: Path) -> str:
        if not (folder / "MLmodel").is_file():
            raise FileNotFoundError(f"{self.task_family} declares model_folder = "
                                    f"{self.model_folder!r} but produce() wrote no MLflow model "
                                    f"there ({folder / 'MLmodel'} is missing)")
        return models.create(self._client(), self.run_id, self.model_name() or self.task_family,
                             folder, self.output().file(str(self.model_folder)),
                             self.parameters())

    def _client(self) -> MlflowClient:
        from mlflow.tracking import MlflowClient

        return MlflowClient(current_run().tracking_uri)

    def _logged_metrics(self) -> dict[str, float]:
        # Per task instance, in whichever process runs it; Luigi's Task has no __init__ hook.
        return cast(dict[str, float], self.__dict__.setdefault("_metrics", {}))

    def report_progress(self, step: int, value: float) -> None:
        """Report an intermediate result (``value`` after ``step`` units of work, e.g. the
        running mean of the headline metric after ``step`` folds; ``step`` >= 0, increasing).

        Outside an adaptive-search trial (``current_run().trial`` is None) it does nothing.
        Inside one it reports to the trial in the study storage and, when the study's pruner
        stops the trial there, records it (``framework.search.pruning``) and raises ``TrialPruned``:
        let it propagate, so the task publishes nothing.
        """
        trial = current_run().trial
        if trial is None:
            return
        from framework.search import pruning

        pruning.report(trial, step, value)

    def scores_deferred(self) -> bool:
        """True when this task's metrics wait for the end of the DAG: the task whose model they
        score (``scores_model_of``) is part of this run's DAG (``experiment/scoring.py`` logs
        and links them then)."""
        return bool(self.scores_model_of) and self.scores_model_of in current_run().signatures

    def log_metrics(self, metrics: dict[str, float]) -> None:
        """Log metrics to this task's run, from whichever process runs the task (not from a
        worker whose runner is gone).

        They are stored in the output's manifest too, and the runner logs them again on
        every run that reuses the output. They are linked to the nearest upstream model, or,
        for a task with ``scores_model_of`` in the DAG, logged when the DAG has run and linked
        to that task's model (``framework.experiment.scoring``).
        """
        ensure_runner_alive()
        self._logged_metrics().update({key: float(value) for key, value in metrics.items()})
        if self.scores_deferred():
            return  # logged with the model they score once the DAG has run
        tracking.log_metrics(current_run().tracking_uri, self.run_id, metrics,
                             model_id=upstream_model(self))
