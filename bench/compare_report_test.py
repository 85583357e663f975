#!/usr/bin/python3
"""ctest bench.compare_report: bench/compare's table and notes from made-up results, without
running anything. Fails when a column or a note that readers rely on goes missing."""
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

COMPARE = Path(__file__).resolve().parent / "compare"


def load_compare():
    loader = importlib.machinery.SourceFileLoader("bench_compare", str(COMPARE))
    spec = importlib.util.spec_from_loader("bench_compare", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def measurement(qps: float, us_per_answer: float, mode: str = "closed", rate: float = 0) -> dict:
    return {"answered_qps": qps, "server_cpu_us_per_answer": us_per_answer, "server_cpu_pct": 99,
            "server_core_busy_pct": 98, "load_cpu_pct": 99, "latency_us": {"p50": 20, "p99": 300},
            "lost": 0, "unexpected": 0, "sent": int(qps * 3), "answered": int(qps * 3),
            "udp_rcvbuf_errors": 0, "mode": mode, "rate_qps": rate, "rcodes": {"NOERROR": 10},
            "server_wakeups_per_answer": 0.6 if mode == "open" else 0.01, "server_preemptions_per_s": 60}


def run(hit_qps: float, hit_us: float) -> dict:
    search = measurement(hit_qps, hit_us)
    search["rcodes"] = {"NOERROR": 25, "NXDOMAIN": 75}
    search["answered"] = 100
    return {"a_hit": measurement(hit_qps, hit_us), "b_open40k": measurement(40000, 9.0, "open", 40000),
            "c_search": search, "d_50": measurement(hit_qps / 2, 4.0, "open", hit_qps / 2),
            "d_80": measurement(hit_qps * 0.8, 3.0, "open", hit_qps * 0.8), "rss_kib": 20480}


def main() -> int:
    compare = load_compare()
    results = {
        # Three runs at one speed: within 20 %.
        "holdfast": [run(400000, 2.46), run(404000, 2.44), run(390000, 2.60)],
        # One run at the host's other speed: ~40 % cheaper per hit.
        "reflector-loop": [run(410000, 2.45), run(709000, 1.40), run(711000, 1.40)],
    }
    table = compare.table(results)
    header = table.splitlines()[0]
    assert "(a) µs CPU / hit" in header, header
    holdfast_row = next(line for line in table.splitlines() if line.startswith("| holdfast |"))
    assert "2.46 (2.44–2.60)" in holdfast_row, holdfast_row
    loop_row = next(line for line in table.splitlines() if line.startswith("| reflector-loop |"))
    assert "1.40 (1.40–2.45) ×0.57" in loop_row, loop_row

    # Why (b) and (d) differ between servers: wake-ups per hit at 40k, preemptions at 80 %.
    columns = [c.strip() for c in header.strip("|").split("|")]
    cells = [c.strip() for c in holdfast_row.strip("|").split("|")]
    assert cells[columns.index("(b) wake-ups / hit at 40k")] == "0.60 (0.60–0.60)", cells
    assert cells[columns.index("(d) preempted / s at 80 %")] == "60 (60–60)", cells
    # A result saved before bench_load counted them still renders.
    old = run(400000, 2.46)
    for m in old.values():
        if isinstance(m, dict):
            m.pop("server_wakeups_per_answer", None)
            m.pop("server_preemptions_per_s", None)
    old_row = compare.table({"holdfast": [old]}).splitlines()[2]
    assert "nan" in old_row, old_row

    notes = compare.checks(results)
    assert not any("round by round" in n for n in notes), notes  # no reflector, no rounds
    rounds = {"holdfast": [dict(run(400000, 2.46), round=1), dict(run(390000, 2.5), round=2)],
              "reflector": [dict(run(800000, 1.25), round=1), dict(run(450000, 2.2), round=2)]}
    by_round = [n for n in compare.checks(rounds) if "round by round" in n]
    assert by_round == ["holdfast (a) hit q/s over the reflector's, round by round: round 1 ×0.50, "
                        "round 2 ×0.87"], by_round
    speed = [n for n in notes if "host's speed changed" in n]
    assert len(speed) == 1 and speed[0].startswith("reflector-loop a_hit:"), notes
    assert "differs by 75 %" in speed[0] and "2.45 / 1.40 / 1.40" in speed[0], speed[0]
    print("ok: the (a) µs CPU / hit, (b) wake-ups and (d) preemptions columns, and one note for the "
          "target whose runs changed speed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
