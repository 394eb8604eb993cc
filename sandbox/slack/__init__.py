"""A stateful fake of the Slack Web API for tests. See README.md beside this file."""

from sandbox.slack.fake import FakeSlack
from sandbox.slack.limits import Hold
from sandbox.slack.records import (
    Call,
    CanvasView,
    ChannelView,
    FileView,
    Message,
    Seen,
    View,
    Violation,
)

__all__ = [
    "Call",
    "CanvasView",
    "ChannelView",
    "FakeSlack",
    "FileView",
    "Hold",
    "Message",
    "Seen",
    "View",
    "Violation",
]
