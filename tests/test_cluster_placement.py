"""Whether a running Ray cluster can hold one trial, decided before any MLflow run (pure part)."""

from orchestrator.search.preflight import NOTE, placement_problems

GB = 2**30
ADDR = "ray://head:10001"


def _node(cpu, gpu=0, mem_gb=16, alive=True):
    res = {"CPU": cpu, "memory": mem_gb * GB, **({"GPU": gpu} if gpu else {})}
    return {"Alive": alive, "Resources": res}


def test_a_node_that_fits_means_no_problem():
    assert placement_problems([_node(4), _node(8, gpu=1)], {"CPU": 4, "GPU": 1}, ADDR, False) == []
    assert placement_problems([_node(2)], {"CPU": 2, "GPU": 0}, ADDR, False) == []


def test_no_gpu_anywhere_names_the_key_and_what_nodes_hold():
    [line] = placement_problems([_node(8), _node(8)], {"CPU": 4, "GPU": 1}, ADDR, False)
    assert line.startswith("resources.gpus_per_trial: 1 GPU per trial, but no node of the cluster at ray://head:10001")
    assert "nodes now: 8 CPU, 0 GPU; 8 CPU, 0 GPU" in line
    assert "no autoscaler" in line


def test_resources_on_different_nodes_are_not_enough():
    [line] = placement_problems([_node(16), _node(2, gpu=1)], {"CPU": 8, "GPU": 1}, ADDR, False)
    assert line.startswith("resources: 8 CPU, 1 GPU per trial, but no single node")


def test_dead_nodes_do_not_count_and_memory_is_in_gb():
    [line] = placement_problems([_node(8, gpu=1, alive=False), _node(8, mem_gb=8)],
                                {"CPU": 1, "GPU": 0, "memory": 32 * GB}, ADDR, False)
    assert line.startswith("resources.memory_gb_per_trial: 32.0 GB memory per trial")
    assert "8.0 GB memory" in line and "GPU" not in line


def test_with_an_autoscaler_it_is_a_note():
    [line] = placement_problems([_node(2)], {"CPU": 1, "GPU": 1}, ADDR, True)
    assert line.startswith(NOTE) and "autoscaler must add such a node" in line
    assert placement_problems([], {"CPU": 1, "GPU": 0}, ADDR, False)[0].endswith(
        "lower the request or add a node")


NODES = ["d801d7a72d7adf7e54ab8566ef2ce487642d50a35c6be3382092124f",
         "2151e9d78a291721fd8c4388ca4050f50aa2426fc1e012db9bfeb14b"]


def _status(types: dict[str, str]) -> dict:
    """The shape of Ray 2.60's `__autoscaling_status` (read from a real two-node cluster)."""
    active = {}
    for t in types.values():
        active[t] = active.get(t, 0) + 1
    return {"autoscaler_report": {"active_nodes": active, "pending_nodes": [], "pending_launches": {},
                                  "node_type_mapping": types, "legacy": True}, "load_metrics_report": {}}


def test_a_read_only_monitor_is_no_autoscaler():
    from orchestrator.search.preflight import cluster_autoscales
    # `ray start --head` without an autoscaling config: every node is its own anonymous type
    assert not cluster_autoscales(_status({n: f"node_{n}" for n in NODES}), autoscaler_v2=False)
    assert not cluster_autoscales(None, autoscaler_v2=False)


def test_worker_groups_or_v2_or_unknown_may_scale():
    from orchestrator.search.preflight import cluster_autoscales
    # KubeRay with enableInTreeAutoscaling: node types are the worker groups
    assert cluster_autoscales(_status({NODES[0]: "head-group", NODES[1]: "gpu-workers"}), autoscaler_v2=False)
    assert cluster_autoscales(None, autoscaler_v2=True)
    assert cluster_autoscales({"load_metrics_report": {}}, autoscaler_v2=False)  # not reported yet
