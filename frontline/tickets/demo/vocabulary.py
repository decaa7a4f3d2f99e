"""What demo tickets say: per subcategory, the variants of a problem (subject, description, what
the specialists found, the fix), the steps Tier 1 tries, and the questions and answers.

Written for the demo; the proportions (most incidents "moderate", many waiting on the user, a few
on a vendor) follow the public UCI incident event log (dataset #498), which has no free text.

Texts may hold placeholders filled per ticket: {site} {floor} {printer} {model} {monitor} {app}
{share} {ssid} {starter} (a new starter), {vendor}; replies also {first} (the requester's first
name), {group} and {fix}."""

from __future__ import annotations

from dataclasses import dataclass

from frontline.tickets.models import Ticket

INCIDENT = Ticket.Type.INCIDENT
REQUEST = Ticket.Type.REQUEST
RC = Ticket.ResolutionCode


@dataclass(frozen=True, slots=True)
class Variant:
    """One concrete case: what the requester writes and how it ends."""

    subject: str
    description: str
    fix: str
    diagnosis: str = ""  # what the agent who escalates has found out
    escalate: bool = False  # the home group cannot fix it: it goes to a higher tier
    code: str = ""  # resolution code, when not the usual one for the group and type


@dataclass(frozen=True, slots=True)
class Issue:
    """One kind of problem or request."""

    category: str
    subcategory: str
    type: str
    variants: tuple[Variant, ...]
    steps: tuple[str, ...]  # what the first agent tries (the handoff's "steps tried")
    questions: tuple[tuple[str, str], ...] = ()  # (agent asks, requester answers)
    escalate_to: str = "Tier 2"  # the first functional escalation from the service desk
    service: str = ""
    vendor: str = ""
    weight: int = 10


V = Variant

ISSUES: tuple[Issue, ...] = (
    # --- Hardware ------------------------------------------------------------------------------
    Issue(
        "Hardware",
        "Laptop",
        INCIDENT,
        variants=(
            V(
                "{model} battery drains within an hour",
                "My laptop battery is empty after an hour even though it says 100 % in the "
                "morning. I'm at {site} and need it for meetings all day.",
                "Replaced the battery on site; diagnostics pass and the charge holds.",
                "Vendor diagnostics report a battery failure (code 2000-0131); needs a part swap "
                "on site.",
                escalate=True,
            ),
            V(
                "Laptop overheating and shutting down",
                "The laptop shuts itself down after about twenty minutes. The fan is very loud "
                "before it happens.",
                "Cleaned the fan and replaced the thermal pad; no shutdowns under a 30-minute "
                "stress test.",
                "Thermal fault: the fan reports 0 RPM under load.",
                escalate=True,
            ),
            V(
                "Laptop very slow since last week",
                "Since Monday everything takes ages to open. Outlook and Teams freeze for a "
                "minute at a time.",
                "Replaced the SSD and restored the profile from OneDrive; the user confirmed "
                "everything is back.",
                "Failing SSD: SMART warnings and repeated disk timeouts in the event log.",
                escalate=True,
            ),
            V(
                "Blue screen after this morning's updates",
                "My {model} showed a blue screen twice since the updates installed this morning.",
                "Rolled back the faulty update and paused it for this device until the vendor's "
                "fix.",
            ),
            V(
                "Laptop does not wake from sleep",
                "When I open the lid the screen stays black and I have to hold the power button.",
                "Updated the BIOS and the graphics driver; sleep and wake work again.",
            ),
        ),
        steps=(
            "Hard reset (held power 30 s, AC removed)",
            "Checked the charger and tried a known-good one",
            "Ran the vendor hardware diagnostics from the boot menu",
            "Checked Task Manager: nothing unusual running",
            "Confirmed BIOS and dock firmware are current",
        ),
        questions=(
            (
                "Could you tell me the asset tag on the sticker under the laptop, and whether it "
                "is on a dock?",
                "The tag says NW-A1137. It's on the dock at my desk most of the day.",
            ),
            (
                "Does it happen on battery only, or also on the charger?",
                "Both, unfortunately. It just happened again on the charger.",
            ),
        ),
        escalate_to="Desktop Support",
        service="End-user devices",
        vendor="Dell ProSupport",
        weight=12,
    ),
    Issue(
        "Hardware",
        "Printer",
        INCIDENT,
        variants=(
            V(
                "Printer {printer} jams on every job",
                "The printer on {floor} at {site} keeps jamming. We opened the trays and cleared "
                "the paper but it jams again straight away.",
                "Fitted a maintenance kit (rollers and fuser); test pages print cleanly.",
                "Pickup roller worn out; the device needs a maintenance kit.",
                escalate=True,
            ),
            V(
                "Print jobs stuck in the queue on {floor}",
                "Nobody on {floor} can print since this morning. Jobs just sit in the queue.",
                "Cleared the stuck job and restarted the spooler on the print server; printing "
                "works for the whole floor.",
            ),
            V(
                "Cannot print to {printer}",
                "I get 'printer offline' for {printer}, but colleagues can print to it.",
                "Removed and re-added the printer on the user's PC; test page printed.",
            ),
            V(
                "Scan to email not working on {printer}",
                "Scanning to email says 'send failed' every time.",
                "Updated the scan-to-email SMTP password on the device after the service "
                "account rotation.",
            ),
            V(
                "{printer} prints blank pages",
                "Pages come out of {printer} completely blank.",
                "Replaced the empty toner cartridge; showed the user the status page.",
                code=RC.USER_ERROR,
            ),
        ),
        steps=(
            "Cleared the print queue on the server",
            "Restarted the print spooler service",
            "Power-cycled the printer",
            "Printed a configuration page from the device",
        ),
        questions=(
            (
                "Is the printer showing an error code on its display?",
                "It says J-1402 and there's an orange light.",
            ),
        ),
        escalate_to="Desktop Support",
        service="Printing",
        vendor="HP support",
        weight=9,
    ),
    Issue(
        "Hardware",
        "Monitor",
        INCIDENT,
        variants=(
            V(
                "Second monitor not detected",
                "My second screen stopped working after I moved desks. The laptop only sees one "
                "display.",
                "Replaced a faulty USB-C dock; both displays are detected.",
            ),
            V(
                "Monitor flickering",
                "The monitor flickers every few seconds, which gives me a headache.",
                "Replaced the DisplayPort cable; no more flicker.",
            ),
            V(
                "{monitor} has a line of dead pixels",
                "There is a vertical line of dead pixels on my {monitor}.",
                "Replaced the monitor with a spare {monitor} and sent the faulty one for "
                "warranty repair.",
                "Panel fault confirmed on a second PC; out of Desktop Support's spares.",
                escalate=True,
            ),
        ),
        steps=(
            "Swapped the display cable",
            "Updated the graphics and dock drivers",
            "Tested the monitor on another PC",
        ),
        escalate_to="Desktop Support",
        service="End-user devices",
        weight=5,
    ),
    # --- Software ------------------------------------------------------------------------------
    Issue(
        "Software",
        "Email",
        INCIDENT,
        variants=(
            V(
                "Outlook keeps asking for my password",
                "Outlook prompts me for my password every few minutes even though I type it "
                "correctly.",
                "Removed the stale credentials and updated the Office build; no more prompts.",
            ),
            V(
                "Emails to external customers bounce",
                "Customers say my emails come back with 'message rejected'. It started today.",
                "Added the new sending service to the SPF record; external mail delivers again.",
                "Message trace shows 550 5.7.23: the SPF record is missing the new sending "
                "service. Needs DNS access.",
                escalate=True,
            ),
            V(
                "Shared mailbox {share} not showing in Outlook",
                "I was given access to the {share} mailbox last week but it doesn't appear in "
                "Outlook.",
                "Granted full access with auto-mapping; the shared mailbox now shows in Outlook.",
            ),
            V(
                "Mailbox full, cannot send",
                "Outlook says my mailbox is full and I cannot send anything.",
                "Archived old items with the user and enabled the online archive; mailbox at "
                "60 % and sending works.",
            ),
            V(
                "Emails stuck in my outbox",
                "Three emails have been sitting in my outbox since this morning.",
                "Removed an oversized attachment from the stuck message; the outbox is empty.",
                code=RC.USER_ERROR,
            ),
            V(
                "Mails from a key supplier go to junk",
                "Everything from our main supplier lands in junk since Monday; we nearly missed "
                "an order.",
                "Added a scoped exception for the supplier to the anti-spam policy; mail "
                "arrives in the inbox.",
                "The supplier's mails fail DMARC after their provider change; needs an anti-spam "
                "policy exception.",
                escalate=True,
            ),
            V(
                "Out-of-office reply not working",
                "I set my automatic reply but people don't get it.",
                "Turned on external replies in the automatic-reply settings with the user.",
                code=RC.USER_ERROR,
            ),
            V(
                "Calendar invites not arriving",
                "Meeting invites from colleagues never show up in my calendar.",
                "Removed a stale delegate that received the invites instead; invites arrive.",
                "Invites are delivered to an old delegate; the mailbox rules need admin access.",
                escalate=True,
            ),
        ),
        steps=(
            "Cleared cached credentials in Credential Manager",
            "Recreated the Outlook profile",
            "Checked mailbox permissions in the admin centre",
            "Ran the Microsoft Support and Recovery Assistant",
            "Checked Outlook on the web: same behaviour",
        ),
        questions=(
            (
                "Could you send me a screenshot of the bounce message, including the error code?",
                "Screenshot attached - it says 550 5.7.23.",
            ),
            (
                "Does this also happen in Outlook on the web?",
                "Outlook on the web works fine, only the desktop app is affected.",
            ),
        ),
        escalate_to="Tier 2",
        service="Email (Microsoft 365)",
        vendor="Microsoft support",
        weight=14,
    ),
    Issue(
        "Software",
        "Office",
        INCIDENT,
        variants=(
            V(
                "Excel freezes when opening the monthly report",
                "Excel hangs for minutes whenever I open the monthly report.",
                "Updated the reporting add-in to the vendor's fixed version; the report opens "
                "in seconds.",
                "The finance reporting add-in crashes Excel on load; needs the vendor's update "
                "deployed.",
                escalate=True,
            ),
            V(
                "Word document lost after crash",
                "Word crashed and I can't find the document I was working on all morning.",
                "Recovered the document from AutoRecover and turned on AutoSave to OneDrive.",
            ),
            V(
                "Teams has no audio in meetings",
                "People can't hear me in Teams although the headset works elsewhere.",
                "Reset Teams' cache and chose the headset as the default device; audio works.",
            ),
            V(
                "OneDrive not syncing {share}",
                "OneDrive shows a red cross and {share} is not syncing.",
                "Reset the OneDrive client; {share} is syncing again.",
            ),
            V(
                "Office asks to activate again",
                "Word and Excel say the product is unlicensed and ask me to sign in.",
                "Signed the user out of all Office apps and back in; the licence is active.",
            ),
            V(
                "Cannot open Excel files from {share}",
                "Excel files on {share} open as read-only or not at all.",
                "Restored the modify permission the team lost in last night's clean-up.",
                "Permissions on {share} were changed by the clean-up job; needs a file server "
                "admin.",
                escalate=True,
            ),
        ),
        steps=(
            "Started the app in safe mode",
            "Disabled add-ins",
            "Ran an online repair of Microsoft 365 Apps",
            "Signed out and back in to the Office licence",
        ),
        escalate_to="Tier 2",
        service="Microsoft 365 apps",
        weight=10,
    ),
    Issue(
        "Software",
        "ERP",
        INCIDENT,
        variants=(
            V(
                "{app}: cannot post invoices",
                "When I try to post invoices in {app} I get an error and nothing is saved. "
                "Month-end is Friday.",
                "Killed the stuck batch job holding the ledger lock and re-ran it; postings "
                "work again.",
                "Posting fails with a lock timeout on the ledger table: a batch job has held "
                "the lock since 02:00. Needs a DBA.",
                escalate=True,
            ),
            V(
                "{app} very slow this morning",
                "Every screen in {app} takes 30 seconds to load. Colleagues on {floor} have the "
                "same problem.",
                "Rebuilt the fragmented indexes and updated statistics; screens load in under "
                "two seconds.",
                "Database waits on full scans since the weekend's data load.",
                escalate=True,
            ),
            V(
                "Error 'period closed' in {app}",
                "I get 'posting period closed' when I book last month's credit notes.",
                "Finance approved; opened the period for the user's company code for one day.",
            ),
            V(
                "Cannot log in to {app}",
                "{app} says my user is locked.",
                "Unlocked the {app} user and reset the password after identity check.",
            ),
        ),
        steps=(
            "Reproduced the error with a test user",
            "Checked the user's roles in the application",
            "Cleared the client cache",
            "Checked the application server's CPU and memory",
        ),
        questions=(
            (
                "Which company code and document number give the error?",
                "Company code 1200, invoice 5100023. Same for every invoice I try.",
            ),
        ),
        escalate_to="Tier 3",
        service="ERP",
        vendor="the ERP vendor",
        weight=8,
    ),
    # --- Network -------------------------------------------------------------------------------
    Issue(
        "Network",
        "VPN",
        INCIDENT,
        variants=(
            V(
                "VPN connects but no access to {share}",
                "The VPN says connected but I cannot open the {share} drive from home.",
                "Pushed an updated VPN profile with the missing route.",
                "Split-tunnel route for the file server subnet is missing from the profile.",
                escalate=True,
            ),
            V(
                "Cannot connect to VPN from home",
                "Working from home today and the VPN won't connect - it says 'certificate "
                "expired'.",
                "Renewed the expired client certificate; the VPN connects.",
            ),
            V(
                "VPN drops every few minutes",
                "The VPN keeps disconnecting, which kills my calls.",
                "Raised the dead-peer-detection timeout on the gateway; sessions are stable.",
                "Gateway drops sessions at the DPD timeout; needs a firewall change.",
                escalate=True,
            ),
            V(
                "VPN login fails after password change",
                "I changed my password yesterday and now the VPN rejects it.",
                "Cleared the saved password in the VPN client; the user signs in with the new one.",
                code=RC.USER_ERROR,
            ),
            V(
                "VPN asks for MFA twice and then fails",
                "Since yesterday the VPN prompts me for MFA twice and then says 'authentication "
                "failed'.",
                "Fixed the RADIUS timeout on the VPN gateway; one MFA prompt and the login works.",
                "The gateway's RADIUS timeout is shorter than the MFA push; needs the firewall "
                "team.",
                escalate=True,
            ),
            V(
                "VPN very slow when working from home",
                "Everything over the VPN is extremely slow today.",
                "Switched the client to the nearer gateway; speed back to normal.",
            ),
        ),
        steps=(
            "Checked the user's account is in the VPN group",
            "Reinstalled the VPN client",
            "Tested from the user's phone hotspot",
            "Renewed the machine certificate",
        ),
        questions=(
            (
                "Are you on your home Wi-Fi or a public network?",
                "Home Wi-Fi. My partner's work VPN works on the same network.",
            ),
        ),
        escalate_to="Network",
        service="Remote access (VPN)",
        vendor="the firewall vendor",
        weight=9,
    ),
    Issue(
        "Network",
        "Wi-Fi",
        INCIDENT,
        variants=(
            V(
                "Wi-Fi very slow on {floor}",
                "The Wi-Fi on {floor} is unusable since this morning; pages time out.",
                "Replaced the faulty access point on {floor}.",
                "The access point on {floor} is offline; its switch port shows PoE errors.",
                escalate=True,
            ),
            V(
                "Cannot join {ssid} Wi-Fi",
                "My laptop won't connect to {ssid}; it says it can't connect to this network.",
                "Re-issued the device certificate; the laptop joins {ssid} again.",
            ),
            V(
                "Handheld scanners lose Wi-Fi at {site}",
                "The scanners in the warehouse at {site} drop off the Wi-Fi all the time.",
                "Adjusted roaming thresholds on the controller; scanners stay connected.",
                "Scanners roam too late between access points; needs controller changes.",
                escalate=True,
            ),
            V(
                "Guest Wi-Fi not working in meeting rooms",
                "Visitors can't get on the guest Wi-Fi in the meeting rooms.",
                "Gave reception the new guest voucher; the old one had expired.",
            ),
        ),
        steps=(
            "Forgot and re-joined the network",
            "Checked the device certificate for 802.1X",
            "Checked the access point status in the controller",
        ),
        escalate_to="Network",
        service="Wi-Fi",
        weight=6,
    ),
    Issue(
        "Network",
        "LAN",
        INCIDENT,
        variants=(
            V(
                "No network at my desk on {floor}",
                "The network cable at my desk gives no connection. Other people nearby are fine.",
                "Re-enabled the switch port that had shut down after a loop.",
                "Switch port is error-disabled after a loop.",
            ),
            V(
                "Wall port not working after desk move",
                "I moved desks and the wall port at the new desk doesn't work.",
                "Patched the wall port to the switch; the PC is online.",
            ),
            V(
                "Network outage at {site}",
                "Nothing works at {site}: no internet, no file server, no phones.",
                "The carrier replaced the failed router at {site}; the WAN link is restored.",
                "WAN link down; the carrier's router does not answer.",
                escalate=True,
            ),
        ),
        steps=(
            "Tried a different cable and port",
            "Checked the switch port status",
            "Checked the site's WAN link in the carrier portal",
        ),
        escalate_to="Network",
        service="Site network",
        vendor="the carrier",
        weight=4,
    ),
    # --- Access --------------------------------------------------------------------------------
    Issue(
        "Access",
        "Password reset",
        INCIDENT,
        variants=(
            V(
                "Locked out of my account",
                "I'm locked out after too many attempts. Can you unlock me please?",
                "Unlocked the account and reset the password after an identity check.",
            ),
            V(
                "Password expired while on leave",
                "I was on leave for three weeks and now my password doesn't work.",
                "Reset the password after an identity check; the user chose a new one.",
            ),
            V(
                "MFA prompts not arriving on new phone",
                "I got a new phone and the authenticator app no longer has my account.",
                "Re-registered MFA on the new phone after verifying identity.",
            ),
            V(
                "Account locked again after password change",
                "My account keeps locking every morning since I changed my password.",
                "Removed the stale mail profile from the user's old phone; no more lockouts.",
                "Lockouts come from an old phone still syncing with the old password; needs "
                "the device list from the directory.",
                escalate=True,
            ),
            V(
                "Forgot my password",
                "I can't remember my password after the weekend.",
                "Reset the password after an identity check and walked the user through "
                "self-service reset.",
                code=RC.USER_ERROR,
            ),
            V(
                "Cannot sign in to anything since this morning",
                "Every app says my account is disabled, but I haven't left the company!",
                "Re-enabled the account and fixed the leavers' sync filter that disabled it.",
                "Account disabled by the nightly leavers' sync (wrong HR status); needs a "
                "directory admin.",
                escalate=True,
            ),
            V(
                "Password reset for {app}",
                "I need my {app} password reset.",
                "Reset the {app} password after an identity check.",
            ),
        ),
        steps=(
            "Verified identity with a call-back to the number on file",
            "Unlocked the account in the directory",
            "Checked the self-service password reset registration",
        ),
        escalate_to="Tier 2",
        service="Identity and access",
        weight=14,
    ),
    Issue(
        "Access",
        "New account",
        REQUEST,
        variants=(
            V(
                "New starter: {starter} joins on Monday",
                "We have a new starter, {starter}, joining the team on Monday. They need an "
                "account, email and access to {app}.",
                "Created the account, mailbox and {app} access; welcome pack sent to the manager.",
            ),
            V(
                "Account for temporary contractor",
                "Please create an account for a contractor, {starter}, for three months.",
                "Created the account with an expiry date at the end of the contract.",
            ),
            V(
                "Mailbox and account for new hire in finance",
                "{starter} starts in finance next week and needs the usual finance access.",
                "Created the account and mailbox, and added the finance groups after the "
                "licence purchase.",
                "Needs a licence purchase before the mailbox can be created.",
                escalate=True,
            ),
        ),
        steps=("Checked the HR onboarding form", "Requested manager approval"),
        escalate_to="Tier 2",
        service="Identity and access",
        weight=6,
    ),
    Issue(
        "Access",
        "Permissions",
        REQUEST,
        variants=(
            V(
                "Access to the {share} folder",
                "I need read/write access to the {share} folder for the audit project.",
                "Added the user to the {share} access group after the owner approved.",
            ),
            V(
                "Add me to the {share} distribution list",
                "Please add me to the {share} mailing list.",
                "Added the user to the {share} distribution list.",
            ),
            V(
                "Need approver role in {app}",
                "My manager has approved that I become an approver in {app}.",
                "Granted the approver role in {app} as approved by the manager.",
                "The approver role needs a change in the {app} role model.",
                escalate=True,
            ),
            V(
                "Remove access for a leaver from {share}",
                "A colleague left on Friday; please remove their access to {share}.",
                "Removed the leaver from the {share} groups and disabled the account.",
            ),
        ),
        steps=("Checked the data owner for the folder", "Asked the owner to approve"),
        questions=(
            (
                "Who owns the folder, so we can ask for approval?",
                "It's my manager; she is copied in.",
            ),
        ),
        escalate_to="Tier 2",
        service="Identity and access",
        weight=8,
    ),
    # --- Security ------------------------------------------------------------------------------
    Issue(
        "Security",
        "Phishing",
        INCIDENT,
        variants=(
            V(
                "Suspicious email asking to confirm my password",
                "I got an email that looks like it's from Microsoft asking me to confirm my "
                "password. I haven't clicked it.",
                "Purged the message from all mailboxes and blocked the sender's domain.",
                "Credential harvesting campaign; 14 mailboxes received it.",
            ),
            V(
                "Clicked a link in a fake invoice email",
                "I clicked a link in an invoice email and typed my password before I noticed "
                "the address was wrong.",
                "Reset the password, revoked all sessions and checked the sign-ins: no misuse.",
                "Credentials entered on a phishing page; sign-in logs need review.",
            ),
            V(
                "Phishing email pretending to be the CEO",
                "An email 'from the CEO' asks me to buy gift cards urgently.",
                "Confirmed as phishing, blocked the sender and warned all staff.",
            ),
        ),
        steps=(
            "Collected the message headers",
            "Blocked the sender domain",
            "Searched for the same message in other mailboxes",
        ),
        escalate_to="Security",
        service="Email security",
        weight=5,
    ),
    Issue(
        "Security",
        "Malware",
        INCIDENT,
        variants=(
            V(
                "Antivirus alert on my laptop",
                "My antivirus says it found a threat and quarantined it. Should I worry?",
                "Confirmed the quarantine, ran a full scan (clean) and blocked the download site.",
                "EDR blocked a known loader; no lateral movement seen.",
            ),
            V(
                "Pop-ups and strange browser extension",
                "My browser shows pop-ups and there is an extension I never installed.",
                "Removed the malicious extension and blocked it by policy.",
            ),
            V(
                "Files renamed with a strange extension on {share}",
                "Some files on {share} now have a strange extension and won't open.",
                "Restored {share} from the 06:00 snapshot; the affected account was disabled "
                "and reset.",
                "Ransomware behaviour from one account; share isolated.",
                escalate=True,
            ),
        ),
        steps=(
            "Isolated the device from the network",
            "Collected the EDR alert details",
            "Ran a full scan",
        ),
        escalate_to="Security",
        service="Endpoint security",
        vendor="the EDR vendor",
        weight=3,
    ),
    # --- Service requests ----------------------------------------------------------------------
    Issue(
        "Service requests",
        "New laptop",
        REQUEST,
        variants=(
            V(
                "New laptop for {starter}",
                "{starter} starts in two weeks and needs a standard laptop with dock and headset.",
                "Delivered and set up a {model} with dock and headset.",
            ),
            V(
                "Laptop replacement - current one is 5 years old",
                "My laptop is five years old and very slow. My manager approved a replacement.",
                "Handed over a new {model}, migrated the data and collected the old device.",
            ),
            V(
                "Request: developer laptop with 32 GB RAM",
                "I need a laptop with 32 GB RAM for the new data project.",
                "Ordered and delivered a {model} with 32 GB; user set up and tested.",
                "Non-standard model; needs a purchase approval.",
                escalate=True,
            ),
        ),
        steps=("Checked the asset register", "Confirmed the cost centre with the manager"),
        escalate_to="Desktop Support",
        service="End-user devices",
        vendor="the hardware distributor",
        weight=5,
    ),
    Issue(
        "Service requests",
        "Software install",
        REQUEST,
        variants=(
            V(
                "Install Visio on my PC",
                "Could you install Visio please? My manager has approved the licence.",
                "Assigned a licence and deployed Visio via Intune.",
            ),
            V(
                "Please install Power BI Desktop",
                "I need Power BI Desktop for the monthly reporting.",
                "Deployed Power BI Desktop from the company portal.",
            ),
            V(
                "Need Adobe Acrobat Pro licence",
                "I need to edit PDFs; can I get Acrobat Pro?",
                "Assigned an Acrobat Pro licence and installed it.",
            ),
            V(
                "Install the {app} client",
                "I need the {app} client installed for the new project.",
                "Installed the {app} client and tested the connection with the user.",
            ),
        ),
        steps=("Checked the licence pool", "Confirmed manager approval"),
        escalate_to="Desktop Support",
        service="Software distribution",
        weight=7,
    ),
    Issue(
        "Service requests",
        "Move desk",
        REQUEST,
        variants=(
            V(
                "Desk move for the finance team to {floor}",
                "Four of us are moving to {floor} next Tuesday. We need PCs, docks and phones "
                "moved and patched.",
                "Moved and patched the equipment; users tested sign-in, printing and phones.",
            ),
            V(
                "Move my PC and phone to another desk",
                "I'm moving two desks down; can someone move my PC and phone?",
                "Moved the PC and phone and patched the new desk's port.",
            ),
            V(
                "Set up a desk for a visitor at {site}",
                "We have a visitor from head office at {site} all next week.",
                "Visitor desk set up with a dock, monitor and guest Wi-Fi details.",
            ),
        ),
        steps=("Confirmed the new desk numbers", "Booked a slot with facilities"),
        escalate_to="Desktop Support",
        service="Workplace services",
        weight=3,
    ),
)

# The resolution notes of a second attempt, after the requester reopened the ticket.
SECOND_FIXES: tuple[str, ...] = (
    "The first fix did not hold; found a second cause, fixed it and checked with the user the "
    "next morning.",
    "Applied the permanent fix this time and monitored it for a day with the user.",
)
# What a higher tier tries before it escalates again.
HIGHER_TIER_STEPS: tuple[str, ...] = (
    "Reproduced with a test account",
    "Checked the server-side logs",
    "Compared with a working user",
    "Reviewed recent changes on the service",
)
HIGHER_TIER_DIAGNOSIS: tuple[str, ...] = (
    "Client side ruled out; the fault is in the back end.",
    "Needs changes on the platform that only Tier 3 can make.",
)

CATEGORY_TREE: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Hardware",
        "Service Desk",
        (("Laptop", "Service Desk"), ("Printer", "Service Desk"), ("Monitor", "Desktop Support")),
    ),
    (
        "Software",
        "Service Desk",
        (("Email", "Service Desk"), ("Office", "Service Desk"), ("ERP", "Tier 2")),
    ),
    (
        "Network",
        "Service Desk",
        (("VPN", "Service Desk"), ("Wi-Fi", "Service Desk"), ("LAN", "Network")),
    ),
    (
        "Access",
        "Service Desk",
        (
            ("Password reset", "Service Desk"),
            ("New account", "Service Desk"),
            ("Permissions", "Service Desk"),
        ),
    ),
    ("Security", "Security", (("Phishing", "Security"), ("Malware", "Security"))),
    (
        "Service requests",
        "Service Desk",
        (
            ("New laptop", "Desktop Support"),
            ("Software install", "Desktop Support"),
            ("Move desk", "Desktop Support"),
        ),
    ),
)

# Major incidents: one outage reported by several people at once (a parent with children).


@dataclass(frozen=True, slots=True)
class Outage:
    category: str
    subcategory: str
    subject: str
    reports: tuple[str, ...]  # the subjects of the other reports
    diagnosis: str
    fix: str


OUTAGES: tuple[Outage, ...] = (
    Outage(
        "Network",
        "VPN",
        "VPN gateway down: no remote access for {site}",
        (
            "Cannot connect to VPN",
            "VPN not working from home",
            "Remote access down?",
            "VPN error 'gateway not responding'",
        ),
        "The gateway's certificate expired overnight; every tunnel is refused.",
        "Installed the renewed gateway certificate; remote access restored for everyone.",
    ),
    Outage(
        "Software",
        "Email",
        "Email delivery delayed for all users",
        (
            "Emails not arriving",
            "Outlook not receiving anything since 9:00",
            "Customers say they emailed me but I have nothing",
        ),
        "Inbound mail queued at the filtering service after a connector change.",
        "Restored the inbound connector; the queue drained within 20 minutes.",
    ),
    Outage(
        "Software",
        "ERP",
        "{app} unavailable for all users",
        ("Cannot log in to {app}", "{app} shows error 503", "{app} not loading"),
        "The application server ran out of disk space for its logs.",
        "Freed disk space, rotated the logs and restarted the service; monitoring added.",
    ),
    Outage(
        "Network",
        "LAN",
        "Network outage at {site}",
        ("No internet at {site}", "File server unreachable", "Phones and PCs offline"),
        "The core switch at {site} lost power after a UPS fault.",
        "Replaced the UPS battery and restarted the core switch; the site is back online.",
    ),
)

# Polite, varied agent replies.
ACKNOWLEDGEMENTS: tuple[str, ...] = (
    "Hi {first}, thanks for reporting this. I'm looking into it now.",
    "Hello {first}, I've picked this up and will update you shortly.",
    "Thanks {first}. I've had a look and I'm working on it.",
)
HANDOFF_REPLIES: tuple[str, ...] = (
    "Hi {first}, I've passed this to our {group} team with everything we've checked so far, so "
    "you won't need to repeat it.",
    "Hello {first}, this needs our {group} specialists; they have the full notes and will "
    "contact you.",
)
PICKUP_NOTES: tuple[str, ...] = (
    "Read the handoff; not repeating the steps already tried. Starting with the diagnosis.",
    "Taking this. Handoff notes are clear; checking the back end.",
    "Picked up from the queue. Will reproduce with a test account first.",
)
RESOLUTION_REPLIES: tuple[str, ...] = (
    "Hi {first}, this should now be fixed: {fix} Please let us know if anything is still wrong.",
    "Hello {first}, good news: {fix} I'll mark the ticket as resolved.",
)
REOPEN_REASONS: tuple[str, ...] = (
    "It worked for a day but the problem is back.",
    "Still happening this morning, sorry.",
    "Not fixed - same error as before.",
)
THANKS: tuple[str, ...] = (
    "Thank you, that fixed it!",
    "All working now, thanks for the quick help.",
    "Confirmed, thanks.",
)
VENDOR_NOTES: tuple[str, ...] = (
    "Opened a case with {vendor}; waiting for their engineer.",
    "Raised with {vendor} (priority 2). Waiting on their reply.",
)
VENDOR_BACK_NOTES: tuple[str, ...] = (
    "{vendor} replied with a fix; applying it now.",
    "{vendor} shipped the part; booked the visit.",
)
CHANGE_REASONS: tuple[str, ...] = (
    "Needs a change approval before we can go ahead (next CAB on Thursday).",
    "Waiting for the change window this weekend.",
)
CHASERS: tuple[str, ...] = (
    "Any news on this please? It's blocking my work.",
    "Just checking in - is there an update?",
)
