from __future__ import annotations

import os
import socket
import subprocess
import sys

from byok_audit.harness.pidmap import (
    _diag_inode,
    _proc_inode,
    client_pid,
    descendants,
    socket_inode,
)


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


def test_hinted_parent_finds_a_socket_held_by_its_child():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        grandchild = (
            "import socket,sys\n"
            f"s=socket.create_connection(('127.0.0.1',{port}))\n"
            "print(s.getsockname()[1],flush=True)\n"
            "sys.stdin.read()\n"
        )
        code = (
            "import subprocess,sys\n"
            f"p=subprocess.Popen([sys.executable,'-c',{grandchild!r}],stdin=sys.stdin,stdout=sys.stdout)\n"
            "p.wait()\n"
        )
        parent = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            client_port = int(parent.stdout.readline())
            conn, _ = server.accept()
            with conn:
                found = client_pid("127.0.0.1", client_port, port, hints=[parent.pid])
                assert found is not None and found != parent.pid
                assert found in descendants([parent.pid])
        finally:
            parent.stdin.close()
            parent.wait()


def test_netlink_and_proc_lookups_agree_with_the_socket_itself():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            conn, _ = server.accept()
            with conn:
                local_port = client.getsockname()[1]
                expected = os.fstat(client.fileno()).st_ino
                assert _diag_inode("127.0.0.1", local_port, port) == expected
                assert _proc_inode("127.0.0.1", local_port, port) == expected
                assert socket_inode("::ffff:127.0.0.1", local_port, port) == expected
