"""``GET /v1/info``: what this server is, its limits and the responsible-use notice."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ... import __version__
from ...au.geometry import AU_DEFINITIONS, AU_UNITS
from ..schemas import NOTICE, Info
from ..state import Services, services

__all__ = ["router"]

router = APIRouter(tags=["service"])


@router.get("/v1/info", response_model=Info,
            summary="Version, model, limits and the responsible-use notice (no token needed)")
async def info(svc: Services = Depends(services)) -> dict[str, Any]:
    """Version, model, limits and the responsible-use notice."""
    s = svc.settings
    return Info(
        version=__version__, model=s.expression_model, auth_required=bool(s.token),
        video_available=svc.video_available, report_available=svc.report_available,
        max_upload_mb=s.max_upload_mb, max_video_s=s.max_video_s, max_frame_bytes=s.max_frame_bytes,
        retention_h=s.retention_h, notice=NOTICE,
        aus={k: v.split(":", 1)[0] for k, v in AU_DEFINITIONS.items()}, au_units=dict(AU_UNITS),
    ).model_dump()
