"""Load test: `python benchmarks/bench_load.py [--home DIR] [--sessions N] [--seconds S]`.

Drives the real UI the way users do, through its Gradio queue (issue 11): starts `paperchat ui`
on 127.0.0.1 and a free port in its own process (so the clients below do not share its GIL),
then N chat sessions (gradio_client, one session each; default 20) ask the dev questions in a
loop for S seconds (default 60) while one more client uploads a new dump through the Index
tab's endpoint (`/index_uploads`). Each request is timed from submit to its complete answer.

The issue's queueing goal ("queueing beyond PAPERCHAT_CONCURRENCY_LIMIT shows the user a
position or a wait, not a frozen page") is checked from the status messages the queue sends
each client: a request that waited before it started is counted as shown a position when at
least one IN_QUEUE update with a rank reached it (the browser prints that rank as "queue: 3/16"
with its ETA); one that waited a second or more without any is counted as frozen.

An answer is an error when the call fails or times out, or when the chat shows an error in
place of the answer. The new dump holds --new-papers papers of the last ../shared/corpus month
that the index does not hold yet. Prints a table, then one JSON line of the figures.

With no --home the sample dumps are indexed into a temporary data dir first (about 30 s).
`--home DIR` serves a temporary copy of DIR, since the upload adds papers to the index it
serves; `--in-place` serves DIR itself (for an index too big to copy: it gains the papers).

    python benchmarks/bench_load.py --sessions 2 --seconds 3 --new-papers 1   # CI smoke
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_cli import BIN, ensure_index  # noqa: E402

SHARED = ROOT.parent / "shared"
DEV = SHARED / "eval" / "dev_questions.jsonl"
NEW_PAPERS_FROM = SHARED / "corpus" / "papers-2026-08.txt"
LOOPBACK = "127.0.0.1"
DUMP_HEADER = (
    "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
    "byAK and the research community\n\nAug 31\n\n"
)
RSS_EVERY_S = 10.0
PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)
ANSWER_READY = "connect_and_first_answer_s"  # the figure: sessions connected, one answer
FROZEN_AFTER_S = 1.0  # a wait this long with no queue position would look like a hung page


@dataclass
class Request:
    """One question's outcome as its session saw it."""

    session: int
    seconds: float
    error: str | None
    wait_s: float | None  # submit -> the worker started it (None: never started)
    ranks: list[int] = field(default_factory=list)  # queue ranks the client was told
    etas: list[float] = field(default_factory=list)


@dataclass
class Reindex:
    """The upload through the Index tab that runs during the load."""

    papers: int
    seconds: float | None = None
    finished: bool = False
    added: int | None = None
    during_load: bool = False
    error: str | None = None


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def die_with_parent() -> None:
    """In the server's process, before it runs (Linux): SIGTERM it when this benchmark dies,
    even by SIGKILL (a CI timeout), which no `finally` can cover; it outlived one otherwise."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the `finally` only
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_server(home: Path, env: dict[str, str], log: Path, timeout: float) -> tuple:
    """(process, url) of `paperchat ui` over `home` on loopback, once it answers HTTP.
    Its own process group, so stop_server can end it and anything it started."""
    port = free_port()
    command = [str(BIN), "ui", "--host", LOOPBACK, "--port", str(port), "--home", str(home)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    url = f"http://{LOOPBACK}:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the UI exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return process, url
        except OSError:
            time.sleep(0.5)
    stop_server(process)
    sys.exit(f"the UI did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop_server(process: subprocess.Popen) -> None:
    """SIGTERM the server's group, SIGKILL it if it has not gone 15 s later."""
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def show_tracebacks(log: Path, limit: int = 3) -> None:
    """The server's last tracebacks, on stderr: its log goes with the temporary dir."""
    text = log.read_text(errors="replace")
    for block in text.split("Traceback (most recent call last):")[1:][-limit:]:
        print("server traceback:" + block[:3000], file=sys.stderr)


def rss_mb(pid: int, key: str = "VmRSS") -> float | None:
    """Resident set size of a process, from /proc (None where there is no /proc); VmHWM is
    the kernel's own high-water mark, a peak no sampling can miss."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{key}:\s+(\d+) kB", status, re.M)
    return round(int(match.group(1)) / 1024, 1) if match else None


def restart_peak(pid: int) -> bool:
    """Reset the kernel's high-water mark to the current RSS (`clear_refs` 5), so that VmHWM
    read later is the peak of what ran since, start-up left out; False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- the sessions ---------------------------------------------------------------------------


def connect(url: str):
    """A gradio_client session that stays on loopback: no telemetry, no downloads."""
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def message_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def answer_error(chat: Any) -> str | None:
    """Why the final chat is not a complete answer, or None when it is one."""
    if not chat or chat[-1].get("role") != "assistant":
        return "no answer in the chat"
    text = message_text(chat[-1])
    if 'class="pc-error"' in text:
        return "error shown: " + re.sub(r"<[^>]+>", "", text)[:160]
    if "▌" in text:
        return "answer still streaming at the end"
    return None


def queue_updates(job: Any, submitted: datetime) -> tuple[float | None, list[int], list[float]]:
    """(wait before start, ranks, ETAs) from every status update the job received.

    gradio_client records each update in job.communicator.updates; Job.status() keeps only
    the latest, which would miss the queue positions shown before the answer started."""
    from gradio_client.utils import Status, StatusUpdate

    wait, ranks, etas = None, [], []
    updates = getattr(job.communicator, "updates", None)
    while updates is not None and not updates.empty():
        update = updates.get_nowait()
        if not isinstance(update, StatusUpdate):
            continue
        if update.code == Status.IN_QUEUE and update.rank is not None:
            ranks.append(update.rank)
            if update.eta is not None:
                etas.append(update.eta)
        if update.code == Status.PROCESSING and wait is None and update.time:
            wait = (update.time - submitted).total_seconds()
    return wait, ranks, etas


def ask_once(client: Any, session: int, question: str, timeout: float) -> Request:
    submitted, started = datetime.now(), time.monotonic()
    job = client.submit(question, [], api_name="/ask")
    try:
        chat, _sources, _box = job.result(timeout=timeout)
        error = answer_error(chat)
    except TimeoutError:
        job.cancel()
        error = f"no answer within {timeout:.0f} s"
    except Exception as exc:  # the figure to report, not a reason to stop
        error = f"{type(exc).__name__}: {exc}"[:200]
    seconds = time.monotonic() - started
    wait, ranks, etas = queue_updates(job, submitted)
    return Request(session, seconds, error, wait, ranks, etas)


def run_session(
    client: Any, session: int, questions: list[str], deadline: float, timeout: float, out: list
) -> None:
    """Ask question after question (each in a new chat) until the deadline."""
    order = list(questions)
    random.Random(session).shuffle(order)
    n = 0
    while time.monotonic() < deadline:
        out.append(ask_once(client, session, order[n % len(order)], timeout))
        n += 1


# --- the re-index ---------------------------------------------------------------------------


def write_new_dump(path: Path, home: Path, count: int, make_room: bool = False) -> int:
    """A dump of `count` corpus papers the index does not hold (title + abstract, like dumps
    001-003): the upload must really embed them, not find them unchanged. `make_room`: an
    index that holds the whole corpus has the papers taken out first (only ever a copy)."""
    from rag.dump_parser import parse_dump
    from vectorstore.catalog import Catalog

    held = Catalog.in_home(home).paper_ids()
    papers = parse_dump(NEW_PAPERS_FROM, max_abstract_chars=20_000).papers
    fresh = [p for p in papers if p.paper_id not in held][:count]
    if make_room and len(fresh) < count:
        from rag.assistant import ResearchAssistant
        from rag.settings import Settings

        taken = [p for p in papers if p.paper_id in held][: count - len(fresh)]
        index = ResearchAssistant(Settings(home=home)).paper_index
        index.sync([], remove_ids=[p.paper_id for p in taken])
        fresh += taken
    blocks = [f"{p.title}\n\n{p.abstract}" for p in fresh]
    path.write_text(DUMP_HEADER + "\n\n".join(blocks) + "\n", encoding="utf-8")
    return len(fresh)


def run_reindex(url: str, dump: Path, result: Reindex, deadline: float, timeout: float) -> None:
    """Upload `dump` through /index_uploads and wait for the run's final status."""
    from gradio_client import handle_file

    started = time.monotonic()
    try:
        job = connect(url).submit([handle_file(str(dump))], api_name="/index_uploads")
        status, _stats = job.result(timeout=timeout)
    except Exception as exc:  # reported, with the rest of the figures
        result.error = f"{type(exc).__name__}: {exc}"[:200]
        return
    result.seconds = round(time.monotonic() - started, 2)
    added = re.search(r"added (\d+)", status or "")
    result.added = int(added.group(1)) if added else None
    result.finished = "Indexed" in (status or "") and result.added == result.papers
    result.during_load = time.monotonic() <= deadline
    if not result.finished:
        result.error = re.sub(r"<[^>]+>", " ", status or "")[:200]


# --- the run --------------------------------------------------------------------------------


def load_questions() -> list[str]:
    rows = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    return [row["question"] for row in rows]


def warm_up(clients: list, question: str, timeout: float) -> None:
    """One answer first, so the figures do not include loading the model in the server."""
    error = ask_once(clients[0], -1, question, timeout).error
    if error:
        sys.exit(f"the warm-up question failed: {error}")


def sample_rss(pid: int, every: float, stop: threading.Event, out: list) -> None:
    """[seconds since start, server RSS MB] every `every` s: a plateau is warm-up, a creep
    that goes on with the load would be a leak."""
    started = time.monotonic()
    while True:
        out.append([round(time.monotonic() - started, 1), rss_mb(pid)])
        if stop.wait(every):
            return


def drive(clients: list, url: str, dump: Path, papers: int, args: argparse.Namespace) -> tuple:
    """Run the sessions and the re-index side by side; (requests, reindex, wall seconds)."""
    questions = load_questions()
    requests: list[Request] = []
    reindex = Reindex(papers, error=None if papers else "no new papers to upload")
    started = time.monotonic()
    deadline = started + args.seconds
    threads = [
        threading.Thread(
            target=run_session,
            args=(c, n, questions, deadline, args.request_timeout, requests),
            daemon=True,
        )
        for n, c in enumerate(clients)
    ]
    if papers:
        work = (url, dump, reindex, deadline, args.index_timeout)
        threads.append(threading.Thread(target=run_reindex, args=work, daemon=True))
    for thread in threads:
        thread.start()
    backstop = deadline + max(args.request_timeout, args.index_timeout) + 30
    for thread in threads:  # every call has its own timeout; this is the last resort
        thread.join(max(1.0, backstop - time.monotonic()))
    return requests, reindex, time.monotonic() - started


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 3)


def figures(requests: list[Request], reindex: Reindex, wall: float, limit: int) -> dict:
    answered = [r.seconds for r in requests if r.error is None]
    waits = [r.wait_s for r in requests if r.wait_s is not None]
    queued = [r for r in requests if r.ranks]
    waited = [r for r in requests if r.wait_s is not None and r.wait_s >= FROZEN_AFTER_S]
    errors: dict[str, int] = {}
    for r in requests:
        if r.error:
            errors[r.error] = errors.get(r.error, 0) + 1
    return {
        "concurrency_limit": limit,
        "wall_s": round(wall, 1),
        "requests": len(requests),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "answers_per_s": round(len(answered) / wall, 2) if wall else None,
        "latency_p50_s": percentile(answered, 50),
        "latency_p95_s": percentile(answered, 95),
        "latency_max_s": round(max(answered), 3) if answered else None,
        "queue_wait_p50_s": percentile(waits, 50),
        "queue_wait_p95_s": percentile(waits, 95),
        "shown_queue_position": len(queued),
        "shown_eta": sum(1 for r in queued if r.etas),
        "max_queue_position": max((max(r.ranks) + 1 for r in queued), default=None),
        "waited_1s": len(waited),
        "waited_1s_without_position": sum(1 for r in waited if not r.ranks),
        "reindex": reindex.__dict__,
    }


def print_table(f: dict, args: argparse.Namespace) -> None:
    ri = f["reindex"]
    done = f"yes, in {ri['seconds']} s" if ri["finished"] else f"NO ({ri['error']})"
    if ri["finished"]:
        done += " (during the load)" if ri["during_load"] else " (after the load ended)"
    rows = [
        ("requests (answers asked for)", f["requests"]),
        ("errors (goal 0)", f["errors"]),
        ("answers per second", f["answers_per_s"]),
        ("complete answer p50 / p95 / max", seconds3(f, "latency")),
        ("queue wait before start p50 / p95", pair(f, "queue_wait_p50_s", "queue_wait_p95_s", "s")),
        ("requests shown a queue position", f["shown_queue_position"]),
        ("  of them shown an ETA", f["shown_eta"]),
        ("largest queue position shown", f["max_queue_position"]),
        (f"waited >= {FROZEN_AFTER_S:.0f} s before starting", f["waited_1s"]),
        ("  of them never shown a position", f["waited_1s_without_position"]),
        (f"re-index of {ri['papers']} new paper(s) finished", done),
        ("server up / first answer after", pair(f, "server_start_s", ANSWER_READY, "s")),
        (
            "server RSS after warm-up / at end",
            pair(f, "server_rss_mb_start", "server_rss_mb_end", "MB"),
        ),
        (
            "server peak RSS (VmHWM): start-up / run",
            pair(f, "server_rss_mb_peak_start_up", "server_rss_mb_peak_run", "MB"),
        ),
    ]
    print(
        f"load test: {args.sessions} sessions for {args.seconds} s, concurrency limit "
        f"{f['concurrency_limit']}, {os.cpu_count()} cores, load average "
        f"{f['load_average_start']} at start, {f['load_average_end']} at end"
    )
    for name, value in rows:
        print(f"{name:<40} {value}")
    curve = ", ".join(f"{mb} at {t:.0f} s" for t, mb in f["server_rss_mb_samples"])
    print(f"{'server RSS over the run (MB)':<40} {curve}")
    for error, count in f["error_kinds"].items():
        print(f"  error x{count}: {error}")


def seconds3(f: dict, key: str) -> str:
    return f"{f[key + '_p50_s']} / {f[key + '_p95_s']} / {f[key + '_max_s']} s"


def pair(f: dict, first: str, second: str, unit: str) -> str:
    return f"{f[first]} / {f[second]} {unit}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an indexed data dir (default: a fresh one)")
    parser.add_argument("--in-place", action="store_true", help="serve --home, not a copy")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--new-papers", type=int, default=20, help="papers in the uploaded dump (0: no upload)"
    )
    parser.add_argument("--request-timeout", type=float, default=180)
    parser.add_argument("--index-timeout", type=float, default=600)
    parser.add_argument("--start-timeout", type=float, default=300)
    return parser.parse_args()


def serving_home(args: argparse.Namespace, scratch_home: Path) -> Path:
    """The data dir the server uses: --home itself, a copy of it, or a new one to index."""
    if args.home is None:
        return scratch_home
    if not (args.home / "catalog.sqlite3").exists():
        sys.exit(f"{args.home} holds no index (no catalog.sqlite3)")
    if args.in_place:
        return args.home
    shutil.copytree(args.home, scratch_home)
    return scratch_home


def measure(process: subprocess.Popen, url: str, dump: Path, papers: int, args) -> tuple:
    """Connect the sessions, warm up, run the load with the server's RSS sampled:
    (requests, reindex, wall seconds, the figures about the server and the machine)."""
    clients: list = []
    clock = time.monotonic()
    try:
        clients = [connect(url) for _ in range(args.sessions)]
        warm_up(clients, load_questions()[0], args.request_timeout)
        ready_s = round(time.monotonic() - clock, 1)
        start_peak = rss_mb(process.pid, "VmHWM")
        restarted = restart_peak(process.pid)
        load_start = round(os.getloadavg()[0], 2)
        samples: list = []
        stop = threading.Event()
        sampler = (process.pid, RSS_EVERY_S, stop, samples)
        threading.Thread(target=sample_rss, args=sampler, daemon=True).start()
        requests, reindex, wall = drive(clients, url, dump, papers, args)
        stop.set()
    finally:
        for client in clients:
            client.close()
    server = {ANSWER_READY: ready_s, "load_average_start": load_start}
    server.update(server_rss_mb_start=samples[0][1], server_rss_mb_end=rss_mb(process.pid))
    server["server_rss_mb_peak_start_up"] = start_peak
    # With the mark restarted after warm-up, VmHWM is the load run's own peak.
    server["server_rss_mb_peak_run"] = rss_mb(process.pid, "VmHWM") if restarted else None
    server["server_rss_mb_samples"] = samples
    return requests, reindex, wall, server


def main() -> None:
    args = parse_args()
    from rag.settings import Settings

    with tempfile.TemporaryDirectory() as scratch:
        home = serving_home(args, Path(scratch) / "home")
        env = {**os.environ, "PAPERCHAT_HOME": str(home), "HF_HUB_OFFLINE": "1"}
        env["GRADIO_ANALYTICS_ENABLED"] = "False"
        ensure_index(home, env)
        dump = Path(scratch) / "load_test_new_papers.txt"
        papers = write_new_dump(dump, home, args.new_papers, make_room=home != args.home)
        limit = Settings(home=home).ui.concurrency_limit
        clock = time.monotonic()
        process, url = start_server(home, env, Path(scratch) / "ui.log", args.start_timeout)
        start_s = round(time.monotonic() - clock, 1)
        try:
            requests, reindex, wall, server = measure(process, url, dump, papers, args)
        finally:
            stop_server(process)
        if any(r.error for r in requests) or reindex.error:
            show_tracebacks(Path(scratch) / "ui.log")
    result = figures(requests, reindex, wall, limit) | server
    result.update(server_start_s=start_s, load_average_end=round(os.getloadavg()[0], 2))
    result.update(sessions=args.sessions, seconds=args.seconds, cores=os.cpu_count())
    print_table(result, args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
