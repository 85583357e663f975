"""A point-to-point link between two network namespaces made of two TUN devices and a thread that
copies packets between them (this kernel has no veth). ctypes setns(2) enters each namespace for
the thread that opens its TUN device; once open, the file descriptors work from anywhere.

    with TunRelay("hf-pod-1", "tunpod", "hf-node-1", "tunnode"):
        ...  # configure addresses and routes with `ip -n NS ...`
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import select
import struct
import threading
from typing import Iterator

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

_libc = ctypes.CDLL(None, use_errno=True)


def setns(fd: int) -> None:
    """Moves the calling thread into the network namespace open at `fd`."""
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def in_netns(name: str) -> Iterator[None]:
    """The calling thread runs in network namespace `name` (ip netns's /run/netns/NAME) inside."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        setns(target)
        try:
            yield
        finally:
            setns(own)
    finally:
        os.close(target)
        os.close(own)


def open_tun(netns: str, ifname: str) -> int:
    """Creates TUN device `ifname` (no packet info header) in `netns`; it lives while the fd is
    open."""
    with in_netns(netns):
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
        try:
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", ifname.encode(), IFF_TUN | IFF_NO_PI))
        except OSError:
            os.close(fd)
            raise
    return fd


class TunRelay:
    """TUN `if_a` in `ns_a` <-> TUN `if_b` in `ns_b`, relayed by a daemon thread until stop()."""

    def __init__(self, ns_a: str, if_a: str, ns_b: str, if_b: str):
        self.fd_a = open_tun(ns_a, if_a)
        self.fd_b = open_tun(ns_b, if_b)
        self._wake_r, self._wake_w = os.pipe()
        self.packets = 0
        self._thread = threading.Thread(target=self._run, name="tunrelay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        peer = {self.fd_a: self.fd_b, self.fd_b: self.fd_a}
        while True:
            ready, _, _ = select.select([self.fd_a, self.fd_b, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            for fd in ready:
                try:
                    packet = os.read(fd, 65535)
                    os.write(peer[fd], packet)
                    self.packets += 1
                except OSError:
                    pass  # the other side is not up yet (EIO) or a full queue: a lost packet

    def stop(self) -> None:
        if self._thread.is_alive():
            os.write(self._wake_w, b"x")
            self._thread.join(5)
        for fd in (self.fd_a, self.fd_b, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> "TunRelay":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
