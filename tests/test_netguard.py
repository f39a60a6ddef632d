"""The session-wide network block holds in this process and in child Python processes."""

import os
import socket
import subprocess
import sys
import threading

import pytest


def test_outbound_connections_are_blocked_in_process():
    with pytest.raises(OSError, match="network access blocked"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    with pytest.raises(OSError, match="network access blocked"):
        socket.getaddrinfo("pypi.org", 443)


def test_loopback_stays_open():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted = []
    t = threading.Thread(target=lambda: accepted.append(server.accept()))
    t.start()
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    t.join(5)
    assert accepted, "loopback connection was not accepted"
    client.close()
    accepted[0][0].close()
    server.close()


def test_child_python_processes_are_blocked_too():
    code = "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=1)\nexcept OSError as e:\n    print(e)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, timeout=60)
    assert "network access blocked" in out.stdout, out
