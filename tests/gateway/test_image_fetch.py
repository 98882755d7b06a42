"""The SSRF guard's address rules and allow-list (gateway/image_fetch.py), without a network:
every address below is refused or allowed before any connection is tried."""

from __future__ import annotations

import ipaddress
import json

import pytest

from myia.gateway.errors import GatewayError
from myia.gateway.image_fetch import FetchPolicy, ImageFetchError, ImageUrls, _target, is_public
from myia.gateway.settings import GatewaySettings
from myia.gateway.wire_in import parse_request

NOT_PUBLIC = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "::1",
    "10.1.2.3",  # RFC 1918
    "172.16.0.1",
    "192.168.1.1",
    "fc00::1",  # unique local
    "fd12:3456::1",
    "169.254.169.254",  # link-local: the cloud metadata address
    "169.254.0.1",
    "fe80::1",
    "0.0.0.0",  # unspecified
    "::",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "ff02::1",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "100.64.0.1",  # shared address space (CGNAT)
    "100.127.255.254",
    "::ffff:127.0.0.1",  # IPv4-mapped IPv6 of the above
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "192.0.2.1",  # documentation
    "2001:db8::1",
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "100.128.0.1"]
POLICY = FetchPolicy(max_bytes=1024, timeout_s=1, max_redirects=1)


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_not_public_addresses(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.png",
        "http://[::1]:8080/a.png",
        "http://[::ffff:127.0.0.1]/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/a.png",
        "http://100.64.0.1/a.png",
        "http://0.0.0.0/a.png",
        "http://2130706433/a.png",  # 127.0.0.1 as one number, resolved by the system
        "http://0x7f.1/a.png",
        "http://localhost/a.png",
        "ftp://example.com/a.png",
        "http://user:pw@example.com/a.png",
        "http:///a.png",
        "http://example.com:99999/a.png",
        "http://" + "a" * 9000 + ".com/a.png",
    ],
)
async def test_refused_before_any_connection(url: str) -> None:
    with pytest.raises(ImageFetchError) as refused:
        await _target(url, POLICY)
    # Words for the client: never an address or a resolver's answer.
    assert "127.0.0.1" not in str(refused.value) and "::1" not in str(refused.value)


async def test_allow_list_names_hosts_and_networks() -> None:
    hosts, networks = FetchPolicy.parse_allow(" images.corp , 127.0.0.1, 10.1.0.0/16,[::1] ")
    assert hosts == frozenset({"images.corp"})
    assert {str(n) for n in networks} == {"127.0.0.1/32", "10.1.0.0/16", "::1/128"}
    policy = FetchPolicy(
        max_bytes=1024,
        timeout_s=1,
        max_redirects=1,
        allowed_hosts=hosts,
        allowed_networks=networks,
    )
    # Allowed: the connection goes to the checked address, the name stays in Host.
    target = await _target("http://127.0.0.1:8080/a.png?x=1", policy)
    assert target.urls == ("http://127.0.0.1:8080/a.png?x=1",)
    assert target.host_header == "127.0.0.1:8080"
    mapped = await _target("http://[::ffff:127.0.0.1]/a.png", policy)
    assert mapped.urls == ("http://[::ffff:127.0.0.1]:80/a.png",)
    assert (await _target("http://10.1.200.3/a.png", policy)).sni is None
    # Still refused: a loopback address outside the allowed /32, another private network.
    for url in ("http://127.0.0.2/a.png", "http://10.2.0.1/a.png", "http://169.254.169.254/"):
        with pytest.raises(ImageFetchError):
            await _target(url, policy)


async def test_fetching_switched_off_refuses_the_url_by_name() -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "and this?"},
                    {"type": "image_url", "image_url": {"url": "https://images.example/a.png"}},
                ],
            },
        ],
    }
    request = parse_request(json.dumps(body).encode())
    assert request.needs.vision
    off = ImageUrls(GatewaySettings(GATEWAY_IMAGE_FETCH=False))
    with pytest.raises(GatewayError) as refused:
        await off.resolve(request.chat)
    assert refused.value.status == 400
    assert refused.value.param == "messages[2].content[1].image_url.url"
    assert "GATEWAY_IMAGE_FETCH" in refused.value.message
    none = ImageUrls(GatewaySettings(GATEWAY_IMAGE_MAX_URLS=0))
    with pytest.raises(GatewayError) as too_many:
        await none.resolve(request.chat)
    assert too_many.value.param == "messages[2].content[1].image_url.url"
