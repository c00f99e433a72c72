# Dockerfile — rollgate's two images, built hermetically: no package index is reachable from the build.
#   serve     (the default, last stage) `rollgate serve` with the serving dependencies only (no DVC,
#             MLflow, Pandera): what the Rollout runs.
#   pipeline  rollgate with the `pipeline` extra (DVC, MLflow, Pandera, ...): the DVC stages, for the
#             Argo Workflows that will run them. It carries no git: whoever runs it decides how the
#             repository gets in.
# Every dependency comes from the wheelhouse `.wheelhouse/` (`make image-context`: `pip download` of the
# hashed requirements/*.txt, which `make requirements` cuts from requirements/lock.txt) and is installed
# with `--no-index --require-hashes --no-deps`; rollgate itself is built into a wheel without build
# isolation, by the hash-checked pip, setuptools and wheel of requirements/build.txt.
#
# BASE_IMAGE: an image with python3 (3.11) and its venv module, e.g. python:3.11-slim-bookworm or a
# mirror of it; CI passes it pinned by digest (name@sha256:..., `make image-context` refuses a tag).
# ADOPT: set the repository variable ROLLGATE_BASE_IMAGE to your registry's digest-pinned base.
# There is no default: a build without --build-arg BASE_IMAGE=... fails at the first FROM.
# `make image` builds it here with buildah FROM a Debian bookworm made by mmdebstrap.
ARG BASE_IMAGE

# The toolchain: pip and the build backends, hash-checked, and rollgate's own wheel.
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheels PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
COPY .wheelhouse/ /wheels/
COPY requirements/build.txt requirements/serve.txt requirements/pipeline.txt /src/requirements/
COPY pyproject.toml README.md LICENSE /src/
COPY src /src/src
RUN python3 -m venv /opt/build \
 && /opt/build/bin/pip install --quiet --require-hashes --no-deps -r /src/requirements/build.txt \
 && /opt/build/bin/pip wheel --quiet --no-build-isolation --no-deps --wheel-dir /dist /src

# The server's venv, without pip or setuptools: the build venv's pip installs into it; `pip check` fails
# the build when serve.txt lacks anything rollgate[serve] needs.
FROM build AS serve-venv
RUN python3 -m venv --without-pip /opt/rollgate \
 && /opt/build/bin/pip --python /opt/rollgate/bin/python install --quiet --require-hashes --no-deps \
      -r /src/requirements/serve.txt \
 && /opt/build/bin/pip --python /opt/rollgate/bin/python install --quiet --no-deps /dist/rollgate-*.whl \
 && /opt/build/bin/pip --python /opt/rollgate/bin/python check

# The pipeline's venv keeps setuptools and wheel: one locked package ships only as a source archive
# (hash-checked like the rest), built here without build isolation.
FROM build AS pipeline-venv
RUN python3 -m venv --without-pip /opt/rollgate \
 && /opt/build/bin/pip --python /opt/rollgate/bin/python install --quiet --require-hashes --no-deps \
      -r /src/requirements/build.txt \
 && /opt/build/bin/pip --python /opt/rollgate/bin/python install --quiet --require-hashes --no-deps \
      --no-build-isolation -r /src/requirements/pipeline.txt \
 && /opt/build/bin/pip --python /opt/rollgate/bin/python install --quiet --no-deps /dist/rollgate-*.whl \
 && /opt/build/bin/pip --python /opt/rollgate/bin/python check

FROM ${BASE_IMAGE} AS pipeline
COPY --from=pipeline-venv /opt/rollgate /opt/rollgate
# A numeric user with a passwd entry (no useradd: minimal bases lack it); /work is where a workflow
# mounts the repository, writable by that user.
RUN echo 'rollgate:x:10001:10001:rollgate:/nonexistent:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'rollgate:x:10001:' >> /etc/group \
 && install -d -o 10001 -g 10001 /work
ENV PATH=/opt/rollgate/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["rollgate"]
CMD ["--help"]

# The model server. Read-only root in mind: the code is compiled at install, PYTHONDONTWRITEBYTECODE
# keeps it from writing more, and the prediction log and the metrics of several workers go to mounted
# writable volumes (/var/log/rollgate, /tmp), which the Rollout mounts.
FROM ${BASE_IMAGE} AS serve
COPY --from=serve-venv /opt/rollgate /opt/rollgate
RUN echo 'rollgate:x:10001:10001:rollgate:/nonexistent:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'rollgate:x:10001:' >> /etc/group \
 && install -d -o 10001 -g 10001 /var/log/rollgate
ENV PATH=/opt/rollgate/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OMP_NUM_THREADS=1
USER 10001:10001
# 8080: scoring (POST /v1/predict, /invocations); 8081: admin (/metrics, /v1/model, probes), which no
# public Service exposes.
EXPOSE 8080 8081
# `docker run IMAGE --release FILE --api-keys /keys/keys.json` (or --model PATH --sha256 HEX; and
# `--auth mesh` behind a mesh that authenticates callers instead) appends to this; a later --port wins.
# Listening beyond loopback, the server refuses to start without one of the two.
# The Rollout sets its own `command` and `args` (the same listeners, the mounted release record), so in a
# pod this line does not run and the rendered manifest alone says what does.
ENTRYPOINT ["rollgate", "serve", "--host", "0.0.0.0", "--port", "8080", "--admin-port", "8081"]
