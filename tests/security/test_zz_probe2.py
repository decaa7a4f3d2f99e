import base64, json, hashlib
import pytest
from tests.api.conftest import open_ticket, api_as  # noqa

def cur(names, values):
    fp = hashlib.sha256(",".join(names).encode()).hexdigest()[:12]
    return base64.urlsafe_b64encode(json.dumps({"o": fp, "v": values}).encode()).decode().rstrip("=")

@pytest.mark.parametrize("c", [
    cur(["-created_at", "-id"], ["2020-01-01T00:00:00Z", "99999999999999999999999"]),
    cur(["-created_at", "-id"], ["2020-01-01T00:00:00Z", "-99999999999999999999999"]),
    cur(["-created_at", "-id"], ["x' OR 1=1 --", "1"]),
    cur(["-created_at", "-id"], ["2020-01-01T00:00:00Z", "\x00"]),
])
def test_api(desk, api_as, c):
    cl = api_as(desk.agent_a)
    cl.client.raise_request_exception = False
    open_ticket(desk)
    r = cl.get("/tickets", {"cursor": c})
    print(r.status_code, r.content[:200])
    assert r.status_code < 500

def test_users(desk, api_as):
    cl = api_as(desk.agent_a)
    cl.client.raise_request_exception = False
    for c in [cur(["full_name", "id"], ["\x00", "99999999999999999999999"]), cur(["full_name", "id"], ["a", "1e5"])]:
        r = cl.get("/users", {"cursor": c})
        print(r.status_code, r.content[:200])
        assert r.status_code < 500
