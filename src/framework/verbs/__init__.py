"""The verbs that work on runs already made: ``runs``, ``diff``, ``reproduce``, ``gc``.

Each reads the tracking store through ``MlflowClient`` and the tags and manifests the runner
records (``framework.store.index``, ``framework.experiment.recording``, ``framework.outputs``); none
of them changes how a run is made. ``cli`` holds their command lines, ``framework.api`` the Python
API.
"""
