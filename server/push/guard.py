"""Outgoing push requests reach only public internet addresses (SSRF guard at send time).

A push endpoint is a URL a browser handed us; its host name can point anywhere, and can be
changed after it was checked (``127.0.0.1.nip.io``, DNS rebinding). So the check is made
on the address the connection actually reached: every socket the push HTTP session opens
is refused unless its peer is a global unicast address. Loopback (127.0.0.0/8, ::1) is let
through only with ``push_allow_insecure_endpoints`` (the test suite's local receiver;
production never sets it); private, link-local (cloud metadata 169.254.169.254),
multicast, reserved and unspecified addresses never are.
"""

from __future__ import annotations

import ipaddress
import socket

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class RefusedAddress(requests.ConnectionError):
    """The endpoint's host resolved to an address the server must not call."""


def address_problem(ip_text: str, allow_loopback: bool) -> str | None:
    """Why the server must not connect to this address, or None."""
    ip = ipaddress.ip_address(ip_text.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback else f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_private or ip.is_reserved or ip.is_unspecified or ip.is_multicast or not ip.is_global:
        return f"{ip} is not a public internet address"
    return None


def _checked(sock: socket.socket, host: str, allow_loopback: bool) -> socket.socket:
    problem = address_problem(sock.getpeername()[0], allow_loopback)
    if problem:
        sock.close()
        raise RefusedAddress(f"refused: {host} resolves to {problem}")
    return sock


class _HTTP(HTTPConnection):
    allow_loopback = False

    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn(), self.host, self.allow_loopback)


class _HTTPS(HTTPSConnection):
    allow_loopback = False

    def _new_conn(self) -> socket.socket:
        return _checked(super()._new_conn(), self.host, self.allow_loopback)


def _pools(allow_loopback: bool) -> dict[str, type]:
    http = type("GuardedHTTP", (_HTTP,), {"allow_loopback": allow_loopback})
    https = type("GuardedHTTPS", (_HTTPS,), {"allow_loopback": allow_loopback})
    return {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


class GuardedAdapter(HTTPAdapter):
    def __init__(self, allow_loopback: bool = False) -> None:
        self.allow_loopback = allow_loopback
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pools(self.allow_loopback)


def guarded_session(allow_loopback: bool = False) -> requests.Session:
    """A requests session whose every connection passes ``address_problem``. Proxies from
    the environment are not used: the peer checked must be the push service itself."""
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter(allow_loopback)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
