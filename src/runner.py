"""Run the experiment described in luigi.toml: ``python src/runner.py [options]``.

A thin command line over ``framework.experiment.command``: it parses options, turns SIGTERM into an
interruption, and is the one place that maps errors to exit codes (0 ok, 1 a task failed or
the tracking store failed during the run, 2 bad input, 130 interrupted, 141 stdout's reader
went away first). Every error line it
prints is redacted (``framework.core.secrets``). Once the work is over, a signal ends the process
at once with 130: there is nothing left to unwind, and no traceback to show.
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

# The Python API (``import runner``): thin re-exports; framework/api.py imports lazily.
from framework.api import Result, run, runs
from framework.config.file import suggest
from framework.core import heap
from framework.core.errors import (
    ExitCode,
    Interrupted,
    StoreError,
    UserError,
    reader_aware,
)
from framework.core.secrets import redact
from framework.experiment.command import run_experiment
from framework.experiment.options import REPRODUCES_VARIABLE, Options, Parser

__all__ = ["Result", "UserError", "main", "run", "runs"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUNNER_PID = os.getpid()
VERBS = ("runs", "diff", "reproduce", "gc")  # the verbs on runs made (framework/verbs/cli.py)


def parse_args(argv: list[str] | None) -> Options:
    parser = Parser(
        prog="python src/runner.py [run]", command="python src/runner.py run",
        description="Run the task named in [RunConfig] (and its upstream tasks) as one MLflow "
                    "run. Settings come from .env and the TOML config. Other verbs: runs, "
                    "diff, reproduce, gc (each has --help).",
        epilog="exit codes: 0 finished, 1 a task failed, 2 bad input (nothing was run), "
               "130 interrupted, 141 the output's reader went away (| head)",
    )
    parser.add_argument("--config", type=Path, default=None, metavar="PATH",
                        help="experiment file (default: $LUIGI_CONFIG_PATH from .env, "
                             "else luigi.toml in the project)")
    parser.add_argument("--task", action="append", default=[], metavar="NAME",
                        help="run NAME instead of RunConfig.task (repeatable)")
    parser.add_argument("--set", action="append", default=[], dest="overrides",
                        metavar="Section.key=VALUE",
                        help="override one config value without editing the file, e.g. "
                             "--set Trainer.seed=1 (TOML syntax; repeatable; logged)")
    parser.add_argument("--sweep", action="append", default=[], dest="sweeps",
                        metavar="Task.param=[V1,V2]",
                        help="run one configuration per value, as one sweep, e.g. --sweep "
                             "'Trainer.estimator_params.max_depth=[2,3,4]' (repeatable; adds "
                             "to [Sweep]); options too, e.g. --sweep method=tpe --sweep "
                             "trials=30 for an adaptive search (docs/adaptive-search.md)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="run up to N tasks in parallel (default: [core] workers, else 1); "
                             "in a sweep, N configurations side by side")
    parser.add_argument("--scheduler-url", default=None, metavar="URL",
                        help="use Luigi's central scheduler (luigid) at URL instead of an "
                             "in-process one, e.g. http://127.0.0.1:8082")
    parser.add_argument("--dry-run", action="store_true",
                        help="print, for every task, whether it would run or reuse an earlier "
                             "output and why; run nothing and create no MLflow run")
    parser.add_argument("--force", action="append", default=[], metavar="TASK",
                        help="rerun TASK and everything downstream of it even if a matching "
                             "output exists (repeatable)")
    parser.add_argument("--no-reuse", action="store_true",
                        help="do not look for earlier outputs to reuse ([PathConfig] pins "
                             "still apply)")
    parser.add_argument("--accept-pin", action="append", default=[], metavar="TASK",
                        help="use TASK's [PathConfig] folder even though it was made with "
                             "other parameters, code or data (recorded on the run)")
    parser.add_argument("--verbose", action="store_true",
                        help="also show Luigi's log on stderr (it is always logged with the run)")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers {args.workers}: run at least 1 task at a time, e.g. "
                        "--workers 2")
    return Options(
        config=args.config,
        tasks=args.task,
        overrides=args.overrides,
        workers=args.workers,
        scheduler_url=args.scheduler_url,
        verbose=args.verbose,
        dry_run=args.dry_run,
        force=args.force,
        accept_pins=args.accept_pin,
        reuse=not args.no_reuse,
        sweeps=args.sweeps,
        reproduces=os.environ.get(REPRODUCES_VARIABLE, ""),
    )


def check_verb(word: str) -> None:
    """A first argument that is no option must be a verb: ``rnus`` is a mistyped one, not an
    argument of the default verb (which takes none)."""
    if word.startswith("-") or word in ("run", *VERBS):
        return
    verbs = ("run", *VERBS)
    hint = (f" (for another experiment file: --config {word})" if word.endswith(".toml")
            else " (for help: --help)" if word.lower() == "help"
            else suggest(word.lower(), verbs))
    raise UserError(f"unknown verb {word!r}{hint}; verbs: {', '.join(verbs)} "
                    "(each has --help)")


def on_sigterm(signum: int, frame: object) -> None:
    """Unwind like Ctrl-C in the runner. In Luigi's forked workers exit quietly, still
    through every ``finally``, so a half-written task removes its staging folder."""
    if os.getpid() != RUNNER_PID:
        raise SystemExit(128 + signum)
    raise Interrupted(f"signal {signum}")


def exit_now(signum: int, frame: object) -> None:
    """A signal while the process is already finishing: exit 130 without unwinding."""
    os._exit(ExitCode.INTERRUPTED)


def interrupted_message() -> str:
    """What became of the run, from the tracking module's record (if it was ever loaded)."""
    tracking = sys.modules.get("framework.store.tracking")
    closed = getattr(tracking, "closed_runs", [])
    if not closed:
        return "interrupted: no run was open"
    run_id, status = closed[-1]
    return f"interrupted: run {run_id} is closed {status}"


def store_fault(error: Exception) -> bool:
    """True for a failure of the tracking store (MLflow, SQLAlchemy) that escaped a run."""
    return type(error).__module__.split(".")[0] in ("mlflow", "sqlalchemy")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] in VERBS:  # runs, diff, reproduce, gc: framework/verbs/
        from framework.verbs.cli import main as run_verb

        heap.pause()  # reading thousands of runs makes millions of objects, few cycles

        return run_verb(args[0], args[1:], PROJECT_ROOT)
    heap.pause()  # until the run is planned: framework/core/heap.py
    try:
        if args:
            check_verb(args[0])
        options = parse_args(args[1:] if args[:1] == ["run"] else args)  # run: the default
    except UserError as error:
        print(f"error: {redact(str(error))}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return reader_aware(lambda: run_experiment(options, PROJECT_ROOT))
    except UserError as error:
        print(f"error: {redact(str(error))}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except StoreError as error:
        print(f"error: {redact(str(error))}; the run is closed by the next run if it could not "
              "be", file=sys.stderr)
        return ExitCode.TASK_FAILED
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM raised as Interrupted
        print(interrupted_message(), file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as error:
        if not store_fault(error):
            raise
        lines = str(error).strip().splitlines() or [type(error).__name__]
        print(f"error: the tracking store failed: {redact(lines[0])}", file=sys.stderr)
        return ExitCode.TASK_FAILED
    finally:
        # Nothing to collect on the way out: exit without walking the whole heap once more.
        gc.freeze()
        if os.getpid() == RUNNER_PID:
            sys.stderr.flush()
            sys.stdout.flush()
            signal.signal(signal.SIGTERM, exit_now)
            signal.signal(signal.SIGINT, exit_now)


def exit_before_finalization(code: Callable[[], int]) -> None:
    """Registered first, so it runs last at exit: end the process with ``code()`` before
    Python finalizes. Finalization puts back the default signal handlers, and a SIGTERM in
    that window (while the heap is torn down) killed the process with 143 instead of 130;
    there is nothing left to tear down that anything relies on."""
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code())


if __name__ == "__main__":
    exit_code: list[int] = [ExitCode.TASK_FAILED]  # until main returns: it raised
    atexit.register(exit_before_finalization, lambda: exit_code[0])
    try:
        exit_code[0] = main()
    except SystemExit as stop:  # argparse's --help
        exit_code[0] = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
        raise
    sys.exit(exit_code[0])
