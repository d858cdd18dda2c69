"""The time left on a study's progress line (``study_report.remaining``): the pace of this
process's trials so far, never past a ``timeout``."""

from __future__ import annotations

import math
import time

from framework.experiment.study_report import remaining


def test_the_estimate_follows_the_pace_and_is_capped_by_the_timeout():
    now = time.monotonic()
    # One trial in 10 s, five left: 50 s, or 20 s when the timeout comes first.
    assert remaining(now - 10, 1, 5) == ", ~50 s left"
    assert remaining(now - 10, 1, 5, deadline=now + 20) == ", ~20 s to the timeout"
    assert remaining(now - 10, 1, 5, deadline=now + 600) == ", ~50 s left"
    assert remaining(now - 60, 1, 5, deadline=math.inf) == ", ~5 min left"


def test_past_the_timeout_it_says_no_new_trial_starts_and_nothing_when_nothing_is_known():
    now = time.monotonic()
    assert remaining(now - 10, 1, 5, deadline=now - 1) == ", timeout reached: no new trial starts"
    assert remaining(now - 10, 1, 0, deadline=now - 1) == ""  # the study is complete
    assert remaining(now - 10, 0, 5) == ""  # no trial ended here yet: no pace
