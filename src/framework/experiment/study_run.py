"""Running an adaptive search (``[Sweep] method = "tpe" | "cmaes" | "gp"``): an Optuna study
whose trials are runs.

Before any run or study exists, the space is checked (framework/experiment/sweep.py) and so is every
key's every choice and both ends of every range (``study_space.corners``), with the metric.
Then one parent run per command, and one child run per trial (tags ``trial.number``,
``trial.state``), asked and told one at a time (``StudySweeper``): a worker whose trial ends or
is pruned takes the next at once. The study itself (framework/search/study.py) outlives the command:
the same command again continues it, a larger ``trials`` extends it, and commands started
together (here or on other machines) share it.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.config import file as config_file
from framework.config import sweep_points
from framework.config import sweep_spec as sweep
from framework.core.errors import ExitCode, UserError
from framework.core.names import STUDY_NAME_TAG, STUDY_STORAGE_TAG, SWEEP_METHOD_TAG, TASK_TAG
from framework.experiment import experiment as app
from framework.experiment import sweep as sweep_run
from framework.experiment import sweep_check, sweep_report
from framework.experiment.sweep import Job, Outcome
from framework.experiment.trial_run import COMPLETE, PRUNED
from framework.search import space as study_space
from framework.search import storage as study_storage
from framework.search import study, study_checks
from framework.search.trial import TrialRef

if TYPE_CHECKING:
    import optuna
    from optuna.trial import Trial

    from framework.task.run_task import RunTask


class StudySweeper:
    """Asks the study for trials while it has fewer than ``trials`` (and ``timeout`` has not
    passed), and tells it each result, with the run that holds it."""

    def __init__(self, found: optuna.Study, storage: Any, spec: sweep.SweepSpec,
                 url: str) -> None:
        self.study, self.spec, self.url = found, spec, url
        self.distributions = study_space.distributions(spec.space)
        self.deadline = time.monotonic() + spec.timeout if spec.timeout else math.inf
        self.asked: dict[int, Trial] = {}
        self.timed_out = False  # the command stopped asking at ``timeout``
        self.heartbeat = study.Heartbeat(storage)

    def ask(self) -> Job | None:
        if time.monotonic() >= self.deadline:
            self.timed_out = True
            return None
        trial = study.ask(self.study, self.study.study_name, self.spec.trials,
                          self.distributions)
        if trial is None:
            return None
        self.asked[trial.number] = trial
        trial_id = trial._trial_id  # Optuna has no public accessor; the pruner needs it
        self.heartbeat.add(trial_id)
        return Job(trial.number, study.decode(self.spec, trial),
                   TrialRef(self.url, self.study.study_name, trial_id, trial.number))

    def tell(self, job: Job, outcome: Outcome) -> None:
        from optuna.trial import TrialState

        trial = self.asked.pop(job.index)
        self.heartbeat.trial_ids.discard(trial._trial_id)
        value = outcome.metrics.get(self.spec.metric or "")
        ok = value is not None and not math.isnan(value)
        for key, attr in ((study.RUN_ATTR, outcome.run_id), (study.STATUS_ATTR, outcome.status),
                          (study.SECONDS_ATTR, round(outcome.seconds, 2))):
            if attr is not None:
                trial.set_user_attr(key, attr)
        if outcome.status in (COMPLETE, sweep_run.REUSED) and ok:
            trial.set_user_attr(study_checks.METRICS_ATTR, outcome.metrics)
            self.study.tell(trial, value)
        elif outcome.status == PRUNED:
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            if outcome.status != "KILLED":  # an interrupted trial is asked again: not counted
                trial.set_user_attr(study.ERROR_ATTR, outcome.error or
                                    f"{self.spec.metric} was not logged")
            self.study.tell(trial, state=TrialState.FAIL)

    def abandon(self) -> None:
        """Fail (uncounted) the trials asked but never told: the command was interrupted."""
        from optuna.trial import TrialState

        self.heartbeat.stop()
        for trial in self.asked.values():
            self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)


def check(config: config_file.ExperimentConfig, spec: sweep.SweepSpec,
          registry: dict[str, type[RunTask]], options: app.Options, project_root: Path,
          client: Any) -> tuple[sweep.SweepSpec, str | None, list[Any]]:
    """The space's corners checked, the first planned, the metric known and logged by a task;
    the spec with its metric, the scoring task and the first plan."""
    corners = list(study_space.corners(spec.space))
    sweep_check.check_all(config, corners, len(corners), spec, registry, project_root,
                          "search space check")
    first = sweep_points.configuration(config, corners[0], spec, project_root)
    plan = sweep_run.check_first(first, corners[0], len(corners), registry, options,
                                 project_root, client)
    spec = sweep_check.with_headline_metric(spec, first, registry)
    if spec.metric is None:
        raise UserError(f"{sweep.SECTION}: no task of {' + '.join(config.run.tasks)} has a "
                        "headline metric to optimize; set metric = \"<a metric it logs>\"")
    return spec, sweep_check.check_metric(spec, first, registry), plan


def run_study(config: config_file.ExperimentConfig, spec: sweep.SweepSpec,
              registry: dict[str, type[RunTask]], options: app.Options, project_root: Path
              ) -> ExitCode:
    """Check, then run the study's trials until it has ``trials``; the process exit code."""
    from framework.core import heap
    from framework.core.gitinfo import read_git_state
    from framework.execution import launcher
    from framework.experiment import study_report
    from framework.experiment.recording import source_tags
    from framework.search import pruning
    from framework.store import tracking

    workers = options.workers or 1
    if workers > 1:
        from framework.store.connection import fork_safe_connections

        fork_safe_connections()
    client = tracking.open_store(tracking.tracking_uri())
    child_options = replace(options, workers=1, sweeps=())
    spec, scoring, plan = check(config, spec, registry, child_options, project_root, client)
    name = spec.study or study.default_name(config.run.experiment_name, spec, config.document)
    url = study_storage.storage_url(tracking.tracking_uri(), project_root)
    heap.settle()
    if options.dry_run:
        print(f"study {name!r} in {study_storage.shown(url)}: {spec.method}, {spec.trials} trials, "
              f"{spec.metric} ({spec.goal}), pruner {spec.pruner}\nthe space's first corner "
              f"({sweep_points.describe(next(study_space.corners(spec.space)))}), planned as "
              "a trial would be (the sampler picks the real trials):\n"
              f"{sweep_run.render(plan)}\n(dry run, nothing was run or logged)")
        return ExitCode.OK
    found, storage = study.open_study(url, name, spec)
    pruning.use_pruner(found.pruner)  # the Evaluator's folds are judged in this process's forks
    if failed := study.failed_stale(found):
        print(f"study {name!r}: {failed} trial(s) whose process was gone marked failed",
              flush=True)
    sweep_run._plan = sweep_run.Plan(config, spec, registry, child_options, project_root,
                                     client, scoring_task=scoring)
    git = read_git_state(project_root)
    tags = {TASK_TAG: ",".join(config.run.tasks), SWEEP_METHOD_TAG: spec.method,
            STUDY_NAME_TAG: name, STUDY_STORAGE_TAG: study_storage.shown(url), **source_tags(),
            **(git.tags() if git else {})}
    sweeper = StudySweeper(found, storage, spec, url)
    with tracking.tracked_run(client, config.run.experiment_name, config.run.description,
                              tags) as parent:
        sweep_run._plan.parent_run_id = parent.run_id
        sweep_report.record_sweep(parent, config, spec, [], git)
        print(f"study {name!r} ({spec.method}, {study_storage.shown(url)}), run {parent.run_id} in "
              f"experiment {config.run.experiment_name!r}: up to {spec.trials} trials, "
              f"{workers} at a time", flush=True)
        progress = study_report.StudyProgress(found, spec, sweeper.deadline)
        try:
            for _job, outcome in launcher.launch(sweeper, sweep_run.run_job, workers,
                                                 sweep_run.broken_worker):
                progress.done(outcome)
        finally:
            sweeper.abandon()
            outcomes = study_report.mark_collected(client, study_report.outcomes(found, spec))
            best = sweep_report.compare(parent, spec, outcomes)
            study_report.log_plots(parent, found)
        # Failed: no trial has the metric. One whose run went since, or that was added to the
        # study with no run, still has its value.
        parent.failed = bool(outcomes) and not any(spec.metric in o.metrics for o in outcomes)
    if sweeper.timed_out and len(outcomes) < spec.trials:
        # Else the table reads like a finished study: say that the same command continues it.
        print(f"timeout = {spec.timeout:g} s: stopped asking at {len(outcomes)} of "
              f"{spec.trials} trials; run the same command again to continue the study",
              flush=True)
    sweep_report.print_table(spec, outcomes, best)
    if note := study_report.collected_note(outcomes, name, url):
        print(note, flush=True)
    app.report(parent, "")
    return ExitCode.TASK_FAILED if parent.failed else ExitCode.OK
