"""How a route reaches the process's ``Services`` (built in the app lifespan,
``iptvsync.runtime``): declare a parameter ``svc: Svc``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from iptvsync.runtime import Services

__all__ = ["Services", "Svc", "get_services"]


async def get_services(request: Request) -> Services:
    # ``async``: FastAPI runs a plain ``def`` dependency in a worker thread, a thread hop on
    # every request (the relay's joining viewers felt it).
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(get_services)]
