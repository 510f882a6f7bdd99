#!/bin/sh
# Run a command as a Ray driver on a host that is not yet a Ray node.
#
# A Ray driver (`poolnas sweep --ray-address ADDR`) attaches to a raylet on its own host,
# so this container first joins the cluster at $RAY_ADDRESS as a node that offers no CPUs
# and no GPUs (no trial is placed on it), then runs the command. As on every node,
# RAY_AUTH_MODE=token and RAY_AUTH_TOKEN must be set. Usage: ray-join COMMAND [ARGS...]
set -eu
if [ "$#" -lt 1 ] || [ -z "${RAY_ADDRESS:-}" ]; then
    echo "usage: RAY_ADDRESS=HOST:PORT ray-join COMMAND [ARGS...]" >&2
    exit 2
fi
ray start --address="$RAY_ADDRESS" --num-cpus=0 --num-gpus=0 --disable-usage-stats
exec "$@"
