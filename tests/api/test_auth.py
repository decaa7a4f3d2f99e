"""Authentication, CSRF, the health check, the API docs and the `token` command."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from frontline import cli
from frontline.accounts.models import ApiToken
from frontline.accounts.services import token_create
from frontline.core.access import Actor
from frontline.tickets.models import Ticket

from .conftest import API, ApiClient, assert_error

pytestmark = pytest.mark.django_db


def test_bearer_token_authenticates(desk, api_as):
    response = api_as(desk.user_a).get("/users/me")
    assert response.status_code == 200
    assert response.json()["email"] == "alice@acme.example"


def test_no_credentials_is_401_json(desk):
    response = Client().get(f"{API}/tickets")
    assert_error(response, 401)
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_and_revoked_tokens_are_401(desk, method):
    token, raw = token_create(actor=Actor.system(), user=desk.agent1)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    for credential in (raw, "flt_not-a-real-token", ""):
        client = ApiClient(credential)
        response = client.get("/tickets") if method == "get" else client.post("/tickets", {})
        assert_error(response, 401)
    assert not Ticket.objects.exists()


def test_token_of_a_deactivated_user_is_401(desk):
    _, raw = token_create(actor=Actor.system(), user=desk.user_a)
    desk.user_a.is_active = False
    desk.user_a.save(update_fields=["is_active"])
    assert ApiClient(raw).get("/users/me").status_code == 401


def test_token_is_not_accepted_as_a_cookie(desk):
    _, raw = token_create(actor=Actor.system(), user=desk.agent1)
    client = Client()
    for name in (settings.SESSION_COOKIE_NAME, "token", "Authorization", "api_token"):
        client.cookies[name] = raw
    assert_error(client.get(f"{API}/tickets"), 401)


def _csrf_token(client: Client) -> str:
    client.get(f"{API}/docs")
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def test_session_requests_that_change_data_need_the_csrf_token(desk):
    client = Client(enforce_csrf_checks=True)
    client.force_login(desk.user_a)
    assert client.get(f"{API}/users/me").status_code == 200
    body = json.dumps({"subject": "From the browser"})
    response = client.post(f"{API}/tickets", body, content_type="application/json")
    assert_error(response, 403)
    assert not Ticket.objects.exists()
    response = client.post(
        f"{API}/tickets",
        body,
        content_type="application/json",
        headers={"X-CSRFToken": _csrf_token(client)},
    )
    assert response.status_code == 201, response.content


def test_bearer_requests_need_no_csrf_token(desk):
    _, raw = token_create(actor=Actor.system(), user=desk.user_a)
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"{API}/tickets",
        json.dumps({"subject": "From a script"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201, response.content


def test_healthz_reports_database_and_broker(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["database"]["state"] == "ok"
    assert "state" in body["broker"]


def test_openapi_schema_is_served(db):
    response = Client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Frontline API"
    assert f"{API}/tickets/{{ref}}/escalate" in schema["paths"]


def test_docs_render_without_any_cdn(db):
    client = Client()
    response = client.get(f"{API}/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, html
    assert all(url.startswith(f"{API}/docs/assets/") for url in urls), urls
    assert "cdn" not in html.lower()
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert b"".join(asset.streaming_content)
    settings_json = re.search(r'id="swagger-settings"[^>]*>(.*?)</script>', html, re.S)
    assert settings_json
    assert json.loads(settings_json.group(1))["url"] == f"{API}/openapi.json"
    assert client.get(f"{API}/docs/assets/settings.py").status_code == 404


@pytest.fixture
def keep_test_connection(monkeypatch):
    """`frontline …` closes every database connection when the command ends, which would end
    the test's transaction (on PostgreSQL, or a file-backed SQLite test database)."""
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)


def test_token_command_prints_a_working_token(desk, capsys, keep_test_connection):
    cli.main(["token", "create", "--email", "ALICE@acme.example", "--name", "laptop"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("flt_")
    assert ApiToken.objects.get(user=desk.user_a).name == "laptop"
    response = ApiClient(lines[0]).get("/users/me")
    assert response.status_code == 200
    assert response.json()["id"] == desk.user_a.pk


def test_token_command_exits_2_for_an_unknown_email(desk, capsys, keep_test_connection):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["token", "create", "--email", "nobody@nowhere.example"])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "nobody@nowhere.example" in captured.err
    assert not ApiToken.objects.exists()
