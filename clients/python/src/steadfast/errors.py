"""The one exception the client raises for what the API refused or could not answer."""

from __future__ import annotations

from typing import Any


class SteadfastError(Exception):
    """An error answer of the API (an RFC 9457 problem), or a failed transport.

    ``status`` is the HTTP status, or 0 when no answer came (the connection
    failed or was lost: ``applied`` then says whether the request may have
    been carried out). ``type`` is the problem's stable tag URI
    (``tag:steadfast,2025:invalid-input``) and ``kind`` its last part
    (``invalid-input``), to branch on; ``detail`` is for people; ``problem``
    is the whole body (a 422 carries ``errors``, one per field, each with a
    JSON ``pointer``).
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        type: str = "",  # noqa: A002 - the problem member's name
        problem: dict[str, Any] | None = None,
        applied: bool = False,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.problem: dict[str, Any] = problem or {}
        self.applied = applied
        text = f"{status} {title}" if status else title
        super().__init__(f"{text}: {detail}" if detail else text)

    @property
    def kind(self) -> str:
        """The tag's last part (``idempotency-conflict``); empty when the answer had no type."""
        return self.type.rsplit(":", 1)[-1] if self.type else ""

    @property
    def errors(self) -> list[dict[str, Any]]:
        """A 422's failed fields: ``[{"pointer", "detail", ...}]`` (else empty)."""
        errors = self.problem.get("errors")
        return errors if isinstance(errors, list) else []
