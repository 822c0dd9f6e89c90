"""``Cache-Control`` for answers that depend on who asked (docs/security.md "Caching").

With an admin token set, every answer depends on the caller's credentials (which providers they
may see), so none may sit in a shared cache: each gets ``Cache-Control: private`` (``public`` is
turned into ``private``, ``max-age`` is kept; ``no-store`` answers stay as they are) and
``Vary: Authorization``. The same holds in any mode for a request that carries credentials (an
Authorization header, or ``token`` / ``username`` / ``password`` in the query). The web page's
own files are the same for everyone and keep their headers. Without an admin token the content
is public by configuration (open mode, loopback only) and answers keep what their routes say.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The web page's files: the same bytes for everyone.
PUBLIC_PATHS = frozenset({"/", "/sw.js", "/manifest.webmanifest", "/healthz"})
PUBLIC_PREFIXES = ("/static/",)
_CREDENTIAL_PARAMS = (b"token=", b"username=", b"password=")


def private_cache_control(value: str | None) -> str:
    """``value`` with ``public`` replaced by ``private`` (added when absent)."""
    parts = [p.strip() for p in (value or "").split(",") if p.strip()]
    parts = [p for p in parts if p.lower() not in ("public", "private")]
    if any(p.lower() == "no-store" for p in parts):
        return ", ".join(parts)  # stricter already: nothing stored anywhere
    return ", ".join(["private", *parts])


class PrivateCaching:
    def __init__(self, app: ASGIApp, *, locked: bool) -> None:
        self.app = app
        self.locked = locked

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._depends_on_caller(scope):
            await self.app(scope, receive, send)
            return

        async def send_private(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = private_cache_control(headers.get("cache-control"))
                vary = [v.strip() for v in headers.get("vary", "").split(",") if v.strip()]
                if "authorization" not in {v.lower() for v in vary}:
                    headers["Vary"] = ", ".join([*vary, "Authorization"])
            await send(message)

        await self.app(scope, receive, send_private)

    def _depends_on_caller(self, scope: Scope) -> bool:
        path = scope.get("path", "")
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return False
        if self.locked:
            return True
        if any(k == b"authorization" for k, _ in scope.get("headers") or []):
            return True
        query: bytes = scope.get("query_string", b"")
        return any(q.startswith(_CREDENTIAL_PARAMS) for q in query.split(b"&"))
