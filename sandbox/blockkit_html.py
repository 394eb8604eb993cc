"""Slack Block Kit → safe server-rendered HTML for the sandbox, and form answers → Slack's
`view.state.values`.

Interactive elements carry `data-*` attributes (`data-type`, `data-action-id`,
`data-block-id`, `data-value`, `data-confirm`) for the page's script; modal inputs are named
`"{block_id}/{action_id}"` so a plain form post maps back onto the view with `state_values`.
"""

from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from sandbox.mrkdwn_html import (
    Directory,
    mrkdwn_html,
    plain_html,
    safe_href,
    text_html,
    text_words,
    zone,
)

__all__ = ["Directory", "blocks_html", "mrkdwn_html", "plain_html", "state_values", "text_html"]
__all__ += ["view_html"]

Obj = Mapping[str, Any]
_NEW_TAB = ' target="_blank" rel="noopener noreferrer"'
# Selects of workspace things: element type → (Directory field, initial key, state key).
_PICKERS = {
    "users_select": ("users", "initial_user", "selected_user"),
    "multi_users_select": ("users", "initial_users", "selected_users"),
    "channels_select": ("channels", "initial_channel", "selected_channel"),
    "multi_channels_select": ("channels", "initial_channels", "selected_channels"),
    "conversations_select": ("channels", "initial_conversation", "selected_conversation"),
    "multi_conversations_select": ("channels", "initial_conversations", "selected_conversations"),
}
_TEXT_INPUTS = {"plain_text_input": "text", "email_text_input": "email", "url_text_input": "url"}
_MOMENTS = {
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}
_PICKER_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def _obj(value: Any) -> Obj:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _attrs(attrs: Mapping[str, Any]) -> str:
    """` name="value"` pairs, every value attribute-escaped; None/False left out."""
    out = []
    for name, value in attrs.items():
        if value is True:
            out.append(f" {name}")
        elif value is not None and value is not False:
            out.append(f' {name}="{html.escape(_str(value), quote=True)}"')
    return "".join(out)


def _all_options(el: Obj) -> list[Obj]:
    options = [_obj(o) for o in _list(el.get("options"))]
    for group in _list(el.get("option_groups")):
        options.extend(_obj(o) for o in _list(_obj(group).get("options")))
    return options


def _option_tags(options: list[Any], chosen: set[str]) -> str:
    out = []
    for option in map(_obj, options):
        value = _str(option.get("value"))
        url = safe_href(option.get("url"))
        attrs = {"value": value, "selected": value in chosen, "data-url": url}
        out.append(f"<option{_attrs(attrs)}>{html.escape(text_words(option.get('text')))}</option>")
    return "".join(out)


# -- elements -------------------------------------------------------------------------------


def _element(el: Obj, d: Directory, block_id: str, form: Mapping[str, Any] | None = None) -> str:
    """One element; `form` holds name/id/required when it is a modal's input."""
    kind = _str(el.get("type"))
    base = {"data-type": kind, "data-action-id": _str(el.get("action_id"))}
    base |= {"data-block-id": block_id, **(form or {})}
    if kind == "button":
        return _button(el, d, base)
    if kind in ("static_select", "multi_static_select", "overflow", *_PICKERS):
        return _select(el, d, base)
    if kind in ("checkboxes", "radio_buttons"):
        return _choices(el, d, base)
    if kind == "image":
        return _image(el.get("image_url"), el.get("alt_text"), "element-image")
    return _field_input(el, d, base)


def _button(el: Obj, d: Directory, base: dict[str, Any]) -> str:
    style = el.get("style")
    cls = "btn" + (f" btn-{style}" if style in ("primary", "danger") else "")
    confirm = el.get("confirm")
    confirm_json = json.dumps(confirm, ensure_ascii=False) if confirm else None
    attrs = {"class": cls, **base, "data-value": el.get("value"), "data-confirm": confirm_json}
    label = text_html(_obj(el.get("text")), d)
    href = safe_href(el.get("url"))
    if href:
        return f"<a{_attrs({'href': href, **attrs})}{_NEW_TAB}>{label}</a>"
    return f'<button type="button"{_attrs(attrs)}>{label}</button>'


def _select(el: Obj, d: Directory, base: dict[str, Any]) -> str:
    kind = _str(el.get("type"))
    multiple = kind.startswith("multi_")
    attrs: dict[str, Any] = {"class": "overflow" if kind == "overflow" else "select", **base}
    attrs |= {"multiple": multiple, "data-max-selected": el.get("max_selected_items")}
    if kind in _PICKERS:
        source, initial_key, _ = _PICKERS[kind]
        names: Mapping[str, str] = getattr(d, source)
        initial = el.get(initial_key)
        chosen = {_str(v) for v in (_list(initial) if multiple else [initial]) if v}
        known = sorted(names.items(), key=lambda item: (item[1].lower(), item[0]))
        known += [(c, c) for c in sorted(chosen - set(names))]
        sigil = "@" if source == "users" else "#"
        options = [
            {"value": i, "text": {"type": "plain_text", "text": sigil + n}} for i, n in known
        ]
        body = _option_tags(list(options), chosen)
    else:
        initial_options = el.get("initial_options") if multiple else [el.get("initial_option")]
        chosen = {_str(_obj(o).get("value")) for o in _list(initial_options) if o}
        body = _option_tags(_list(el.get("options")), chosen)
        for group in map(_obj, _list(el.get("option_groups"))):
            label = html.escape(text_words(group.get("label")), quote=True)
            body += f'<optgroup label="{label}">{_option_tags(_list(group.get("options")), chosen)}'
            body += "</optgroup>"
    if kind == "overflow":
        body = '<option value="" selected>⋯</option>' + body
    elif not multiple:
        prompt = text_words(el.get("placeholder")) or "Select an option"
        first = {"value": "", "selected": not chosen}
        body = f"<option{_attrs(first)}>{html.escape(prompt)}</option>{body}"
    return f"<select{_attrs(attrs)}>{body}</select>"


def _choices(el: Obj, d: Directory, base: dict[str, Any]) -> str:
    kind = "checkbox" if el.get("type") == "checkboxes" else "radio"
    initial = el.get("initial_options") if kind == "checkbox" else [el.get("initial_option")]
    chosen = {_str(_obj(o).get("value")) for o in _list(initial) if o}
    group = {k: v for k, v in base.items() if k not in ("name", "id", "required")}
    group |= {"class": "checkboxes" if kind == "checkbox" else "radio-buttons", "role": "group"}
    group["data-required"] = base.get("required") is True
    items = []
    for option in map(_obj, _list(el.get("options"))):
        value = _str(option.get("value"))
        attrs = {"type": kind, "name": base.get("name"), "value": value, "checked": value in chosen}
        attrs["required"] = kind == "radio" and base.get("required") is True
        extra = option.get("description")
        more = f'<span class="description">{text_html(_obj(extra), d)}</span>' if extra else ""
        label = text_html(_obj(option.get("text")), d)
        items.append(f'<label class="choice"><input{_attrs(attrs)}> {label}{more}</label>')
    return f"<div{_attrs(group)}>{''.join(items)}</div>"


def _local_value(el: Obj, d: Directory) -> str | None:
    """A picker's initial value as the browser's control expects it."""
    kind = el.get("type")
    if kind == "datepicker":
        value = _str(el.get("initial_date"))
        return value if re.fullmatch(r"\d{4}-\d\d-\d\d", value) else None
    if kind == "timepicker":
        value = _str(el.get("initial_time"))
        return value if re.fullmatch(r"\d\d:\d\d", value) else None
    if kind == "datetimepicker":
        epoch = el.get("initial_date_time")
        if not isinstance(epoch, int) or isinstance(epoch, bool):
            return None
        return datetime.fromtimestamp(epoch, d.zone()).strftime("%Y-%m-%dT%H:%M")
    initial = el.get("initial_value")
    return None if initial is None else _str(initial)


def _field_input(el: Obj, d: Directory, base: dict[str, Any]) -> str:
    kind = _str(el.get("type"))
    types = {"datepicker": "date", "timepicker": "time", "datetimepicker": "datetime-local"}
    types |= {"number_input": "number", **_TEXT_INPUTS}
    if kind not in types:
        return f'<span class="unknown">{html.escape(kind)}</span>'
    value = _local_value(el, d)
    attrs: dict[str, Any] = {
        "class": "input",
        **base,
        "placeholder": text_words(el.get("placeholder")) or None,
    }
    if kind == "plain_text_input":
        attrs |= {"maxlength": el.get("max_length"), "minlength": el.get("min_length")}
        if el.get("multiline"):
            value = value or ""  # the parser drops one newline right after <textarea>
            lead = "\n" if value.startswith("\n") else ""
            return f"<textarea{_attrs(attrs)}>{lead}{html.escape(value)}</textarea>"
    if kind == "number_input":
        attrs |= {"step": "any" if el.get("is_decimal_allowed") else "1"}
        attrs |= {"min": el.get("min_value"), "max": el.get("max_value")}
    return f"<input{_attrs({'type': types[kind], **attrs, 'value': value})}>"


def _image(url: Any, alt: Any, cls: str) -> str:
    src = safe_href(url)
    if src is None or not src.lower().startswith(("http://", "https://")):
        return f'<span class="image-blocked">[image: {html.escape(_str(alt))}]</span>'
    return f"<img{_attrs({'class': cls, 'src': src, 'alt': _str(alt), 'loading': 'lazy'})}>"


# -- blocks ---------------------------------------------------------------------------------


def _block(block: Obj, d: Directory, errors: Mapping[str, str], prefix: str) -> str:
    kind = _str(block.get("type"))
    block_id = _str(block.get("block_id"))
    inner = _block_body(kind, block, d, block_id, errors, prefix)
    cls = re.sub(r"[^a-z0-9_-]", "", kind.lower()) or "unknown"
    extra = " has-error" if kind == "input" and block_id in errors else ""
    attrs = _attrs({"class": f"block block-{cls}{extra}", "data-block-id": block_id})
    return f"<div{attrs}>{inner}</div>"


def _block_body(
    kind: str, block: Obj, d: Directory, block_id: str, errors: Mapping[str, str], prefix: str
) -> str:
    if kind == "header":
        return f'<h3 class="header">{text_html(_obj(block.get("text")), d)}</h3>'
    if kind == "divider":
        return "<hr>"
    if kind == "section":
        out = ""
        if block.get("text"):
            out += f'<div class="section-text">{text_html(_obj(block["text"]), d)}</div>'
        fields = [
            f'<div class="field">{text_html(_obj(f), d)}</div>' for f in _list(block.get("fields"))
        ]
        if fields:
            out += f'<div class="fields">{"".join(fields)}</div>'
        if block.get("accessory"):
            out += f'<div class="accessory">{_element(_obj(block["accessory"]), d, block_id)}</div>'
        return out
    if kind == "context":
        items = []
        for el in map(_obj, _list(block.get("elements"))):
            if el.get("type") == "image":
                items.append(_image(el.get("image_url"), el.get("alt_text"), "context-image"))
            else:
                items.append(f'<span class="context-item">{text_html(el, d)}</span>')
        return f'<div class="context">{"".join(items)}</div>'
    if kind == "actions":
        els = [_element(_obj(el), d, block_id) for el in _list(block.get("elements"))]
        return f'<div class="actions">{"".join(els)}</div>'
    if kind == "image":
        title = _obj(block.get("title"))
        caption = f"<figcaption>{text_html(title, d)}</figcaption>" if title else ""
        image = _image(block.get("image_url"), block.get("alt_text"), "image")
        return f"<figure>{image}{caption}</figure>"
    if kind == "input":
        return _input_block(block, d, block_id, errors, prefix)
    return f'<div class="unknown">{html.escape(kind or "unknown")}</div>'


def _input_block(
    block: Obj, d: Directory, block_id: str, errors: Mapping[str, str], prefix: str
) -> str:
    el = _obj(block.get("element"))
    name = f"{block_id}/{_str(el.get('action_id'))}"
    optional = bool(block.get("optional"))
    form = {"name": name, "id": prefix + name, "required": not optional}
    label = html.escape(text_words(block.get("label")))
    if optional:
        label += ' <span class="optional">(optional)</span>'
    group = el.get("type") in ("checkboxes", "radio_buttons")
    tag = (
        f'<div class="field-label">{label}</div>'
        if group
        else f"<label{_attrs({'class': 'field-label', 'for': prefix + name})}>{label}</label>"
    )
    out = tag + _element(el, d, block_id, form)
    if block.get("hint"):
        out += f'<div class="hint">{text_html(_obj(block["hint"]), d)}</div>'
    if block_id in errors:
        out += f'<div class="field-error" role="alert">{plain_html(_str(errors[block_id]))}</div>'
    return out


def blocks_html(blocks: Sequence[Mapping[str, Any]], d: Directory) -> str:
    """A message's (or a view's) blocks, each in `<div class="block block-<type>">`."""
    return "".join(_block(_obj(b), d, {}, "") for b in blocks)


def view_html(
    view: Mapping[str, Any], d: Directory, *, errors: Mapping[str, str] | None = None
) -> str:
    """A modal as `<form class="modal">` (a Home tab or other view as a plain `<div>`)."""
    errors = errors or {}
    view_id = _str(view.get("id"))
    kind = _str(view.get("type")) or "modal"
    body = "".join(_block(_obj(b), d, errors, f"{view_id}:") for b in _list(view.get("blocks")))
    ids = {"data-view-id": view_id, "data-callback-id": _str(view.get("callback_id"))}
    if kind != "modal":
        cls = "view view-" + (re.sub(r"[^a-z0-9_-]", "", kind) or "unknown")
        return f"<div{_attrs({'class': cls, **ids})}>{body}</div>"
    title = f'<h2 class="modal-title">{text_html(_obj(view.get("title")), d)}</h2>'
    close = text_html(_obj(view.get("close")), d) or "Cancel"
    buttons = f'<button type="button" class="btn" data-role="close">{close}</button>'
    if view.get("submit"):
        submit = text_html(_obj(view.get("submit")), d)
        buttons += (
            f'<button type="submit" class="btn btn-primary" data-role="submit">{submit}</button>'
        )
    return (
        f'<form{_attrs({"class": "modal", **ids})}>{title}<div class="modal-body">{body}</div>'
        f'<div class="modal-actions">{buttons}</div></form>'
    )


# -- answers → view.state.values ------------------------------------------------------------


def _one(raw: Any) -> str | None:
    if isinstance(raw, list | tuple):
        raw = raw[0] if raw else None
    return raw if isinstance(raw, str) and raw != "" else None


def _many(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list | tuple) else [raw]
    return list(dict.fromkeys(x for x in items if isinstance(x, str) and x))


def _number(el: Obj, value: str | None) -> str | None:
    pattern = r"-?\d+(\.\d+)?" if el.get("is_decimal_allowed") else r"-?\d+"
    if value is None or not re.fullmatch(pattern, value.strip()):
        return None
    number = float(value)
    try:
        low, high = (
            float(el[k]) if el.get(k) is not None else None for k in ("min_value", "max_value")
        )
    except (TypeError, ValueError):
        return value.strip()
    if (low is not None and number < low) or (high is not None and number > high):
        return None
    return value.strip()


def _moment(kind: str, value: str | None, tz: str) -> Any:
    if value is None:
        return None
    try:
        if kind == "datepicker":
            return date.fromisoformat(value).isoformat()
        if kind == "timepicker":
            return time.fromisoformat(value).strftime("%H:%M")
        local = datetime.fromisoformat(value)
        return int(local.replace(tzinfo=local.tzinfo or zone(tz)).timestamp())
    except ValueError:
        return None


def _state(el: Obj, raw: Any, tz: str) -> dict[str, Any]:
    kind = _str(el.get("type"))
    state: dict[str, Any] = {"type": kind}
    by_value = {_str(o.get("value")): o for o in _all_options(el)}
    if kind in ("static_select", "radio_buttons"):
        option = by_value.get(_one(raw) or "")
        state["selected_option"] = copy.deepcopy(dict(option)) if option is not None else None
    elif kind in ("multi_static_select", "checkboxes"):
        picked = [v for v in _many(raw) if v in by_value]
        state["selected_options"] = [copy.deepcopy(dict(by_value[v])) for v in picked]
    elif kind in _PICKERS:
        key = _PICKERS[kind][2]
        picked = [v for v in _many(raw) if _PICKER_ID.fullmatch(v)]
        state[key] = picked if kind.startswith("multi_") else (picked[0] if picked else None)
    elif kind in _MOMENTS:
        state[_MOMENTS[kind]] = _moment(kind, _one(raw), tz)
    elif kind == "number_input":
        state["value"] = _number(el, _one(raw))
    else:  # text inputs; browsers send a textarea's newlines as CRLF
        value = _one(raw)
        state["value"] = value.replace("\r\n", "\n") if value is not None else None
    return state


def state_values(
    view: Mapping[str, Any], answers: Mapping[str, Any], *, tz: str = "UTC"
) -> dict[str, dict[str, dict[str, Any]]]:
    """Slack's `view.state.values` for a modal's answers (`"{block_id}/{action_id}"` → the
    browser form's value: a string, or a list for multi-selects and checkboxes). Every input
    block appears; a select keeps only values that are options of the view; datetimepicker
    answers are local "YYYY-MM-DDTHH:MM" in `tz`."""
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for block in map(_obj, _list(view.get("blocks"))):
        if block.get("type") != "input":
            continue
        el = _obj(block.get("element"))
        block_id, action_id = _str(block.get("block_id")), _str(el.get("action_id"))
        raw = answers.get(f"{block_id}/{action_id}")
        values.setdefault(block_id, {})[action_id] = _state(el, raw, tz)
    return values
