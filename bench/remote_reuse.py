"""Reusing an output from the team server, against computing it again.

``python bench/remote_reuse.py [--data DIR] [--repeats N] [--out FILE]``

Starts the compose file's ``mlflow-team`` command (PostgreSQL backend in a fresh database on
127.0.0.1:5432, proxied artifacts in a temp folder), lets machine A (a project copy) run the
default experiment against it, then measures on machine B (another copy that shares nothing
but the server's URL):
- per task: what computing it cost on A (its ``ran`` line), and ``remote.fetch`` from B's
  empty cache (download + verify every file + the manifest digest), and from a warm cache
  (verify only);
- whole commands on B: the fully reused run (cold cache, then warm) against ``--no-reuse``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

TASKS = ("Preprocessor", "Trainer", "Evaluator", "Prediction")
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
FETCH = """
import json, sys, time
sys.path.insert(0, "src")
from mlflow.tracking import MlflowClient
from framework.store import remote_outputs as remote
from framework.outputs.folder import OutputFolder
client = MlflowClient({url!r})
run = client.get_run({run_id!r})
out = {{}}
for task in {tasks!r}:
    recorded = run.data.tags["manifest." + task]
    timings = []
    for attempt in ("cold", "warm"):
        started = time.perf_counter()
        folder, why = remote.fetch(client, run, task, (), recorded)
        timings.append(time.perf_counter() - started)
        assert folder is not None, why
    size = sum(p.stat().st_size for p in folder.path.rglob("*") if p.is_file())
    out[task] = {{"cold_s": timings[0], "warm_s": timings[1], "bytes": size}}
print(json.dumps(out))
"""


def team_server(home: Path, database: str) -> tuple[subprocess.Popen[bytes], str]:
    sys.path.insert(0, str(harness.REPO / "tests"))
    from servers import compose_command, compose_environment, free_port, http

    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
           **compose_environment("mlflow-team"), "MLFLOW_BACKEND_STORE_URI": database,
           "MLFLOW_ARTIFACTS_DESTINATION": str(home / "artifacts")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    server = subprocess.Popen(compose_command("mlflow-team", "127.0.0.1", port), cwd=home,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if http("GET", f"{url}/health", timeout=2)[0] == 200:
                return server, url
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("the team server did not start")


def machine(scratch: Path, name: str, data: Path, url: str) -> Path:
    root = harness.make_project(scratch / name, data)
    env = root / ".env"
    env.write_text(re.sub(r"(?m)^MLFLOW_TRACKING_URI=.*$", f"MLFLOW_TRACKING_URI={url}",
                          env.read_text()))
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(
        os.environ.get("TITANIC_DATA_DIR") or harness.REPO / "input"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path,
                        default=harness.REPO / "bench" / "results" / "remote_reuse.json")
    args = parser.parse_args(argv)
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    scratch = Path(tempfile.mkdtemp(prefix="remote-reuse-"))
    server, url = team_server(scratch, f"{POSTGRES}/{name}")
    try:
        results = measure(scratch, args.data, url, args.repeats)
    finally:
        os.killpg(server.pid, 15)
        server.wait()
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(scratch, ignore_errors=True)
    report(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    return 0


def measure(scratch: Path, data: Path, url: str, repeats: int) -> dict[str, object]:
    a = machine(scratch, "a", data, url)
    log = scratch / "a.log"
    harness.measure(harness.runner_cmd(), a, log=log)
    ran = {m["task"]: float(m["s"]) for m in re.finditer(
        r"^\s+(?P<task>\w+)\s+ran\s+(?P<s>[\d.]+)s", log.read_text(), re.MULTILINE)}
    run_id = re.search(r"^FINISHED run (\w+)", log.read_text(), re.MULTILINE)[1]  # type: ignore[index]
    per_task: dict[str, list[dict[str, float]]] = {task: [] for task in TASKS}
    commands: dict[str, list[float]] = {"reused, cold cache": [], "reused, warm cache": [],
                                        "--no-reuse": []}
    for index in range(repeats):
        b = machine(scratch, f"b{index}", data, url)
        fetched = subprocess.run([sys.executable, "-c", FETCH.format(
            url=url, run_id=run_id, tasks=TASKS)], cwd=b, capture_output=True, text=True,
            check=True, env=harness.child_env())
        for task, row in json.loads(fetched.stdout).items():
            per_task[task].append(row)
        shutil.rmtree(b / "mlruns" / "cache")
        for label, extra in (("reused, cold cache", ()), ("reused, warm cache", ()),
                             ("--no-reuse", ("--no-reuse",))):
            commands[label].append(harness.measure(harness.runner_cmd(*extra), b).wall_s)
    return {
        "tasks": {task: {"compute_s": ran.get(task),
                         "fetch_cold_s": statistics.median(r["cold_s"] for r in rows),
                         "fetch_warm_s": statistics.median(r["warm_s"] for r in rows),
                         "mib": rows[0]["bytes"] / 2**20} for task, rows in per_task.items()},
        "commands": {label: statistics.median(walls) for label, walls in commands.items()},
    }


def report(results: dict[str, object]) -> None:
    print("| task | output | computed on A | fetched on B, empty cache | from B's cache |")
    print("|---|---|---|---|---|")
    for task, row in results["tasks"].items():  # type: ignore[attr-defined]
        print(f"| {task} | {row['mib']:.2f} MiB | {row['compute_s']:.2f} s | "
              f"{row['fetch_cold_s']:.3f} s | {row['fetch_warm_s']:.3f} s |")
    print("\n| whole command on B | wall |\n|---|---|")
    for label, wall in results["commands"].items():  # type: ignore[attr-defined]
        print(f"| {label} | {wall:.2f} s |")


if __name__ == "__main__":
    sys.exit(main())
