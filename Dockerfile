# The model server image: `rollgate serve` with the serving dependencies only (no DVC, MLflow, Pandera).
# Multi-stage: wheels are built with the toolchain, the runtime stage gets the installed venv alone.
# Runs as a non-root user with a read-only root filesystem in mind: the prediction log and the
# metrics of several workers go to mounted writable volumes (/var/log/rollgate, /tmp).
# ADOPT: pin the base images by digest (python:3.11-slim@sha256:...) in your registry's mirror.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/rollgate
COPY pyproject.toml README.md ./
COPY src ./src
# The lock's versions constrain the serving subset (pip takes no hashes in a constraints file).
COPY requirements/lock.txt requirements/lock.txt
RUN grep -E '^[A-Za-z0-9._-]+==' requirements/lock.txt | sed 's/ \\$//' > /tmp/constraints.txt \
 && /opt/rollgate/bin/pip install --no-cache-dir --disable-pip-version-check -c /tmp/constraints.txt ".[serve]"

FROM python:3.11-slim
RUN useradd --system --uid 10001 --no-create-home rollgate
COPY --from=build /opt/rollgate /opt/rollgate
ENV PATH=/opt/rollgate/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OMP_NUM_THREADS=1
USER 10001
# 8080: scoring (POST /v1/predict, /invocations); 8081: admin (/metrics, /v1/model, probes), which no
# public Service exposes.
EXPOSE 8080 8081
# `docker run IMAGE --release FILE` (or --model PATH --sha256 HEX) appends to this; a later --port wins.
# The Rollout sets its own `command` and `args` (the same listeners, the mounted release record), so in a
# pod this line does not run and the rendered manifest alone says what does.
ENTRYPOINT ["rollgate", "serve", "--host", "0.0.0.0", "--port", "8080", "--admin-port", "8081"]
