"""bench/ab_all.py's own logic: reading the benchmarks' lines, pairing them by case and metric,
the ratios, and telling which arguments a reference's script does not accept. No benchmark
runs here (docs/benchmarks.md, "Every benchmark, side by side")."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.ab_all import (
    SPECS,
    Run,
    Spec,
    compare,
    dig,
    figures,
    fixed_script,
    json_lines,
    side_by_side,
    split_self_ab,
    unaccepted,
)

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_every_benchmark_has_a_spec() -> None:
    scripts = {p.stem for p in BENCH.glob("*.py") if not p.stem.startswith("_")}
    assert scripts - {"ab_all"} == set(SPECS)


def test_json_lines_keeps_objects_only() -> None:
    text = 'warming up\n{"case": "a", "x": 1}\n[1, 2]\n{"broken": \n  {"case": "b"}  \n'
    assert json_lines(text) == [{"case": "a", "x": 1}, {"case": "b"}]


def test_dig_follows_dicts_and_list_indexes() -> None:
    line = {"latency_ms": {"page": {"p95": 12.5}}, "p95": [16.8, 33.0]}
    assert dig(line, "latency_ms.page.p95") == 12.5
    assert dig(line, "p95.1") == 33.0
    assert dig(line, "p95.2") is None
    assert dig(line, "latency_ms.search.p95") is None


def test_figures_names_cases_and_counts_repeats() -> None:
    spec = Spec("", "", "case encoding", "seconds mb.br")
    lines = [
        {"case": "machine", "nproc": 2},  # nothing compared: skipped
        {"case": "build", "seconds": 2.1, "mb": {"br": 3.6}},
        {"case": "serve", "encoding": "br", "seconds": 0.5},
        {"case": "serve", "encoding": "br", "seconds": 0.7},
    ]
    assert figures(lines, spec) == {
        "build/seconds": 2.1,
        "build/mb.br": 3.6,
        "serve/br/seconds": 0.5,
        "serve/br#2/seconds": 0.7,
    }


def test_figures_without_a_key_use_the_metric_name() -> None:
    assert figures([{"relay_cpu_pct": 3.5}], Spec("", "", "", "relay_cpu_pct")) == {
        "relay_cpu_pct": 3.5
    }


def test_compare_takes_the_median_of_pair_ratios_and_the_spread() -> None:
    out = compare([10.0, 20.0, 10.0], [11.0, 22.0, 12.0])
    assert out["ratio"] == 1.1  # pair ratios 1.1, 1.1, 1.2
    assert out["noise"] == 2.0  # the reference's own 10 vs 20


def test_compare_skips_pairs_missing_a_figure() -> None:
    out = compare([None, 10.0], [5.0, 15.0])
    assert out["ratio"] == 1.5
    assert out["noise"] == 3.0
    only_current = compare([None, None], [1.0, 2.0])
    assert only_current["ratio"] is None
    assert only_current["same"] is False


def test_compare_says_whether_zero_counts_agree() -> None:
    assert compare([0, 0], [0, 0]) == {
        "ref": [0, 0],
        "cur": [0, 0],
        "ratio": None,
        "noise": None,
        "same": True,
    }
    assert compare([0, 0], [0, 2])["same"] is False


def test_compare_shows_whether_non_numbers_agree() -> None:
    assert compare(["succeeded"], ["succeeded"]) == {
        "ref": ["succeeded"],
        "cur": ["succeeded"],
        "same": True,
    }
    assert compare([True], [False])["same"] is False  # a bool is not a figure to divide
    assert compare([["succeeded"]], [["failed"]])["same"] is False


def test_side_by_side_lists_metrics_of_either_version() -> None:
    spec = Spec("", "", "case", "wall_s join_cpu_ms")
    ref = [Run(0, 1.0, [{"case": "a", "wall_s": 2.0}])]
    cur = [Run(0, 1.0, [{"case": "a", "wall_s": 3.0, "join_cpu_ms": 0.5}])]
    out = side_by_side(ref, cur, spec)
    assert out["a/wall_s"]["ratio"] == 1.5
    assert out["a/join_cpu_ms"] == {
        "ref": [None],
        "cur": [0.5],
        "ratio": None,
        "noise": None,
        "same": False,
    }
    assert side_by_side([None], cur, spec)["a/wall_s"] == {
        "ref": [None],
        "cur": [3.0],
        "ratio": None,
        "noise": None,
        "same": False,
    }


def test_split_self_ab_reads_b_as_the_reference() -> None:
    lines = [
        {"pair": 1, "grid": "A (this tree)", "idle_late": 1},
        {"pair": 1, "grid": "B (594d4c6)", "idle_late": 2},
        {"pair": 2, "grid": "A (this tree)", "idle_late": 3},
    ]
    ref, cur = split_self_ab(Run(0, 9.0, lines), pairs=2)
    assert [r.lines[0]["idle_late"] if r else None for r in ref] == [2, None]
    assert [r.lines[0]["idle_late"] if r else None for r in cur] == [1, 3]


def _help() -> str:
    parser = argparse.ArgumentParser(prog="bench/sync_stalker.py")
    parser.add_argument("--movies", type=int, default=64_106)
    parser.add_argument("--case", action="append", choices=["0ms", "0ms-noguide", "20ms-cap4"])
    parser.add_argument("--pin", action="store_true")
    return parser.format_help()


def test_unaccepted_reads_a_real_argparse_help() -> None:
    text = _help()
    assert unaccepted(text, ["--movies", "500", "--case", "0ms", "--pin"]) == []
    assert unaccepted(text, ["--case=0ms-noguide"]) == []
    assert unaccepted(text, ["--case", "cli-0ms"]) == [
        "--case cli-0ms not among {0ms,0ms-noguide,20ms-cap4}"
    ]
    assert unaccepted(text, ["--users", "--movies", "5"]) == ["--users not accepted"]
    # argparse would take an abbreviation; the specs spell every option out, so none is sought
    assert unaccepted(text, ["--mov", "5"]) == ["--mov not accepted"]


def test_a_reference_fix_is_a_copy_with_each_replacement_made_once(tmp_path: Path) -> None:
    script = tmp_path / "relay.py"
    script.write_text('SECRET = "short"\nADMIN = "a"\n', encoding="utf-8")
    copy, why = fixed_script(script, [('"short"', '"long-enough"'), ('"a"', '"admin"')])
    assert (copy, why) == (tmp_path / "_ab_relay.py", "")
    assert copy.read_text(encoding="utf-8") == 'SECRET = "long-enough"\nADMIN = "admin"\n'
    assert script.read_text(encoding="utf-8") == 'SECRET = "short"\nADMIN = "a"\n'
    assert fixed_script(script, [("missing", "x")]) == (None, "'missing' is not in the script once")
