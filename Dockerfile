# Runtime image for the MLflow UI and Luigi's scheduler (docker-compose.yml).
# The project itself is NOT copied in: compose mounts it at the same absolute path,
# because MLflow stores artifact locations as absolute paths.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBIAN_FRONTEND=noninteractive

# git: MLflow/GitPython record the commit of each run. The mounted project is owned by the
# host user, not by root in the container, so git would refuse it ("dubious ownership")
# without the safe.directory entry.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory '*'

# Only the requirements file, so this layer is rebuilt only when the pins change.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# mlflow server, luigid (documentation only: compose publishes the ports).
EXPOSE 5000 8082
