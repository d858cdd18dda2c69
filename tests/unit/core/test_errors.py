"""A reader that goes away (``runs | head -1``): a quiet exit that keeps a failure's code, and
only for stdout's own pipe. Each case is a real process writing into a real pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src"
WRITER = """
import sys
sys.path.insert(0, {src!r})
from framework.core.errors import reader_aware

def command():
    sys.stdin.readline()  # the reader has closed its end by now
    print("x" * 100)
    return {code}

sys.exit(reader_aware(command))
"""


@pytest.mark.parametrize(("code", "exit_code"), [(0, 141), (1, 1), (2, 2)])
def test_a_gone_reader_exits_141_unless_the_command_had_failed(code: int, exit_code: int):
    # Buffered, as a pipe is by default: the lost output shows only at the final flush.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    process = subprocess.Popen([sys.executable, "-c", WRITER.format(src=str(SRC), code=code)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    assert process.stdin and process.stdout and process.stderr
    process.stdout.close()
    process.stdin.write("go\n")
    process.stdin.close()
    errors = process.stderr.read()
    assert process.wait(timeout=60) == exit_code, errors
    assert errors == ""


def test_a_broken_pipe_that_is_not_stdout_is_no_quiet_exit():
    writer = f"""
import os, sys
sys.path.insert(0, {str(SRC)!r})
from framework.core.errors import stdout_reader_gone
read, write = os.pipe()
os.close(read)
try:
    os.write(write, b"x")
except BrokenPipeError:
    sys.exit(0 if not stdout_reader_gone() else 3)
"""
    result = subprocess.run([sys.executable, "-c", writer], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
