"""The NinjaAPI at /api/v1/: schema at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

from ninja import NinjaAPI

from frontline.api import errors
from frontline.api.auth import BearerTokenAuth, SessionActorAuth

api = NinjaAPI(
    title="Frontline API",
    version="1.0.0",
    description="IT service management: tickets, organisations, people and groups.",
    auth=[BearerTokenAuth(), SessionActorAuth()],
    openapi_url="/openapi.json",
    docs_url="/docs",
    urls_namespace="api-v1",
)
errors.install(api)

from frontline.accounts.api import router as accounts_router  # noqa: E402
from frontline.tenants.api import router as tenants_router  # noqa: E402
from frontline.tickets.api import router as tickets_router  # noqa: E402

api.add_router("/tickets", tickets_router)
api.add_router("/organizations", tenants_router)
api.add_router("/", accounts_router)
