"""The one exception tree of iptvsync.

Every error carries a stable ``code`` (the ``error.code`` of the HTTP envelope and of a failed
sync run) and the HTTP ``status`` it maps to. The provider HTTP layer translates transport
errors into this tree at its boundary; the API maps the tree to responses in exactly one place
(``api/errors.py``).

    IptvsyncError                     500 internal_error
    ├── RequestError                  (bad input from an API caller)
    │   ├── ValidationFailed          422 validation_error
    │   ├── NotFound                  404 not_found
    │   ├── Unauthorized              401 unauthorized
    │   ├── Forbidden                 403 forbidden
    │   ├── NoSnapshot                404 no_snapshot
    │   ├── SnapshotTooOld            410 snapshot_too_old
    │   └── ProviderNameTaken         409 provider_name_taken (detail: provider_id)
    ├── SyncStateError
    │   ├── SyncRunning               409 sync_running       (detail: run_id)
    │   └── NothingRunning            409 nothing_running
    ├── SyncCancelled                 (internal: a run was asked to stop)
    ├── NoFreeConnection              503 no_free_connection    (detail: what holds the slots)
    └── ProviderError                 502 (the provider failed us)
        ├── ProviderUnreachable       502 provider_unreachable   (DNS, refused, circuit open)
        ├── ProviderTimeout           502 provider_timeout
        ├── ProviderAuthFailed        502 provider_auth_failed   (wrong MAC / credentials)
        ├── ProviderAccountExpired    502 provider_account_expired  (subscription ended)
        ├── ProviderAccountDisabled   502 provider_account_disabled (blocked / switched off)
        ├── ProviderBanned            502 provider_banned        (persistent 403 / 429)
        ├── ProviderBadResponse       502 provider_bad_response  (malformed or hostile payload)
        ├── NotAPortal                502 not_a_portal           (answers, but not as a portal)
        └── GuideMissing              502 epg_unavailable        (the provider has no guide:
                                          a run warning, the channels still sync)

Messages never contain secrets (MACs, passwords, tokens): build them from masked values.
"""

from __future__ import annotations

from typing import Any, ClassVar


class IptvsyncError(Exception):
    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500

    def __init__(self, message: str = "", *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message or self.__class__.__name__
        self.detail: dict[str, Any] = detail or {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail:
            out["detail"] = self.detail
        return out


class RequestError(IptvsyncError):
    status = 400
    code = "bad_request"


class ValidationFailed(RequestError):
    status = 422
    code = "validation_error"


class NotFound(RequestError):
    status = 404
    code = "not_found"


class Unauthorized(RequestError):
    status = 401
    code = "unauthorized"


class Forbidden(RequestError):
    status = 403
    code = "forbidden"


class TooManyRequests(RequestError):
    """Too many failed logins (or password checks waiting): try again after ``retry_after_s``."""

    status = 429
    code = "too_many_requests"

    def __init__(
        self, message: str = "", *, retry_after_s: int = 1, detail: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        self.retry_after_s = max(1, int(retry_after_s))


class NoSnapshot(RequestError):
    status = 404
    code = "no_snapshot"


class SnapshotTooOld(RequestError):
    status = 410
    code = "snapshot_too_old"


class ProviderNameTaken(RequestError):
    status = 409
    code = "provider_name_taken"


class SyncStateError(IptvsyncError):
    status = 409


class SyncRunning(SyncStateError):
    code = "sync_running"

    def __init__(self, run_id: int, message: str = "") -> None:
        super().__init__(
            message or f"a sync of this provider is already queued or running (run {run_id})",
            detail={"run_id": run_id},
        )
        self.run_id = run_id


class NothingRunning(SyncStateError):
    code = "nothing_running"


class SyncCancelled(IptvsyncError):
    code = "cancelled"
    status = 409


class NoFreeConnection(IptvsyncError):
    """Every connection slot a stream could use is held (detail: what holds them)."""

    status = 503
    code = "no_free_connection"


class ProviderError(IptvsyncError):
    status = 502
    code = "provider_error"


class ProviderUnreachable(ProviderError):
    code = "provider_unreachable"


class ProviderTimeout(ProviderError):
    code = "provider_timeout"


class ProviderAuthFailed(ProviderError):
    code = "provider_auth_failed"


class ProviderAccountExpired(ProviderError):
    code = "provider_account_expired"


class ProviderAccountDisabled(ProviderError):
    """The provider switched the account off or blocked it (not an ended subscription)."""

    code = "provider_account_disabled"


class ProviderBanned(ProviderError):
    code = "provider_banned"


class ProviderBadResponse(ProviderError):
    code = "provider_bad_response"


class ProviderServerError(ProviderBadResponse):
    """The provider kept answering HTTP 5xx: its server failing, which says nothing of what
    it serves. Not "no such module" (an answer that is not the API's, ``ProviderBadResponse``
    itself): a module asked during an outage is not taken for one the portal lacks."""


class NotAPortal(ProviderError):
    code = "not_a_portal"


class GuideMissing(ProviderError):
    """The provider has no programme guide at all (an Xtream panel's ``xmltv.php`` is 404)."""

    code = "epg_unavailable"
