"""Plain ASGI pieces the two servers share (``fastjoin serve``'s model server and ``fastjoin
api``): no web framework, only what each needs of the protocol."""

from __future__ import annotations

from typing import Callable


def headers(scope) -> dict:
    """The request's headers, names lower-cased (a repeated name keeps its last value)."""
    return {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])
    }


async def lifespan(receive, send, on_startup: Callable[[], None], on_shutdown: Callable[[], None]) -> None:
    """Answer the server's lifespan messages: ``on_startup`` once it serves, ``on_shutdown``
    once it has stopped taking requests (before it is told shutdown is complete)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            on_startup()
        elif message["type"] == "lifespan.shutdown":
            on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return
