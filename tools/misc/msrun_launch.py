"""Launch tools/train.py or tools/test.py on msrun (used by tools/dist_*.sh).

What it adds to a bare ``msrun`` call:

- mmpretrain's environment variables: ``NNODES`` (1), ``NODE_RANK`` (0),
  ``MASTER_ADDR`` (127.0.0.1), ``PORT`` (29500).
- A port check before anything starts: a busy port is an error when you chose
  it (``PORT=...``), and is replaced by a free one when you did not (one node).
- Per-worker logs in ``<work_dir>/msrun_logs/<timestamp>/worker_<rank>.log``;
  rank 0's log is echoed to the console without MindSpore's C++ log noise.
- Failure handling: when a worker dies, the whole job is stopped within
  ``MMCLS_MS_DIST_GRACE`` seconds (default 15) and the launcher exits non-zero,
  naming the rank and its log.  No rank waits forever.
- ``--bind_core=True`` when the machine has at least one core per worker
  (MindCV issue #804: two-device runs are slow without binding).
"""
import argparse
import os
import os.path as osp
import re
import signal
import socket
import subprocess
import sys
import time

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
FINISHED = 'mmcls_ms: rank {rank} finished'
NOISE = re.compile(r'^\[(WARNING|INFO|DEBUG)\] [A-Z_]+\(\d+')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--script', choices=['train.py', 'test.py'], required=True)
    parser.add_argument('--config', required=True)
    parser.add_argument('--checkpoint')
    parser.add_argument('--nproc', type=int, required=True)
    parser.add_argument('rest', nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.rest and args.rest[0] == '--':
        args.rest = args.rest[1:]
    if args.nproc < 1:
        parser.error(f'NPROC must be >= 1, got {args.nproc}')
    return args


def work_dir_of(config, rest):
    for i, arg in enumerate(rest):
        if arg == '--work-dir' and i + 1 < len(rest):
            return rest[i + 1]
        if arg.startswith('--work-dir='):
            return arg.split('=', 1)[1]
    return osp.join('work_dirs', osp.splitext(osp.basename(config))[0])


def port_is_free(addr, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((addr, port))
        except OSError:
            return False
    return True


def free_port(addr):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((addr, 0))
        return sock.getsockname()[1]


def choose_port(addr, nnodes, node_rank):
    user_port = os.environ.get('PORT')
    port = int(user_port or 29500)
    if node_rank != 0:
        return port  # the scheduler runs on node 0
    bind_addr = addr if addr in ('127.0.0.1', 'localhost') else '0.0.0.0'
    if port_is_free(bind_addr, port):
        return port
    if user_port or nnodes > 1:
        sys.exit(f'error: port {port} on {addr} is already in use (another job?). Choose a free '
                 'one with PORT=<port> (the same on every node).')
    new = free_port(bind_addr)
    print(f'Port {port} is in use; using free port {new} instead (set PORT to choose).')
    return new


def echo_new_lines(path, offset):
    """Print the new lines of rank 0's log, without MindSpore's C++ log lines."""
    if not osp.isfile(path):
        return offset
    with open(path, 'r', errors='replace') as f:
        f.seek(offset)
        chunk = f.read()
        if not chunk.endswith('\n'):  # keep a partial last line for later
            chunk = chunk[:chunk.rfind('\n') + 1]
        offset += len(chunk.encode('utf-8', errors='replace'))
    for line in chunk.splitlines():
        if not NOISE.match(line) and not line.startswith(FINISHED.split('{')[0]):
            print(line, flush=True)
    return offset


def worker_pids(proc):
    """{rank: pid} of the workers msrun spawned (read from /proc)."""
    pids = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            if ppid != proc.pid:
                continue
            with open(f'/proc/{entry}/environ', 'rb') as f:
                env = dict(kv.split(b'=', 1) for kv in f.read().split(b'\0') if b'=' in kv)
            if b'RANK_ID' in env:
                pids[int(env[b'RANK_ID'])] = int(entry)
        except (OSError, ValueError, IndexError):
            continue
    return pids


def failed_ranks(log_dir, world):
    """Ranks whose log does not end in the success marker, with a reason."""
    failed = {}
    for rank in range(world):
        path = osp.join(log_dir, f'worker_{rank}.log')
        text = open(path, errors='replace').read() if osp.isfile(path) else ''
        if FINISHED.format(rank=rank) in text:
            continue
        lines = text.splitlines()
        errors = [i for i, ln in enumerate(lines)
                  if ln.startswith('error:') or re.match(r'^\w+(Error|Exception)\b', ln)]
        if errors:
            i = errors[-1]
            reason = ' '.join(ln.strip() for ln in lines[i:i + 3] if ln.strip()
                              and not NOISE.match(ln))[:300]
        else:
            reason = 'exited or was killed without an error message'
        failed[rank] = (path, reason)
    return failed


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main():
    args = parse_args()
    nnodes = int(os.environ.get('NNODES', 1))
    node_rank = int(os.environ.get('NODE_RANK', 0))
    addr = os.environ.get('MASTER_ADDR', '127.0.0.1')
    port = choose_port(addr, nnodes, node_rank)
    world = args.nproc * nnodes
    grace = float(os.environ.get('MMCLS_MS_DIST_GRACE', 15))

    stamp = time.strftime('%Y%m%d_%H%M%S')
    work_dir = work_dir_of(args.config, args.rest)
    log_dir = osp.abspath(osp.join(work_dir, 'msrun_logs', f'{stamp}_{args.script[:-3]}'))
    os.makedirs(log_dir, exist_ok=True)
    # msrun runs `python SCRIPT ...` itself
    script = [osp.join(TOOLS, args.script), args.config]
    if args.checkpoint:
        script.append(args.checkpoint)
    script += ['--launcher', 'msrun'] + args.rest
    cmd = ['msrun', f'--worker_num={world}', f'--local_worker_num={args.nproc}',
           f'--master_addr={addr}', f'--master_port={port}', f'--node_rank={node_rank}',
           f'--log_dir={log_dir}', '--join=True', '--cluster_time_out=120']
    if (os.cpu_count() or 1) >= args.nproc:
        cmd.append('--bind_core=True')
    cmd += script
    env = dict(os.environ, GLOG_v=os.environ.get('GLOG_v', '3'), PYTHONUNBUFFERED='1')
    print(f'msrun: {world} workers ({nnodes} node(s) x {args.nproc}), scheduler {addr}:{port}, '
          f'logs in {log_dir}', flush=True)
    with open(osp.join(log_dir, 'msrun.log'), 'w') as msrun_log:
        proc = subprocess.Popen(cmd, stdout=msrun_log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        rank0_log = osp.join(log_dir, 'worker_0.log')
        offset, seen, lost_at = 0, {}, None
        try:
            while proc.poll() is None:
                time.sleep(0.5)
                if node_rank == 0:
                    offset = echo_new_lines(rank0_log, offset)
                alive = worker_pids(proc)
                seen.update(alive)
                # a worker that is gone without its success marker has failed:
                # its peers would wait in a collective op, so stop the job.
                # The logs are read only once some worker has gone.
                gone = [r for r in seen if r not in alive]
                if gone and lost_at is None and set(gone) & set(failed_ranks(log_dir, world)):
                    lost_at = time.time()
                if lost_at is not None and time.time() - lost_at > grace:
                    stop(proc)
                    break
        except KeyboardInterrupt:
            stop(proc)
            sys.exit('Interrupted: all workers stopped.')
        code = proc.wait()
        if node_rank == 0:
            echo_new_lines(rank0_log, offset)
    bad = failed_ranks(log_dir, world) if node_rank == 0 else {}
    local_ranks = range(node_rank * args.nproc, (node_rank + 1) * args.nproc)
    bad = {r: v for r, v in bad.items() if r in local_ranks}
    if code == 0 and not bad:
        return 0
    for rank, (path, reason) in sorted(bad.items()):
        print(f'error: rank {rank} failed: {reason}\n       its log: {path}', file=sys.stderr)
    if not bad:
        print(f'error: msrun exited with status {code}; see {log_dir}/msrun.log',
              file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
