"""Launch tools/train.py or tools/test.py on msrun: the one launcher behind
``tools/dist_train.sh`` and ``tools/dist_test.sh``, with their arguments::

    python tools/misc/msrun_launch.py train CONFIG NPROC [train.py args...]
    python tools/misc/msrun_launch.py test CONFIG CHECKPOINT NPROC [test.py args...]

What it adds to a bare ``msrun`` call:

- mmpretrain's environment variables: ``NNODES`` (1), ``NODE_RANK`` (0),
  ``MASTER_ADDR`` (127.0.0.1), ``PORT`` (29500).
- A port check before anything starts: a busy port is an error when you chose
  it (``PORT=...``), and is replaced by a free one when you did not (one node).
- Per-worker logs in ``<work_dir>/msrun_logs/<timestamp>_<script>[_node<N>]/worker_<rank>.log``
  (one folder per launch and node, even on a shared file system);
  rank 0's log is echoed to the console without MindSpore's C++ log noise.
- Failure handling: when a worker dies, the whole job is stopped within
  ``MMCLS_MS_DIST_GRACE`` seconds (default 15) and the launcher exits non-zero,
  naming the rank that died first, how (its error, exit code or signal) and its
  log; the ranks stopped because of it are listed as such.  No rank waits
  forever.
- ``--bind_core=True`` when the machine has at least one core per worker
  (MindCV issue #804: two-device runs are slow without binding).
"""
import argparse
import importlib.util
import os
import os.path as osp
import re
import signal
import socket
import subprocess
import sys
import time

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
# a source checkout: the package next to tools/ (an installed one is found anyway)
sys.path.insert(0, osp.dirname(TOOLS))
FINISHED = 'mmcls_ms: rank {rank} finished'
NOISE = re.compile(r'^\[(WARNING|INFO|DEBUG)\] [A-Z_]+\(\d+')


# each tool's positional arguments before NPROC, as in mmpretrain's dist_*.sh
TOOL_ARGUMENTS = {'train': ['CONFIG'], 'test': ['CONFIG', 'CHECKPOINT']}


def nproc(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tools = parser.add_subparsers(dest='tool', required=True, metavar='{train,test}')
    for tool, names in TOOL_ARGUMENTS.items():
        sub = tools.add_parser(tool, prog=f'tools/dist_{tool}.sh', usage=(
            f"bash tools/dist_{tool}.sh {' '.join(names)} NPROC [{tool}.py args...]"))
        for name in names:
            sub.add_argument(name.lower(), metavar=name)
        sub.add_argument('nproc', type=nproc, metavar='NPROC')
        sub.add_argument('rest', nargs=argparse.REMAINDER, metavar=f'{tool}.py args')
    return parser.parse_args(argv)


def work_dir_of(config, rest):
    for i, arg in enumerate(rest):
        if arg == '--work-dir' and i + 1 < len(rest):
            return rest[i + 1]
        if arg.startswith('--work-dir='):
            return arg.split('=', 1)[1]
    return osp.join('work_dirs', osp.splitext(osp.basename(config))[0])


def load_claim_folder():
    """``mmcls_ms.utils.folders.claim_folder``, loaded from its file: importing the
    package would make its oneDNN decision here and hand it to every worker in
    ``ONEDNN_MAX_CPU_ISA`` as if the user had set it."""
    spec = importlib.util.find_spec('mmcls_ms')
    if spec is None:
        sys.exit('error: mmcls_ms is not importable: install it (pip install .) or run '
                 'from the source checkout.')
    path = osp.join(spec.submodule_search_locations[0], 'utils', 'folders.py')
    folders = importlib.util.spec_from_file_location('mmcls_ms_folders', path)
    module = importlib.util.module_from_spec(folders)
    folders.loader.exec_module(module)
    return module.claim_folder


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


def worker_pids(proc, script):
    """{rank: pid} of the workers msrun spawned to run ``script`` (read from /proc)."""
    pids = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            if ppid != proc.pid:
                continue
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                # msrun's log tailers carry a worker's environment too
                if script.encode() not in f.read().split(b'\0'):
                    continue
            with open(f'/proc/{entry}/environ', 'rb') as f:
                env = dict(kv.split(b'=', 1) for kv in f.read().split(b'\0') if b'=' in kv)
            # the scheduler carries RANK_ID=0 too
            if b'RANK_ID' in env and env.get(b'MS_ROLE') == b'MS_WORKER':
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
            reason = None  # no message of its own: killed, or stopped after another rank
        failed[rank] = (path, reason)
    return failed


MSRUN_WITHOUT_SCHEDULER = (
    'import sys; from mindspore.parallel.cluster.process_entity import _api; '
    '_api._is_local_ip = lambda addr: False; '
    'from mindspore.parallel.cluster.run import main; sys.argv[0] = "msrun"; sys.exit(main())')

# what a worker logs when the other nodes never joined (MindSpore's cluster init)
CLUSTER_NOT_FORMED = 'Failed to initialize distributed job cluster'

# msrun logs the first worker it finds dead (it then kills the others)
MSRUN_EXIT = re.compile(r'Worker process (\d+) exit with exception\. Error code: (-?\d+)')


def exit_codes(msrun_log):
    """{pid: exit status} of the workers msrun reported dead (negative: signal)."""
    text = open(msrun_log, errors='replace').read() if osp.isfile(msrun_log) else ''
    return {int(pid): int(code) for pid, code in MSRUN_EXIT.findall(text)}


def describe_exit(code):
    """'killed by SIGKILL (signal 9)' or 'exited with code 1'."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = 'an unknown signal'
        return f'killed by {name} (signal {-code})'
    return f'exited with code {code}'


def first_death(bad, gone_order, pids, codes):
    """The rank that died first, and how, among the failed ``bad`` ranks.

    msrun names the first worker it found dead; without that line, the launcher's
    own observation order (every 0.5 s) decides.
    """
    rank_of = {pid: rank for rank, pid in pids.items()}
    reported = [rank_of[pid] for pid in codes if pid in rank_of and rank_of[pid] in bad]
    observed = [rank for rank in gone_order if rank in bad]
    candidates = reported or observed or sorted(bad)
    rank = candidates[0]
    code = codes.get(pids.get(rank))
    _, reason = bad[rank]
    how = describe_exit(code) if code is not None else None
    if reason is None:
        reason = how or 'ended without an error message or exit status'
    elif how:
        reason = f'{how}: {reason}'
    return rank, reason


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
    # how long the nodes wait for each other to join (msrun's cluster_time_out)
    join_timeout = int(os.environ.get('MMCLS_MS_DIST_JOIN_TIMEOUT', 120))

    stamp = time.strftime('%Y%m%d_%H%M%S')
    work_dir = work_dir_of(args.config, args.rest)
    # each node its own folder: on a cluster the work_dir is often one shared folder
    node = f'_node{node_rank}' if nnodes > 1 else ''
    claim_folder = load_claim_folder()
    log_dir = claim_folder(osp.abspath(osp.join(work_dir, 'msrun_logs',
                                                f'{stamp}_{args.tool}{node}')))
    # msrun runs `python SCRIPT ...` itself
    script = [osp.join(TOOLS, f'{args.tool}.py'), args.config]
    if args.tool == 'test':
        script.append(args.checkpoint)
    script += ['--launcher', 'msrun'] + args.rest
    # msrun starts the scheduler on every node whose address is MASTER_ADDR; on one
    # machine (or a node that shares it) that would be each node: only node 0 may
    msrun = ['msrun'] if node_rank == 0 else [sys.executable, '-c', MSRUN_WITHOUT_SCHEDULER]
    cmd = msrun + [f'--worker_num={world}', f'--local_worker_num={args.nproc}',
           f'--master_addr={addr}', f'--master_port={port}', f'--node_rank={node_rank}',
           f'--log_dir={log_dir}', '--join=True', f'--cluster_time_out={join_timeout}']
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
        offset, seen, lost_at, gone_order = 0, {}, None, []
        try:
            while proc.poll() is None:
                time.sleep(0.5)
                if node_rank == 0:
                    offset = echo_new_lines(rank0_log, offset)
                alive = worker_pids(proc, script[0])
                for rank, pid in alive.items():
                    seen.setdefault(rank, pid)
                # a worker that is gone without its success marker has failed:
                # its peers would wait in a collective op, so stop the job.
                # The logs are read only once some worker has gone.
                gone = [r for r in seen if r not in alive]
                gone_order += [r for r in gone if r not in gone_order]
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
    local_ranks = range(node_rank * args.nproc, (node_rank + 1) * args.nproc)
    bad = {r: v for r, v in failed_ranks(log_dir, world).items() if r in local_ranks}
    if code == 0 and not bad:
        return 0
    report_failure(bad, gone_order, seen, exit_codes(osp.join(log_dir, 'msrun.log')), code,
                   log_dir)
    if nnodes > 1 and any(CLUSTER_NOT_FORMED in open(path, errors='replace').read()
                          for path, _ in bad.values() if osp.isfile(path)):
        print(missing_nodes_message(nnodes, node_rank, addr, port, join_timeout),
              file=sys.stderr)
    return 1


def missing_nodes_message(nnodes, node_rank, addr, port, timeout):
    """What to do when the nodes did not all join within the timeout."""
    if node_rank == 0:
        others = 'node 1' if nnodes == 2 else f'at least one of nodes 1..{nnodes - 1}'
        missing = f'{others} did not join the scheduler on this node ({addr}:{port})'
    else:
        missing = f'node 0 (the scheduler at {addr}:{port}) did not answer'
    return (f'error: the {nnodes}-node job did not form within {timeout} s: {missing}. Start '
            f'every node with the same NNODES={nnodes}, MASTER_ADDR={addr} and PORT={port}, '
            'each with its own NODE_RANK, within MMCLS_MS_DIST_JOIN_TIMEOUT seconds of each '
            'other (check the network between them).')


def report_failure(bad, gone_order, pids, codes, msrun_code, log_dir):
    """One error naming the rank that died first and how; the others as consequences."""
    if not bad:
        print(f'error: msrun exited with status {msrun_code}; see {log_dir}/msrun.log',
              file=sys.stderr)
        return
    rank, reason = first_death(bad, gone_order, pids, codes)
    print(f'error: rank {rank} died first, {reason}\n       its log: {bad[rank][0]}',
          file=sys.stderr)
    others = sorted(r for r in bad if r != rank)
    if others:
        print(f"       stopped after it: rank {', '.join(map(str, others))} (logs in "
              f'{log_dir})', file=sys.stderr)


if __name__ == '__main__':
    sys.exit(main())
