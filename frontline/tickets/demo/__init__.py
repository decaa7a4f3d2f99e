"""The demo desk behind `frontline demo`: a provider, three client organisations, tiers and
specialist groups, people in every role, and a few hundred tickets with months of history, all
written through the same services the UI and the API use."""

from frontline.tickets.demo.load import DEMO_PASSWORD, DemoResult, DemoUnavailable, demo_load

__all__ = ["DEMO_PASSWORD", "DemoResult", "DemoUnavailable", "demo_load"]
