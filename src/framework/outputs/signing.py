"""Signed outputs: a team key vouches for what other machines may load.

Whoever can write to a tracking server can rewrite a run's artifacts and its tags (MLflow asks
for no login), so a manifest digest read from the server proves nothing by itself. A run that
publishes an output also records ``HMAC-SHA256(RUNNER_SIGNING_KEY, manifest digest)`` as the
tag ``manifest_hmac.<Task>`` (``core.names.manifest_signature_tag``). The manifest lists every
file with its SHA-256 and names the task and the producing run, so the signature covers every
byte of the output.

When ``RUNNER_SIGNING_KEY`` is set (in ``.env.local``, never committed; the runner redacts it
like every secret), an output made on another machine (a remote folder, fetched through
``framework.store.remote_outputs``) is used only when its recorded digest carries a valid signature;
anything else is refused before a byte of it is downloaded, and the task computes it again. Outputs
of this machine are read from its own disk and need no signature. Without a key nothing is checked:
the server is trusted (see docs/trust-boundary.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

from framework.core.errors import UserError
from framework.core.names import manifest_signature_tag

KEY_VARIABLE = "RUNNER_SIGNING_KEY"
MIN_KEY_LENGTH = 16
# Bound into every signature, so a tag signed for another purpose never verifies as this one.
PURPOSE = b"luigi-mlflow-runner manifest v1\n"


def signing_key() -> bytes | None:
    """The team key, or None when none is configured; ``UserError`` for a key too short to
    be worth anything (and too short for ``framework.core.secrets`` to redact)."""
    key = os.environ.get(KEY_VARIABLE, "").strip()
    if not key:
        return None
    if len(key) < MIN_KEY_LENGTH:
        raise UserError(f"{KEY_VARIABLE} is shorter than {MIN_KEY_LENGTH} characters; set a "
                        "long random one in .env.local, e.g. the output of python -c "
                        "'import secrets; print(secrets.token_hex(32))'")
    return key.encode()


def sign(digest: str, key: bytes) -> str:
    """The hex HMAC-SHA256 of a manifest digest under ``key``."""
    return hmac.new(key, PURPOSE + digest.encode(), hashlib.sha256).hexdigest()


def signature_tags(task: str, digest: str) -> dict[str, str]:
    """The tag that signs ``task``'s manifest ``digest``; none without a key."""
    key = signing_key()
    return {manifest_signature_tag(task): sign(digest, key)} if key and digest else {}


def refusal(run_id: str, tags: Mapping[str, str], task: str, digest: str) -> str | None:
    """Why run ``run_id``'s output of ``task`` (manifest ``digest``, run ``tags``) made on
    another machine must not be used, or None: no key is configured, or the signature holds."""
    key = signing_key()
    if key is None:
        return None
    signature = tags.get(manifest_signature_tag(task), "")
    if not signature:
        return f"the output of run {run_id} is not signed with the team key ({KEY_VARIABLE})"
    if not hmac.compare_digest(signature, sign(digest, key)):
        return (f"the output of run {run_id} is not signed with the team key ({KEY_VARIABLE}): "
                "its signature does not match its manifest")
    return None
