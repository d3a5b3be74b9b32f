"""Peak memory of `paperchat ui` serving questions: `python benchmarks/bench_memory.py --home DIR`.

Issue 11's benchmark 5 (goal: peak RSS <= 1.5 GB on the 90k-chunk corpus index). Starts the
real `paperchat ui` on loopback over DIR, asks `--questions` dev questions through
`gradio_client` (the "/ask" endpoint the chat uses), and reads the server's RSS and its peak
(VmHWM in /proc) after start-up, after the first question (models and indexes loaded) and at
the end. The baseline in the same run: a bare Python process that only loads the embedding
model, which every figure above it includes. Table, then one JSON line.

    python benchmarks/bench_memory.py --home ~/pc-40k --questions 30
    python benchmarks/bench_memory.py --home DIR --questions 2      # CI smoke
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "paperchat"
LOAD_MODEL = (
    "from vectorstore.embeddings import load_embedder; load_embedder().embed_query('x'); "
    "print(open('/proc/self/status').read())"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="an indexed data dir")
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--start-timeout", type=float, default=300.0)
    return parser.parse_args()


def memory_mb(status: str) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) from a /proc/<pid>/status text, in MB."""
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {k: round(int(fields[k].split()[0]) / 1024, 1) for k in ("VmRSS", "VmHWM")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"paperchat ui exited with {server.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    sys.exit(f"paperchat ui did not answer at {url} within {timeout:.0f}s")


def questions(n: int) -> list[str]:
    path = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
    rows = [json.loads(line)["question"] for line in path.read_text().splitlines() if line]
    return [rows[i % len(rows)] for i in range(n)]


def model_only_mb() -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", LOAD_MODEL], capture_output=True, text=True, env=env, check=True
    )
    return memory_mb(out.stdout)


def main() -> None:
    from gradio_client import Client

    args = parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [str(BIN), "ui", "--host", "127.0.0.1", "--port", str(port), "--home"]
    server = subprocess.Popen([*command, str(args.home)], env=env, stdout=subprocess.DEVNULL)
    status = Path(f"/proc/{server.pid}/status")
    try:
        wait_until_up(url, server, args.start_timeout)
        figures = {"started": memory_mb(status.read_text())}
        client = Client(url, verbose=False)
        seconds = []
        for i, question in enumerate(questions(args.questions)):
            started = time.perf_counter()
            client.predict(question, [], api_name="/ask")
            seconds.append(time.perf_counter() - started)
            if i == 0:
                figures["after_first_question"] = memory_mb(status.read_text())
        figures["end"] = memory_mb(status.read_text())
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures["questions"] = len(seconds)
    figures["mean_answer_s"] = round(sum(seconds) / max(len(seconds), 1), 2)
    figures["baseline_model_only"] = model_only_mb()
    print(f"paperchat ui over {args.home}, {len(seconds)} questions, cores: {os.cpu_count()}")
    print(f"{'point':28} {'RSS MB':>8} {'peak MB':>8}")
    for point in ("started", "after_first_question", "end", "baseline_model_only"):
        if point in figures:
            m = figures[point]
            print(f"{point:28} {m['VmRSS']:>8.1f} {m['VmHWM']:>8.1f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
