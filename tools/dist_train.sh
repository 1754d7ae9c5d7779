#!/usr/bin/env bash
# Data-parallel training on MindSpore's launcher, msrun:
#   bash tools/dist_train.sh CONFIG NPROC [train.py args...]
# Several machines: set NNODES, NODE_RANK and MASTER_ADDR on each (PORT: the
# scheduler port, default 29500). Per-worker logs go to <work_dir>/msrun_logs.
exec python "$(dirname "$0")/misc/msrun_launch.py" train "$@"
