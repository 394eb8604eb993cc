"""Reading and checking policy files: every problem, each as ``"<path>: <message>"``.

Paths name the field as ``severities[2].escalation[0].after`` (0-based indices, dotted keys);
problems with the file itself (missing, not YAML, not a mapping, duplicate keys) are named by the
file's path instead. Top-level keys starting with ``x-`` are ignored: they can hold YAML anchors
to reuse, e.g. a shared escalation chain (``x-chain: &chain [...]``, ``escalation: *chain``).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bot.policy.models import DEFAULT_ROLES, Policy
from bot.policy.rules import cross_check, format_loc

DEFAULT_POLICY_NAME = "default.yaml"


class PolicyError(ValueError):
    """An invalid policy; ``problems`` lists every problem as ``"<path>: <message>"``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid policy:\n" + "\n".join(f"  {p}" for p in self.problems))


def check_policy_file(path: str | Path) -> list[str]:
    """``[]`` when the file is a valid policy, otherwise every problem found (for the CLI)."""
    text, problems = _read(Path(path))
    if text is None:
        return problems
    return _parse(text, str(path))[1]


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in ``path`` (``None``: the built-in one); raises :class:`PolicyError`."""
    if path is None:
        return default_policy()
    text, problems = _read(Path(path))
    if text is None:
        raise PolicyError(problems)
    return _or_raise(*_parse(text, str(path)))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """A policy from YAML text; raises :class:`PolicyError` naming ``source`` for file problems."""
    return _or_raise(*_parse(text, source))


def policy_from_data(data: Mapping[str, Any]) -> Policy:
    """A policy from already-loaded YAML-shaped data; raises :class:`PolicyError`."""
    return _or_raise(*_validate(data))


@functools.cache
def default_policy() -> Policy:
    """The built-in policy (``bot/policy/default.yaml``, shipped as package data), loaded once."""
    text = resources.files("bot.policy").joinpath(DEFAULT_POLICY_NAME).read_text("utf-8")
    return parse_policy(text, f"built-in {DEFAULT_POLICY_NAME}")


# --- reading ---------------------------------------------------------------------------------


def _or_raise(policy: Policy | None, problems: list[str]) -> Policy:
    if policy is None:
        raise PolicyError(problems)
    return policy


def _read(path: Path) -> tuple[str | None, list[str]]:
    try:
        return path.read_text("utf-8"), []
    except FileNotFoundError:
        return None, [f"{path}: file not found"]
    except IsADirectoryError:
        return None, [f"{path}: is a directory, not a policy file"]
    except UnicodeDecodeError:
        return None, [f"{path}: is not UTF-8 text"]
    except OSError as exc:
        return None, [f"{path}: cannot be read ({exc.strerror or exc})"]


class _Loader(yaml.SafeLoader):
    """Safe YAML that notes duplicate keys, which plain YAML silently resolves to the last one."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`, merged below
            continue
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            if key in first_line:
                loader.duplicates.append(
                    f"line {line}: duplicate key {key!r} (first on line {first_line[key]});"
                    " only one may be given"
                )
            else:
                first_line[key] = line
        except TypeError:  # an unhashable key: construct_mapping below reports it
            pass
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse(text: str, source: str) -> tuple[Policy | None, list[str]]:
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        return None, [f"{source}: {_yaml_message(exc)}"]
    finally:
        loader.dispose()
    problems = [f"{source}: {message}" for message in loader.duplicates]
    if data is None:
        return None, [*problems, f"{source}: the file is empty; a policy needs at least severities"]
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        return None, [
            *problems,
            f"{source}: the top level must be a mapping of policy keys"
            f" (announce_channel, severities, roles, …), not {kind}",
        ]
    # Top-level keys starting with "x-" hold YAML anchors for reuse (`<<: *common`).
    policy, more = _validate({k: v for k, v in data.items() if not str(k).startswith("x-")})
    problems += more
    return (policy if not problems else None), problems


def _yaml_message(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        what = ": ".join(part for part in (exc.context, exc.problem) if part)
        return f"YAML syntax error at line {mark.line + 1}, column {mark.column + 1}: {what}"
    return f"YAML syntax error: {exc}"


# --- validating ------------------------------------------------------------------------------


def _validate(data: Mapping[str, Any]) -> tuple[Policy | None, list[str]]:
    policy: Policy | None = None
    problems: list[str] = []
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems += [
            _describe(error) for error in exc.errors() if error["type"] != "policy_cross_check"
        ]
    with_roles = {"roles": [role.model_dump(mode="json") for role in DEFAULT_ROLES], **data}
    problems += [f"{format_loc(loc)}: {message}" for loc, message in cross_check(with_roles)]
    unique = list(dict.fromkeys(problems))
    return (policy if not unique else None), unique


def _describe(error: ErrorDetails) -> str:
    loc = error["loc"]
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = _unknown_key(loc)
    elif error["type"] == "missing":
        message = "is required"
    elif error["type"] == "model_type":
        message = "must be a mapping (key: value pairs)"
    elif error["type"] in ("tuple_type", "list_type"):
        message = "must be a list"
    else:
        message = message.removeprefix("Value error, ")
    return f"{format_loc(loc) or '(top level)'}: {message}"


def _unknown_key(loc: tuple[str | int, ...]) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    if model is None:
        return f"unknown key {key!r}"
    fields = list(model.model_fields)
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(fields)}"
    return f"unknown key {key!r} ({hint})"


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model that the data at ``loc`` is validated as, to suggest its keys."""
    model: type[BaseModel] = Policy
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        found = _model_in(field.annotation) if field else None
        if found is None:
            return None
        model = found
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
