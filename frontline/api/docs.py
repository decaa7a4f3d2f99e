"""Interactive API docs (Swagger UI) served entirely by Frontline: no CDN.

django-ninja renders its docs from a CDN unless "ninja" is in INSTALLED_APPS; even then its
assets need the staticfiles finders. Frontline works offline (DESIGN.md), so the docs page is
rendered from our own template and the Swagger UI files that ship inside the django-ninja
package are served by one small, allowlisted view under /api/v1/docs/assets/.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import ninja
from django.http import FileResponse, HttpRequest, HttpResponse
from django.template import engines
from django.urls import reverse
from ninja.openapi.docs import Swagger

from frontline.core.errors import NotFound

if TYPE_CHECKING:
    from ninja import NinjaAPI

NINJA_STATIC = Path(ninja.__file__).resolve().parent / "static" / "ninja"
TEMPLATE = Path(__file__).resolve().parent / "templates" / "api" / "swagger.html"

# name -> content type: nothing outside this list is ever read from disk.
ASSETS: dict[str, str] = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-init.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
    "favicon.png": "image/png",
}
ASSET_URL_NAME = "docs-asset"


class LocalSwagger(Swagger):
    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        namespace = api.urls_namespace

        def asset(name: str) -> str:
            return reverse(f"{namespace}:{ASSET_URL_NAME}", kwargs={**kwargs, "name": name})

        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        context = {
            "title": api.title,
            "swagger_settings": settings,
            "add_csrf": True,  # the session auth checks CSRF; Swagger UI sends the token
            "assets": {
                "css": asset("swagger-ui.css"),
                "bundle": asset("swagger-ui-bundle.js"),
                "init": asset("swagger-ui-init.js"),
                "favicon_svg": asset("favicon.svg"),
                "favicon_png": asset("favicon.png"),
            },
        }
        template = engines["django"].from_string(TEMPLATE.read_text())
        return HttpResponse(template.render(context, request))


def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    """One of the Swagger UI files shipped with django-ninja."""
    content_type = ASSETS.get(name)
    if content_type is None:
        raise NotFound()
    response = FileResponse((NINJA_STATIC / name).open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=86400"
    return response
