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
from typing import Any, ClassVar, TypeVar

import luigi

from framework import tracking
from framework.context import current_run
from framework.lifeline import die_with_runner, ensure_runner_alive
from framework.outputs import OutputFolder, manifest_tag
from framework.secrets import redact_tree

T = TypeVar("T", bound="RunTask")


class RunTask(luigi.Task):
    """A task whose outputs live in one verified folder of the current MLflow run.

    Subclass contract:
    - ``produce(out)`` writes every output into the (empty, staging) folder ``out``;
    - ``check()`` may raise ``framework.errors.UserError`` for bad input; the runner calls it
      before the MLflow run is created, for every task that is not already complete;
    - ``self.input()`` gives the upstream tasks' ``OutputFolder``s, shaped like ``requires()``;
    - ``required_files`` names the entries (files, or folders holding files) every output of the
      task must hold: a run that did not write them fails, a folder that lacks them is never
      complete (so never reused or accepted as a pin).
    """

    required_files: ClassVar[tuple[str, ...]] = ()

    run_id: str = luigi.Parameter(  # type: ignore[assignment]
        description="ID of the MLflow run that owns this task's outputs (set by the runner)."
    )

    def upstream(self, task: type[T]) -> T:
        """An upstream task of the same run, configured from its own section.

        Use this, not Luigi's ``clone``: ``clone`` copies every parameter the two tasks share
        by name, so an ``Evaluator.seed`` would silently become the ``Trainer``'s seed.
        """
        return task(run_id=self.run_id)

    def output_dir(self) -> Path:
        """``[PathConfig].<TaskName>`` when set, else ``<run artifacts>/<TaskName>/``."""
        return current_run().output_dir(self.task_family)

    def output(self) -> OutputFolder:
        return OutputFolder(self.output_dir(), self.task_family, self.required_files)

    def input_dir(self) -> Path:
        """The raw data folder, ``[PathConfig].input``."""
        return current_run().input_dir

    def parameters(self) -> dict[str, str]:
        """This task's parameters as strings (the runner's own ``run_id`` left out)."""
        params = self.to_str_params(only_significant=True)
        params.pop("run_id", None)
        return params

    def check(self) -> None:
        """Raise ``UserError`` when the task's input is unusable. Runs before the MLflow run."""

    def raw_inputs(self) -> list[Path]:
        """Raw files this task reads (not upstream outputs); their bytes enter its signature."""
        return []

    def code_modules(self) -> list[str]:
        """Modules whose code (and the project modules they import) enters the signature."""
        return [type(self).__module__]

    def on_reuse(self) -> None:
        """Called in the runner when an earlier output stands in for this task (e.g. to log
        the metrics it recorded onto the new run)."""

    @abstractmethod
    def produce(self, out: Path) -> None:
        """Write this task's outputs into ``out``."""

    def run(self) -> None:
        """Write the folder atomically, then record its manifest's digest on the run: the tag
        reuse and pins check, so a rewritten manifest is never trusted."""
        die_with_runner()
        signature = current_run().signatures.get(self.task_family)
        record: dict[str, Any] = {"run_id": self.run_id, "params": self.parameters()}
        if signature is not None:
            record |= {"signature": signature.digest, "signature_parts": signature.parts()}
        output = self.output()
        # The manifest is an artifact too: no secret in it (its recorded digest is kept whole).
        with output.writing(redact_tree(record), before_publish=ensure_runner_alive) as staging:
            self.produce(staging)
        tracking.set_run_tags(current_run().tracking_uri, self.run_id,
                              {manifest_tag(self.task_family): output.manifest_digest() or ""})

    def log_metrics(self, metrics: dict[str, float]) -> None:
        """Log metrics to this task's run, from whichever process runs the task (not from a
        worker whose runner is gone)."""
        ensure_runner_alive()
        tracking.log_metrics(current_run().tracking_uri, self.run_id, metrics)
