#!/usr/bin/env bash
# Data-parallel training on MindSpore's launcher, msrun:
#   bash tools/dist_train.sh CONFIG NPROC [train.py args...]
# Several machines: set NNODES, NODE_RANK and MASTER_ADDR on each (PORT: the
# scheduler port, default 29500). Per-worker logs go to <work_dir>/msrun_logs.
set -uo pipefail
if [ $# -lt 2 ]; then
    echo "usage: bash tools/dist_train.sh CONFIG NPROC [train.py args...]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
exec python "$(dirname "$0")/misc/msrun_launch.py" --script train.py --config "$CONFIG" \
    --nproc "$NPROC" -- "$@"
