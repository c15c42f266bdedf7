"""Downloading from the web when a user allows it (remote images, `book import URL`): one
policy, within bounds a hostile source cannot stretch.

- http and https only, after every redirect too, and at most :data:`MAX_REDIRECTS` redirects;
- a timeout to connect and for each read, and a deadline for the whole download;
- at most `limit` bytes, refused before they are read when the server announces more;
- unless `allow_private`, no address on this machine or its networks (loopback, private,
  link-local, unique-local…: anything that is not a global address): building or importing an
  untrusted text on a server must not become a way into that server's network (SSRF).  The
  address checked is the address connected to, so a name that resolves differently the second
  time (DNS rebinding) changes nothing.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
import urllib.parse

MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 10.0  # seconds to connect, and for each read
DEADLINE = 60.0  # seconds for one download, redirects included, whatever the server does


class DownloadError(Exception):
    """Why a download failed, in words for a message; `status` is the HTTP status when the
    server answered with one, `refused` says the policy (not the network) stopped it."""

    def __init__(self, why: str, status: int | None = None, refused: bool = False):
        super().__init__(why)
        self.status = status
        self.refused = refused


def download(url: str, *, limit: int, allow_private: bool = False, deadline: float | None = None,
             accept: str = "*/*", user_agent: str = "book") -> bytes:
    """The body of a 200 answer for `url`, following redirects; DownloadError otherwise."""
    end = time.monotonic() + (DEADLINE if deadline is None else deadline)
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        status, headers, body = _get(current, limit, end, allow_private, accept, user_agent)
        if status in (301, 302, 303, 307, 308):
            location = headers.get("location")
            if not location:
                raise DownloadError(f"HTTP {status} without a Location", status)
            current = urllib.parse.urljoin(current, location.strip())
            continue
        if status != 200:
            raise DownloadError(f"HTTP {status}", status)
        return body
    raise DownloadError(f"more than {MAX_REDIRECTS} redirects", refused=True)


def _get(url: str, limit: int, end: float, allow_private: bool, accept: str,
         user_agent: str) -> tuple[int, dict, bytes]:
    """One GET: (status, lower-case headers, body); the body is read only for a 200."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise DownloadError(f"'{parts.scheme or url[:20]}' is not an http(s) address", refused=True)
    host = parts.hostname
    try:
        port = parts.port or (443 if scheme == "https" else 80)
        address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0]
    except (OSError, ValueError) as e:
        raise DownloadError(f"cannot resolve {host}: {e}") from None
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not allow_private and not ip.is_global:
        raise DownloadError(f"{host} is {ip}, an address on this machine or a private network", refused=True)
    remaining = end - time.monotonic()
    if remaining <= 0:
        raise DownloadError("no answer in time")
    timeout = min(CONNECT_TIMEOUT, remaining)

    class Pinned(http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection):
        def connect(self):  # to the address that was checked, not a new lookup
            self.sock = socket.create_connection((address, port), timeout)
            if scheme == "https":
                self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=host)

    conn = Pinned(host, port, timeout=timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", path, headers={"User-Agent": user_agent, "Accept": accept, "Accept-Encoding": "identity"})
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        if response.status != 200:
            return response.status, headers, b""
        length = headers.get("content-length", "")
        too_big = (f"more than book downloads ({limit // 1048576} MB)" if limit >= 1048576
                   else f"more than book downloads ({limit:,} bytes)")
        if length.isdigit() and int(length) > limit:
            raise DownloadError(too_big, refused=True)
        body = bytearray()
        while True:
            if time.monotonic() > end:
                raise DownloadError("not complete in time")
            chunk = response.read1(65536)
            if not chunk:
                break
            body += chunk
            if len(body) > limit:
                raise DownloadError(too_big, refused=True)
        return response.status, headers, bytes(body)
    except (OSError, http.client.HTTPException) as e:
        raise DownloadError(str(getattr(e, "reason", None) or e) or type(e).__name__) from None
    finally:
        conn.close()
