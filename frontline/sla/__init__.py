"""SLAs: business-hours calendars and holidays, SLA policies per contract, each ticket's
response and resolution clocks, and the sweep that warns, breaches and escalates.

Owns `calendar` (pure business-time maths) and `clocks` (pure clock rules). Called by the ticket
services (hooks) and calls back only through `tickets.services`/`tickets.selectors`; must not
import views, api or portal code.
"""
