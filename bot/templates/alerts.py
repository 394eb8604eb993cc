"""The triage message of an alert group, edited in place as deliveries come and people act:
Declare / Decline while in triage; who declared it (and where) or who declined it (and why)
after. Pure; everything the sender wrote is escaped and bounded, addresses shown as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    SectionBlock,
)

import store
from bot.flows.cards import RenderedMessage
from bot.templates.incident import (
    SECTION_TEXT_LIMIT,
    channel_mention,
    mrkdwn,
    plain,
    safe_url,
    slack_date,
    user_mention,
)
from bot.templates.ops_common import rendered, severity_id, title_mrkdwn, user_text
from bot.templates.text import safe_mrkdwn

ALERT_DECLARE_ACTION = "alert_declare"
ALERT_DECLINE_ACTION = "alert_decline"
DECLINE_CALLBACK = "alert_decline_reason"
REASON_BLOCK = "reason"
LABELS_SHOWN = 12


@dataclass(frozen=True)
class TriageView:
    number: int
    status: str  # the incident's
    severity: str | None  # the policy's, mapped from the label (None: unmapped)
    channel_id: str | None
    declared_by: str | None  # once declared
    alert: store.IncidentAlert
    private: bool = False  # declared as a private incident: no link to its channel
    automatic: bool = False  # declared by the policy (`alerts.auto_declare`), not a person


def triage_message(view: TriageView) -> RenderedMessage:
    alert, details = view.alert, view.alert.details
    title = title_mrkdwn(str(details.get("title") or "Alert"), 300)
    value = safe_mrkdwn(alert.severity_value or "", 40)
    severity = (
        f"*{severity_id(view.severity)}* (`{value}`)"
        if view.severity
        else (f"`{value}`: not mapped, choose when declaring" if value else "not given")
    )
    counts = f"{alert.firing} firing"
    if alert.resolved:
        counts += f", {alert.resolved} resolved"
    head = {
        "triage": f":bell: *Alert* · {title}",
        "declined": f":heavy_minus_sign: *Alert declined* · {title}",
    }.get(view.status, f":rotating_light: *Alert declared as INC-{view.number}* · {title}")
    blocks: list[Block] = [
        SectionBlock(
            text=mrkdwn(head),
            fields=[
                mrkdwn(f"*Severity*\n{severity}"),
                mrkdwn(f"*Source*\n{safe_mrkdwn(alert.source, 40)}"),
                mrkdwn(
                    f"*Alerts*\n{counts}"
                    + (" · all resolved" if alert.status == "resolved" else "")
                ),
                mrkdwn(
                    f"*Seen*\nfirst {slack_date(alert.first_seen_at)}, last "
                    f"{slack_date(alert.last_seen_at)} ({alert.deliveries}×)"
                ),
            ],
        )
    ]
    description = str(details.get("description") or "").strip()
    if description:
        blocks.append(SectionBlock(text=mrkdwn(user_text(description, SECTION_TEXT_LIMIT - 10))))
    labels = [
        f"`{safe_mrkdwn(str(k), 60)}={safe_mrkdwn(str(v), 120)}`"
        for k, v in (details.get("labels") or [])[:LABELS_SHOWN]
    ]
    if labels:
        blocks.append(ContextBlock(elements=[mrkdwn(" ".join(labels)[:2900])]))
    links = [
        f"{safe_mrkdwn(str(what), 20)}: <{url}>"
        for what, raw in (details.get("links") or [])
        if (url := safe_url(str(raw))) is not None
    ]
    if links:
        blocks.append(ContextBlock(elements=[mrkdwn(" · ".join(links)[:2900])]))
    blocks += _outcome(view)
    text = f"Alert ({alert.source}): {' '.join(str(details.get('title') or 'Alert').split())}"
    return rendered(safe_mrkdwn(text, 1000), blocks)


def _outcome(view: TriageView) -> list[Block]:
    alert = view.alert
    if view.status == "triage":
        return [
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=plain("Declare", 75),
                        action_id=ALERT_DECLARE_ACTION,
                        value=str(view.number),
                        style="primary",
                    ),
                    ButtonElement(
                        text=plain("Decline", 75),
                        action_id=ALERT_DECLINE_ACTION,
                        value=str(view.number),
                    ),
                ]
            )
        ]
    if view.status == "declined":
        who = user_mention(alert.declined_by) if alert.declined_by else "someone"
        why = f": {safe_mrkdwn(' '.join((alert.decline_reason or '').split()), 500)}"
        return [
            ContextBlock(
                elements=[mrkdwn(f"Declined by {who}{why if alert.decline_reason else ''}")]
            )
        ]
    if view.private:
        return [ContextBlock(elements=[mrkdwn(f"Declared as *INC-{view.number}* (private)")])]
    where = f" in {channel_mention(view.channel_id)}" if view.channel_id else ""
    who = f" by {user_mention(view.declared_by)}" if view.declared_by else ""
    if view.automatic:
        who = " automatically (the policy declares these alerts)"
    return [ContextBlock(elements=[mrkdwn(f"Declared as *INC-{view.number}*{who}{where}")])]


def decline_modal(number: int) -> dict[str, Any]:
    """Why this alert is not an incident (kept on the timeline and the message)."""
    return {
        "type": "modal",
        "callback_id": DECLINE_CALLBACK,
        "private_metadata": str(number),
        "title": {"type": "plain_text", "text": "Decline alert"},
        "submit": {"type": "plain_text", "text": "Decline"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Why is this not an incident?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_BLOCK,
                    "multiline": True,
                    "max_length": 1000,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "Known flapping check, no impact",
                    },
                },
            }
        ],
    }
