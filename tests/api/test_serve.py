"""`visafree serve`, the README's main command, as a real process on a free port."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_visafree_serve_serves_the_page_and_the_api():
    port = free_port()
    exe = Path(sys.executable).with_name("visafree")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from visafree.cli import main; main()"]
    proc = subprocess.Popen([*cmd, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "visafree serve did not answer within 30 s"
            time.sleep(0.1)
        page = httpx.get(url + "/")
        assert page.status_code == 200 and 'src="/static/app.js"' in page.text
        r = httpx.post(url + "/api/v1/check", json={"regime": "vn-kz", "nationality": "VNM", "destination": "KAZ",
                                                    "on": "2025-03-10", "stays": [{"entry": "2025-03-01"}]})
        assert r.json()["current_stay"]["latest_exit"] == "2025-03-30"  # day 30 from Mar 1 (R3)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    out = proc.stdout.read().decode()
    # Nothing about the traveller reaches the log: no access log lines with paths or bodies.
    assert "/api/v1/check" not in out and "2025-03-01" not in out
