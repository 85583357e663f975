"""The generated test zones: cluster.local. (1,000 services with A, SRV, some AAAA and TXT, plus
big/medium names for truncation), 10.in-addr.arpa., d.f.ip6.arpa. and example., and the names the
tests and the benchmark ask for."""
from __future__ import annotations

from pathlib import Path

import dns.reversename

# ------------------------------------------------------------------------------------------------
# Zones
# ------------------------------------------------------------------------------------------------
NAMESPACES = 10       # ns-0 .. ns-9
SERVICES = 100        # svc-0 .. svc-99 per namespace -> 1,000 services
WILD_ZONE = "wild.cluster.local."  # *.wild.cluster.local. A WILD_A: as many NOERROR names as a test needs
WILD_A = "10.250.0.1"
BIG_A_COUNT = 100     # big.cluster.local: 100 A records, about 1,650 bytes on the wire
MEDIUM_A_COUNT = 50   # medium.cluster.local: about 850 bytes: > 512, < 1232


def svc_name(n: int, m: int) -> str:
    return f"svc-{n}.ns-{m}.svc.cluster.local."


def svc_ipv4(n: int, m: int) -> str:
    return f"10.1.{m}.{n}"


def has_aaaa(n: int) -> bool:
    return n % 4 == 0


def svc_ipv6(n: int, m: int) -> str:
    return f"fd00::1:{m:x}:{n:x}"


def has_txt(n: int) -> bool:
    return n % 10 == 0


def svc_txt(n: int, m: int) -> list[str]:
    return [f"svc=svc-{n}", f"ns=ns-{m}"]


def srv_name(n: int, m: int) -> str:
    return f"_http._tcp.svc-{n}.ns-{m}.svc.cluster.local."


def ptr_name(n: int, m: int) -> str:
    return dns.reversename.from_address(svc_ipv4(n, m)).to_text()


def ptr6_name(n: int, m: int) -> str:
    return dns.reversename.from_address(svc_ipv6(n, m)).to_text()


EXAMPLE_A = "192.0.2.80"  # www.example. (served for the "." block)


def _soa(zone: str, negative_ttl: int) -> str:
    # The SOA's own TTL is long; negative answers carry min(SOA TTL, MINIMUM) per RFC 2308 §5.
    return (f"{zone} 3600 IN SOA ns.cluster.local. hostmaster.cluster.local. "
            f"1 3600 600 86400 {negative_ttl}\n"
            f"{zone} 3600 IN NS ns.cluster.local.\n")


def wild_name(label: str) -> str:
    """A name the wildcard answers NOERROR (A WILD_A): LABEL.wild.cluster.local."""
    return f"{label}.{WILD_ZONE}"


def write_zones(directory: Path, ttl: int = 30, negative_ttl: int = 5) -> dict[str, str]:
    """Writes the test zones into `directory`; returns {zone name: file name}."""
    cl = [f"$TTL {ttl}\n", _soa("cluster.local.", negative_ttl), "ns.cluster.local. 3600 IN A 127.0.0.1\n"]
    rev4 = [f"$TTL {ttl}\n", _soa("10.in-addr.arpa.", negative_ttl)]
    rev6 = [f"$TTL {ttl}\n", _soa("d.f.ip6.arpa.", negative_ttl)]
    for m in range(NAMESPACES):
        for n in range(SERVICES):
            name = svc_name(n, m)
            cl.append(f"{name} IN A {svc_ipv4(n, m)}\n")
            cl.append(f"{srv_name(n, m)} IN SRV 0 100 80 {name}\n")
            rev4.append(f"{ptr_name(n, m)} IN PTR {name}\n")
            if has_aaaa(n):
                cl.append(f"{name} IN AAAA {svc_ipv6(n, m)}\n")
                rev6.append(f"{ptr6_name(n, m)} IN PTR {name}\n")
            if has_txt(n):
                cl.append(f"{name} IN TXT " + " ".join(f'"{t}"' for t in svc_txt(n, m)) + "\n")
    cl.append(f"*.{WILD_ZONE} IN A {WILD_A}\n")
    for i in range(BIG_A_COUNT):
        cl.append(f"big.cluster.local. IN A 10.200.{i // 250}.{i % 250 + 1}\n")
    for i in range(MEDIUM_A_COUNT):
        cl.append(f"medium.cluster.local. IN A 10.201.0.{i + 1}\n")
    example = [f"$TTL {ttl}\n", _soa("example.", negative_ttl), f"www.example. IN A {EXAMPLE_A}\n"]
    files = {
        "cluster.local.": "cluster.local.zone",
        "10.in-addr.arpa.": "10.in-addr.arpa.zone",
        "d.f.ip6.arpa.": "d.f.ip6.arpa.zone",
        "example.": "example.zone",
    }
    for zone, lines in (("cluster.local.", cl), ("10.in-addr.arpa.", rev4),
                        ("d.f.ip6.arpa.", rev6), ("example.", example)):
        (directory / files[zone]).write_text("".join(lines))
    return files


def bench_queries() -> list[str]:
    """Every name in the zones once, as dnsperf input lines "NAME TYPE"."""
    out = []
    for m in range(NAMESPACES):
        for n in range(SERVICES):
            out.append(f"{svc_name(n, m)} A")
            out.append(f"{srv_name(n, m)} SRV")
            out.append(f"{ptr_name(n, m)} PTR")
            if has_aaaa(n):
                out.append(f"{svc_name(n, m)} AAAA")
            if has_txt(n):
                out.append(f"{svc_name(n, m)} TXT")
    return out
