"""REST API router for this app (mounted by frontline.api)."""

from ninja import Router

router = Router()
