"""A real uvicorn server on a free loopback port, in a background thread.

For tests, the screenshot script and the benchmark: the socket is bound before the server
starts (port 0, chosen by the kernel), so parallel test workers never race for a port.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Iterator


@contextlib.contextmanager
def running_server(app=None, host: str = "127.0.0.1", log_level: str = "warning") -> Iterator[str]:
    """Serve `app` (default: create_app()) and yield its base URL, e.g. http://127.0.0.1:43121."""
    import uvicorn

    if app is None:
        from visafree.api import create_app

        app = create_app()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off", server_header=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn-{port}")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
