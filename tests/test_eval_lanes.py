"""Lanes (evals/lanes.py): how threads and cases are shared out, and that the report does not depend
on how many lanes scored it. Pure: canned runners. The llama.cpp side is in test_eval_invariance.py."""

import threading
import time

import pytest

from evals.harness import evaluate
from evals.lanes import AUTO_LANES_MAX, AUTO_LANES_MAX_BYTES, lane_blocks, lane_threads
from orchestrator.train.chat_template import load_template

TEMPLATE = load_template("toolchat")
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
CITIES = ["Oslo", "Lima", "Rome", "Kyiv", "Pune", "Nice", "Bern", "Baku", "Doha", "Riga", "Suva"]


def _cases() -> list[dict]:
    cases = [{"id": f"w{i:02d}", "scenario": "single_tool", "tools": TOOLS,
              "messages": [{"role": "user", "content": f"Weather in {city}?"}],
              "expected": {"calls": [{"name": "get_weather", "arguments": {"city": city}}]}}
             for i, city in enumerate(CITIES)]
    cases.append({"id": "n", "scenario": "no_tool_needed", "tools": TOOLS,
                  "messages": [{"role": "user", "content": "Say hello."}], "expected": {"calls": []}})
    return cases


class Canned:
    """Answers from the prompt alone (a wrong city for every third one), slowly enough that lanes overlap."""

    def __init__(self):
        self.prompts: list[str] = []
        self.threads: set[str] = set()

    def generate(self, prompt, max_tokens):
        self.prompts.append(prompt)
        self.threads.add(threading.current_thread().name)
        time.sleep(0.005)
        city = next((c for c in CITIES if c in prompt), None)
        if city is None:
            text = "Hello!"
        else:
            city = city if CITIES.index(city) % 3 else "Paris"
            text = f'<tool_call>{{"name": "get_weather", "arguments": {{"city": "{city}"}}}}</tool_call>'
        return {"text": text, "latency_s": 0.005, "completion_tokens": 7, "prompt_tokens": 20}


@pytest.mark.parametrize("lanes", [2, 3, 5])
def test_the_report_is_the_same_on_any_number_of_lanes(lanes):
    alone = evaluate(_cases(), Canned(), TEMPLATE)
    runners = [Canned() for _ in range(lanes)]
    shared = evaluate(_cases(), runners, TEMPLATE)
    assert shared["cases"] == alone["cases"] and shared["metrics"] == alone["metrics"]
    assert shared["ci95"] == alone["ci95"]
    assert sum(len(r.prompts) for r in runners) == len(_cases())  # every case scored once
    assert sum(bool(r.prompts) for r in runners) >= 2               # and really shared out
    assert all(len(r.threads) <= 1 for r in runners)                # each runner used by one lane


def test_progress_counts_every_case_once_across_lanes():
    seen = []
    evaluate(_cases(), [Canned(), Canned()], TEMPLATE, on_case=lambda i, n: seen.append((i, n)))
    assert seen == [(i, len(_cases())) for i in range(1, len(_cases()) + 1)]


def test_a_failing_lane_raises_and_the_others_stop():
    class Broken(Canned):
        def generate(self, prompt, max_tokens):
            raise RuntimeError("llama_decode failed")

    healthy = Canned()
    with pytest.raises(RuntimeError, match="llama_decode failed"):
        evaluate(_cases() * 3, [Broken(), healthy], TEMPLATE)
    assert len(healthy.prompts) < len(_cases()) * 3


def test_blocks_are_contiguous_and_cover_every_case_once():
    for n in (0, 1, 5, 12, 96, 97):
        for lanes in (1, 2, 3, 4):
            blocks = lane_blocks(n, lanes)
            assert [i for b in blocks for i in b] == list(range(n))
            assert all(b.step == 1 for b in blocks)
    assert lane_blocks(96, 1) == [range(96)]  # one lane: one run, every neighbour kept
    assert len(lane_blocks(96, 2)) == 8       # 4 blocks a lane


def test_threads_are_shared_out_and_auto_stays_on_one_lane_where_it_should():
    assert lane_threads(2, 2, False, 10) == [1, 1]
    assert lane_threads(2, 5, False, 10) == [3, 2]
    assert lane_threads(4, 2, False, 10) == [1, 1]          # never more lanes than threads
    assert lane_threads(None, 2, False, 10) == [1, 1]       # auto: a lane per thread
    assert lane_threads(None, 16, False, 10) == [4] * AUTO_LANES_MAX
    assert lane_threads(None, 16, False, AUTO_LANES_MAX_BYTES + 1) == [16]  # a large model: one copy
    assert lane_threads(None, 16, True, 10) == [16]         # GPU offload: one lane
    assert lane_threads(1, 3, False, 10) == [3]


def test_an_error_in_the_progress_callback_is_raised_not_lost():
    def progress(i, n):
        if i == 3:
            raise OSError("progress sink gone")

    with pytest.raises(OSError, match="progress sink gone"):
        evaluate(_cases(), [Canned(), Canned()], TEMPLATE, on_case=progress)
