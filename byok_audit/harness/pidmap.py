"""Which local process owns a loopback TCP connection (best effort, Linux ``/proc`` only).

Lets an exchange say *which* process talked to the proxy: the target, a helper it spawned, or something
else on the machine. Any failure (no /proc, permissions, the socket already closed) gives ``None``.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path


def _hex_addr(ip: str, port: int) -> str:
    """The ``/proc/net/tcp`` spelling of an IPv4 address: little-endian hex IP, big-endian hex port."""
    packed = ipaddress.IPv4Address(ip).packed
    return f"{packed[::-1].hex().upper()}:{port:04X}"


def socket_inode(local_ip: str, local_port: int, remote_port: int) -> int | None:
    """The inode of the socket whose local end is ``local_ip:local_port`` talking to ``remote_port``."""
    if local_ip.startswith("::ffff:"):
        local_ip = local_ip.removeprefix("::ffff:")
    try:
        local = _hex_addr(local_ip, local_port)
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except (ValueError, OSError):
        return None
    for line in lines:
        parts = line.split()
        if len(parts) > 9 and parts[1] == local and parts[2].endswith(f":{remote_port:04X}"):
            return int(parts[9])
    return None


def pid_of_socket(inode: int, skip_pid: int | None = None) -> int | None:
    """The first process holding ``socket:[inode]`` open."""
    wanted = f"socket:[{inode}]"
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == skip_pid:
            continue
        try:
            for fd in os.scandir(f"/proc/{entry.name}/fd"):
                if os.readlink(fd.path) == wanted:
                    return int(entry.name)
        except OSError:
            continue
    return None


def client_pid(client_ip: str, client_port: int, proxy_port: int) -> int | None:
    """The pid of the process on the client side of a connection to the proxy, if it can be found."""
    inode = socket_inode(client_ip, client_port, proxy_port)
    if not inode:
        return None
    return pid_of_socket(inode, skip_pid=os.getpid())
