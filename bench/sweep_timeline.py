"""A sweep's timeline: when each process did what, to find the part that does not run in parallel.

``python bench/sweep_timeline.py [--project DIR] [--keep] -- [runner options]`` makes a project
copy (``harness.make_project``, then a ``--dry-run`` so the store exists, as bench/sweep.py
does) unless ``--project`` names one, runs ``src/runner.py`` in it with the functions that make
up a sweep wrapped by timers (see ``HOOKS``), and prints every process's events (wall seconds
since the command started, and that process's CPU seconds) nested, then a summary: serial time
before the first configuration starts and after the last one ends, and each worker's busy and
waiting time. Forked workers inherit the wrappers; every process appends its events to one
file (``O_APPEND`` writes of one line are atomic).
"""

from __future__ import annotations

import argparse
import atexit
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from phases import AfterImport

T0 = float(os.environ.get("TIMELINE_T0", time.time()))
_sink: int | None = None


def event(kind: str, label: str) -> None:
    """Append one event (B begin, E end, I instant) of this process."""
    if _sink is None:
        return
    line = json.dumps({"pid": os.getpid(), "t": round(time.time() - T0, 4),
                       "cpu": round(time.process_time(), 4), "ev": kind, "label": label})
    os.write(_sink, (line + "\n").encode())


def timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        event("B", label)
        try:
            return function(*args, **kwargs)
        finally:
            event("E", label)

    return wrapper


def each(*steps: tuple[str, str]) -> Callable[[ModuleType], None]:
    def hook(module: ModuleType) -> None:
        for attribute, label in steps:
            owner_path, _, name = attribute.rpartition(".")
            owner: Any = module
            for part in filter(None, owner_path.split(".")):
                owner = getattr(owner, part, None)
            if hasattr(owner, name):  # absent in other versions of the code: not timed
                setattr(owner, name, timed(label, getattr(owner, name)))

    return hook


def _job_label(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(job: Any) -> Any:
        label = f"configuration {job.index + 1}"
        before = set(sys.modules)
        _gc_seconds.clear()
        event("B", label)
        try:
            return function(job)
        finally:
            event("E", label)
            cpu_now = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[36]
            event("I", f"on cpu {cpu_now}; garbage collection: " + ", ".join(
                f"gen{gen} {count}x {_gc_seconds.get(gen, 0.0):.3f}s"
                for gen, count in sorted(_gc_counts().items())))
            new = sorted({name.split(".")[0] for name in set(sys.modules) - before})
            count = len(set(sys.modules) - before)
            if count:
                event("I", f"{count} modules imported: {', '.join(new)}")
                if os.environ.get("TIMELINE_MODULES"):
                    Path(os.environ["TIMELINE_MODULES"]).write_text(
                        "\n".join(sorted(set(sys.modules) - before)))

    return wrapper


_gc_seconds: dict[int, float] = {}
_gc_started: list[float] = []
_gc_count: dict[int, int] = {}


def _gc_counts() -> dict[int, int]:
    counts = dict(_gc_count)
    _gc_count.clear()
    return counts


def _on_gc(phase: str, info: dict[str, int]) -> None:
    """Time spent in each generation's collections (gc.callbacks)."""
    if phase == "start":
        _gc_started[:] = [time.perf_counter()]
    elif _gc_started:
        gen = info["generation"]
        _gc_seconds[gen] = _gc_seconds.get(gen, 0.0) + time.perf_counter() - _gc_started[0]
        _gc_count[gen] = _gc_count.get(gen, 0) + 1


def _sweep_hook(module: ModuleType) -> None:
    each(("run_sweep", "run_sweep"), ("check_first", "plan configuration 1 (check)"),
         ("run_planned", "run_planned"),
         ("reused_run", "reused_run"))(module)
    module.run_job = _job_label(module.run_job)


def _task_hook(name: str) -> Callable[[ModuleType], None]:
    return each((f"{name}.run", f"{name}.run"), (f"{name}.produce", f"{name}.produce"))


def _worker_hook(module: ModuleType) -> None:
    """Mark each worker's start: ``_serve`` (its loop), or an older launcher's
    ``ProcessPoolExecutor`` initializer ``_worker_started``."""
    name = "_serve" if hasattr(module, "_serve") else "_worker_started"
    original = getattr(module, name)

    def started(*args: Any) -> None:

        event("I", "worker forked")
        if os.environ.get("TIMELINE_MODULES"):
            Path(os.environ["TIMELINE_MODULES"] + ".fork").write_text("\n".join(sys.modules))
        original(*args)

    setattr(module, name, started)
    if hasattr(module, "_fork"):
        fork = module._fork

        def forking(*args: Any) -> None:
            import threading

            event("I", "forking; threads here: "
                  + ", ".join(thread.name for thread in threading.enumerate()))
            fork(*args)

        module._fork = forking


HOOKS: dict[str, Callable[[ModuleType], None]] = {
    "framework.task.registry": each(("load_tasks", "load task modules")),
    "framework.config.sweep_spec": each(("read_spec", "read sweep spec")),
    "framework.config.sweep_points": each(("expand", "expand")),
    "framework.experiment.sweep": _sweep_hook,
    "framework.experiment.sweep_check": each(("check_all", "check all configurations"),
                                             ("check_metric", "check metric")),
    "framework.experiment.experiment": each(
        ("prepare", "prepare"), ("plan", "plan"), ("claim", "claim"),
        ("track_and_execute", "track_and_execute"), ("report", "report")),
    "framework.experiment.sweep_report": each(
        ("stored_grid", "stored grid"), ("record_sweep", "record sweep"),
        ("compare", "compare (sweep.csv, sweep.png, note, best)"),
        ("print_table", "print table"), ("table", "table (pandas)")),
    "framework.experiment.sweep_plot": each(("plot", "plot sweep.png"),
                                            ("load_plotting", "load plotting")),
    "framework.experiment.sweep_warm": each(("warm_up", "WARM-UP")),
    "framework.experiment.sweep_note": each(("describe_parent", "describe parent")),
    "framework.experiment.recording": each(
        ("record_inputs", "record inputs"), ("record_lineage", "record lineage"),
        ("record_datasets", "record datasets"), ("record_adopted", "record adopted"),
        ("register_models", "register models"), ("source_tags", "source tags")),
    "framework.experiment.scoring": each(("link_scores", "link scores")),
    "framework.core.gitinfo": each(("read_git_state", "git state")),
    "framework.core.heap": each(("settle", "heap settle")),
    "framework.store.tracking": each(
        ("open_store", "open store"), ("close_orphans", "close orphans"),
        ("ensure_experiment", "ensure experiment"), ("close_run", "close run"),
        ("TrackedRun.log_artifact", "log artifact"), ("log_metrics", "log metrics"),
        ("set_run_tags", "set run tags")),
    "framework.store.ui": each(("mark_training_experiment", "ui mark"),
                               ("show_metrics", "ui show metrics")),
    "framework.store.connection": each(("fork_safe_connections", "fork-safe connections")),
    "framework.execution.luigi_build": each(("execute", "luigi.build"),
                                            ("configure_logging", "configure logging")),
    "framework.execution.claims": each(("wait_for", "WAIT on claim"),
                                       ("claim_outputs", "claim outputs")),
    "framework.execution.launcher": _worker_hook,
    "framework.store.models": each(("create", "models.create"), ("finalize", "models.finalize"),
                                   ("link_inputs", "models.link_inputs")),
    "tasks.preprocessor": _task_hook("Preprocessor"),
    "tasks.trainer": each(("Trainer.run", "Trainer.run"), ("Trainer.produce", "Trainer.produce"),
                          ("Trainer.fit", "Trainer fit"), ("save_model", "save model")),
    "tasks.evaluator": _task_hook("Evaluator"),
    "tasks.prediction": _task_hook("Prediction"),
    "mlflow.sklearn": each(("load_model", "mlflow load_model")),
}


def trace(out: Path, runner_args: list[str]) -> int:
    """Run ``runner.main(runner_args)`` in this process with the hooks installed."""
    global _sink
    _sink = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    event("I", "python started")
    import gc

    gc.callbacks.append(_on_gc)
    sys.path.insert(0, str(Path.cwd() / "src"))
    sys.meta_path.insert(0, AfterImport(HOOKS))
    pid = os.getpid()
    atexit.register(lambda: os.getpid() == pid and event("I", "atexit (teardown follows)"))
    event("B", "import runner")
    import runner

    event("E", "import runner")
    code = runner.main(runner_args)
    event("I", "main returned")
    return int(code)


def report(events_file: Path, wall: float, cpu: float) -> dict[str, Any]:
    """Print the nested timeline per process and the serial-time summary; return the summary."""
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    pids = list(dict.fromkeys(e["pid"] for e in events))
    for pid in pids:
        print(f"\n== process {pid} ({'parent' if pid == pids[0] else 'worker'})")
        depth, opened = 0, []
        for e in (e for e in events if e["pid"] == pid):
            if e["ev"] == "B":
                opened.append(e)
                depth += 1
                continue
            if e["ev"] == "E":
                depth -= 1
                begin = opened.pop()
                if e["t"] - begin["t"] >= 0.005 or "configuration" in e["label"]:
                    print(f"{begin['t']:7.3f}-{e['t']:7.3f} {e['t'] - begin['t']:6.3f}s "
                          f"cpu {e['cpu'] - begin['cpu']:6.3f}  {'  ' * depth}{e['label']}")
                continue
            print(f"{e['t']:7.3f}                cpu@{e['cpu']:6.3f}  {'  ' * depth}"
                  f"* {e['label']}")
    jobs = [(e["pid"], e["t"], e["ev"]) for e in events if e["label"].startswith("configuration")]
    starts = [t for _, t, kind in jobs if kind == "B"]
    ends = [t for _, t, kind in jobs if kind == "E"]
    waits = sum(e["t"] for e in events if e["label"] == "WAIT on claim" and e["ev"] == "E") - \
        sum(e["t"] for e in events if e["label"] == "WAIT on claim" and e["ev"] == "B")
    summary = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
               "before_first_configuration_s": round(min(starts), 2) if starts else None,
               "after_last_configuration_s": round(wall - max(ends), 2) if ends else None,
               "waiting_on_claims_s": round(waits, 2),
               "load_average": os.getloadavg()}
    print("\n" + json.dumps(summary))
    return summary


def main(argv: list[str]) -> int:
    if argv and argv[0] == "_trace":
        return trace(Path(argv[1]), argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--source", type=Path, default=None, help="src/ to copy")
    parser.add_argument("--events", type=Path, default=None)
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    runner_args = argv[split + 1:]
    import harness

    project = args.project
    if project is None:
        project = Path(tempfile.mkdtemp(prefix="timeline-")) / "project"
        harness.make_project(project, args.data or harness.REPO / "input", source=args.source)
        harness.measure(harness.runner_cmd("--dry-run"), project)
    events = args.events or project / "timeline.jsonl"
    events.unlink(missing_ok=True)
    started = time.time()
    env = harness.child_env(TIMELINE_T0=repr(started))
    process = subprocess.Popen([harness.PYTHON, __file__, "_trace", str(events), *runner_args],
                               cwd=project, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.time() - started
    print(f"project {project}; exit {os.waitstatus_to_exitcode(status)}")
    report(events, wall, usage.ru_utime + usage.ru_stime)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
