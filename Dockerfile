# poolnas image for docker-compose.yml: the Ray head, the Ray workers, the sweep driver and
# the dashboard all run this one image (Ray needs the same Ray and Python on every node).
#
#   docker compose build                                   # torch from PyPI: CUDA build (GPU hosts)
#   docker compose build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
#                                                          # CPU-only torch, about 5 GB smaller
FROM python:3.11-slim

# Empty: torch and torchvision come from PyPI with the rest (Linux x86_64 wheels there are
# CUDA builds that bring their own CUDA libraries; the host needs only the NVIDIA driver and
# the NVIDIA Container Toolkit). Set it to a PyTorch index to pick another build.
ARG TORCH_INDEX_URL=""

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --index-url "$TORCH_INDEX_URL" "torch>=2.4" "torchvision>=0.19"; \
    fi

WORKDIR /opt/poolnas
COPY pyproject.toml README.md ./
COPY poolnas ./poolnas
RUN pip install . && rm -rf build

COPY docker/ray-join.sh /usr/local/bin/ray-join
RUN chmod 0755 /usr/local/bin/ray-join

# Run as a user without privileges. The folders that the compose file mounts volumes on are
# made here so that fresh named volumes start out owned by this user.
RUN useradd --create-home --uid 1000 --shell /bin/bash poolnas \
    && mkdir -p /home/poolnas/ray_results /home/poolnas/data /home/poolnas/spaces \
    && chown -R poolnas:poolnas /home/poolnas
USER poolnas
WORKDIR /home/poolnas

CMD ["poolnas", "--help"]
