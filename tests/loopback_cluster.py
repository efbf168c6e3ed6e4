"""A real two-node Ray cluster on this machine's loopback interface, for trying the cluster path.

    python tests/loopback_cluster.py up   --dir /tmp/tscluster    # head + second node; prints RAY_ADDRESS
    RAY_ADDRESS=http://127.0.0.1:28265 RAY_AUTH_MODE=token \
        ray job submit --working-dir . -- toolsweep sweep sweeps/smoke.yaml
    python tests/loopback_cluster.py down --dir /tmp/tscluster    # stops every process it started, by PID

The head is `ray start --head --node-ip-address 127.0.0.1` (dashboard and job server on 127.0.0.1).
The second node is a separate raylet with its own resources, joined to the head's GCS. It is built
with the same `ray._private.node.Node(head=False)` object that `ray start --address` builds, because
Ray 2.60 on Linux offers no CLI route to a loopback-only second node:
- with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (what keeps Ray on 127.0.0.1), `ray start --address`
  aborts with "Multi-node Ray clusters are not supported";
- with =1, Ray resolves 127.0.0.1 to the machine's outward address and binds GCS and raylets
  on all interfaces.

Every PID started is written to `<dir>/pids`; `down` stops exactly those (never `ray stop`, which
would also stop unrelated local Ray instances such as a running sweep's).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _auth_token_env() -> dict[str, str]:
    """RAY_AUTH_MODE=token needs a token on both sides. A machine without one (no RAY_AUTH_TOKEN,
    RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token, as on a fresh CI runner) gets a file of its own in the
    temp dir rather than one written into the user's home."""
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH") or \
            (Path.home() / ".ray" / "auth_token").is_file():
        return {}
    path = Path(tempfile.gettempdir()) / "toolsweep-loopback-ray-auth-token"
    if not path.is_file():
        import secrets
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return {"RAY_AUTH_TOKEN_PATH": str(path)}


def cluster_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
           "PYTHONUNBUFFERED": "1", **_auth_token_env(), **(extra or {})}
    env.pop("RAY_ADDRESS", None)
    return env


def _descendants(pid: int) -> set[int]:
    import psutil
    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def _ray_processes_of(session_dir: str) -> set[int]:
    """Processes whose command line names this cluster's session directory (GCS, raylets, agents)."""
    import psutil
    found = set()
    for p in psutil.process_iter(["pid", "cmdline"]):
        if session_dir in " ".join(p.info["cmdline"] or []):
            found.add(p.info["pid"])
            found |= _descendants(p.info["pid"])
    return found


def run_worker_node(gcs_address: str, num_cpus: int, resources: dict[str, float], temp_dir: str) -> None:
    """Foreground process that owns the second raylet; SIGTERM stops it and its children.

    The node gets its own temp dir, as a second machine would: sharing the head's would let this
    node's runtime-env agent garbage-collect the job's working_dir while the head's driver runs in it.
    """
    import ray
    from ray._private.node import Node
    from ray._private.parameter import RayParams

    params = RayParams(gcs_address=gcs_address, node_ip_address="127.0.0.1", num_cpus=num_cpus, num_gpus=0,
                       resources=resources, include_log_monitor=False, node_manager_port=0,
                       dashboard_agent_listen_port=free_port(), metrics_export_port=free_port(),
                       runtime_env_agent_port=free_port(), min_worker_port=0, max_worker_port=0, temp_dir=temp_dir)
    node = Node(params, head=False, shutdown_at_exit=True, spawn_reaper=True)
    print(json.dumps({"node_id": node.node_id, "session_dir": node.get_session_dir_path()}), flush=True)

    def stop(signum, frame):
        node.kill_all_processes(check_alive=False, allow_graceful=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    del ray
    while True:
        time.sleep(3600)


def up(state_dir: Path, head_cpus: int = 1, worker_cpus: int = 1, env_extra: dict[str, str] | None = None) -> dict:
    state_dir.mkdir(parents=True, exist_ok=True)
    env = cluster_env(env_extra)
    gcs_port, dash_port, client_port = free_port(), free_port(), free_port()
    before = _running_pids()
    head = subprocess.run(
        [str(BIN / "ray"), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(gcs_port),
         "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dash_port), "--include-dashboard", "true",
         "--ray-client-server-port", str(client_port), "--num-cpus", str(head_cpus), "--num-gpus", "0",
         "--resources", json.dumps({"head_node": 1}), "--disable-usage-stats",
         # Ray's fixed defaults (agent 52365, ...) collide with any other Ray on the host, and the job
         # server then finds no head agent: "Timed out waiting for an available job agent".
         "--dashboard-agent-listen-port", str(free_port()), "--dashboard-agent-grpc-port", str(free_port()),
         "--runtime-env-agent-port", str(free_port()), "--metrics-export-port", str(free_port())],
        env=env, capture_output=True, text=True, timeout=180)
    started = _running_pids() - before
    state = {"gcs_address": f"127.0.0.1:{gcs_port}", "dashboard": f"http://127.0.0.1:{dash_port}",
             "pids": sorted(started)}
    (state_dir / "state.json").write_text(json.dumps(state))
    if head.returncode != 0:
        down(state_dir)
        raise RuntimeError(f"ray start --head failed:\n{head.stdout[-3000:]}\n{head.stderr[-3000:]}")
    log = open(state_dir / "worker-node.log", "w")
    # Short and outside the state dir: Unix socket paths under it must stay below 108 bytes.
    worker_tmp = tempfile.mkdtemp(prefix="tsray-", dir="/tmp")
    state["worker_temp_dir"] = worker_tmp
    worker = subprocess.Popen([sys.executable, __file__, "worker-node", "--gcs-address", state["gcs_address"],
                               "--num-cpus", str(worker_cpus), "--temp-dir", worker_tmp], env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    line = worker.stdout.readline()
    if not line:
        down(state_dir)
        raise RuntimeError(f"second node did not start; see {state_dir / 'worker-node.log'}")
    info = json.loads(line)
    state.update(worker_pid=worker.pid, worker_node_id=info["node_id"], session_dir=info["session_dir"])
    state["pids"] = sorted(set(state["pids"]) | {worker.pid} | _descendants(worker.pid))
    (state_dir / "state.json").write_text(json.dumps(state))
    nodes = _wait_for_nodes(state["gcs_address"], 2, env)
    state["head_node_id"] = next(node for node, resources in nodes if "head_node" in resources)
    (state_dir / "state.json").write_text(json.dumps(state))
    return state


def _running_pids() -> set[int]:
    import psutil
    return set(psutil.pids())


_LIST_NODES = ("import json, ray; ray.init(address=%r, log_to_driver=False); "
               "print(json.dumps([[n['NodeID'], sorted(n['Resources'])] for n in ray.nodes() if n['Alive']]))")


def _wait_for_nodes(gcs_address: str, n: int, env: dict[str, str], timeout_s: float = 90) -> list:
    """[[node id, resource names], ...] once `n` nodes are alive."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        res = subprocess.run([sys.executable, "-c", _LIST_NODES % gcs_address], env=env,
                             capture_output=True, text=True, timeout=120)
        nodes = json.loads(res.stdout.strip().splitlines()[-1]) if res.returncode == 0 else []
        if len(nodes) >= n:
            return nodes
        time.sleep(2)
    raise RuntimeError(f"fewer than {n} nodes joined {gcs_address} within {timeout_s:.0f} s")


def _live(pids) -> list:
    """psutil.Process objects for the pids that still exist."""
    import psutil
    procs = []
    for pid in pids:
        try:
            procs.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    return procs


def _signal_all(procs: list, method: str) -> None:
    """Call `terminate` or `kill` on each psutil.Process, skipping those already gone."""
    import psutil
    for p in procs:
        try:
            getattr(p, method)()
        except psutil.NoSuchProcess:
            pass


def down(state_dir: Path) -> list[int]:
    """Stop every process this cluster started (SIGTERM, then SIGKILL); returns those still alive."""
    import psutil
    state = json.loads((state_dir / "state.json").read_text())
    pids = set(state["pids"])
    if state.get("session_dir"):
        pids |= _ray_processes_of(state["session_dir"])
    for pid in list(pids):
        pids |= _descendants(pid)
    procs = _live(pids)
    if state.get("worker_pid"):  # the node owner first: it stops its raylet gracefully
        _signal_all(_live([state["worker_pid"]]), "terminate")
    _signal_all(procs, "terminate")
    _, alive = psutil.wait_procs(procs, timeout=20)
    _signal_all(alive, "kill")
    _, alive = psutil.wait_procs(alive, timeout=10)
    current = Path("/tmp/ray/ray_current_cluster")
    if current.is_file() and current.read_text().strip() == state["gcs_address"]:
        current.unlink()  # else a later `ray.init()` would try to join this dead cluster
    if state.get("worker_temp_dir") and not alive:
        shutil.rmtree(state["worker_temp_dir"], ignore_errors=True)
    return [p.pid for p in alive]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("up", help="start the head and a second node on 127.0.0.1")
    p.add_argument("--dir", type=Path, required=True, help="where the PIDs and addresses are kept")
    p.add_argument("--head-cpus", type=int, default=1)
    p.add_argument("--worker-cpus", type=int, default=1)
    p = sub.add_parser("down", help="stop every process `up` started, by PID")
    p.add_argument("--dir", type=Path, required=True)
    p = sub.add_parser("worker-node", help=argparse.SUPPRESS)
    p.add_argument("--gcs-address", required=True)
    p.add_argument("--num-cpus", type=int, default=1)
    p.add_argument("--temp-dir", required=True)
    args = ap.parse_args(argv)
    if args.cmd == "up":
        state = up(args.dir, args.head_cpus, args.worker_cpus)
        print(f"cluster up: 2 nodes; RAY_ADDRESS={state['dashboard']} (jobs), GCS {state['gcs_address']}")
    elif args.cmd == "down":
        left = down(args.dir)
        print("cluster down" + (f"; still alive: {left}" if left else ""))
        return 1 if left else 0
    else:
        run_worker_node(args.gcs_address, args.num_cpus, {"worker_node": 1}, args.temp_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
