from __future__ import annotations

import socket
import subprocess
import sys

from byok_audit.harness.pidmap import client_pid


def test_finds_the_process_on_the_client_side_of_a_loopback_connection():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = (
            "import socket,sys,time\n"
            f"s=socket.create_connection(('127.0.0.1',{port}))\n"
            "print(s.getsockname()[1],flush=True)\n"
            "sys.stdin.read()\n"
        )
        child = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            client_port = int(child.stdout.readline())
            conn, _ = server.accept()
            with conn:
                assert client_pid("127.0.0.1", client_port, port) == child.pid
        finally:
            child.stdin.close()
            child.wait()


def test_unknown_connection_gives_none():
    assert client_pid("127.0.0.1", 1, 2) is None
    assert client_pid("not an ip", 1, 2) is None
