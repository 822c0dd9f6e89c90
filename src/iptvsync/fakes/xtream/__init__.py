"""A fake Xtream Codes panel (Starlette), serving a fake ``Catalogue`` with switchable quirks.

Both server families of docs/providers.md §1.0: ``family="xtream"`` sends numbers as strings and
answers a bad login with HTTP 200 ``{"user_info":{"auth":0}}``; ``family="xui"`` sends ints, adds
``category_ids``/``title``/``year`` and answers a bad login with a 404 HTML page. Big lists are
streamed (a generator of orjson chunks), so a 178k-movie list costs no more memory than a page.

    app = create_app(generate(seed=1, movies=200), XtreamFakeConfig(family="xui"))
    app.state.provider.config.account = "expired"       # in-process control
    POST /_control/config {"tarpit_s": 2}               # or over HTTP

Every switch is a field of ``XtreamFakeConfig`` (mutable at runtime). Stream routes answer 302
to a small local asset, counting connections. ``/_control/stats`` reports requests per action.
"""

from iptvsync.fakes.xtream.app import create_app
from iptvsync.fakes.xtream.guide import (
    aiter_chunks,
    guide_anchor,
    guided_channels,
    gzip_chunks,
    schedule,
    xmltv_documents,
)
from iptvsync.fakes.xtream.rows import Rows, m3u_plus_lines
from iptvsync.fakes.xtream.state import (
    ASSET,
    LARGE_ACCOUNT,
    ROWS_PER_CHUNK,
    FakeXtreamProvider,
    XtreamFakeConfig,
    apply_switches,
    config_for_cli,
    control_endpoint,
    large_catalogue,
)

__all__ = [
    "ASSET",
    "LARGE_ACCOUNT",
    "ROWS_PER_CHUNK",
    "FakeXtreamProvider",
    "Rows",
    "XtreamFakeConfig",
    "aiter_chunks",
    "apply_switches",
    "config_for_cli",
    "control_endpoint",
    "create_app",
    "guide_anchor",
    "guided_channels",
    "gzip_chunks",
    "large_catalogue",
    "m3u_plus_lines",
    "schedule",
    "xmltv_documents",
]
