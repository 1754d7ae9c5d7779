#!/usr/bin/env bash
# Distributed evaluation on msrun (every sample is counted exactly once):
#   bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py args...]
# Environment: NNODES, NODE_RANK, MASTER_ADDR, PORT as for dist_train.sh.
exec python "$(dirname "$0")/misc/msrun_launch.py" test "$@"
