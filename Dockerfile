# qiskit-qattn images.
#   runtime: the package and the `qattn` CLI   docker build --target runtime -t qattn .
#                                              docker run --rm qattn demo --no-runtime
#   dev:     sources + test tools; runs the suite   docker build --target dev -t qattn-dev .
#                                                   docker run --rm qattn-dev   (= make test)
# IBM credentials are never baked in: pass QISKIT_IBM_TOKEN / QISKIT_IBM_INSTANCE with
# `docker run -e` (or mount a saved account) only when running on IBM hardware.

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
# torch first, from the CPU index: an unpinned torch from PyPI pulls a multi-GB CUDA build.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

FROM base AS runtime
WORKDIR /opt/qiskit-qattn
COPY pyproject.toml README.md LICENSE ./
COPY qiskit_qattn ./qiskit_qattn
# Installs this project (its dependencies are bounded in pyproject.toml), not a PyPI name.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[mitiq]" \
    && useradd --create-home --uid 1000 qattn
USER 1000
WORKDIR /home/qattn
ENTRYPOINT ["qattn"]
CMD ["demo"]

FROM base AS dev
# make drives the test run; versions follow the Debian release of the base image.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The venv sees the CPU torch of the base image; the stamp tells `make` it is already set up.
RUN python -m venv --system-site-packages .venv \
    && .venv/bin/pip install --no-cache-dir -e ".[dev,mitiq,resources,interop]" \
    && touch .venv/.qattn-installed
ENV OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1
CMD ["make", "test"]
