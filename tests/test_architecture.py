"""Architecture rules that keep tenant isolation in one place (STYLE.md section 3)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps

from frontline.core.models import TenantOwned

ROOT = Path(__file__).resolve().parent.parent / "frontline"
GUARDED = ("views.py", "api.py", "tasks.py")


def _guarded_files() -> list[Path]:
    return sorted(p for name in GUARDED for p in ROOT.rglob(name) if "migrations" not in p.parts)


def _model_names() -> set[str]:
    names = {m.__name__ for m in apps.get_models() if m.__module__.startswith("frontline.")}
    assert any(issubclass(m, TenantOwned) for m in apps.get_models()), "no tenant models found"
    return names


def test_views_api_and_tasks_never_query_models_directly():
    """Views, API operations and tasks go through selectors and services, which scope every
    query to the acting user; a `Model.objects` there could bypass that."""
    names = _model_names()
    offences: list[str] = []
    for path in _guarded_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in {"objects", "_default_manager", "_base_manager"}
                and isinstance(node.value, ast.Name)
                and node.value.id in names
            ):
                offences.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.value.id}")
    assert not offences, "query through a selector/service instead:\n" + "\n".join(offences)


def test_the_lint_catches_a_direct_query(tmp_path):
    source = "from frontline.tickets.models import Ticket\nTicket.objects.all()\n"
    tree = ast.parse(source)
    hits = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and n.attr == "objects" and isinstance(n.value, ast.Name)
    ]
    assert hits, "the AST check must see Model.objects"


@pytest.mark.parametrize("model", [m for m in apps.get_models() if issubclass(m, TenantOwned)])
def test_every_tenant_table_indexes_start_with_tenant_or_a_tenant_scoped_parent(model):
    """Every tenant-owned row carries its organisation (a NOT NULL foreign key)."""
    field = model._meta.get_field("tenant")
    assert not field.null


def test_tickets_do_not_depend_on_the_mail_app():
    """Tickets sit below mail: mail reaches the timeline through
    tickets.selectors.timeline_mail_provider (registered in MailConfig.ready), never the other
    way round (tests excepted)."""
    offences = []
    for path in sorted((ROOT / "tickets").rglob("*.py")):
        if "tests" in path.parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offences += [
                f"{path.name}:{node.lineno} {n}" for n in names if n.startswith("frontline.mail")
            ]
    assert not offences, offences
