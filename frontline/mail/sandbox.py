"""The sandbox that notification templates are rendered in (SECURITY 19).

Organisation admins edit the subject and body of their notifications (NotificationTemplate). Those
templates must not reach settings, the database, other templates or the file system, nor burn the
worker's CPU. So they run in their own `django.template.Engine` whose only built-ins are the tags
and filters below: `{% if %}` and `{% comment %}`, and filters that change text without widening
it much. There is no `{% load %}`, `{% include %}`, `{% extends %}`, `{% debug %}`, `{% for %}`
(no loops to multiply work), no `|safe`, and no loaders. The context is a plain dict of strings
(outbound.notification_context), so there are no objects whose attributes could be walked.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from django.template import Context, Engine, Library, Template, defaultfilters, defaulttags

register = Library()

for _tag in ("if", "comment"):
    register.tag(_tag, defaulttags.register.tags[_tag])

# Filters that transform one string and whose output is at most a few times the input.
SAFE_FILTERS = (
    "capfirst",
    "cut",
    "default",
    "default_if_none",
    "length",
    "lower",
    "title",
    "truncatechars",
    "truncatewords",
    "upper",
    "wordcount",
    "wordwrap",
    "yesno",
)
for _name in SAFE_FILTERS:
    register.filter(_name, defaultfilters.register.filters[_name])

# Room for a long public reply, but not for a template that expands without bound.
MAX_OUTPUT = 200_000
MAX_SOURCE = 20_000


class SandboxEngine(Engine):
    default_builtins = ["frontline.mail.sandbox"]


_org_engine = SandboxEngine(
    dirs=[], app_dirs=False, libraries={}, autoescape=False, string_if_invalid=""
)
# The shipped defaults use the same small language, read from files (the only engine with a loader).
_default_engine = SandboxEngine(
    dirs=[str(Path(__file__).parent / "templates")],
    app_dirs=False,
    libraries={},
    autoescape=False,
    string_if_invalid="",
)


class SandboxError(ValueError):
    """A template that does not compile in the sandbox, with a message for its editor."""


def sandbox_compile(source: str) -> Template:
    """Compile an organisation's template, or raise SandboxError saying why it is refused."""
    if len(source) > MAX_SOURCE:
        raise SandboxError(f"The template is longer than {MAX_SOURCE} characters.")
    try:
        return _compiled(source)
    except Exception as exc:  # TemplateSyntaxError, and anything odd the lexer raises
        raise SandboxError(str(exc) or exc.__class__.__name__) from exc


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    # Compiled templates hold no per-render state (Django renders them from many threads), so
    # the same source compiles once per process; a failure is not cached and raises every time.
    return _org_engine.from_string(source)


def _render(template: Template, context: dict[str, str]) -> str:
    # Only the plain strings we were given: no request, no settings, no context processors.
    plain: dict[str, Any] = {str(k): str(v) for k, v in context.items()}
    return template.render(Context(plain, autoescape=False))[:MAX_OUTPUT]


def sandbox_render(source: str, context: dict[str, str]) -> str:
    """Render an organisation's template. Raises SandboxError if it does not compile."""
    return _render(sandbox_compile(source), context)


def default_render(name: str, context: dict[str, str]) -> str:
    """Render one of the shipped templates (frontline/mail/templates/<name>)."""
    return _render(_default_engine.get_template(name), context)
