"""Block network access for every Python process of the test run (issue: no network at run time).

Loaded two ways:
- in the pytest process, ``tests/conftest.py`` calls :func:`install`;
- in child Python processes (nbval's Jupyter kernels, the Sphinx book build), this folder is put
  on ``PYTHONPATH`` with ``ATTNMATH_BLOCK_NETWORK=1``, so Python imports it as ``sitecustomize``
  at start-up and installs the guard before any user code runs.

Loopback (127.0.0.0/8, ::1) and Unix sockets stay open: Jupyter kernels talk to pytest over
loopback TCP, and the browser test serves the book on 127.0.0.1. Everything else raises
``OSError`` naming the address, so an accidental download fails loudly instead of hanging.
"""

from __future__ import annotations

import ipaddress
import os
import socket

_MARK = "_attnmath_netguard"


class NetworkBlocked(OSError):
    pass


def _is_local(address) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths and other families: not the network
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost would need DNS: refuse


def install() -> None:
    if getattr(socket, _MARK, False):
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise NetworkBlocked(f"attnmath tests: network access blocked (connect to {address!r})")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise NetworkBlocked(f"attnmath tests: network access blocked (connect_ex to {address!r})")
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in (None, "localhost", "") and not _is_local((host if isinstance(host, str) else "",)):
            raise NetworkBlocked(f"attnmath tests: network access blocked (DNS lookup of {host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    setattr(socket, _MARK, True)


if os.environ.get("ATTNMATH_BLOCK_NETWORK") == "1":
    install()
