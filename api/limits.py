"""Request body limits, enforced before a body is parsed: a declared Content-Length over the limit is
refused at once, and a streamed body is counted as it arrives (413 with the reason). Bulk imports also
count lines and inflate gzip under the same limit (``api/import_body.py``)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from service.compressed import is_gzip
from service.errors import NESTED_TOO_DEEPLY

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON_BODY_LIMIT = 1024 * 1024  # a need or profile is at most 10,000 characters; 1 MB is ample
IMPORT_BODY_LIMIT = 64 * 1024 * 1024


def body_limit_for(path: str) -> int:
    return IMPORT_BODY_LIMIT if path.endswith("/import") else JSON_BODY_LIMIT


def body_parse_reason(cause: BaseException | None) -> str | None:
    """Why a JSON body could not be decoded at all, for the causes FastAPI reports only as a bare 400."""
    if isinstance(cause, RecursionError):
        return NESTED_TOO_DEEPLY
    if isinstance(cause, UnicodeDecodeError):
        if isinstance(cause.object, bytes) and is_gzip(cause.object):
            return "the body is gzip-compressed: send JSON uncompressed (only the bulk imports take gzip)"
        return f"not UTF-8 ({cause.reason} at byte {cause.start})"
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body larger than {limit // 1024} KiB"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        received = 0
        started = refused = False

        async def counted() -> Message:
            """Past the limit: answer 413 here, and tell the app the client has gone."""
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not started:
                    refused = True
                    await _refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app answers is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, tracked_send)
