"""Issue 12: a `place:` query behind a stalled proxy failed only after 204 s, silently."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time


def _stalled_proxy() -> tuple[socket.socket, int]:
    """A proxy on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)  # keep it open, say nothing

    threading.Thread(target=accept, daemon=True).start()
    return server, server.getsockname()[1]


def test_place_query_behind_a_stalled_proxy_times_out_with_a_message():
    server, port = _stalled_proxy()
    proxy = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
        "http_proxy": proxy,
        "https_proxy": proxy,
        "NO_PROXY": "",
        "no_proxy": "",
        "FLEETSIM_PLACE_TIMEOUT": "3",
    }
    start = time.monotonic()
    try:
        p = subprocess.run(
            [sys.executable, "-m", "sim.cli", "network", "info", "--network", "place:Nowhere"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,  # before: 180 s per request, 204 s in all, nothing printed
        )
    finally:
        server.close()
    elapsed = time.monotonic() - start
    assert p.returncode == 2, p.stderr
    assert "querying OpenStreetMap for 'Nowhere'" in p.stderr  # said while waiting
    assert "timed out after 3 s" in p.stderr or "failed" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    assert elapsed < 30, elapsed
