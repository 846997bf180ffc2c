"""Which local process owns a loopback TCP connection (best effort, Linux ``/proc`` only).

Lets an exchange say *which* process talked to the proxy: the target, a helper it spawned, or something
else on the machine. Any failure (no /proc, permissions, the socket already closed) gives ``None``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from pathlib import Path


def _hex_addr(ip: str, port: int) -> str:
    """The ``/proc/net/tcp`` spelling of an IPv4 address: little-endian hex IP, big-endian hex port."""
    packed = ipaddress.IPv4Address(ip).packed
    return f"{packed[::-1].hex().upper()}:{port:04X}"


_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NLMSG_ERROR = 2
_ALL_STATES = 0xFFFFFFFF
_NO_COOKIE = 0xFFFFFFFF


def _diag_inode(
    local_ip: str, local_port: int, remote_port: int, remote_ip: str = "127.0.0.1"
) -> int | None:
    """Exact-socket lookup through netlink sock_diag: constant time, however many sockets exist."""
    src = ipaddress.IPv4Address(local_ip).packed + bytes(12)
    dst = ipaddress.IPv4Address(remote_ip).packed + bytes(12)
    sockid = struct.pack(">HH", local_port, remote_port) + src + dst
    sockid += struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)
    request = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, _ALL_STATES) + sockid
    header = struct.pack("=IHHII", 16 + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as sock:
        sock.settimeout(1.0)
        sock.sendall(header + request)
        reply = sock.recv(8192)
    _length, kind = struct.unpack_from("=IH", reply)
    if kind != _SOCK_DIAG_BY_FAMILY or len(reply) < 16 + 72:
        return None
    return int(struct.unpack_from("=I", reply, 16 + 68)[0]) or None


def _proc_inode(local_ip: str, local_port: int, remote_port: int) -> int | None:
    """Fallback: scan ``/proc/net/tcp`` (slow when the table holds thousands of sockets)."""
    local = _hex_addr(local_ip, local_port)
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) > 9 and parts[1] == local and parts[2].endswith(f":{remote_port:04X}"):
            return int(parts[9])
    return None


def socket_inode(
    local_ip: str, local_port: int, remote_port: int, remote_ip: str = "127.0.0.1"
) -> int | None:
    """The inode of the socket whose local end is ``local_ip:local_port`` talking to
    ``remote_ip:remote_port`` (the proxy on loopback, or under sealed egress the address the target
    dialled directly)."""
    local_ip = local_ip.removeprefix("::ffff:")
    remote_ip = remote_ip.removeprefix("::ffff:")
    try:
        ipaddress.IPv4Address(local_ip)
        ipaddress.IPv4Address(remote_ip)
    except ValueError:
        return None
    try:
        return _diag_inode(local_ip, local_port, remote_port, remote_ip)
    except OSError:
        pass
    try:
        return _proc_inode(local_ip, local_port, remote_port)
    except OSError:
        return None


def _holds(pid: int, wanted: str) -> bool:
    try:
        return any(os.readlink(fd.path) == wanted for fd in os.scandir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def descendants(pids: list[int]) -> list[int]:
    """``pids`` and every process below them (via ``/proc/PID/task/TID/children``)."""
    found: list[int] = []
    queue = list(pids)
    while queue:
        pid = queue.pop(0)
        if pid in found:
            continue
        found.append(pid)
        try:
            for task in os.scandir(f"/proc/{pid}/task"):
                text = Path(task.path, "children").read_text()
                queue += [int(child) for child in text.split()]
        except OSError:
            continue
    return found


def pid_of_socket(inode: int, hints: list[int] = (), skip_pid: int | None = None) -> int | None:
    """The process holding ``socket:[inode]``: the hinted processes and their children first (cheap),
    then every process (a full /proc scan costs ~10 ms on a small machine)."""
    wanted = f"socket:[{inode}]"
    for pid in descendants(list(hints)):
        if pid != skip_pid and _holds(pid, wanted):
            return pid
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != skip_pid and _holds(int(entry.name), wanted):
            return int(entry.name)
    return None


def client_pid(
    client_ip: str,
    client_port: int,
    proxy_port: int,
    hints: list[int] = (),
    server_ip: str = "127.0.0.1",
) -> int | None:
    """The pid of the process on the client side of a connection to the proxy, if it can be found."""
    inode = socket_inode(client_ip, client_port, proxy_port, server_ip or "127.0.0.1")
    if not inode:
        return None
    return pid_of_socket(inode, hints, skip_pid=os.getpid())
