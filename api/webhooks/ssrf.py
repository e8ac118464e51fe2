"""Where a webhook may go: a public https URL, checked at creation and at every attempt.

A webhook URL is chosen by a customer and fetched by our servers, so without
rules it would reach whatever our network reaches: the cloud metadata service at
169.254.169.254, a database on 10.0.0.5, this machine's loopback. So:

* https only, unless `WEBHOOKS_ALLOW_HTTP`; no credentials in the URL;
* the host is resolved once per attempt and every address it resolves to must be
  public: loopback, private, link-local (cloud metadata included), shared CGNAT
  (100.64.0.0/10), multicast, reserved and unspecified addresses are refused, and
  so are IPv6 unique-local and link-local ones and the IPv6 forms that carry one
  of those IPv4 addresses inside (IPv4-mapped, IPv4-compatible, 6to4, NAT64);
* the sender then connects to the address that was checked, never resolving the
  name a second time, so DNS rebinding cannot swap it for a private one between
  the check and the connection (TLS still verifies the certificate for the name).

`WEBHOOKS_ALLOW_PRIVATE=1` lifts the address rule, for development and tests
(`make run` sets it so a receiver on this machine works).
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4_RULES = [
    (ipaddress.ip_network("0.0.0.0/8"), "unspecified"),
    (ipaddress.ip_network("127.0.0.0/8"), "loopback"),
    (ipaddress.ip_network("169.254.0.0/16"), "link-local (where cloud metadata services live)"),
    (ipaddress.ip_network("10.0.0.0/8"), "private"),
    (ipaddress.ip_network("172.16.0.0/12"), "private"),
    (ipaddress.ip_network("192.168.0.0/16"), "private"),
    (ipaddress.ip_network("100.64.0.0/10"), "shared (carrier-grade NAT)"),
    (ipaddress.ip_network("224.0.0.0/4"), "multicast"),
    (ipaddress.ip_network("240.0.0.0/4"), "reserved"),  # 255.255.255.255 included
]
_V6_RULES = [
    (ipaddress.ip_network("::/128"), "unspecified"),
    (ipaddress.ip_network("::1/128"), "loopback"),
    (ipaddress.ip_network("fe80::/10"), "link-local"),
    (ipaddress.ip_network("fc00::/7"), "unique local"),
    (ipaddress.ip_network("fec0::/10"), "site-local"),
    (ipaddress.ip_network("ff00::/8"), "multicast"),
]
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """A URL or address a webhook may not go to; `reason` says why, for people."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`addresses`) and what to ask for there."""

    scheme: str
    host: str  # the name (IDNA) or address literal, as TLS and the Host header need it
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for, where it is one of those forms."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress) -> str | None:
    """Why a webhook may not go to `address`, or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            why = refusal(inner)
            return f"{why} (IPv4 {inner} inside IPv6)" if why else None
        rules = _V6_RULES
    else:
        rules = _V4_RULES
    for network, why in rules:
        if address in network:
            return why
    # Documentation, benchmarking, Teredo and the other special ranges.
    return None if address.is_global else "non-public"


def parse(url: str, *, allow_http: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL a webhook may use; Refused otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise Refused("invalid_url", f"A URL is at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise Refused("invalid_url", "This is not a valid URL.") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise Refused(
            "scheme",
            "Webhook URLs must use https." if not allow_http else "Use an http(s) URL.",
        )
    if not parts.hostname:
        raise Refused("invalid_url", "The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise Refused(
            "invalid_url",
            "Credentials in the URL are not supported: receivers verify our signature instead.",
        )
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise Refused("invalid_url", "The URL's host name is not valid.") from None
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def getaddrinfo(host: str, port: int):
    """The one DNS look-up of an attempt (a seam tests replace to stand in for DNS)."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def _literal(host: str) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        return []


def _lookup(host: str, port: int) -> list[IPAddress]:
    try:
        found = getaddrinfo(host, port)
    except (OSError, UnicodeError):
        found = []
    # Scoped IPv6 addresses come back as "fe80::1%eth0": the scope is not the address.
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    if not addresses:
        raise Refused("unresolvable", f"The host {host} does not resolve.")
    return list(dict.fromkeys(addresses))


def resolve(url: str, *, allow_http: bool, allow_private: bool) -> Target:
    """Check `url`, resolve its host once and check every address; Refused if not allowed."""
    scheme, host, port, path = parse(url, allow_http=allow_http)
    addresses = _literal(host) or _lookup(host, port)
    if not allow_private:
        for address in addresses:
            why = refusal(address)
            if why is not None:
                named = "" if str(address) == host else f"{host} resolves to "
                raise Refused(
                    "address",
                    f"{named}{address}, which is not a public address ({why}); "
                    "webhooks only go to public addresses.",
                )
    return Target(scheme, host, port, path, tuple(str(address) for address in addresses))
