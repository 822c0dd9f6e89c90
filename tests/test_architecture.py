"""The rules of docs/architecture.md, checked on the source itself.

- Layers point one way: nothing in ``store/``, ``providers/``, ``sync/`` or ``snapshot/``
  imports ``api/``, ``outputs/``, ``web/``, the app factory (``app.py``) or the CLI.
- ``api/``, ``outputs/`` and ``web/`` are siblings under ``app.py``, which assembles them:
  ``api/`` imports neither ``outputs/`` nor ``web/`` (nor ``app.py``).
- SQL lives under ``store/`` (and its migrations).
- Run statuses are ``store.run_state.RunStatus`` (no bare status string elsewhere).
- No source file is over 600 lines.
- One HTTP stack for provider traffic: only ``providers/http.py`` and the modules it is made
  of (``connector.py``, its page fast path ``lean.py``) import aiohttp or httptools, and only
  ``http.py`` uses the fast path.

Each test names what it found, so a failure says where to look.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "iptvsync"
MAX_LINES = 600


def _sources() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC).as_posix(), path


# --- layers ---------------------------------------------------------------------------------

LOW = ("store/", "providers/", "sync/", "snapshot/")
HIGH = ("iptvsync.api", "iptvsync.outputs", "iptvsync.web", "iptvsync.app", "iptvsync.cli")
#: What ``api/`` may not import: its siblings and what stands above them.
ABOVE_API = ("iptvsync.outputs", "iptvsync.web", "iptvsync.app", "iptvsync.cli")


def _imports(path: Path, *, names: bool = False) -> Iterator[tuple[int, str]]:
    """Every module a file imports; ``names``: ``from a import b`` counts as ``a.b`` too."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            if names:
                for alias in node.names:
                    yield node.lineno, f"{node.module}.{alias.name}"


def _is_high(module: str, high: tuple[str, ...] = HIGH) -> bool:
    return any(
        module == h or module.startswith(h + ".") or module.startswith(h + "_") for h in high
    )


def test_lower_layers_never_import_the_upper_ones() -> None:
    found = [
        f"{rel}:{line} imports {module}"
        for rel, path in _sources()
        if rel.startswith(LOW)
        for line, module in _imports(path)
        if _is_high(module)
    ]
    assert found == []


def test_api_never_imports_its_siblings_or_the_app() -> None:
    found = [
        f"{rel}:{line} imports {module}"
        for rel, path in _sources()
        if rel.startswith("api/")
        for line, module in _imports(path)
        if _is_high(module, ABOVE_API)
    ]
    assert found == []


def test_the_import_check_sees_an_upward_edge(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from iptvsync.api.services import Svc\nimport iptvsync.cli_common\n")
    assert [m for _, m in _imports(probe) if _is_high(m)] == [
        "iptvsync.api.services",
        "iptvsync.cli_common",
    ]


def test_the_import_check_sees_api_importing_a_sibling(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from iptvsync.outputs import routes\n"
        "import iptvsync.web.routes\n"
        "from iptvsync.app import create_app\n"
        "from iptvsync.api.errors import envelope\n"
        "def later():\n"
        "    from iptvsync.outputs.hdhomerun_discovery import start_for\n"
    )
    assert [m for _, m in _imports(probe) if _is_high(m, ABOVE_API)] == [
        "iptvsync.outputs",
        "iptvsync.web.routes",
        "iptvsync.app",
        "iptvsync.outputs.hdhomerun_discovery",
    ]


# --- one HTTP stack ------------------------------------------------------------------------

HTTP_LAYER = {"providers/http.py", "providers/connector.py", "providers/lean.py"}


def _http_layer_breaches(sources: Iterator[tuple[str, Path]]) -> list[str]:
    found = []
    for rel, path in sources:
        for line, module in _imports(path, names=True):
            top = module.split(".")[0]
            if top in ("aiohttp", "httptools") and rel not in HTTP_LAYER:
                found.append(f"{rel}:{line} imports {module}")
            if module == "iptvsync.providers.lean" and rel != "providers/http.py":
                found.append(f"{rel}:{line} imports {module}")
    return found


def test_provider_traffic_has_one_http_layer() -> None:
    found = _http_layer_breaches(_sources())
    assert not found, "provider HTTP outside providers/http.py:\n" + "\n".join(found)


def test_the_http_layer_check_sees_a_breach(tmp_path: Path) -> None:
    stray = tmp_path / "stray.py"
    stray.write_text("from iptvsync.providers import lean\nimport httptools\n")
    found = _http_layer_breaches(iter([("sync/stray.py", stray)]))
    assert found == [
        "sync/stray.py:1 imports iptvsync.providers.lean",
        "sync/stray.py:2 imports httptools",
    ]


# --- SQL only in store/ ---------------------------------------------------------------------

#: Where SQL may stand outside ``store/`` (nowhere now; a new entry needs its reason here).
SQL_ELSEWHERE: set[str] = set()
_SQL_CALL = re.compile(
    r"\bsa\.(select|insert|update|delete|text)\("
    r"|\.(insert|update|delete)\(\)"  # a Table's statements: ``table.update()``
    r"|\b(conn|connection|cur|cursor|session)\.execute\("
    r"|exec_driver_sql"
)


def _sql_lines(path: Path) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        if _SQL_CALL.search(line):
            yield number, line.strip()


def test_sql_lives_in_store_only() -> None:
    found = [
        f"{rel}:{number}: {line}"
        for rel, path in _sources()
        if not rel.startswith("store/") and rel not in SQL_ELSEWHERE
        for number, line in _sql_lines(path)
    ]
    assert found == []


def test_the_sql_check_sees_sql(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "rows = conn.execute(sa.select(t))\n"
        "t.update().values(a=1)\n"
        "params.update(x)\n"
        "# conn.execute(x) in a comment\n"
    )
    assert [n for n, _ in _sql_lines(probe)] == [1, 2]


# --- run statuses as an enum ----------------------------------------------------------------

STATUSES = {"queued", "running", "succeeded", "failed", "cancelled", "guarded"}
#: The same words meaning something else than a run's status.
NOT_A_STATUS = {
    ("api/sync.py", "running"),  # the key of the running run in a response (docs/api.md)
    ("errors.py", "cancelled"),  # an error code
    ("store/models.py", "queued"),  # the phase column's default (``Phase.QUEUED``)
    ("sync/engine.py", "cancelled"),  # the message of SyncCancelled
}


def _bare_strings(path: Path, words: set[str]) -> Iterator[tuple[int, str]]:
    """String constants equal to one of ``words``, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value in words
            and id(node) not in docstrings
        ):
            yield node.lineno, node.value


def test_no_bare_run_status_outside_its_module() -> None:
    found = [
        f"{rel}:{line}: {word!r}"
        for rel, path in _sources()
        if rel != "store/run_state.py" and not rel.startswith(("fakes/", "store/migrations/"))
        for line, word in _bare_strings(path, STATUSES)
        if (rel, word) not in NOT_A_STATUS
    ]
    assert found == []


def test_the_status_check_sees_a_bare_status(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('"""running"""\nrun.status = "running"\nif s in ("failed",): pass\n')
    assert list(_bare_strings(probe, STATUSES)) == [(2, "running"), (3, "failed")]


# --- file size ------------------------------------------------------------------------------


def test_no_source_file_over_600_lines() -> None:
    found = {
        rel: n for rel, path in _sources() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert found == {}
