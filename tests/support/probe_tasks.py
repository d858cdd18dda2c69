"""Probe tasks: each takes well under a second unless told to sleep."""
import json
import os
import time
from pathlib import Path

import luigi

from framework.task.run_task import RunTask


class Echo(RunTask):
    endpoint = luigi.Parameter(default="", description="a URI, logged as a parameter")

    def produce(self, out: Path) -> None:
        loaded = "loaded" if os.environ.get("DB_PASSWORD") else "missing"
        (out / "echo.txt").write_text(f"DB_PASSWORD {loaded}")


class Scorer(RunTask):
    required_files = ("metrics.json",)

    def produce(self, out: Path) -> None:
        (out / "metrics.json").write_text(json.dumps({"score": 0.5}))


class Sleeper(RunTask):
    seconds = luigi.FloatParameter(default=120.0, description="how long to work")
    pid_file = luigi.Parameter(default="", description="where to write the worker's pid")

    def produce(self, out: Path) -> None:
        (out / "started.txt").write_text("yes")
        if self.pid_file:
            Path(self.pid_file).write_text(str(os.getpid()))
        time.sleep(self.seconds)
        (out / "done.txt").write_text("done")
