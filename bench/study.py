"""Adaptive-search benchmark (issue 19's targets), over the default experiment.

``python bench/study.py [--data DIR] [--trials 20] [--out FILE] [--skip-pruning]
[--skip-workers]``

- quality: the best CV accuracy of a 20-trial TPE study (the runner) against the best of a
  36-point grid over the same space (6 ``max_depth`` x 6 ``learning_rate``, a plain loop);
- overhead: the runner's 20-trial study, 1 worker, no pruner, against a plain Python loop doing
  the same trials with Optuna (in-memory storage), pandas and scikit-learn (``bench/plain.py``):
  it samples as the runner does, so both fit the same configurations (``same_trials`` says
  whether they did: a deep tree costs several shallow ones, so other draws measure other work);
- parallel: the same study with ``--workers 2`` in a fresh project;
- rerun: the 1-worker command again (the study is complete: nothing new runs);
- pruning: a 30-trial study with ``pruner = "median"`` against the same unpruned (the 1-worker
  study extended to 30 trials), counting the folds fitted (each trial's intermediate values; a
  trial without any counts all folds).
Targets: quality within 0.005; 1 worker <= 1.3x plain; 2 workers >= 1.6x faster; rerun <= 0.25x;
pruned fold fits <= 0.7x unpruned, best within 0.005. One sample each (the studies are long);
wall and CPU seconds both, since a loaded machine makes wall ratios say little.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

DEPTHS = [2, 3, 4, 5, 6, 7]
RATES = [0.005, 0.0113, 0.0257, 0.058, 0.132, 0.3]  # log-spaced over [0.005, 0.3]
DEPTH_KEY, RATE_KEY = "Trainer.estimator_params.max_depth", "Trainer.estimator_params.learning_rate"
SPACE = ["--sweep", "method=tpe", "--sweep", f"{DEPTH_KEY}={{randint=[2, 8]}}",
         "--sweep", f"{RATE_KEY}={{loguniform=[0.005, 0.3]}}"]
PLAIN = """
import sys, json, itertools
from pathlib import Path
sys.path[:0] = [{bench!r}, {src!r}]
import plain
base = plain.load_settings(Path({config!r}), [])
drawn = []

def score(i, depth, rate):
    settings = {{name: dict(body) for name, body in base.items()}}
    settings["Trainer"]["estimator_params"] = {{**settings["Trainer"]["estimator_params"],
                                               "max_depth": depth, "learning_rate": rate}}
    return plain.run(Path({data!r}), Path({out!r}) / str(i), settings)["cv_accuracy_mean"]

if {mode!r} == "grid":
    best = max(score(i, d, r) for i, (d, r) in enumerate(itertools.product({depths}, {rates})))
else:
    import numpy as np
    import optuna
    from optuna.distributions import FloatDistribution, IntDistribution
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # The runner's trials: its parameter names and order, and its sampling (TPE made afresh
    # for each trial, seeded by the study's seed and the trial number: SeededPerTrial in
    # src/framework/search/study.py), so both loops fit the very same configurations.
    space = {{{depth!r}: IntDistribution(2, 7),
              {rate!r}: FloatDistribution(0.005, 0.3, log=True)}}
    study = optuna.create_study(direction="maximize")
    for number in range({trials}):
        seed = int(np.random.SeedSequence([0, number]).generate_state(1)[0])
        study.sampler = optuna.samplers.TPESampler(seed=seed)
        trial = study.ask(space)
        drawn.append([trial.params[name] for name in space])
        study.tell(trial, score(trial.number, *drawn[-1]))
    best = study.best_value
print(json.dumps({{"best": best, "drawn": drawn}}))
"""


def plain(scratch: Path, data: Path, mode: str, trials: int
          ) -> tuple[harness.Sample, float, list[list[float]]]:
    """(the sample, best accuracy, each trial's [depth, rate]) of the plain loop."""
    code = PLAIN.format(bench=str(harness.REPO / "bench"), src=str(harness.REPO / "src"),
                        config=str(harness.CONFIG[0]), data=str(data), out=str(scratch / mode),
                        mode=mode, depths=DEPTHS, rates=RATES, trials=trials,
                        depth=DEPTH_KEY, rate=RATE_KEY)
    log = scratch / f"plain-{mode}.log"
    sample = harness.measure([harness.PYTHON, "-c", code], scratch, log=log)
    last = json.loads(log.read_text().strip().splitlines()[-1])
    return sample, last["best"], last["drawn"]


def runner_draws(root: Path) -> list[list[float]]:
    """Each trial's [depth, rate] in the project's study, by trial number."""
    with sqlite3.connect(root / "mlruns" / "optuna.db") as db:
        rows = db.execute("select t.number, p.param_name, p.param_value from trial_params p "
                          "join trials t on t.trial_id = p.trial_id").fetchall()
    by_trial: dict[int, dict[str, float]] = {}
    for number, name, value in rows:
        by_trial.setdefault(number, {})[name] = value
    return [[by_trial[n][DEPTH_KEY], by_trial[n][RATE_KEY]] for n in sorted(by_trial)]


def study_facts(root: Path, folds: int) -> dict[str, float]:
    """Best value, trials, pruned trials and folds fitted, read from the project's study."""
    with sqlite3.connect(root / "mlruns" / "optuna.db") as db:
        states = db.execute("select trial_id, state from trials").fetchall()
        steps = dict(db.execute("select trial_id, count(*) from trial_intermediate_values "
                                "group by trial_id").fetchall())
        # A pruned trial's value is its last fold's: only complete trials say what is best.
        best = db.execute("select max(v.value) from trial_values v join trials t on "
                          "t.trial_id = v.trial_id where t.state = 'COMPLETE'").fetchone()[0]
    fits = sum(steps.get(trial, folds) for trial, _ in states)
    return {"best": best, "trials": len(states),
            "pruned": sum(state == "PRUNED" for _, state in states), "fold_fits": fits}


def runner(scratch: Path, name: str, data: Path, *args: str) -> tuple[Path, harness.Sample]:
    root = harness.make_project(scratch / name, data)
    harness.measure(harness.runner_cmd("--dry-run"), root)  # creates the store
    sample = harness.measure(harness.runner_cmd(*SPACE, *args), root, log=scratch / f"{name}.log")
    return root, sample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("TITANIC_DATA_DIR", harness.REPO / "input")))
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--skip-pruning", action="store_true")
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    trials = ["--sweep", f"trials={args.trials}", "--sweep", "pruner=none"]
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-study-") as tmp:
        scratch = Path(tmp)
        grid, grid_best, _ = plain(scratch, args.data, "grid", 0)
        plain_run, plain_best, plain_drawn = plain(scratch, args.data, "optuna", args.trials)
        one, one_run = runner(scratch, "w1", args.data, *trials)
        rerun = harness.measure(harness.runner_cmd(*SPACE, *trials), one)
        facts = study_facts(one, 5)
        # The overhead compares like with like only if both fitted the same configurations.
        runner_drawn = runner_draws(one)
        same = len(plain_drawn) == len(runner_drawn) and all(
            math.isclose(a, b, rel_tol=1e-9)
            for mine, theirs in zip(plain_drawn, runner_drawn, strict=True)
            for a, b in zip(mine, theirs, strict=True))
        result |= {"grid36_best": grid_best, "tpe_best": facts["best"],
                   "plain_optuna_best": plain_best, "same_trials": same,
                   "wall_s": {"grid36": grid.wall_s, "plain_optuna": plain_run.wall_s,
                              "study_w1": one_run.wall_s, "rerun": rerun.wall_s},
                   "cpu_s": {"grid36": grid.cpu_s, "plain_optuna": plain_run.cpu_s,
                             "study_w1": one_run.cpu_s, "rerun": rerun.cpu_s},
                   "ratios": {"w1_vs_plain_wall": one_run.wall_s / plain_run.wall_s,
                              "w1_vs_plain_cpu": one_run.cpu_s / plain_run.cpu_s,
                              "rerun_vs_first": rerun.wall_s / one_run.wall_s,
                              "quality_gap": grid_best - facts["best"]}}
        print(json.dumps(result, indent=2), flush=True)
        if not args.skip_pruning:
            # Unpruned: the same study extended to 30 trials (one seed: its first 20 are w1's).
            harness.measure(harness.runner_cmd(*SPACE, "--sweep", "trials=30", "--sweep",
                                               "pruner=none"), one)
            pruned, _ = runner(scratch, "pruned", args.data, "--sweep", "trials=30",
                               "--sweep", "pruner=median")
            p, u = study_facts(pruned, 5), study_facts(one, 5)
            result["pruning"] = {"pruned": p, "unpruned": u,
                                 "fold_fits_ratio": p["fold_fits"] / u["fold_fits"],
                                 "best_gap": u["best"] - p["best"]}
            print(json.dumps(result["pruning"], indent=2), flush=True)
        if not args.skip_workers:
            _, two = runner(scratch, "w2", args.data, *trials, "--workers", "2")
            result["workers2"] = {"wall_s": two.wall_s, "speedup": one_run.wall_s / two.wall_s}
    result["load_average"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
