"""The OpenAPI schema is exact: every operation, its errors, its closed input schemas."""

from __future__ import annotations

import json

import pytest

from frontline.api.urls import api
from frontline.tickets.models import Ticket
from frontline.tickets.services import UPDATABLE_FIELDS

EXPECTED = {
    ("post", "/tickets"),
    ("get", "/tickets"),
    ("get", "/tickets/{ref}"),
    ("patch", "/tickets/{ref}"),
    ("post", "/tickets/{ref}/comments"),
    ("get", "/tickets/{ref}/comments"),
    ("post", "/tickets/{ref}/attachments"),
    ("get", "/tickets/{ref}/attachments"),
    ("get", "/tickets/{ref}/attachments/{uid}/download"),
    ("post", "/tickets/{ref}/assign"),
    ("post", "/tickets/{ref}/escalate"),
    ("post", "/tickets/{ref}/transition"),
    ("post", "/tickets/{ref}/resolve"),
    ("post", "/tickets/{ref}/close"),
    ("post", "/tickets/{ref}/reopen"),
    ("post", "/tickets/{ref}/confirm"),
    ("get", "/tickets/{ref}/timeline"),
    ("get", "/tickets/{ref}/escalations"),
    ("get", "/organizations"),
    ("get", "/organizations/{organization_id}"),
    ("get", "/users"),
    ("post", "/users"),
    ("get", "/users/me"),
    ("patch", "/users/me"),
    ("get", "/users/{user_id}"),
    ("patch", "/users/{user_id}"),
    ("get", "/groups"),
    ("get", "/groups/{group_id}"),
}


@pytest.fixture(scope="module")
def schema():
    # Through JSON, as clients see it (status codes become strings).
    return json.loads(json.dumps(api.get_openapi_schema(path_prefix="")))


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_every_endpoint_is_there_and_nothing_else(schema):
    assert {(m, p) for m, p, _ in _operations(schema)} == EXPECTED


def test_operation_ids_are_unique(schema):
    ids = [op["operationId"] for _, _, op in _operations(schema)]
    assert len(ids) == len(set(ids))


def test_every_operation_declares_its_errors_in_one_shape(schema):
    for method, path, op in _operations(schema):
        codes = set(op["responses"])
        assert "401" in codes, (method, path)
        if method != "get":
            assert {"403", "422"} <= codes, (method, path)
        if "{" in path:
            assert "404" in codes or path == "/users/me", (method, path)
        for code in codes - {"200", "201"}:
            ref = op["responses"][code]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorOut"), (method, path, code)


def test_input_schemas_refuse_unknown_fields(schema):
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("In"):
            assert component.get("additionalProperties") is False, name


def test_versioned_writes_require_or_accept_a_version(schema):
    components = schema["components"]["schemas"]
    assert set(components["TicketUpdateIn"]["properties"]) == {*UPDATABLE_FIELDS, "version"}
    assert components["TicketUpdateIn"]["required"] == ["version"]
    for name in ("AssignIn", "EscalateIn", "TransitionIn", "ResolveIn", "VersionIn", "ReopenIn"):
        assert "version" in components[name]["properties"], name


def test_enums_come_from_the_models(schema):
    ticket = schema["components"]["schemas"]["TicketOut"]["properties"]
    assert ticket["status"]["enum"] == list(Ticket.Status.values)
    assert ticket["channel"]["enum"] == list(Ticket.Channel.values)
