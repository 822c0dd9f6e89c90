"""JSON responses rendered with orjson (fast, and datetimes/non-str keys handled)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:
            # orjson stops at 64-bit integers; an id echoed back from a hostile path can be
            # larger. The standard library has no such limit.
            return json.dumps(content, default=str, separators=(",", ":")).encode()
