"""What the admin refuses when calendars and policies are edited (model validation)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from frontline.sla.models import Calendar, SlaPolicy


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"holiday_country": "DE", "holiday_subdivision": "ZZ"}, "holiday_country"),
        ({"holiday_subdivision": "BY"}, "holiday_subdivision"),
    ],
)
def test_a_calendar_with_an_unknown_zone_or_holiday_region_is_refused(fields, field):
    with pytest.raises(ValidationError) as refused:
        Calendar(name="Bad", **fields).clean()
    assert field in refused.value.message_dict


def test_a_calendar_with_a_known_region_is_accepted():
    Calendar(name="Bavaria", time_zone="Europe/Berlin", holiday_country="DE",
             holiday_subdivision="BY").clean()  # fmt: skip


@pytest.mark.parametrize(
    "statuses", [["pending_customer", "on_holiday"], "pending_customer", ["resolved"]]
)
def test_a_policy_pausing_on_unknown_or_closing_statuses_is_refused(statuses):
    policy = SlaPolicy(name="P", priority=3, response_minutes=1, resolution_minutes=2)
    policy.pause_statuses = statuses
    with pytest.raises(ValidationError) as refused:
        policy.clean()
    assert "pause_statuses" in refused.value.message_dict
