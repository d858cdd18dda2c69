"""The machine-local folders the runner keeps in the project's ``mlruns/``, defined once.

Paths are relative to the project root, which is the runner's working folder. None of them is
part of the tracking store: they hold this machine's work in progress and copies.
"""

from __future__ import annotations

from pathlib import Path

LOCAL_ROOT = Path("mlruns")
# A lock file per output being computed (``<digest>.lock``) and per study being asked
# (``study-<digest>.lock``): one process at a time on this machine.
CLAIMS_DIR = LOCAL_ROOT / "claims"
SCRATCH_DIR = LOCAL_ROOT / "scratch"  # a running task's folder, until it publishes
REMOTE_STAGING = LOCAL_ROOT / "local"  # outputs of a run with remote artifacts, before upload
CACHE_DIR = LOCAL_ROOT / "cache"  # outputs downloaded from a tracking server, verified
