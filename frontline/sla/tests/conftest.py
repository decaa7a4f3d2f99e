from __future__ import annotations

import pytest


@pytest.fixture
def sla_desk(desk):
    """The shared desk (it comes with the default SLA calendars and policies)."""
    return desk
