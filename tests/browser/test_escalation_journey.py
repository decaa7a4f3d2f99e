"""End-to-end journeys in a real browser (Debian's chromium through Playwright).

1. The escalation journey: an end user opens a ticket on the portal, Tier 1 escalates it with a
   handoff note, Tier 2 reads the handoff and resolves it, the end user confirms it is solved.
2. A stored-XSS attempt through the portal, opened by an agent on the ticket page and the queue.
3. The phone log: an agent logs a call that was resolved on the call.

Every step asserts on what a person sees; the database is checked only at the end. One
screenshot per step is saved under test-artifacts/<test>/ for humans (failures get
pytest-playwright's own screenshot as well)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from frontline.tickets.models import Category, Escalation, Ticket

from .conftest import Journey

pytestmark = [
    pytest.mark.browser,
    # live_server runs in another thread: the data must be committed to be seen there.
    pytest.mark.django_db(transaction=True),
    # Meant to keep the browser tests in one xdist worker (one chromium, one live server) under
    # --dist loadgroup. With pytest 9.2 + pytest-xdist 3.8 the group is silently ignored
    # (pytest-dev/pytest-xdist#1386); the tests also pass spread over workers.
    pytest.mark.xdist_group("browser"),
]

NUMBER = re.compile(r"\b(?:INC|REQ)-\d+\b")


def open_portal_ticket(journey: Journey, *, subject: str, description: str) -> str:
    """As a signed-in end user, fill the portal's new-ticket form; returns the ticket number."""
    page = journey.page
    page.get_by_role("banner").get_by_role("link", name="New ticket").click()
    expect(page.get_by_role("heading", name="Tell us what's going on")).to_be_visible()
    page.get_by_label("Something is broken").check()
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Description").fill(description)
    page.get_by_label("Just me").check()
    page.get_by_label("I can work, but it slows me down").check()
    return subject


def submit_portal_ticket(journey: Journey) -> str:
    page = journey.page
    page.get_by_role("button", name="Send").click()
    confirmation = page.get_by_text("has been opened")
    expect(confirmation).to_be_visible()
    match = NUMBER.search(confirmation.inner_text())
    assert match, "the confirmation names the new ticket's number"
    number = match.group(0)
    expect(page.locator(".ticket-number")).to_contain_text(number)
    return number


def test_escalation_journey(journey: Journey, desk, dialogs) -> None:
    page = journey.page
    email = Category.objects.create(name="Email")
    Category.objects.create(name="Outlook", parent=email)
    subject = "Outlook keeps asking for my password"
    symptoms = "Outlook prompts for the password every few minutes, since this morning."
    diagnosis = "Sign-in works in the browser; only the desktop client loops."
    step_one = "Restarted Outlook and the laptop"
    step_two = "Removed the cached credentials from Credential Manager"
    notes = "Re-created the Outlook profile; modern authentication was disabled on it."

    # 1. Alice opens a ticket on the portal.
    journey.sign_in(desk.user_a.email, "Alice Acme")
    open_portal_ticket(
        journey, subject=subject, description="It started this morning. I can still use webmail."
    )
    page.get_by_label(re.compile(r"^Category")).select_option(label="Email")
    page.get_by_label(re.compile(r"^Subcategory")).select_option(label="Outlook")
    journey.shot("alice-new-ticket-form")
    number = submit_portal_ticket(journey)
    expect(page.get_by_role("heading", name=subject)).to_be_visible()
    expect(page.get_by_text("Received")).to_be_visible()
    journey.shot("alice-ticket-opened")
    journey.sign_out()

    # 2. Tess (Tier 1) finds it among the unassigned tickets, escalates it to Tier 2.
    journey.sign_in(desk.agent1.email, "Tess Tier-One")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Unassigned").click()
    expect(page.get_by_role("heading", name="Unassigned open tickets")).to_be_visible()
    page.get_by_label("Search").fill("keeps asking")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=subject))
    expect(row).to_be_visible()
    expect(row).to_contain_text("Alice Acme")
    expect(row).to_contain_text("Service Desk")
    journey.shot("tess-queue")
    row.get_by_role("link", name=subject).click()
    expect(page.get_by_role("heading", name=subject, exact=True)).to_be_visible()
    expect(page.get_by_text("Email / Outlook")).to_be_visible()

    page.get_by_text("Escalate", exact=True).first.click()  # the <summary> opening the form
    escalate = page.locator("#action-escalate")
    escalate.get_by_label("To group").select_option(label="Tier 2 (tier 2)")
    escalate.get_by_label("Symptoms (what the user sees)").fill(symptoms)
    escalate.get_by_label("Diagnosis so far").fill(diagnosis)
    # Each step input is named "Step N already tried" (aria-label), also the one added by JS.
    escalate.get_by_role("textbox", name="Step 1 already tried").fill(step_one)
    escalate.get_by_role("button", name="+ Add step").click()
    added = escalate.get_by_role("textbox", name="Step 2 already tried")
    expect(added).to_be_focused()
    added.fill(step_two)
    escalate.get_by_label("Why escalate now").fill("Needs an Exchange admin.")
    journey.shot("tess-escalate-form")
    escalate.get_by_role("button", name="Escalate", exact=True).click()

    expect(page.get_by_role("status")).to_have_text(
        "Ticket escalated; the handoff note is at the top of the ticket."
    )
    handoff = page.get_by_role("region", name="Escalation handoff: read this first")
    expect(handoff).to_contain_text("Service Desk (tier 1) → Tier 2 (tier 2)")
    expect(page.get_by_role("definition").filter(has_text="(tier 2)")).to_contain_text("Tier 2")
    journey.shot("tess-escalated")
    # It has left her group: her groups' queue no longer lists it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My groups").click()
    expect(page.get_by_role("heading", name="My groups' open tickets")).to_be_visible()
    page.get_by_label("Search").fill("keeps asking")
    expect(page.get_by_text("No tickets here.")).to_be_visible()
    expect(page.get_by_role("link", name=subject)).to_have_count(0)
    journey.shot("tess-my-groups-without-it")
    journey.sign_out()

    # 3. Tom (Tier 2) reads the handoff at the top of the ticket and resolves it.
    journey.sign_in(desk.agent2.email, "Tom Tier-Two")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My groups").click()
    page.get_by_role("link", name=subject).click()
    handoff = page.get_by_role("region", name="Escalation handoff: read this first")
    expect(handoff).to_be_visible()
    expect(handoff).to_contain_text(symptoms)
    expect(handoff).to_contain_text(diagnosis)
    expect(handoff).to_contain_text("Escalated by Tess Tier-One")
    expect(handoff.get_by_role("listitem")).to_have_text([step_one, step_two])
    heading = page.get_by_role("heading", name=subject, exact=True)
    handoff_box, heading_box = handoff.bounding_box(), heading.bounding_box()
    assert handoff_box and heading_box
    assert handoff_box["y"] < heading_box["y"], "the handoff is above the ticket's own header"
    journey.shot("tom-reads-handoff")

    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_role("status")).to_have_text("Assignment saved.")
    page.get_by_text("Change status", exact=True).first.click()  # the <summary>
    status = page.locator("#action-status")
    status.get_by_label("New status").select_option(label="Resolved")
    status.get_by_label("Resolution code").select_option(label="Solved (remotely)")
    status.get_by_label("Resolution notes (when resolving)").fill(notes)
    journey.shot("tom-resolve-form")
    status.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("status")).to_have_text("Status changed.")
    expect(page.locator(".desk-ticket-badges")).to_contain_text("Resolved")
    expect(page.get_by_text(notes).first).to_be_visible()
    journey.shot("tom-resolved")
    journey.sign_out()

    # 4. Alice sees it resolved, with the notes, and confirms it is solved.
    journey.sign_in(desk.user_a.email, "Alice Acme")
    # A resolved ticket is not on the default "Open" tab: she looks under "Resolved".
    page.get_by_role("navigation", name="Status").get_by_role("link", name="Resolved").click()
    page.get_by_role("link", name=subject).click()
    expect(page.get_by_role("heading", name=subject)).to_be_visible()
    resolved = page.get_by_role("region", name="We think this is solved")
    expect(resolved).to_contain_text(notes)
    expect(page.locator(".ticket-facts")).to_contain_text("Resolved")
    journey.shot("alice-sees-resolved")
    page.get_by_role("button", name="Yes, it's solved").click()
    expect(page.get_by_text(f"Thank you for confirming. {number} is now closed.")).to_be_visible()
    expect(page.get_by_role("heading", name="This ticket is closed")).to_be_visible()
    expect(page.locator(".ticket-facts")).to_contain_text("Closed")
    journey.shot("alice-closed")

    assert dialogs == []
    ticket = Ticket.objects.get(number=number)
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.resolved_tier == 2
    assert ticket.first_contact_resolution is False
    assert ticket.category == email
    escalation = Escalation.objects.get(ticket=ticket)
    assert escalation.steps_tried == [step_one, step_two]
    assert escalation.to_group == desk.tier2


# bypass_csp: the Content-Security-Policy would block inline scripts anyway; without it this test
# checks the escaping and sanitising themselves.
@pytest.mark.browser_context_args(bypass_csp=True)
def test_stored_xss_is_shown_as_text(journey: Journey, desk, dialogs) -> None:
    page = journey.page
    img = '<img src=x onerror="window.__xss=1">'
    script = "<script>window.__xss=2</script>"
    subject = f"XSS {img} {script}"
    description = f"Before {img} middle {script} after"

    journey.sign_in(desk.user_a.email, "Alice Acme")
    open_portal_ticket(journey, subject=subject, description=description)
    number = submit_portal_ticket(journey)
    expect(page.get_by_role("heading", name=subject, exact=True)).to_be_visible()
    assert page.evaluate("window.__xss") is None
    journey.shot("alice-portal-ticket")
    journey.sign_out()

    journey.sign_in(desk.agent1.email, "Tess Tier-One")
    journey.goto("/desk/?queue=all")
    link = page.get_by_role("link", name=subject, exact=True)
    expect(link).to_be_visible()
    assert page.evaluate("window.__xss") is None
    journey.shot("tess-queue")

    link.click()
    expect(page.get_by_role("heading", name=subject, exact=True)).to_be_visible()
    expect(page).to_have_title(re.compile(re.escape(f"{number} {subject}")))
    body = page.locator(".prose").first  # the description, rendered from Markdown
    expect(body).to_contain_text("Before")
    expect(body).to_contain_text("after")
    # The sanitiser drops the tags (and the script's content); nothing of them is executable.
    expect(page.locator("#ticket-body img, #ticket-body script")).to_have_count(0)
    assert page.evaluate("window.__xss") is None
    journey.shot("tess-ticket")

    # htmx swaps in the ticket body again after an action: still inert.
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_role("status")).to_have_text("Assignment saved.")
    expect(page.get_by_role("heading", name=subject, exact=True)).to_be_visible()
    assert page.evaluate("window.__xss") is None
    assert dialogs == []

    # Control: on this page an injected inline handler does run (CSP bypassed), so the checks
    # above would have caught an unescaped payload.
    probe = '<img src=x onerror="window.__probe=1">'
    page.evaluate("html => document.body.insertAdjacentHTML('beforeend', html)", probe)
    page.wait_for_function("window.__probe === 1")


def test_phone_log_resolved_on_the_call(journey: Journey, desk, dialogs) -> None:
    page = journey.page
    journey.sign_in(desk.agent1.email, "Tess Tier-One")
    page.get_by_role("banner").get_by_role("link", name="Log a call").click()
    expect(page.get_by_role("heading", name="Log a phone call")).to_be_visible()
    page.get_by_label("Subject").fill("Cannot print to the 2nd floor printer")
    page.get_by_label("Caller", exact=True).select_option(label="Alice Acme · alice@acme.example")
    page.get_by_label("What the caller reports").fill("Jobs stay in the queue.")
    page.get_by_label("Resolved on the call").check()
    page.get_by_label("Resolution code").select_option(label="Solved (remotely)")
    page.get_by_label("Resolution notes").fill("Cleared the print queue and restarted the spooler.")
    journey.shot("tess-phone-log-form")
    page.get_by_role("button", name="Log the call").click()

    confirmation = page.get_by_text("logged and resolved on the call.")
    expect(confirmation).to_be_visible()
    match = NUMBER.search(confirmation.inner_text())
    assert match
    number = match.group(0)
    expect(
        page.get_by_role("heading", name="Cannot print to the 2nd floor printer")
    ).to_be_visible()
    expect(page.locator(".desk-ticket-badges")).to_contain_text("Resolved")
    expect(page.locator(".desk-ticket-number")).to_have_text(number)
    details = page.locator(".desk-ticket-side dl.meta").first
    expect(details).to_contain_text("Alice Acme")
    expect(details).to_contain_text("Cleared the print queue and restarted the spooler.")
    journey.shot("tess-resolved-on-call")

    assert dialogs == []
    ticket = Ticket.objects.get(number=number)
    assert ticket.status == Ticket.Status.RESOLVED
    assert ticket.requester == desk.user_a
    assert ticket.channel == Ticket.Channel.PHONE
    assert ticket.first_contact_resolution is True
