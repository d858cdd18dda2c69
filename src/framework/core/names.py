"""Every name the runner writes into the tracking store or a manifest, defined once.

Runs carry tags (searchable: reuse, lineage, sweeps and the verbs after the run query them)
and artifacts the verbs read back, and every task output carries a ``_manifest.json`` whose
keys readers depend on. A name typed
twice drifts; so each one lives here, and everything else imports it. MLflow's own tag names
(``mlflow.*``) are listed too, where the runner sets or reads them.
"""

from __future__ import annotations

RUN_ID_PATTERN = r"[0-9a-f]{32}"  # an MLflow run id, as the runner's stores make them

# --- Run tags set per task ----------------------------------------------------------------


def signature_tag(task: str) -> str:
    """What made the task's output the run wrote: the signature digest (reuse looks it up)."""
    return f"signature.{task}"


def output_tag(task: str) -> str:
    """Where the run wrote the task's output (only on the run that wrote it)."""
    return f"output.{task}"


def manifest_tag(task: str) -> str:
    """The SHA-256 of the manifest the run published for ``task`` (reuse and pins check it)."""
    return f"manifest.{task}"


def manifest_signature_tag(task: str) -> str:
    """The team key's signature of that manifest digest (``framework.outputs.signing``)."""
    return f"manifest_hmac.{task}"


def reused_tag(task: str) -> str:
    """On a run that reused ``task``'s output: the id of the run that made it."""
    return f"reused.{task}"


def accepted_pin_tag(task: str) -> str:
    """On a run that accepted a mismatching ``[PathConfig]`` pin: why it differed."""
    return f"pin.accepted.{task}"


def configured_tag(task: str, key: str) -> str:
    """A parameter's configured value, kept when a pin made the run use another one."""
    return f"config.{task}.{key}"


REUSED_TAG_PREFIX = "reused."

# --- Run tags set per run -----------------------------------------------------------------
TASK_TAG = "task"  # the requested task(s), comma-separated
REUSED_TAG = "reused"  # "Preprocessor,Trainer"; "" when the run computed everything
HOST_TAG = "runner.host"  # with PID_TAG: whose process holds a RUNNING run
PID_TAG = "runner.pid"
GIT_DIRTY_TAG = "git.dirty"
SWEEP_SIZE_TAG = "sweep.size"
SWEEP_BEST_TAG = "sweep.best_run_id"
SWEEP_GRID_TAG = "sweep.grid"  # the grid's digest (sweep_points.grid_digest)
SWEEP_METRIC_TAG = "sweep.metric"  # what "best" meant
SWEEP_BEST_CONFIGURATION_TAG = "sweep.best_configuration"
SWEEP_REGISTERED_TAG = "sweep.registered_model"  # "<name>/<version>"
SWEEP_METHOD_TAG = "sweep.method"  # on a study's parent run: tpe, cmaes or gp
STUDY_NAME_TAG = "study.name"  # on a study's parent run: the Optuna study it ran trials of
STUDY_STORAGE_TAG = "study.storage"  # where that study is stored (password hidden)
TRIAL_NUMBER_TAG = "trial.number"  # on a trial's run: its number in the study
TRIAL_STATE_TAG = "trial.state"  # COMPLETE, PRUNED or FAIL
TRIAL_STUDY_TAG = "trial.study"  # the study's name (its parent's STUDY_NAME_TAG)
SWEEP_PARENT_TAGS = (SWEEP_GRID_TAG, STUDY_NAME_TAG)  # a run with either is a sweep's parent
CLOSED_BY_TAG = "runner.closed_by"  # on a run a later runner closed: why
OUTPUT_TAG_PREFIX = "output."
SWEEP_PARAM_PREFIX = "sweep."  # the [Sweep] table's entries, as params of the parent run
BEST_METRIC_PREFIX = "best."  # the best configuration's metrics, on the parent run

# --- MLflow's own names the runner sets or reads ------------------------------------------
PARENT_TAG = "mlflow.parentRunId"  # what the MLflow UI nests child runs by
DESCRIPTION_TAG = "mlflow.note.content"
USER_TAG = "mlflow.user"
SOURCE_TAG_PREFIX = "mlflow.source."
SOURCE_NAME_TAG = "mlflow.source.name"
SOURCE_TYPE_TAG = "mlflow.source.type"
GIT_COMMIT_TAG = "mlflow.source.git.commit"
GIT_BRANCH_TAG = "mlflow.source.git.branch"
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
# An experiment tag the UI reads as a saved runs-table view (columns, sort) for the address
# ``...runs?viewStateShareKey=<key>``; ``<key>`` follows the prefix.
SHARED_VIEW_TAG_PREFIX = "mlflow.sharedViewState."
DATASET_CONTEXT_TAG = "mlflow.data.context"  # the input tag the UI shows as a dataset's context
MODEL_FOLDER_TAG = "output.folder"  # logged-model tag: the verified folder it was made from

# --- Artifacts of a run (beside its task folders; ``diff`` and ``reproduce`` read them) -----
CONFIG_FOLDER = "config"  # the experiment file as the user wrote it
EFFECTIVE_CONFIG_ARTIFACT = "effective_config.toml"  # the config after --set (a sweep's: [Sweep])
PLAN_ARTIFACT = "plan.txt"  # what the run decided per task, and why
GIT_DIFF_ARTIFACT = "git.diff"  # the uncommitted changes of a dirty work tree
LOGS_FOLDER = "logs"  # luigi.log
RUNNER_OUTPUT_ARTIFACT = "runner_output.txt"  # a sweep configuration's terminal output
SWEEP_TABLE_ARTIFACT = "sweep.csv"  # a sweep's or study's comparison, one row per configuration
SWEEP_TABLE_RUN_COLUMN = "run_id"  # its column naming the run of each row (gc keeps them)

# --- Manifest keys (``_manifest.json`` of every task output) ------------------------------
MANIFEST_FILE = "_manifest.json"
MANIFEST_FORMAT_KEY = "format"
MANIFEST_TASK_KEY = "task"
MANIFEST_FILES_KEY = "files"
MANIFEST_RUN_KEY = "run_id"  # the run that produced the output
MANIFEST_PARAMS_KEY = "params"
MANIFEST_SIGNATURE_KEY = "signature"  # the signature digest
MANIFEST_SIGNATURE_PARTS_KEY = "signature_parts"  # what it was computed from (to explain)
MANIFEST_METRICS_KEY = "metrics"  # the metrics the task logged while producing it
MANIFEST_METRICS_MODEL_KEY = "metrics_model_id"  # the logged model they were linked to
MANIFEST_MODEL_ID_KEY = "model_id"  # the logged model made from the output
