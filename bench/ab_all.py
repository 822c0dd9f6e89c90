"""Every benchmark of ``bench/``, a reference revision against this checkout, side by side.

Each benchmark runs as the reference (A) and as this checkout (B) in turn, A B A B for
``--pairs`` pairs, so both meet the same host load (docs/benchmarks.md: hosts drift by ±20 %
within minutes). Each version runs its own code: its own ``bench/NAME.py`` from its own
checkout, with its own venv's Python and ``PYTHONPATH=<checkout>/src``. The reference lives in a
worktree of its own with a venv installed from its own ``constraints.txt`` (``--ref-dir``,
made on the first call and reused).

One JSON line per benchmark on stdout: for each key metric (``case/field``), the reference's
and the current figures of every pair, the median of the pair-by-pair ratios current ÷
reference (> 1: the current figure is larger), and ``noise``: the largest max ÷ min of one
version's own figures (a ratio inside [1/noise, noise] is not told apart from the noise with so
few pairs). Non-numeric fields (a run's status, an error code) are shown with ``same``.
Every line each run printed goes to ``--raw`` (JSON lines), for the figures on
docs/benchmarks.md. A benchmark missing at the reference, or whose arguments the reference's
script does not accept, is said so in its line (``ref_status``), not run there.

    .venv/bin/python bench/ab_all.py                       # 594d4c6 vs this checkout, 2 pairs
    .venv/bin/python bench/ab_all.py --size smoke          # the smallest sizes: proves it runs
    .venv/bin/python bench/ab_all.py --only api --only relay --pairs 3
    .venv/bin/python bench/ab_all.py --plan                # the commands, nothing run
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REF = "594d4c6"


@dataclass(frozen=True)
class Spec:
    """One benchmark: its arguments at each size, how its lines are named and what is compared.

    Each field is words split on spaces. In the arguments, ``{data}`` is the version's own data
    directory, ``{ref}`` the reference revision, ``{pairs}`` the number of pairs. ``key``: the
    fields that name a line's case; ``metrics``: dotted paths into a line
    ("latency_ms.page.p95", "p95.0": a list's first item).
    """

    full: str
    smoke: str
    key: str
    metrics: str
    timeout_s: float = 900.0
    # The script alternates the two versions itself in one run (web_guide: --vs); its "A" lines
    # are this checkout, its "B" lines the reference.
    self_ab: bool = False
    # Absent at the reference but built to drive another checkout's code: this checkout's
    # script runs on the reference's src (guide_path: "a checkout without guide_split reads
    # the guide with ijson").
    ref_runs_current_script: bool = False
    # Broken at the reference for a reason outside the code measured: (old, new) replacements
    # made in a copy of the reference's script (bench/_ab_NAME.py in its worktree), each
    # matching exactly once, and said in the line's ref_status.
    ref_fix: tuple[tuple[str, str], ...] = ()
    ref_fix_why: str = ""


# Sizes of the full run: each bench's default unless it takes minutes on the project's machine
# (then the small size its own docstring suggests); docs/benchmarks.md has what each one costs.
SPECS: dict[str, Spec] = {
    "host": Spec("", "--repeat 1", "", "total_ms best_ms.json best_ms.sqlite"),
    "cli": Spec("--runs 3", "--runs 1", "case", "median_s min_s import_s"),
    "guide_path": Spec(
        "",
        "--channels 100 --runs 1",
        "",  # its "reader" differs by version (ijson at the reference): a figure, not a case
        "reader programmes cpu_s us_per_programme",
        ref_runs_current_script=True,
    ),
    "http_stack": Spec(
        "", "--requests 200 --rounds 1", "stack", "cpu_ms_per_request requests_per_s"
    ),
    "api": Spec(
        "--size default --data-dir {data}",
        "--size default --requests 20 --data-dir {data}",
        "case",
        "p50_ms p95_ms",
    ),
    "snapshot": Spec(
        "--size default --data-dir {data}",
        "--size default --rounds 1 --data-dir {data}",
        "case encoding",
        "seconds peak_rss_added_mb mb.br mb.zstd ttfb_ms download_ms p50_ms p95_ms",
    ),
    "hostile": Spec(
        "--rate-runs 1",
        "--kind m3u --mode gzip_bomb",
        "kind mode",
        "status error seconds peak_rss_mb rows_intact internal_hits failed_runs",
    ),
    "load": Spec(
        "--seconds 10",
        "--seconds 2 --movies 1000 --series 300 --channels 100",
        "",
        "rps errors sync_status latency_ms.page.p95 latency_ms.search.p95"
        " latency_ms.snapshot.p95 latency_ms.snapshot304.p95",
    ),
    "logins": Spec(
        "",
        "--requests 16 --samples 2",
        "case",
        "known_ms unknown_ms seconds healthz_median_ms healthz_p95_ms rss_growth_mb",
    ),
    "m3u_xmltv": Spec(
        "--m3u 100000 --xmltv-mb 20",
        "--m3u 3000 --xmltv-mb 0.5",
        "case",
        "wall_s items programmes peak_rss_mb",
    ),
    "outputs": Spec(
        "--channels 10000 --guide-mb 20",
        "--channels 300 --guide-mb 1",
        "case",
        "bytes seconds rss_growth_mb",
    ),
    "parse_pages": Spec(
        "--runs 3",
        "--movies 2000 --series 500 --runs 1",
        "",
        "items decode_us parse_us row_us write_us total_us",
    ),
    "relay": Spec(
        "--seconds 10",
        "--viewers 3 --seconds 1",
        "",
        "relay_cpu_pct ttfb_cold_ms ttfb_join_ms_p50 added_ttfb_ms per_viewer_kb join_cpu_ms"
        " stalls",
        ref_fix=(
            ('SECRET = "bench-relay-secret"', 'SECRET = "bench-relay-secret-long-enough-key"'),
            ('ADMIN = "bench-admin"', 'ADMIN = "bench-admin-token-long-enough-24"'),
        ),
        ref_fix_why="its keys lengthened to HEAD's: its own app refuses keys under 24 characters"
        " (docs/security.md), so its script stopped at the app's start",
    ),
    # --timeout: a run that never ends (594d4c6's workers could start with an empty secret key
    # and fail their job, leaving the run "running") ends the bench in minutes, not 30.
    "scale": Spec(
        "--providers 4 --movies 8000 --series 2400 --channels 600 --timeout 300",
        "--providers 2 --movies 300 --series 100 --channels 50 --timeout 120",
        "workers",
        "statuses items_stored wall_s speedup_2_over_1",
    ),
    "sync_stalker": Spec(
        "--case 0ms --case 0ms-noguide --case 20ms-cap16",
        "--movies 500 --series 150 --channels 50 --case 0ms --case 0ms-noguide --case 20ms-cap16",
        "case",
        "status items programmes requests wall_s client_cpu_s peak_rss_mb",
    ),
    "sync_instructions": Spec(
        "",
        "--movies 300 --series 100 --channels 50",
        "",
        "main child indexes main_start main_per_item child_per_item",
        timeout_s=600.0,
    ),
    "sync_xtream": Spec(
        "--movies 17800 --series 4757 --channels 5671",
        "--movies 500 --series 150 --channels 150",
        "case",
        "status items requests wall_s peak_rss_mb",
    ),
    "walk_trace": Spec(
        "--runs 3",
        "--movies 2000 --series 500 --channels 200",
        "case",
        "exit walk_s to_cap_s in_flight_first_s in_flight_mean under_half_s",
    ),
    # The script is new (session 22), and the walk's loop it drives (paging.walk_stream) had
    # the same interface before it: the reference runs this checkout's script on its own code.
    "walk_loop": Spec(
        "--runs 5",
        "--pages 300 --runs 1",
        "",
        "pages cpu_s us_per_page",
        ref_runs_current_script=True,
    ),
    "web_guide": Spec(
        "--vs {ref} --pairs {pairs}",
        "--vs {ref} --pairs {pairs} --channels 100",
        "",
        "idle_late p95.0 p95.1 p95.2 late.0 late.1 late.2",
        self_ab=True,
    ),
}
# Not run: _rss.py and _seed.py are helpers; relay_ab.sh is itself bench/relay.py old vs new.


@dataclass
class Version:
    label: str  # "ref" or "cur"
    checkout: Path
    revision: str
    data: Path

    @property
    def python(self) -> Path:
        return self.checkout / ".venv" / "bin" / "python"

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.checkout / "src")}


@dataclass
class Run:
    """One run of one benchmark by one version."""

    rc: int | None  # None: killed at the time bound
    wall_s: float
    lines: list[dict[str, Any]] = field(default_factory=list)
    stderr_tail: str = ""


# --- parsing and pairing (tests/test_bench_ab.py) -------------------------------------------


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects a benchmark printed, one a line; anything else is skipped."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
    return out


def dig(obj: Any, path: str) -> Any:
    """``obj`` at a dotted path; list items by index ("p95.0"); None where it is missing."""
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


def figures(lines: Iterable[dict[str, Any]], spec: Spec) -> dict[str, Any]:
    """``{"case/metric": value}`` of one run; a case seen twice in a run gets ``#2``."""
    out: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for line in lines:
        found = {m: dig(line, m) for m in spec.metrics.split()}
        found = {m: v for m, v in found.items() if v is not None}
        if not found:
            continue  # "machine", "seed" and other lines without a compared figure
        name = "/".join(str(line[k]) for k in spec.key.split() if line.get(k) is not None)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name += f"#{seen[name]}"
        for metric, value in found.items():
            out[f"{name}/{metric}" if name else metric] = value
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def compare(ref: Sequence[Any], cur: Sequence[Any]) -> dict[str, Any]:
    """One metric's figures, pair by pair (None: that run has no figure)."""
    out: dict[str, Any] = {"ref": list(ref), "cur": list(cur)}
    present = [v for v in (*ref, *cur) if v is not None]
    if not present:
        return out
    if not all(_number(v) for v in present):
        out["same"] = len({json.dumps(v, sort_keys=True) for v in present}) == 1
        return out
    ratios = [c / r for r, c in zip(ref, cur, strict=False) if r and c is not None]
    out["ratio"] = round(statistics.median(ratios), 3) if ratios else None
    if not ratios:  # counts of zero (errors, stalls): no ratio, but whether they agree
        out["same"] = len(set(present)) == 1 and all(r is not None for r in ref)
    spreads = []
    for values in (ref, cur):
        positive = [v for v in values if v is not None and v > 0]
        if len(positive) > 1:
            spreads.append(max(positive) / min(positive))
    out["noise"] = round(max(spreads), 3) if spreads else None
    return out


def side_by_side(
    ref_runs: Sequence[Run | None], cur_runs: Sequence[Run | None], spec: Spec
) -> dict[str, dict[str, Any]]:
    """Every metric of either version, its figures pair by pair."""
    ref = [figures(r.lines, spec) if r else {} for r in ref_runs]
    cur = [figures(r.lines, spec) if r else {} for r in cur_runs]
    names: dict[str, None] = {}
    for run in (*ref, *cur):
        names.update(dict.fromkeys(run))
    return {n: compare([r.get(n) for r in ref], [c.get(n) for c in cur]) for n in names}


def split_self_ab(run: Run, pairs: int) -> tuple[list[Run | None], list[Run | None]]:
    """A run that alternated itself (web_guide): its "B" lines are the reference, "A" ours."""
    ref: list[Run | None] = []
    cur: list[Run | None] = []
    for pair in range(1, pairs + 1):
        for side, out in (("B", ref), ("A", cur)):
            lines = [
                line
                for line in run.lines
                if line.get("pair") == pair and str(line.get("grid", "")).startswith(side)
            ]
            out.append(Run(run.rc, run.wall_s, lines) if lines else None)
    return ref, cur


def unaccepted(help_text: str, args: Sequence[str]) -> list[str]:
    """The options of ``args`` a script's ``--help`` does not offer, or whose value is not
    among the choices it lists."""
    problems = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("--"):
            continue
        name, eq, value = arg.partition("=")
        if not eq and i < len(args) and not args[i].startswith("--"):
            value = args[i]
            i += 1
        found = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])(?: (\{{[^}}\s]*\}}))?", help_text)
        if found is None:
            problems.append(f"{name} not accepted")
        elif found.group(1) and value and value not in found.group(1)[1:-1].split(","):
            problems.append(f"{name} {value} not among {found.group(1)}")
    return problems


# --- running --------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def ensure_reference(revision: str, where: Path) -> str:
    """The reference's worktree and venv, made once; returns its full commit."""
    commit = git(ROOT, "rev-parse", "--verify", f"{revision}^{{commit}}")
    if not where.exists():
        log(f"making the reference's worktree at {where} ({revision})")
        git(ROOT, "worktree", "add", "--detach", str(where), commit)
    elif git(where, "rev-parse", "HEAD") != commit:
        raise SystemExit(f"{where} is not at {revision}: remove it or pass another --ref-dir")
    if not (where / ".venv" / "bin" / "python").exists():
        log(f"installing the reference's venv from its own constraints.txt ({where}/.venv)")
        subprocess.run([sys.executable, "-m", "venv", str(where / ".venv")], check=True)
        subprocess.run(
            [
                str(where / ".venv/bin/pip"),
                "install",
                "-q",
                "-c",
                "constraints.txt",
                "-e",
                ".[dev]",
            ],
            cwd=where,
            check=True,
        )
    return commit


def current_revision() -> str:
    revision = git(ROOT, "rev-parse", "--short", "HEAD")
    return revision + (
        "+dirty" if git(ROOT, "status", "--porcelain", "--untracked-files=no") else ""
    )


def run(cmd: list[str], version: Version, timeout_s: float) -> Run:
    """Run one benchmark to its end in its own process group (killed whole at the bound)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=version.checkout,
        env=version.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rc = None
    wall = round(time.monotonic() - started, 1)
    return Run(rc, wall, json_lines(out), err[-1500:] if rc != 0 else "")


def fixed_script(script: Path, fix: Sequence[tuple[str, str]]) -> tuple[Path | None, str]:
    """A copy of ``script`` beside it with each (old, new) made once; or None and why not."""
    text = script.read_text(encoding="utf-8")
    for old, new in fix:
        if text.count(old) != 1:
            return None, f"{old!r} is not in the script once"
        text = text.replace(old, new)
    copy = script.with_name(f"_ab_{script.name}")
    copy.write_text(text, encoding="utf-8")
    return copy, ""


def reference_status(
    name: str, spec: Spec, ref: Version, args: list[str]
) -> tuple[str, Path | None]:
    """Whether the reference runs ("ok...") or why not, and the script it runs (None: none)."""
    if spec.self_ab:
        return f"compared within one run of the current script ({' '.join(args)})", None
    script = ref.checkout / "bench" / f"{name}.py"
    if not script.exists():
        if spec.ref_runs_current_script:
            return f"absent at {ref.revision}: the current script runs on its src", (
                ROOT / "bench" / f"{name}.py"
            )
        return f"absent at {ref.revision}: not run there", None
    helped = subprocess.run(
        [str(ref.python), str(script), "--help"],
        cwd=ref.checkout,
        env=ref.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if helped.returncode:
        return f"broken at {ref.revision}: {helped.stderr.strip()[-300:]}", None
    problems = unaccepted(helped.stdout, args)
    if problems:
        return f"arguments differ at {ref.revision}: {'; '.join(problems)}", None
    if spec.ref_fix:
        copy, why = fixed_script(script, spec.ref_fix)
        if copy is None:
            return f"broken at {ref.revision} and its fix does not apply: {why}", None
        return f"ok, its script fixed: {spec.ref_fix_why}", copy
    return "ok", script


def stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S")


def log(message: str) -> None:
    print(f"[ab_all {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def expand(args: Sequence[str], version: Version, ref: str, pairs: int) -> list[str]:
    return [a.format(data=version.data / "data", ref=ref, pairs=pairs) for a in args]


def bench_one(
    name: str, spec: Spec, ref: Version, cur: Version, opts: argparse.Namespace, raw: Any
) -> dict[str, Any]:
    args = (spec.smoke if opts.size == "smoke" else spec.full).split()
    cur_args = expand(args, cur, ref.revision, opts.pairs)
    ref_args = expand(args, ref, ref.revision, opts.pairs)
    status, ref_script = reference_status(name, spec, ref, ref_args)
    if opts.plan:
        print(f"# {name}: reference {status}")
    errors: list[dict[str, Any]] = []

    def one(version: Version, script: Path, vargs: list[str], pair: int) -> Run:
        cmd = [str(version.python), str(script), *vargs]
        if opts.plan:
            print(
                f"# pair {pair} {version.label}: cd {version.checkout} && "
                f"PYTHONPATH={version.checkout / 'src'} {' '.join(cmd)}"
            )
            return Run(0, 0.0)
        log(f"{name} pair {pair} {version.label}: {' '.join(vargs)}")
        result = run(cmd, version, spec.timeout_s)
        log(f"{name} pair {pair} {version.label}: rc {result.rc}, {result.wall_s} s")
        where = {"bench": name, "version": version.label, "pair": pair}
        for line in result.lines:
            raw.write(json.dumps({**where, "line": line}) + "\n")
        if result.rc != 0:
            what = "timed out" if result.rc is None else f"exit {result.rc}"
            raw.write(json.dumps({**where, "error": what, "stderr": result.stderr_tail}) + "\n")
            errors.append({**where, "error": what, "stderr": result.stderr_tail[-600:]})
        raw.flush()
        return result

    script = ROOT / "bench" / f"{name}.py"
    ref_runs: list[Run | None] = []
    cur_runs: list[Run | None] = []
    if spec.self_ab:
        whole = one(cur, script, cur_args, 0)
        ref_runs, cur_runs = split_self_ab(whole, opts.pairs)
        wall = {"both": [whole.wall_s]}
    else:
        for pair in range(1, opts.pairs + 1):
            ref_runs.append(one(ref, ref_script, ref_args, pair) if ref_script else None)
            cur_runs.append(one(cur, script, cur_args, pair))
        wall = {
            "ref": [r.wall_s for r in ref_runs if r],
            "cur": [r.wall_s for r in cur_runs if r],
        }
    return {
        "bench": name,
        "ref": ref.revision,
        "cur": cur.revision,
        "pairs": opts.pairs,
        "size": opts.size,
        "args": cur_args,
        "ref_status": status,
        "wall_s": wall,
        "metrics": side_by_side(ref_runs, cur_runs, spec),
        **({"errors": errors} if errors else {}),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default=DEFAULT_REF, help="the reference revision (A)")
    parser.add_argument(
        "--ref-dir",
        type=Path,
        default=Path("/tmp/ab-ref"),
        help="its worktree (made with its venv when missing)",
    )
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--size", choices=("full", "smoke"), default="full")
    parser.add_argument("--only", action="append", choices=sorted(SPECS))
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/ab-work"),
        help="data directories of both versions (seeded databases reused)",
    )
    parser.add_argument("--raw", type=Path, help="every line every run printed (JSON lines)")
    parser.add_argument("--plan", action="store_true", help="print the commands, run nothing")
    opts = parser.parse_args(argv)

    commit = ensure_reference(opts.ref, opts.ref_dir)
    short = commit[:7]
    ref = Version("ref", opts.ref_dir, short, opts.work / f"ref-{short}")
    cur = Version("cur", ROOT, current_revision(), opts.work / "cur")
    for version in (ref, cur):
        version.data.mkdir(parents=True, exist_ok=True)
    raw_path = Path(os.devnull) if opts.plan else opts.raw or opts.work / f"raw-{stamp()}.jsonl"
    started = time.monotonic()
    with raw_path.open("a") as raw:
        for name in opts.only or list(SPECS):
            line = bench_one(name, SPECS[name], ref, cur, opts, raw)
            if not opts.plan:
                print(json.dumps(line), flush=True)
    if opts.plan:
        return
    log(f"done in {time.monotonic() - started:.0f} s; every line in {raw_path}")


if __name__ == "__main__":
    main()
