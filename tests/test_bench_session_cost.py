"""The capacity benchmarks' own arithmetic: where a session's CPU is attributed, and the CPU lists they pin to."""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.capacity import cpu_list, descendants  # noqa: E402
from bench.session_cost import attribute, bucket_of  # noqa: E402

WORKER = "thread (7): async_media_processor_0;Thread.run (threading.py:982);callback (/app/ui/live.py:214)"


def test_a_stack_goes_to_the_first_bucket_it_matches() -> None:
    assert bucket_of(WORKER + ";process (/app/emotion/pipeline.py:70)") == "analysis"
    assert bucket_of(WORKER + ";to_ndarray (av/video/frame.py:1)") == "frame conversion and drawing"
    # the page script reading the session's results is a rerun, not frame work, though it is in ui/live.py
    assert bucket_of("run (/x/streamlit/runtime/scriptrunner/script_runner.py:1);reading (/app/ui/live.py:3)") \
        == "script reruns"
    assert bucket_of("_worker (concurrent/futures/thread.py:83);Vp8Encoder.encode (aiortc/codecs/vpx.py:230)") \
        == "VP8 encode"
    assert bucket_of("decoder_worker (aiortc/rtcrtpreceiver.py:1);decode (aiortc/codecs/vpx.py:1)") == "VP8 decode"
    assert bucket_of("run_forever (asyncio/base_events.py:607);_run_once (asyncio/base_events.py:1922)") \
        == "event loop"
    assert bucket_of("something (elsewhere.py:1)") == "other"


def test_each_threads_exact_cpu_is_split_by_its_own_samples() -> None:
    samples = {
        7: collections.Counter({"analysis": 30, "frame conversion and drawing": 10}),
        8: collections.Counter({"VP8 decode": 5}),
        99: collections.Counter({"script reruns": 4}),  # a rerun thread that ended within the window
    }
    seconds = attribute(samples, {7: 2.0, 8: 0.5, 12: 0.1}, total_seconds=3.0)
    assert seconds["analysis"] == pytest.approx(1.5) and seconds["frame conversion and drawing"] == pytest.approx(0.5)
    assert seconds["VP8 decode"] == pytest.approx(0.5)
    assert seconds["threads without Python samples (native workers, idle)"] == pytest.approx(0.1)
    assert seconds["script reruns"] == pytest.approx(0.4)  # the total's remainder, by the ended threads' samples
    assert sum(seconds.values()) == pytest.approx(3.0)


def test_cpu_lists_are_parsed_and_checked() -> None:
    parser = argparse.ArgumentParser()
    offered = sorted(os.sched_getaffinity(0))
    assert cpu_list(parser, str(offered[0])) == {offered[0]}
    assert cpu_list(parser, f"{offered[0]}-{offered[-1]}") == set(range(offered[0], offered[-1] + 1))
    for bad in ("x", "4096", ""):
        with pytest.raises(SystemExit):
            cpu_list(parser, bad)


def test_descendants_finds_grandchildren() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
                              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); "
                              "print(p.pid, flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        grandchild = int(child.stdout.readline())
        deadline = time.monotonic() + 10
        while grandchild not in descendants(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert {child.pid, grandchild} <= descendants(os.getpid())
        assert os.getpid() not in descendants(os.getpid())
    finally:
        for pid in (grandchild, child.pid):
            try:
                os.kill(pid, 9)
            except (OSError, UnboundLocalError):
                pass
        child.wait(timeout=10)
