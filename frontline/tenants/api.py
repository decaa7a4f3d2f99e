"""REST API for organisations (mounted at /api/v1/organizations by frontline.api)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema

from frontline.api.auth import request_actor
from frontline.api.pagination import page_out
from frontline.api.schemas import ListQuery, errors
from frontline.tenants import selectors
from frontline.tenants.models import Organization

router = Router(tags=["organizations"])


class OrganizationOut(Schema):
    id: int
    name: str
    slug: str
    is_provider: bool
    time_zone: str
    is_active: bool


class OrganizationPageOut(Schema):
    items: list[OrganizationOut]
    next_cursor: str | None


def _organization_out(organization: Organization) -> OrganizationOut:
    return OrganizationOut(
        id=organization.pk,
        name=organization.name,
        slug=organization.slug,
        is_provider=organization.is_provider,
        time_zone=organization.time_zone,
        is_active=organization.is_active,
    )


@router.get(
    "",
    response={200: OrganizationPageOut, **errors(401, 422)},
    summary="Organisations the caller may see, by name",
)
def organization_list(request: HttpRequest, query: Query[ListQuery]) -> OrganizationPageOut:
    organizations = selectors.organization_list(actor=request_actor(request))
    return page_out(OrganizationPageOut, organizations, query, _organization_out)


@router.get(
    "/{organization_id}",
    response={200: OrganizationOut, **errors(401, 404, 422)},
    summary="One organisation",
)
def organization_detail(request: HttpRequest, organization_id: int) -> OrganizationOut:
    organization = selectors.organization_get(
        actor=request_actor(request), organization_id=organization_id
    )
    return _organization_out(organization)
