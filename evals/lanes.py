"""Lanes: several llama.cpp contexts scoring neighbouring cases at once, each on its own cores. Pure.

Measured on 2 cores with SmolLM2-135M q4_k_m (24 test cases): one context generates as fast on one
thread as on two (43.5 s and 43.4 s), and two one-thread contexts finish the same cases in 32.3 s
(benchmarks/eval_throughput.py measures it side by side). Outputs do not change: each lane has its
own cache, and llama.cpp hands each thread whole output rows, so a token's arithmetic is the same on
1 thread or 2 (tests/test_eval_invariance.py, byte for byte).
"""

from __future__ import annotations

import os

# Auto lanes only for small files: every lane loads its own copy of the weights (llama.cpp repacks
# them into its CPU layouts in process memory), so an 8B model stays at one lane unless asked.
AUTO_LANES_MAX_BYTES = 1 << 30
AUTO_LANES_MAX = 4


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def lane_threads(lanes: int | None, n_threads: int, gpu_offload: bool, model_bytes: int) -> list[int]:
    """Threads for each lane: `lanes` contexts sharing `n_threads` (the first ones get the remainder).
    `lanes=None` (auto) is one lane per thread, up to AUTO_LANES_MAX, for a CPU model under
    AUTO_LANES_MAX_BYTES; a GPU-offloaded model keeps one lane (the GPU is not shared out by threads)."""
    n_threads = max(1, n_threads)
    if gpu_offload:  # every lane is a context on the GPU; threads only feed it
        return [n_threads] * (lanes or 1)
    if lanes is None:
        lanes = 1 if model_bytes > AUTO_LANES_MAX_BYTES else AUTO_LANES_MAX
    lanes = min(lanes, n_threads)
    return [n_threads // lanes + (1 if k < n_threads % lanes else 0) for k in range(lanes)]


def lane_blocks(n_cases: int, lanes: int, blocks_per_lane: int = 4) -> list[range]:
    """Contiguous runs of the prefix-sorted cases, handed to lanes as each frees up: neighbours stay
    together (they share cached prefixes), and `blocks_per_lane` blocks per lane even out cases that
    decode longer than others. One lane gets one block: every neighbour stays a neighbour."""
    if n_cases <= 0:
        return []
    if lanes <= 1:
        return [range(n_cases)]
    size = max(1, -(-n_cases // (lanes * blocks_per_lane)))
    return [range(start, min(start + size, n_cases)) for start in range(0, n_cases, size)]
