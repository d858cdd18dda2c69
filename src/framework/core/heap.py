"""Garbage collection tuned for a short-lived command that imports a lot.

Importing MLflow, pandas, scikit-learn and Luigi leaves about a million long-lived objects, and
while they are created the collector runs full collections that walk all of them again and
again: about 0.8 s of a 2.5 s fully reused run, measured. So the collector is off while the
runner imports and plans; the survivors are then frozen (``gc.freeze``: later collections skip
them, and forked workers keep sharing their memory pages) and the collector is back on for
the work itself, where cycles (fitted models, frames) must be collected.
"""

from __future__ import annotations

import gc


def pause() -> None:
    """No collections while the process imports and plans."""
    gc.disable()


def settle() -> None:
    """Freeze what exists now and collect again from here on."""
    gc.freeze()
    gc.enable()
