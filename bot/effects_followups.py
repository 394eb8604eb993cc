"""Effect handlers of what an incident leaves behind: telling an action item's owner, and
posting the post-mortem draft (a Markdown file, or the channel canvas).

Registered into the one effect registry (`bot.effects.handles`) on import; the composition
root imports this module before it checks the registry.
"""

from __future__ import annotations

import store
from bot.effects import DESCRIPTIONS, Delivery, handles
from bot.flows.effects import ActionItemAdded, PostmortemRequested
from bot.flows.followups import action_view
from bot.flows.ports import SlackFailure
from bot.flows.timeline import TimelineKind
from bot.postmortem import postmortem_markdown
from bot.templates import followups

DESCRIPTIONS[ActionItemAdded] = "Telling the owner of an action item"
DESCRIPTIONS[PostmortemRequested] = "Posting the post-mortem draft"


@handles(ActionItemAdded)
async def _action_item_added(d: Delivery, effect: ActionItemAdded) -> None:
    if effect.owner is None:
        return
    async with d.runner.sessions() as session:
        item = await store.get_action_item(session, item_id=effect.item_id)
    if item is None or item.done:
        return  # deleted or already done: nothing to tell
    title = None if d.incident.private else d.incident.title
    await d.dm(effect.owner, followups.action_item_dm(action_view(item, title=title), by=effect.by))


@handles(PostmortemRequested)
async def _postmortem_requested(d: Delivery, effect: PostmortemRequested) -> None:
    runner = d.runner
    if not d.job.done("posted"):
        markdown = await postmortem_markdown(
            runner.sessions, runner.policy, d.number, now=runner.clock.now()
        )
        if markdown is None:
            return
        fresh = effect.reason == "requested"
        if runner.policy.postmortem_format == "canvas":
            await _to_canvas(d, markdown, fresh=fresh)
        else:
            await _to_file(d, markdown, fresh=fresh)
        await d.job.remember("posted")
    async with runner.sessions() as session:
        await store.add_timeline_event(
            session,
            incident_number=d.number,
            kind=TimelineKind.POSTMORTEM_POSTED.value,
            at=runner.clock.now(),
            actor=effect.by,
            text="Post-mortem draft posted",
            dedupe_key=f"{d.number}:postmortem:{d.job.key}",
        )
        await session.commit()


async def _to_file(d: Delivery, markdown: str, *, fresh: bool) -> None:
    """Upload v2, exactly once: the file id is remembered before the bytes go, and after a
    crash or an unanswered completion the retry asks Slack whether the file was shared
    before completing it again. Bytes that may not have arrived start a new file (an
    uncompleted upload is never shown to anyone)."""
    gateway, job = d.runner.gateway, d.job
    upload = job.recalled("file")
    if isinstance(upload, dict) and job.done("uploaded"):
        file_id = str(upload["id"])
        if job.retrying and await gateway.file_shared_in(file_id=file_id, channel=d.channel):
            return
    else:
        content = markdown.encode()
        name = followups.postmortem_filename(d.number)
        file_id, url = await gateway.start_upload(filename=name, length=len(content))
        await job.remember("file", {"id": file_id})
        await gateway.send_upload(upload_url=url, content=content)
        await job.remember("uploaded")
    await gateway.complete_upload(
        file_id=file_id,
        title=f"INC-{d.number} post-mortem (draft)",
        channel=d.channel,
        comment=followups.postmortem_comment(d.card, fresh=fresh),
    )


async def _to_canvas(d: Delivery, markdown: str, *, fresh: bool) -> None:
    """The channel canvas holds the latest draft: created once (Slack allows one per channel,
    which also recognises an earlier attempt's), replaced by later versions; one line tells
    the channel."""
    gateway, job = d.runner.gateway, d.job
    if not job.done("canvas"):
        canvas_id = await gateway.channel_canvas(channel=d.channel)
        if canvas_id is None:
            try:
                await gateway.create_channel_canvas(
                    channel=d.channel, title=f"INC-{d.number} post-mortem", markdown=markdown
                )
            except SlackFailure as failure:
                if failure.error != "channel_canvas_already_exists":
                    raise
        else:
            await gateway.replace_canvas(canvas_id=canvas_id, markdown=markdown)
        await job.remember("canvas")
    await d.say(followups.postmortem_note(d.card, fresh=fresh), mark="postmortem_note")
