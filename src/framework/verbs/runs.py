"""``runs``: one row per run, newest first; the params that differ between them; metrics.

Sweep children follow their parent (``mlflow.parentRunId``). The frame ``runs_frame`` returns is
also what ``runner.runs(...)`` gives a notebook. It is the same frame whether the runs were read
through ``MlflowClient`` or, for a sqlite store, ``framework.store.sql_reader`` (no MLflow
import: ``runs`` shows its first row in well under a second); ``listing`` picks the reader
whenever it can answer the options exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.core.errors import UserError
from framework.store.sql_order import parse_sort
from framework.store.sql_reader import SqlReader, Unreadable
from framework.verbs import common, output

if TYPE_CHECKING:
    import pandas as pd

    from framework.verbs.common import AnyRun, Store

BASE_COLUMNS = ("run_id", "parent_run_id", "experiment", "start_time", "status", "reused")
DEFAULT_LIMIT = 50
CHILD_MARK = "└ "


def differing(params: Sequence[Mapping[str, str]]) -> list[str]:
    """The parameter names whose value is not the same in every one of ``params`` that ran the
    param's task (logged a param of its section: ``Trainer`` for ``Trainer.seed``); among
    those, one without the param differs too. A run that logged nothing of that section, like
    a sweep's or study's parent (it logs its grid, ``sweep.*``), says nothing about it. A table
    parameter (``Trainer.estimator_params``, logged as JSON) is left out when its keys are
    logged one by one too: they say which key differs."""
    names = set().union(*params) if params else set()
    sections = [{section(name) for name in p} for p in params]
    keys = sorted(name for name in names
                  if len({p.get(name) for p, ran in zip(params, sections, strict=True)
                          if section(name) in ran}) > 1)
    return without_tables(keys, names)


def section(name: str) -> str:
    return name.split(".", 1)[0]


def without_tables(keys: Iterable[str], every: Iterable[str]) -> list[str]:
    every = list(every)
    return [key for key in keys if not any(other.startswith(f"{key}.") for other in every)]


def grouped(runs: Sequence[AnyRun]) -> list[tuple[AnyRun, bool]]:
    """``runs`` in their order, each sweep child moved right after its parent when the parent
    is listed: (run, is a listed parent's child)."""
    from framework.core.names import PARENT_TAG

    listed = {run.info.run_id for run in runs}
    children: dict[str, list[AnyRun]] = {}
    for run in runs:
        parent = run.data.tags.get(PARENT_TAG, "")
        if parent in listed:
            children.setdefault(parent, []).append(run)
    ordered: list[tuple[AnyRun, bool]] = []
    for run in runs:
        if run.data.tags.get(PARENT_TAG) in listed:
            continue
        ordered.append((run, False))
        ordered += [(child, True) for child in children.get(run.info.run_id, [])]
    return ordered


def readable(filter_string: str, sort: str | None) -> bool:
    """True when the sqlite reader answers these options exactly: no filter (MLflow's search
    grammar is MLflow's to parse), and no sort or one of the forms ``parse_sort`` reads."""
    return not filter_string and (not sort or parse_sort(sort) is not None)


def listing(project_root: Path, experiment: str | None, filter_string: str, sort: str | None,
            limit: int | None, all_params: bool, chdir: bool = True
            ) -> tuple[pd.DataFrame, str | None]:
    """``runs_frame`` of the project's store and the experiment it lists (None: all), read
    without MLflow when the store and options allow (``readable``), else with MlflowClient,
    which also gives every error about the store itself."""
    if readable(filter_string, sort):
        reader = common.open_project_reader(project_root, chdir)
        if reader is not None:
            try:
                with reader:
                    name = experiment or common.default_experiment(reader, project_root)
                    return runs_frame(reader, name, filter_string, sort, limit,
                                      all_params), name
            except Unreadable:
                pass  # locked or changed under the reader: MlflowClient answers instead
    client = common.open_project_store(project_root, chdir)
    name = experiment or common.default_experiment(client, project_root)
    return runs_frame(client, name, filter_string, sort, limit, all_params), name


def fetch(store: Store, experiments: list[str], filter_string: str, sort: str | None,
          limit: int | None) -> list[AnyRun]:
    """The runs to list, in order, from MlflowClient's search or the sqlite reader."""
    if not isinstance(store, SqlReader):
        order = [sort] if sort else None
        return list(common.search_all(store, experiments, filter_string, order, limit))
    key = parse_sort(sort) if sort else None
    if filter_string or (sort and key is None):
        raise Unreadable(f"--filter {filter_string!r} --sort {sort!r}")
    return list(store.search_runs(experiments, key, limit))


def runs_frame(store: Store, experiment: str | None = None, filter_string: str = "",
               sort: str | None = None, limit: int | None = DEFAULT_LIMIT,
               all_params: bool = False) -> pd.DataFrame:
    """The listed runs as a frame: ``BASE_COLUMNS``, then params, then metrics. ``store`` is
    an MlflowClient or a ``SqlReader`` (which raises ``Unreadable`` for a filter, or a sort
    it does not parse); the frame is the same either way."""
    import pandas as pd

    from framework.core.names import PARENT_TAG, REUSED_TAG

    if limit is not None and limit < 1:
        raise UserError(f"--limit {limit}: give a number of runs of at least 1")
    experiments = common.experiment_ids(store, experiment)
    names = {e.experiment_id: e.name for e in store.search_experiments()}
    rows = grouped(fetch(store, experiments, filter_string, sort, limit))
    params = [run.data.params for run, _ in rows]
    shown = (without_tables(sorted(set().union(*params)), set().union(*params))
             if all_params and params else differing(params))
    metrics = sorted(set().union(*(run.data.metrics for run, _ in rows))) if rows else []
    records: list[dict[str, Any]] = []
    for run, _ in rows:
        record: dict[str, Any] = {
            "run_id": run.info.run_id,
            "parent_run_id": run.data.tags.get(PARENT_TAG, ""),
            "experiment": names.get(run.info.experiment_id, run.info.experiment_id),
            "start_time": pd.Timestamp(run.info.start_time, unit="ms", tz="UTC"),
            "status": run.info.status,
            "reused": run.data.tags.get(REUSED_TAG, ""),
        }
        record |= {name: run.data.params.get(name) for name in shown}
        record |= {name: run.data.metrics.get(name) for name in metrics}
        records.append(record)
    columns = [*BASE_COLUMNS, *shown, *[m for m in metrics if m not in shown]]
    return pd.DataFrame.from_records(records, columns=columns)


def render(frame: pd.DataFrame, form: str, title: str) -> str | None:
    """``frame`` as ``form``; for ``table`` it is printed (rich) and None returned. csv, json
    and md have every column; the table leaves out the params and metrics that do not fit
    the terminal (``ranked``: the last first) and says which."""
    if form == "json":
        records = frame.assign(start_time=frame["start_time"].map(lambda t: t.isoformat()))
        return output.json_text(records.to_dict(orient="records"))
    if form == "csv":
        return str(frame.to_csv(index=False)).rstrip("\n")
    shown = frame.drop(columns=["parent_run_id"])
    several = shown["experiment"].nunique() > 1
    if not several:
        shown = shown.drop(columns=["experiment"])
    listed = set(frame["run_id"])
    shown = shown.assign(
        run_id=[label(run, parent, listed)
                for run, parent in zip(frame["run_id"], frame["parent_run_id"], strict=True)],
        start_time=[t.tz_convert(None).strftime("%m-%d %H:%M") for t in frame["start_time"]],
        reused=frame["reused"].str.replace(",", ", "),  # wraps between task names
    ).rename(columns={"run_id": "run", "start_time": "start (UTC)"})
    rows = [[None if _missing(v) else v for v in row] for row in shown.itertuples(index=False)]
    if form == "md":
        return output.markdown(list(shown.columns), rows)
    output.print_table(title, list(shown.columns), rows, no_wrap=("run", "status"),
                       optional=ranked(frame), left_out=left_out)
    return None


def label(run_id: str, parent: str, listed: set[str]) -> str:
    """The run's short id; a sweep child's is marked, and names its parent when the parent
    is not listed (``--limit`` or ``--filter`` left it out): ``└ 1a2b3c4d`` / ``of 9f8e7d6c``."""
    if not parent:
        return run_id[:8]
    return f"{CHILD_MARK}{run_id[:8]}" + ("" if parent in listed else f"\nof {parent[:8]}")


def ranked(frame: pd.DataFrame) -> list[str]:
    """The param and metric columns, the one the table gives up last first: those more of the
    listed runs have (a sweep parent's ``best.*`` metrics after its children's), then params
    before metrics, as ``frame`` orders them."""
    extra = [name for name in frame.columns if name not in BASE_COLUMNS]
    return sorted(extra, key=lambda name: -int(frame[name].notna().sum()))


def left_out(names: list[str]) -> str:
    listed = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    return (f"{len(names)} more column{'s' if len(names) > 1 else ''} did not fit the "
            f"terminal ({listed}): --format csv, json or md lists every column.")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
