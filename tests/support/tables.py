"""Tables as users have them, made on the fly for tests (no data files to ship)."""

from __future__ import annotations

from typing import Any


def messy_table(n: int = 2000, seed: int = 0) -> Any:
    """A table as users have them (a DataFrame): a row number, a near-unique email, a signup
    date as text, a constant, a city with 60 levels, and the two columns that carry the
    signal (age, signup) for the yes/no ``label``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    days = rng.integers(0, 4 * 365, n)
    signup = pd.Timestamp("2019-01-01") + pd.to_timedelta(days, unit="D")
    score = (age - 50) / 15 + (days - 730) / 400 + rng.normal(0, 1, n)
    emails = [f"user{i}@example.com" for i in rng.permutation(n)]
    emails[5] = emails[6]  # near-unique, not unique
    return pd.DataFrame({
        "row": np.arange(1, n + 1), "email": emails, "signup": signup.strftime("%Y-%m-%d"),
        "plan": "basic", "city": rng.choice([f"city{i:02d}" for i in range(60)], n),
        "age": age, "label": np.where(score > 0, "yes", "no")})
