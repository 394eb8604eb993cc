"""A stateful fake of the Slack Web API for tests. See README.md beside this file."""

from tests.fakeslack.fake import FakeSlack
from tests.fakeslack.limits import Hold
from tests.fakeslack.records import (
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
