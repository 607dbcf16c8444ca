# syntax=docker/dockerfile:1
#
# Two stages: the builder turns the source tree into wheels (the project's and
# every dependency's); the runtime installs them from that local directory,
# offline, and never sees the source tree. The result runs as UID 10001 with a
# read-only root filesystem: it writes only to the state directory and /tmp.
# Only the bot is built: the simulator (sim/, its own distribution) and the
# demo never enter the build context, so `k8s-chatops demo` here says in one
# line that it needs them.
#
#   docker build -t k8s-chatops .
#   docker run --rm --read-only --tmpfs /tmp \
#     -v k8s-chatops-state:/var/lib/k8s-chatops \
#     -v "$PWD/config.yaml:/etc/k8s-chatops/config.yaml:ro" \
#     -e K8S_CHATOPS_CONFIG=/etc/k8s-chatops/config.yaml \
#     -e SLACK_BOT_TOKEN -e SLACK_APP_TOKEN k8s-chatops

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# Metadata first, so the layer cache survives edits that only touch code.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="k8s-chatops" \
      org.opencontainers.image.description="ChatOps Slack bot for Kubernetes cluster operations, GKE-aware" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    HOME=/tmp \
    K8S_CHATOPS_STATE_DIR=/var/lib/k8s-chatops

# A fixed numeric UID/GID, so Kubernetes can check runAsNonRoot without
# looking the name up, and fsGroup on the state volume matches.
RUN groupadd --system --gid 10001 chatops \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin chatops \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/k8s-chatops \
 && install -d -o root -g root -m 0755 /etc/k8s-chatops

# Install from the builder's wheels through a bind mount: the wheels never
# become a layer of this image. pip compiles the bytecode now, while the
# filesystem is still writable.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels k8s-chatops \
 && k8s-chatops --help > /dev/null

WORKDIR /var/lib/k8s-chatops
USER 10001:10001

# 8080: /healthz, /readyz, /metrics. 3000: Slack events in HTTP mode.
EXPOSE 8080 3000

# slim has no curl; the interpreter is already here.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["k8s-chatops"]
CMD ["run"]
