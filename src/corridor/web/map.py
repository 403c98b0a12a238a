"""Map: placeholder until the map page lands (see docs/dashboard.md)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from corridor.web.session import PageAccount
from corridor.web.site import page_router, render

router = page_router()


@router.get("/map")
def map_page(request: Request, account: PageAccount) -> Response:
    return render(request, "error.html.j2", {"title": "Map", "message": "coming"}, account=account)
