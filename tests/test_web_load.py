"""The web self-check under slow, heavy and careless use, against a real uvicorn on the loopback address."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bcf.generate import write_workbook
from bcf.web import App, Settings, create_app
from tests import support
from tests.corpus import CASES, build_case
from tests.support import PLAN, free_port, plan_for, processes_in_session, wait_until

pytestmark = pytest.mark.slow  # servers under slow and heavy uploads: `make test-all` and CI run them

BOUNDARY = "bcfboundary7MA4YWxkTrZu0gW"


class Served:
    """A running server: its address and its app (to see its workers)."""

    def __init__(self, app: App, port: int):
        self.app, self.port = app, port

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                timeout: float = 120) -> tuple[int, dict[str, str], str]:
        con = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            con.request(method, path, body=body, headers=headers or {})
            r = con.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8", "replace")
        finally:
            con.close()

    def upload(self, path: Path) -> tuple[int, str, float]:
        """(status, page, seconds) for one workbook sent as the page's form sends it."""
        head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"workbook\"; filename=\"{path.name}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n")
        body = head.encode() + path.read_bytes() + f"\r\n--{BOUNDARY}--\r\n".encode()
        start = time.perf_counter()
        status, _, page = self.request("POST", "/check", body,
                                       {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        return status, page, time.perf_counter() - start


@contextmanager
def serving(tmp_path: Path, **settings: Any) -> Iterator[Served]:
    """The app served by uvicorn on 127.0.0.1 in a background thread."""
    app = create_app(Settings(workdir=tmp_path / "work", **settings))
    with support.serving(app) as url:
        yield Served(app, int(url.rsplit(":", 1)[1]))


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("good") / "good.xlsx"
    write_workbook(PLAN.spec(), path, plan_for().filled)
    return path


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_worker_that_died_idle_is_replaced_before_it_is_given_an_upload(tmp_path: Path, good: Path) -> None:
    with serving(tmp_path, workers=1) as s:
        (pid,) = s.app.checker.pids()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # as a file checked earlier might have left it, or the OOM killer
        assert wait_until(lambda: _gone(pid), 10)
        status, page, _ = s.upload(good)
        assert status == 200 and "Ready to submit" in page and "could not be checked" not in page
        assert s.app.checker.pids()[0] not in (None, pid)


def test_the_verdict_does_not_wait_for_a_slow_marked_up_copy(tmp_path: Path) -> None:
    padded = build_case(CASES["100,000 blank formatted rows under a table"], tmp_path)  # openpyxl takes ~20 s on it
    with serving(tmp_path, workers=1, annotate_seconds=2) as s:
        status, page, seconds = s.upload(padded)
        assert status == 200 and "Ready to submit" in page and "could not be checked" not in page
        assert "no marked-up copy because it could not be made in time" in page
        assert seconds < 15, seconds
        assert not list((tmp_path / "work").rglob("annotated.xlsx"))  # no half-written copy left to download
        status, page, _ = s.upload(padded)  # the worker is free again at once
        assert status == 200 and "Ready to submit" in page


@pytest.mark.parametrize("settings", [{"recycle_checks": 2}, {"recycle_mb": 1}])
def test_workers_are_recycled_after_n_checks_or_m_megabytes(settings: dict[str, Any], tmp_path: Path,
                                                              good: Path) -> None:
    with serving(tmp_path, workers=1, **settings) as s:
        seen = []
        for _ in range(3):
            seen.append(s.app.checker.pids()[0])
            status, page, _ = s.upload(good)
            assert status == 200 and "Ready to submit" in page
        seen.append(s.app.checker.pids()[0])
    changes = sum(a != b for a, b in zip(seen, seen[1:], strict=False))
    assert changes == (1 if "recycle_checks" in settings else 3), seen


def test_redirects_never_reflect_the_host_header(tmp_path: Path) -> None:
    with serving(tmp_path, workers=1) as s:
        status, headers, _ = s.request("GET", "/check", headers={"Host": "evil.example"})
    assert status == 303 and headers["location"] == "/"


def test_a_trickled_body_is_cut_off_and_others_are_served_meanwhile(tmp_path: Path) -> None:
    with serving(tmp_path, workers=1, upload_seconds=2) as s:
        slow = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        slow.sendall((f"POST /check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
                      f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n--{BOUNDARY}\r\n").encode())
        start, answer = time.monotonic(), b""
        slow.settimeout(0.5)
        while time.monotonic() - start < 20 and b"\r\n\r\n" not in answer:
            try:
                slow.sendall(b"x")  # one byte at a time, as a client trying to hold the server would
                answer += slow.recv(65536)
            except TimeoutError:
                assert s.request("GET", "/", timeout=5)[0] == 200  # everyone else is still served
            except OSError:
                break
        slow.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
        assert time.monotonic() - start < 10


def _serve(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "bcf", "serve", "--port", str(port), "--workers", "1"],
                            env={**os.environ, "TMPDIR": str(tmp)}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    up = Served(None, port)  # type: ignore[arg-type]

    def answers() -> bool:
        try:
            return up.request("GET", "/", timeout=2)[0] == 200
        except OSError:
            return False
    assert wait_until(answers, 90), "the server did not start"
    return proc


def test_a_killed_server_leaves_no_worker_and_its_uploads_go_at_once(tmp_path: Path, good: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    port = free_port()
    for ending in ("SIGKILL", "SIGTERM", "power cut"):
        server = _serve(tmp, port)
        status, page, _ = Served(None, port).upload(good)  # type: ignore[arg-type]
        assert status == 200 and "Ready to submit" in page
        (workdir,) = tmp.glob("bcf-serve-*")
        assert any(workdir.rglob("findings.json"))  # the submitter's findings and marked-up copy, kept for download
        alive = [pid for pid, _ in processes_in_session(server.pid) if pid != server.pid]
        assert alive  # its workers, and the process that cleans up after it
        if ending == "power cut":  # every process at the same instant: the whole process group, by the kernel
            os.killpg(server.pid, signal.SIGKILL)
        else:
            os.kill(server.pid, signal.SIGTERM if ending == "SIGTERM" else signal.SIGKILL)
        server.wait(60)
        assert wait_until(lambda sid=server.pid: not processes_in_session(sid), 15), processes_in_session(server.pid)
        if ending == "power cut":
            assert workdir.exists()  # left behind, as a power cut would leave it
            again = _serve(tmp, port)
            try:
                assert not workdir.exists()  # cleared as the next server starts
                assert len(list(tmp.glob("bcf-serve-*"))) == 1  # its own
            finally:
                os.kill(again.pid, signal.SIGINT)
                again.wait(30)
        else:
            assert wait_until(lambda kept=workdir: not kept.exists(), 10), ending  # gone without waiting for another start


def test_an_ordinary_workbook_is_answered_in_seconds_while_two_slow_ones_hold_the_workers(tmp_path: Path,
                                                                                           good: Path) -> None:
    padded = build_case(CASES["100,000 blank formatted rows under a table"], tmp_path)  # its marked-up copy is slow
    with serving(tmp_path, workers=2, annotate_seconds=15) as s:
        slow: list[float] = []

        def upload_slow() -> None:
            status, page, seconds = s.upload(padded)
            assert status == 200 and "Ready to submit" in page
            slow.append(seconds)

        holders = [threading.Thread(target=upload_slow) for _ in range(2)]
        for t in holders:
            t.start()
        time.sleep(3)  # both regular workers are now on the slow files' marked-up copies
        status, page, seconds = s.upload(good)
        for t in holders:
            t.join(120)
    assert status == 200 and "Ready to submit" in page
    assert len(slow) == 2 and min(slow) > seconds  # it did not wait behind them
    assert seconds < 10, seconds  # about 1.5 s alone; the three share two cores
    print(f"an ordinary workbook took {seconds:.1f} s while two slow ones took {slow[0]:.1f} s and {slow[1]:.1f} s")
