"""How a route reaches the process's ``Services`` (built in the app lifespan,
``iptvsync.runtime``): declare a parameter ``svc: Svc``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from iptvsync.runtime import Services

__all__ = ["Services", "Svc", "get_services"]


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(get_services)]
