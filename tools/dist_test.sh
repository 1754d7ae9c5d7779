#!/usr/bin/env bash
# Distributed evaluation on msrun (every sample is counted exactly once):
#   bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py args...]
# Environment: NNODES, NODE_RANK, MASTER_ADDR, PORT as for dist_train.sh.
set -uo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py args...]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
exec python "$(dirname "$0")/misc/msrun_launch.py" --script test.py --config "$CONFIG" \
    --checkpoint "$CHECKPOINT" --nproc "$NPROC" -- "$@"
