# syntax=docker/dockerfile:1
# The CDS Hooks service as a container image (README: "Container image").
#
# Build with `make image`: it first builds a wheelhouse on the host (the project's wheel, with the
# knowledge base inside, and every dependency's wheel), so the build itself needs no network and no
# compiler. The base is an official slim Python image given as a build argument; its Python must be
# the same minor version as the one that built the wheelhouse (3.11).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- stage 1: install the wheels into a virtual environment -------------------------------------
FROM ${PYTHON_IMAGE} AS install
COPY build/wheelhouse/ /wheelhouse/
RUN python3 -m venv /opt/cds \
 && /opt/cds/bin/pip install --no-cache-dir --no-index --find-links /wheelhouse cds-service \
 # medspacy-quickumls declares pytest as a dependency but never imports it at run time (tested:
 # the image answers hooks without it); test tools stay out of the runtime.
 && /opt/cds/bin/pip uninstall --yes --quiet pytest pluggy iniconfig \
 # pip is not needed to run the service; one less thing to patch.
 && /opt/cds/bin/pip uninstall --yes --quiet pip \
 && find /opt/cds -name '__pycache__' -path '*/tests/*' -prune -exec rm -rf {} +

# --- stage 2: the runtime, no build tools, no wheelhouse, no test extras --------------------------
FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="cds-milia" \
      org.opencontainers.image.description="CDS Hooks 2.0 service: milia advice cards from FHIR R4 records" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed numeric user (10001) that the Kubernetes manifests name in runAsUser. Written directly,
# as the slimmest bases carry no useradd.
RUN echo 'cds:x:10001:10001:CDS Hooks service:/var/lib/cds:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'cds:x:10001:' >> /etc/group \
 && mkdir -p /var/lib/cds && chown 10001:10001 /var/lib/cds

COPY --from=install /opt/cds /opt/cds

ENV PATH=/opt/cds/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CDS_HOST=0.0.0.0 \
    CDS_PORT=8080 \
    # The embedded SQLite default, in the service's own folder; production sets CDS_DATABASE_URL.
    CDS_DATABASE_URL=sqlite:////var/lib/cds/cds-service.sqlite3 \
    # prometheus-client's multiprocess files: /tmp is writable even with a read-only root.
    PROMETHEUS_MULTIPROC_DIR=/tmp/cds-metrics

USER 10001:10001
WORKDIR /var/lib/cds
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["cds-service", "healthcheck"]

ENTRYPOINT ["cds-service"]
CMD ["serve"]
