"""The command lines of the verbs: ``python src/runner.py runs|diff|reproduce|gc ...``.

``main`` maps errors to exit codes like the runner does: bad input (``UserError``) is one line
and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from framework.core.errors import ExitCode, UserError, reader_aware
from framework.core.secrets import redact
from framework.experiment.options import Parser
from framework.verbs.output import FORMATS

VERBS = ("runs", "diff", "reproduce", "gc")
PROG = "python src/runner.py"
FILTER_HELP = ("MLflow's search syntax, e.g. \"metrics.cv_accuracy_mean > 0.83 and "
               "params.`Trainer.seed` = '1'\"")


def parser_for(verb: str) -> argparse.ArgumentParser:
    build: dict[str, Callable[[], argparse.ArgumentParser]] = {
        "runs": runs_parser, "diff": diff_parser, "reproduce": reproduce_parser, "gc": gc_parser}
    return build[verb]()


def with_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="table (fits the terminal), csv, json (for scripts) or md")


def runs_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=f"{PROG} runs", description=(
        "One row per run, newest first: id, start, status, the tasks it reused, the params "
        "that differ between the listed runs, and the metrics. Sweep children follow their "
        "parent (marked └)."))
    parser.add_argument("--experiment", metavar="NAME",
                        help="the experiment (default: the config's [RunConfig] "
                             "experiment_name when it exists in the store, else all)")
    parser.add_argument("--config", metavar="PATH",
                        help="the experiment of this config file, as the runner's --config")
    parser.add_argument("--filter", default="", metavar="EXPR", help=FILTER_HELP)
    parser.add_argument("--sort", metavar="KEY",
                        help="MLflow order, e.g. 'metrics.cv_accuracy_mean DESC' (default: "
                             "newest first)")
    parser.add_argument("--limit", type=int, default=50, metavar="N",
                        help="at most N runs (default 50)")
    parser.add_argument("--all-params", action="store_true",
                        help="every param, not only those that differ")
    with_format(parser)
    return parser


def diff_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=f"{PROG} diff", description=(
        "Compare two runs: the effective configs (only what differs), params, metrics with "
        "deltas, the git commits, and per task whether both used the same output and, if "
        "not, why (in the plan's words)."))
    parser.add_argument("run_a", metavar="RUN_A", help="a run id (or a unique prefix)")
    parser.add_argument("run_b", metavar="RUN_B", help="a run id (or a unique prefix)")
    with_format(parser)
    return parser


def reproduce_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=f"{PROG} reproduce", description=(
        "Run again with exactly RUN's effective config, at RUN's commit (in a temporary git "
        "worktree with its recorded diff applied, when that is not this checkout). The new "
        "run is tagged 'reproduces'."))
    parser.add_argument("run", metavar="RUN", help="a run id (or a unique prefix)")
    parser.add_argument("--verify", action="store_true",
                        help="recompute every task (no reuse) and compare the outputs file by "
                             "file; exit 1 when a prediction or metric differs")
    parser.add_argument("--accept-pin", action="append", default=[], metavar="TASK",
                        help="use TASK's [PathConfig] pin even though it differs now "
                             "(repeatable); the pins RUN accepted are accepted again anyway")
    return parser


def gc_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=f"{PROG} gc", description=(
        "Delete runs and their artifacts, keeping what is still needed: the runs you keep, "
        "every output a kept run reused or pins, the runs a kept sweep or study names (its "
        "best run, its table's rows, its study's trials), runs behind registered model "
        "versions, running runs and outputs another runner claims. Runs already marked "
        "deleted are purged too, as `mlflow gc` does."))
    parser.add_argument("--keep-last", type=int, metavar="N",
                        help="keep the N newest runs of each experiment (sweep children go "
                             "with their parent)")
    parser.add_argument("--older-than", type=float, metavar="DAYS",
                        help="delete only runs started more than DAYS days ago")
    parser.add_argument("--experiment", metavar="NAME", help="only this experiment")
    parser.add_argument("--dry-run", action="store_true",
                        help="list what would go and the bytes freed; delete nothing")
    with_format(parser)
    return parser


def run_verb(verb: str, argv: Sequence[str], project_root: Path) -> int:
    args = parser_for(verb).parse_args(list(argv))
    from framework.verbs import common

    if verb == "gc":
        from framework.verbs import gc, keep

        rules = keep.Rules(args.keep_last, args.older_than)
        gc.check(rules)  # before the store is even opened
        client = common.open_project_store(project_root)
        if args.experiment:
            rules = keep.Rules(args.keep_last, args.older_than,
                               common.experiment_ids(client, args.experiment))
        return collect(client, rules, project_root, args.dry_run, args.format)
    if verb == "runs":  # a sqlite store is read without importing MLflow: runs.listing
        from framework.verbs import runs

        if args.config and args.experiment:
            raise UserError("runs: give --experiment NAME or --config PATH, not both")
        named = args.experiment or (common.config_experiment(project_root / args.config)
                                    if args.config else None)
        frame, experiment = runs.listing(project_root, named, args.filter, args.sort,
                                         args.limit, args.all_params)
        title = (f"experiment {experiment!r}" if experiment else "all experiments") + (
            f": {len(frame)} runs, newest first" if not args.sort else f": by {args.sort}")
        return emit(runs.render(frame, args.format, title))
    if verb == "diff":  # likewise: diff.comparison
        from framework.verbs import diff

        return emit(diff.render(diff.comparison(project_root, args.run_a, args.run_b),
                                args.format))
    from framework.verbs import reproduce

    return reproduce.reproduce(common.open_project_store(project_root), project_root,
                               args.run, args.verify, args.accept_pin)


def collect(client: object, rules: object, project_root: Path, dry_run: bool, form: str) -> int:
    from framework.store.connection import sqlite_path
    from framework.verbs import gc, gc_survey

    if dry_run:
        found = gc_survey.survey(client, rules, project_root)  # type: ignore[arg-type]
        return emit(gc.render(found, form, dry_run=True))
    database = sqlite_path(str(getattr(client, "tracking_uri", "")))
    before = database.stat().st_size if database and database.is_file() else None
    found, note = gc.collect(client, rules, project_root)  # type: ignore[arg-type]
    code = emit(gc.render(found, form, dry_run=False))
    if database is not None and before is not None and form == "table":
        print(f"store database {gc.mib(before)} -> {gc.mib(database.stat().st_size)}")
    if note:
        print(f"note: {note}")
    return code


def emit(text: str | None) -> int:
    if text is not None:
        print(text)
    return ExitCode.OK


def main(verb: str, argv: Sequence[str], project_root: Path) -> int:
    """Run one verb; the exit code (2 with one line for bad input)."""
    try:
        return reader_aware(lambda: run_verb(verb, argv, project_root))
    except UserError as error:
        print(f"error: {redact(str(error))}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
