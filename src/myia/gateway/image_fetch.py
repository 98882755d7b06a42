"""Image `http(s)` URLs of /v1 requests, fetched by the gateway with a guard against
server-side request forgery (docs/gateway.md, "Image URLs").

A client must not use the gateway to reach what only the gateway can reach. So, for every
URL and every redirect it leads to:
- the host is resolved here, and every address it resolves to must be public: not
  loopback, private (RFC 1918, fc00::/7), link-local (169.254/16 — the cloud metadata
  address 169.254.169.254 among them — fe80::/10), unspecified, multicast, reserved,
  shared (CGNAT 100.64/10), nor an IPv4 address of those inside IPv6 (::ffff:…, 6to4,
  NAT64) — unless the operator's allow-list (`GATEWAY_IMAGE_FETCH_ALLOW`) names the host
  or a network holding the address;
- the connection goes to the address that was checked (the URL is rewritten to it; the
  `Host` header and TLS's SNI and certificate check keep the name), so a second DNS answer
  cannot swap in another address between the check and the connection;
- redirects are followed here, one at a time, each re-checked, at most
  `GATEWAY_IMAGE_MAX_REDIRECTS`;
- the whole fetch has `GATEWAY_IMAGE_TIMEOUT_S`, the body is counted as it streams and cut
  past `GATEWAY_IMAGE_MAX_BYTES`, and the content type must be PNG, JPEG, GIF or WebP.
A refusal says why in words fit for the client, never an address, a DNS answer or an
exception's text: the client learns no more about the gateway's network than that a URL
was refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import urljoin, urlsplit

import httpx

from myia.gateway.errors import GatewayError, invalid
from myia.gateway.settings import GatewaySettings
from myia.providers.types import ChatRequest, ImageFormat, ImagePart

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

IMAGE_TYPES: Final[dict[str, ImageFormat]] = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
# The format is read from the bytes: servers mislabel images, and what is not one of these
# four is not sent upstream whatever its label says.
_MAGIC: tuple[tuple[bytes, ImageFormat], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_URL_CHARS = 8192
_NOT_PUBLIC = (
    "its host is not a public address, and the gateway fetches only public ones "
    "(an operator can allow a host or network with GATEWAY_IMAGE_FETCH_ALLOW)"
)


class ImageUrlPart(ImagePart):
    """An image given by URL, waiting to be fetched (`resolve_image_urls`): it carries an
    empty image until then, and where the request put it, for the error's `param`."""

    url: str
    param: str


class ImageFetchError(Exception):
    """Why a URL gave no image, in words for the client."""


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    max_bytes: int
    timeout_s: float
    max_redirects: int
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @staticmethod
    def parse_allow(text: str) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
        """`GATEWAY_IMAGE_FETCH_ALLOW`: host names, addresses and networks, comma-separated."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for item in (raw.strip() for raw in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return frozenset(hosts), tuple(networks)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), else the address."""
    if isinstance(ip, ipaddress.IPv6Address):
        return _embedded_ipv4(ip) or ip
    return ip


def is_public(ip: IPAddress) -> bool:
    ip = unwrap(ip)
    if (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT)
    ):
        return False
    return ip.is_global


def _permitted(ip: IPAddress, policy: FetchPolicy) -> bool:
    plain = unwrap(ip)
    return is_public(ip) or any(ip in net or plain in net for net in policy.allowed_networks)


async def _addresses(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ImageFetchError("its host name could not be resolved") from exc
    # A scope id (fe80::1%eth0) is not part of the address.
    found = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
    if not found:
        raise ImageFetchError("its host name could not be resolved")
    return found


@dataclass(frozen=True, slots=True)
class _Target:
    urls: tuple[str, ...]  # the URL rewritten to each checked address, in resolver order
    host_header: str
    sni: str | None


async def _target(url: str, policy: FetchPolicy) -> _Target:
    """The checked addresses to connect to for `url`, or why not."""
    if len(url) > MAX_URL_CHARS:
        raise ImageFetchError(f"the URL is longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ImageFetchError("it is not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise ImageFetchError("only http and https URLs are fetched")
    if parts.username is not None or parts.password is not None:
        raise ImageFetchError("URLs with a user name or password are not fetched")
    try:  # a Unicode host name travels as its IDNA (xn--…) form
        host = (parts.hostname or "").rstrip(".").encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ImageFetchError("its host name is not valid") from exc
    if not host:
        raise ImageFetchError("it has no host")
    addresses = await _addresses(host, port)
    if host.lower() not in policy.allowed_hosts and not all(
        _permitted(a, policy) for a in addresses
    ):
        raise ImageFetchError(_NOT_PUBLIC)
    literals = [f"[{ip}]" if isinstance(ip, ipaddress.IPv6Address) else str(ip) for ip in addresses]
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    default_port = port == (443 if parts.scheme == "https" else 80)
    host_header = host
    if ":" in host_header:
        host_header = f"[{host_header}]"
    if not default_port:
        host_header += f":{port}"
    return _Target(
        urls=tuple(dict.fromkeys(f"{parts.scheme}://{ip}:{port}{path}{query}" for ip in literals)),
        host_header=host_header,
        sni=host if parts.scheme == "https" else None,
    )


def _format_of(data: bytes) -> ImageFormat:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for magic, image_format in _MAGIC:
        if data.startswith(magic):
            return image_format
    raise ImageFetchError("the answer is not a PNG, JPEG, GIF or WebP image")


async def _body(response: httpx.Response, policy: FetchPolicy) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise ImageFetchError(f"the image is larger than {policy.max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > policy.max_bytes:
            raise ImageFetchError(f"the image is larger than {policy.max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _get(
    client: httpx.AsyncClient, url: str, target: _Target, policy: FetchPolicy
) -> ImagePart | str:
    """The image at one checked address, or where a redirect points (as the server wrote it)."""
    headers = {
        "host": target.host_header,
        "accept": ", ".join(IMAGE_TYPES),
        "accept-encoding": "identity",
        "user-agent": "MyIA-gateway-image-fetch",
    }
    extensions = {"sni_hostname": target.sni} if target.sni else {}
    async with client.stream("GET", url, headers=headers, extensions=extensions) as response:
        location = str(response.headers.get("location", ""))
        if response.status_code in _REDIRECTS and location:
            return location
        if response.status_code != 200:
            raise ImageFetchError(f"the image server answered HTTP {response.status_code}")
        media = response.headers.get("content-type", "").split(";")[0]
        if media.strip().lower() not in IMAGE_TYPES:
            raise ImageFetchError(
                "the answer is not an image (content type must be image/png, image/jpeg, "
                "image/gif or image/webp)"
            )
        data = await _body(response, policy)
        return ImagePart(format=_format_of(data), data=data)


async def _fetch(url: str, policy: FetchPolicy) -> ImagePart:
    # No pooled connection is kept: a TLS connection opened for one name must not carry a
    # request for another name that a redirect resolved to the same address.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(
        trust_env=False, follow_redirects=False, limits=limits, timeout=policy.timeout_s
    ) as client:
        for _ in range(policy.max_redirects + 1):
            target = await _target(url, policy)
            answer: ImagePart | str | None = None
            # Each checked address in turn, as a browser would: a name with an IPv6
            # address first is still reached from a host without an IPv6 route.
            for address_url in target.urls:
                try:
                    answer = await _get(client, address_url, target, policy)
                    break
                except httpx.ConnectError:
                    continue
                except httpx.HTTPError as exc:
                    raise ImageFetchError("the image server could not be reached") from exc
            if answer is None:
                raise ImageFetchError("the image server could not be reached")
            if isinstance(answer, ImagePart):
                return answer
            url = urljoin(url, answer)
        raise ImageFetchError(f"more than {policy.max_redirects} redirects")


async def fetch_image(url: str, policy: FetchPolicy) -> ImagePart:
    try:
        async with asyncio.timeout(policy.timeout_s):
            return await _fetch(url, policy)
    except TimeoutError as exc:
        raise ImageFetchError(f"the fetch took longer than {policy.timeout_s:g} s") from exc


async def _fetched(part: ImageUrlPart, policy: FetchPolicy) -> ImagePart:
    try:
        image = await fetch_image(part.url, policy)
    except ImageFetchError as exc:
        raise GatewayError(
            400,
            f"{part.param}: the image URL was not fetched: {exc}",
            param=part.param,
            code="invalid_image_url",
        ) from exc
    return image if part.detail is None else image.model_copy(update={"detail": part.detail})


async def fetch_images(parts: list[ImageUrlPart], policy: FetchPolicy) -> list[ImagePart]:
    """Every URL at once; the first refusal cancels the others and is the answer."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_fetched(part, policy)) for part in parts]
    except* GatewayError as errors:
        raise errors.exceptions[0] from None
    return [task.result() for task in tasks]


class ImageUrls:
    """The service's step: a request's image URLs replaced by the images they point to."""

    def __init__(self, settings: GatewaySettings) -> None:
        hosts, networks = FetchPolicy.parse_allow(settings.image_fetch_allow)
        self.enabled = settings.image_fetch
        self.max_urls = settings.image_max_urls
        self.policy = FetchPolicy(
            max_bytes=settings.image_max_bytes,
            timeout_s=settings.image_timeout_s,
            max_redirects=settings.image_max_redirects,
            allowed_hosts=hosts,
            allowed_networks=networks,
        )

    async def resolve(self, chat: ChatRequest) -> ChatRequest:
        pending = [p for m in chat.messages for p in m.content if isinstance(p, ImageUrlPart)]
        if not pending:
            return chat
        if not self.enabled:
            first = pending[0].param
            raise invalid(
                f"{first}: this server does not fetch image URLs (GATEWAY_IMAGE_FETCH); "
                "send the image as a data: URL (base64)",
                param=first,
            )
        if len(pending) > self.max_urls:
            extra = pending[self.max_urls].param
            raise invalid(
                f"{extra}: at most {self.max_urls} image URLs per request "
                "(GATEWAY_IMAGE_MAX_URLS); send the others as data: URLs (base64)",
                param=extra,
            )
        fetched = dict(zip(map(id, pending), await fetch_images(pending, self.policy), strict=True))
        messages = [
            m.model_copy(update={"content": [fetched.get(id(p), p) for p in m.content]})
            for m in chat.messages
        ]
        return chat.model_copy(update={"messages": messages})
