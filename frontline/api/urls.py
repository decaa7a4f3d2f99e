"""The NinjaAPI at /api/v1/: schema at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from ninja import NinjaAPI, Router

from frontline.api import docs, errors
from frontline.api.auth import BearerTokenAuth, SessionActorAuth
from frontline.core.errors import NotFound

if TYPE_CHECKING:
    from ninja.operation import Operation


class FrontlineApi(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        """Short, stable operation ids (`ticket_list`): every operation function in the API has
        a unique name (a test checks), so clients get readable method names."""
        return operation.view_func.__name__


api = FrontlineApi(
    title="Frontline API",
    version="1.0.0",
    description=(
        "IT service management: tickets, organisations, people and groups.\n\n"
        "Authenticate with `Authorization: Bearer <token>` (create one with "
        "`frontline token create --email EMAIL`) or with a browser session; session requests "
        "that change data need the CSRF token in `X-CSRFToken`. Every error has the shape "
        '`{"detail": "...", "errors": {"field": "message"}}`. Lists are paginated with '
        "`limit` and the `next_cursor` of the previous page."
    ),
    auth=[BearerTokenAuth(), SessionActorAuth()],
    openapi_url="/openapi.json",
    docs_url="/docs",
    docs=docs.LocalSwagger(),
    urls_namespace="api-v1",
)
errors.install(api)
api.get("/docs/assets/{name}", auth=None, include_in_schema=False, url_name=docs.ASSET_URL_NAME)(
    docs.docs_asset
)

from frontline.accounts.api import router as accounts_router  # noqa: E402
from frontline.tenants.api import router as tenants_router  # noqa: E402
from frontline.tickets.api import router as tickets_router  # noqa: E402

api.add_router("/tickets", tickets_router)
api.add_router("/organizations", tenants_router)
api.add_router("/", accounts_router)

# Mounted last: any other path under /api/v1/ answers in the API's error shape, not HTML.
fallback = Router()


@fallback.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", auth=None, include_in_schema=False
)
def endpoint_not_found(request: HttpRequest, rest: str) -> None:
    raise NotFound("There is no such endpoint; see /api/v1/docs.")


api.add_router("/", fallback)
