"""Helpers shared by the reload tests: Prometheus samples, dnsperf runs, reload log lines."""
from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Iterable

import harness as h


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def cache_block(port: int, upstream_port: int, ttl: int, *, bind: str,
                zone: str = "cluster.local", extra: str = "") -> str:
    """One `zone` block on `bind`:port forwarding to 127.0.0.1:upstream_port, caching answers and
    denials for up to `ttl` seconds."""
    return (f"{zone}:{port} {{\n"
            f"    bind {bind}\n"
            f"    forward . 127.0.0.1:{upstream_port}\n"
            f"    cache {{\n"
            f"        success 9984 {ttl}\n"
            f"        denial 9984 {ttl}\n"
            f"    }}\n"
            f"    errors\n"
            f"{extra}"
            f"}}\n")


def cache_counts(metrics_port: int, zones: str = "cluster.local.") -> tuple[float, float]:
    """(hits, misses) of the cache of `zones`, from coredns_cache_{hits,misses}_total."""
    text = scrape(metrics_port)
    return (h.sample(text, "coredns_cache_hits_total", zones=zones),
            h.sample(text, "coredns_cache_misses_total", zones=zones))


def warm_names() -> list[str]:
    """1,000 service names NSD serves (svc-N.ns-M.svc.cluster.local)."""
    return [h.svc_name(n, m) for m in range(10) for n in range(100)]


def warm(port: int, names: list[str], workdir: Path) -> dict:
    """Puts every name in the cache: one pass at a pace upstream_limits admit at once."""
    return perf_result(dnsperf(port, names, workdir, once=True, qps=2000))


def dnsperf(port: int, names: Iterable[str], workdir: Path, *, seconds: float = 0, qps: int = 0,
            once: bool = False) -> subprocess.Popen:
    """dnsperf against 127.0.0.1:port over `names` (type A): once through the list, or looping
    for `seconds` at most `qps` queries a second. Read the result with perf_result()."""
    path = Path(workdir) / f"names-{port}.txt"
    path.write_text("".join(f"{q} A\n" for q in names))
    argv = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(path), "-c", "4",
            "-q", "500", "-t", "3"]
    argv += ["-n", "1"] if once else ["-l", str(seconds)]
    if qps:
        argv += ["-Q", str(qps)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def perf_result(proc: subprocess.Popen, timeout: float = 60) -> dict:
    """{"sent", "completed", "lost", "noerror"} from dnsperf's summary."""
    out, _ = proc.communicate(timeout=timeout)
    result = {"output": out}
    for key, pattern in (("sent", r"Queries sent:\s+(\d+)"),
                         ("completed", r"Queries completed:\s+(\d+)"),
                         ("lost", r"Queries lost:\s+(\d+)"),
                         ("noerror", r"NOERROR (\d+)")):
        m = re.search(pattern, out)
        result[key] = int(m.group(1)) if m else -1
    return result


def log_lines(daemon: h.Holdfast, text: str) -> list[str]:
    path = daemon.dir / "stderr.log"
    if not path.exists():
        return []
    return [line for line in path.read_text(errors="replace").splitlines() if text in line]


def reload_lines(daemon: h.Holdfast) -> list[str]:
    return log_lines(daemon, "reload: zones ")


def reload_ms(line: str) -> float:
    return float(re.search(r" in ([0-9.]+) ms", line).group(1))


def wait_for_reloads(daemon: h.Holdfast, count: int, timeout: float) -> bool:
    return h.wait_until(lambda: len(reload_lines(daemon)) >= count, timeout)


def answers(port: int, name: str, timeout: float = 0.5) -> bool:
    """True when 127.0.0.1:port answers `name` A with NOERROR."""
    try:
        return h.udp("127.0.0.1", port, name, "A", timeout=timeout).rcode() == 0
    except Exception:
        return False
