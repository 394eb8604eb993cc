"""What a click or a choice on a Block Kit element is, as Slack reports it to the app."""

from __future__ import annotations

from typing import Any


def find_element(
    blocks: list[dict[str, Any]], block_id: str, action_id: str
) -> dict[str, Any] | None:
    for block in blocks:
        if str(block.get("block_id", "")) != block_id:
            continue
        candidates = [block.get("accessory"), *(block.get("elements") or [])]
        candidates.append(block.get("element"))
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    return None


def clicked_action(element: dict[str, Any], block_id: str, selected: Any) -> dict[str, Any]:
    """The action as Slack reports a click or a choice on `element`."""
    clicked: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block_id,
        "type": element.get("type", "button"),
    }
    if "value" in element:
        clicked["value"] = element["value"]
    if "text" in element:
        clicked["text"] = element["text"]
    kind = clicked["type"]
    if kind in ("static_select", "overflow", "radio_buttons"):
        options = [*(element.get("options") or [])]
        for group in element.get("option_groups") or []:
            options.extend(group.get("options") or [])
        chosen = next((o for o in options if o.get("value") == selected), None)
        if chosen is not None:
            clicked["selected_option"] = chosen
    elif kind == "users_select" and isinstance(selected, str):
        clicked["selected_user"] = selected
    elif kind == "datepicker" and isinstance(selected, str):
        clicked["selected_date"] = selected
    return clicked
