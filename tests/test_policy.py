"""The policy format: the built-in and example policies, every refusal with its field path."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.policy import (
    CHANNEL_NAME_MAX,
    Policy,
    PolicyError,
    PolicyLookupError,
    Role,
    Target,
    TargetError,
    check_policy_file,
    default_policy,
    load_policy,
    parse_policy,
    policy_from_data,
    render_channel_name,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples" / "policies"
DEFAULT_FILE = REPO_ROOT / "bot" / "policy" / "default.yaml"
SEEDS = {
    "000_524f1290dd190edc.txt",
    "001_4148d50e7234a692.txt",
    "002_c90169f4df886617.txt",
    "003_654d0e843ab4298e.txt",
    "004_1d484aa2fd83c56d.txt",
}
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def _example(name: str) -> Policy:
    return load_policy(EXAMPLES / name)


# --- the shipped policies --------------------------------------------------------------------


def test_there_is_exactly_one_example_per_seed_document() -> None:
    assert len(EXAMPLE_FILES) == 5
    named = set()
    for path in EXAMPLE_FILES:
        header = path.read_text("utf-8").split("\n\n", 1)[0]
        assert header.startswith("#"), f"{path.name} must start with a comment naming its seed"
        found = re.findall(r"\d{3}_[0-9a-f]{16}\.txt", header)
        assert len(found) == 1, f"{path.name} names {found}"
        named.add(found[0])
    assert named == SEEDS


@pytest.mark.parametrize("path", [DEFAULT_FILE, *EXAMPLE_FILES], ids=lambda p: p.name)
def test_shipped_policies_are_valid(path: Path) -> None:
    assert check_policy_file(path) == []
    assert check_policy_file(str(path)) == []
    assert isinstance(load_policy(path), Policy)


def test_default_policy_is_the_packaged_file_and_cached() -> None:
    assert load_policy(None) is default_policy() is default_policy()
    assert default_policy() == load_policy(DEFAULT_FILE)


def test_default_policy_follows_the_devops_security_procedure() -> None:
    policy = default_policy()
    assert policy.severity_ids == ("P1", "P2", "P3", "P4")
    assert [s.name for s in policy.severities] == ["Critical", "High", "Medium", "Low"]
    p1, p2, p3, p4 = policy.severities
    assert p1.description == "Revenue loss, complete service unavailability, data breach"
    assert "Database corruption or data loss" in p1.examples
    assert (p1.respond_within, p2.respond_within, p3.respond_within) == (15 * MIN, HOUR, 4 * HOUR)
    assert p1.update_every == 15 * MIN
    assert p2.update_every == 30 * MIN
    assert p3.update_every is None
    assert p4.update_every is None
    for severity in (p1, p2):
        assert severity.postmortem.required is True
        assert severity.postmortem.due == timedelta(hours=48)
    assert not p3.postmortem.required
    assert not p4.postmortem.required
    assert [step.after for step in p1.escalation] == [15 * MIN, 30 * MIN, HOUR]
    assert p1.escalation[0].notify == (Target.parse("@backup-oncall"),)
    assert p1.ack_within == 5 * MIN
    assert p4.escalation == ()
    assert Target.parse("#leadership") in p1.notify
    assert Target.parse("#leadership") not in p2.notify
    assert p1.invite == (Target.parse("@oncall"),)
    assert str(policy.announce_channel) == "#incident-response"
    assert policy.channel_name == "inc-{number}-{slug}"


def test_default_roles_and_types() -> None:
    policy = default_policy()
    assert policy.role_ids == ("commander", "tech_lead", "comms", "scribe")
    assert policy.lead_role.id == "commander"
    assert [r.name for r in policy.roles] == [
        "Incident Commander",
        "Technical Lead",
        "Communications Lead",
        "Scribe",
    ]
    names = [t.name for t in policy.types]
    assert names == [
        "Service Outage",
        "Performance Degradation",
        "Data Loss or Corruption",
        "Security Breach",
        "Integration Failure",
        "Data Privacy Incident",
    ]
    assert {t.id for t in policy.types if t.private} == {"security", "data-privacy"}
    assert policy.is_private_type("security")
    assert policy.is_private_type("data-privacy")
    assert not policy.is_private_type("outage")
    assert policy.incident_type("security").invite == (Target.parse("@security"),)
    assert policy.permissions.resolve == ("commander", "tech_lead")
    assert policy.permissions.update == ("members",)


def test_sev_example_has_sev1_to_sev4() -> None:
    policy = _example("runbook-sev1-sev4.yaml")
    assert policy.severity_ids == ("SEV-1", "SEV-2", "SEV-3", "SEV-4")
    assert [s.respond_within for s in policy.severities] == [15 * MIN, HOUR, 4 * HOUR, 24 * HOUR]
    assert [s.postmortem.required for s in policy.severities] == [True, True, False, False]
    assert policy.severity("sev1").postmortem.due == timedelta(hours=48)
    assert policy.channel_name_for(7, "whatever") == "incident-7"


@pytest.mark.parametrize(
    "name", ["anomaly-detection-p0-p3.yaml", "sre-escalation-matrix-p0-p3.yaml"]
)
def test_p0_examples_have_p0_to_p3(name: str) -> None:
    policy = _example(name)
    assert policy.severity_ids == ("P0", "P1", "P2", "P3")
    assert policy.rank("P0") == 0
    assert policy.rank("P3") == 3


def test_anomaly_detection_example_monitors_and_escalates_per_severity() -> None:
    policy = _example("anomaly-detection-p0-p3.yaml")
    monitor = [s.monitor_for for s in policy.severities]
    assert monitor == [4 * HOUR, 4 * HOUR, 2 * HOUR, HOUR]
    respond = [s.respond_within for s in policy.severities]
    assert respond == [15 * MIN, 30 * MIN, 2 * HOUR, 24 * HOUR]
    assert [s.escalation[0].after for s in policy.severities] == respond


def test_sre_example_escalation_matrix() -> None:
    policy = _example("sre-escalation-matrix-p0-p3.yaml")
    p0, p1 = policy.severities[:2]
    assert [step.after for step in p0.escalation] == [5 * MIN, 15 * MIN, 30 * MIN, HOUR]
    assert [step.after for step in p1.escalation] == [30 * MIN, 2 * HOUR, 4 * HOUR]
    assert {t.id for t in policy.types if t.private} == {"security", "data-privacy"}
    assert policy.digest is not None
    assert policy.digest.channel == policy.announce_channel


def test_ai_platform_example_cadences_and_five_day_postmortems() -> None:
    policy = _example("ai-writing-platform-p1-p4.yaml")
    p1, p2, p3, p4 = policy.severities
    assert (p1.update_every, p2.update_every) == (30 * MIN, HOUR)
    assert p3.update_every is None
    assert p4.update_every is None
    assert p1.postmortem.due == p2.postmortem.due == timedelta(days=5)
    assert p1.postmortem.required
    assert p2.postmortem.required
    assert not p3.postmortem.required
    assert (p1.escalation[0].after, p2.escalation[0].after) == (5 * MIN, 10 * MIN)
    assert policy.find_role("operations") == policy.role("ops")


def test_devops_example_matches_the_default_severities() -> None:
    example = _example("devops-security-p1-p4.yaml")
    assert example.severities == default_policy().severities


# --- invalid policies: every refusal names its field path ------------------------------------

BASE: dict[str, Any] = {
    "announce_channel": "#incident-response",
    "channel_name": "inc-{number}-{slug}",
    "severities": [
        {
            "id": "P1",
            "name": "Critical",
            "ack_within": "5m",
            "update_every": "15m",
            "notify": ["#leadership"],
            "invite": ["@oncall"],
            "escalation": [
                {"after": "15m", "notify": ["@backup-oncall"]},
                {"after": "30m", "notify": ["U0123ABC"]},
            ],
            "postmortem": {"required": True, "due": "48h"},
        },
        {"id": "P2", "name": "High", "update_every": "30m"},
    ],
    "roles": [
        {"id": "commander", "name": "Incident Commander", "lead": True},
        {"id": "tech_lead", "name": "Technical Lead"},
    ],
    "types": [{"id": "security", "name": "Security", "private": True, "default_severity": "P1"}],
    "permissions": {"resolve": ["commander", "tech_lead"]},
    "digest": {"channel": "#incident-response", "cron": "0 9 * * MON", "timezone": "UTC"},
}


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def _variant(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def test_the_base_of_the_variations_is_valid(tmp_path: Path) -> None:
    assert check_policy_file(_write(tmp_path, BASE)) == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change setting e.g. ``severities.0.escalation.1.after`` to value."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = data
        for part in parents:
            node = node[part]
        node[last] = value

    return change


INVALID: list[tuple[str, Callable[[dict[str, Any]], object], str, str]] = [
    (
        "duplicate severity id",
        _set("severities.1.id", "p1"),
        "severities[1].id",
        "already used by severities[0]",
    ),
    (
        "duplicate role id",
        _set("roles.1.id", "commander"),
        "roles[1].id",
        "already used by roles[0]",
    ),
    (
        "duplicate type id",
        lambda d: d["types"].append({"id": "security", "name": "Other"}),
        "types[1].id",
        "already used by types[0]",
    ),
    (
        "unknown severity in a type",
        _set("types.0.default_severity", "P9"),
        "types[0].default_severity",
        "unknown severity 'P9' (known: P1, P2)",
    ),
    ("no lead role", _set("roles.0.lead", False), "roles", "exactly one role needs 'lead: true'"),
    (
        "two lead roles",
        _set("roles.1.lead", True),
        "roles[1].lead",
        "only one role may be the lead",
    ),
    ("zero duration", _set("severities.0.update_every", "0m"), "severities[0].update_every", "> 0"),
    (
        "zero escalation delay",
        _set("severities.0.escalation.0.after", "0m"),
        "severities[0].escalation[0].after",
        "must be > 0",
    ),
    (
        "negative duration",
        _set("severities.1.update_every", "-30m"),
        "severities[1].update_every",
        "must be > 0",
    ),
    (
        "bare number duration",
        _set("severities.0.postmortem.due", 48),
        "severities[0].postmortem.due",
        "no unit",
    ),
    (
        "escalation out of order",
        _set("severities.0.escalation.1.after", "10m"),
        "severities[0].escalation[1].after",
        "must be later than 15m",
    ),
    (
        "escalation step repeats a time",
        _set("severities.0.escalation.1.after", "15m"),
        "severities[0].escalation[1].after",
        "must be later than 15m",
    ),
    (
        "escalation before the acknowledgement deadline",
        _set("severities.0.ack_within", "20m"),
        "severities[0].escalation[0].after",
        "must be >= ack_within (20m)",
    ),
    (
        "escalation step telling nobody",
        _set("severities.0.escalation.0.notify", []),
        "severities[0].escalation[0]",
        "must notify or invite someone",
    ),
    (
        "unknown placeholder",
        _set("channel_name", "inc-{number}-{title}"),
        "channel_name",
        "unknown placeholder {title}",
    ),
    (
        "format spec in a placeholder",
        _set("channel_name", "inc-{number:04d}"),
        "channel_name",
        "format specs are not supported",
    ),
    (
        "missing {number}",
        _set("channel_name", "inc-{slug}"),
        "channel_name",
        "must contain {number}",
    ),
    (
        "invalid channel characters",
        _set("channel_name", "Inc {number}"),
        "channel_name",
        "invalid characters ' ' 'I'",
    ),
    ("unbalanced braces", _set("channel_name", "inc-{number"), "channel_name", "unbalanced"),
    (
        "unknown top-level key",
        lambda d: d.update(severites=[]),
        "severites",
        "unknown key 'severites' (did you mean 'severities'?)",
    ),
    (
        "unknown nested key",
        _set("severities.0.respnd_within", "15m"),
        "severities[0].respnd_within",
        "unknown key 'respnd_within' (did you mean 'respond_within'?)",
    ),
    (
        "unknown key in a step",
        _set("severities.0.escalation.0.notfy", ["@x"]),
        "severities[0].escalation[0].notfy",
        "did you mean 'notify'?",
    ),
    ("bad cron", _set("digest.cron", "0 25 * * MON"), "digest.cron", "invalid cron expression"),
    ("cron with 4 fields", _set("digest.cron", "0 9 * *"), "digest.cron", "needs 5 fields"),
    ("numeric weekday", _set("digest.cron", "0 9 * * 1"), "digest.cron", "weekdays as names"),
    ("bad timezone", _set("digest.timezone", "Mars/Base"), "digest.timezone", "unknown time zone"),
    (
        "unknown permission role",
        _set("permissions.resolve", ["commander", "techlead"]),
        "permissions.resolve[1]",
        "unknown role 'techlead'",
    ),
    (
        "unknown permission action",
        _set("permissions.reslove", ["commander"]),
        "permissions.reslove",
        "did you mean 'resolve'?",
    ),
    ("empty permission", _set("permissions.close", []), "permissions.close", "at least one"),
    ("empty severities", _set("severities", []), "severities", "must list at least one severity"),
    ("missing severities", lambda d: d.pop("severities"), "severities", "is required"),
    ("severity without a name", lambda d: d["severities"][1].pop("name"), "severities[1].name", ""),
    ("bad severity id", _set("severities.1.id", "P 2"), "severities[1].id", "ids use letters"),
    (
        "inviting a channel",
        _set("severities.0.invite", ["#war-room"]),
        "severities[0].invite[0]",
        "only users (U…) and groups",
    ),
    (
        "an unknown kind of target",
        _set("severities.0.notify", ["#leadership", "leadership"]),
        "severities[0].notify[1]",
        "is not a channel, user or group",
    ),
    (
        "uppercase channel name",
        _set("severities.0.notify", ["#Leadership"]),
        "severities[0].notify[0]",
        "lowercase",
    ),
    (
        "broadcast mention",
        _set("severities.0.escalation.1.notify", ["@channel"]),
        "severities[0].escalation[1].notify[0]",
        "pings everyone",
    ),
    ("announce to a user", _set("announce_channel", "U0123ABC"), "announce_channel", "channel"),
    ("empty digest channel", _set("digest.channel", None), "digest.channel", "quote"),
    ("digest to a group", _set("digest.channel", "@oncall"), "digest.channel", "must be a channel"),
    (
        "string for a boolean",
        _set("types.0.private", "yes please"),
        "types[0].private",
        "boolean",
    ),
    ("runbook not a link", _set("types.0.runbook", "wiki/sec"), "types[0].runbook", "http"),
    (
        "bad template",
        _set("templates", {"status_update": "{{ incident.title }"}),
        "templates.status_update",
        "invalid Jinja2 template at line 1",
    ),
    ("list where a mapping goes", _set("digest", ["0 9 * * MON"]), "digest", "must be a mapping"),
    ("mapping where a list goes", _set("roles", {"id": "x"}), "roles", "must be a list"),
    (
        "role name clashing with another role",
        _set("roles.1.name", "commander"),
        "roles[1].name",
        "already used by roles[0]",
    ),
]


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_policies_are_refused_naming_the_field(
    tmp_path: Path, change: Callable[[dict[str, Any]], object], path: str, message: str
) -> None:
    problems = check_policy_file(_write(tmp_path, _variant(change)))
    matching = [p for p in problems if p.startswith(f"{path}: ")]
    assert matching, f"no problem at {path!r} in {problems}"
    assert any(message in p for p in matching), problems
    with pytest.raises(PolicyError):
        policy_from_data(_variant(change))


def test_the_message_is_exactly_path_and_reason(tmp_path: Path) -> None:
    problems = check_policy_file(
        _write(tmp_path, _variant(_set("severities.0.escalation.0.after", "0m")))
    )
    assert problems == ["severities[0].escalation[0].after: must be > 0"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("severities:\n  - id: P1\n    name: x\n  name: bad\n", "YAML syntax error at line 4"),
        ("announce_channel: [unclosed\n", "YAML syntax error at line 2"),
        ("- just\n- a list\n", "the top level must be a mapping"),
        ("just text\n", "the top level must be a mapping"),
        ("", "the file is empty"),
        (
            "severities: [{id: P1, name: a}]\nseverities: [{id: P2, name: b}]\n",
            "line 2: duplicate key 'severities' (first on line 1)",
        ),
    ],
)
def test_file_level_problems_are_named_by_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text, "utf-8")
    problems = check_policy_file(path)
    assert any(p.startswith(f"{path}: ") and message in p for p in problems), problems


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert check_policy_file(missing) == [f"{missing}: file not found"]
    with pytest.raises(PolicyError) as caught:
        load_policy(missing)
    assert caught.value.problems == [f"{missing}: file not found"]


def test_x_keys_hold_yaml_anchors_and_merges_work(tmp_path: Path) -> None:
    policy = parse_policy(
        "x-chain: &chain\n"
        "  - {after: 15m, notify: ['@backup-oncall']}\n"
        "x-common: &common {name: Critical, update_every: 15m}\n"
        "severities:\n"
        "  - {<<: *common, id: P1, update_every: 10m, escalation: *chain}\n"
        "  - {<<: *common, id: P2, name: High, escalation: *chain}\n"
    )
    p1, p2 = policy.severities
    assert (p1.name, p1.update_every, p2.name, p2.update_every) == (
        "Critical",
        10 * MIN,
        "High",
        15 * MIN,
    )
    assert p1.escalation == p2.escalation


def test_unquoted_hash_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("announce_channel: #incidents\nseverities: [{id: P1, name: a}]\n", "utf-8")
    assert check_policy_file(path) == [
        "announce_channel: is empty; in YAML quote names that start with '#'"
        ' ("#incident-response"): an unquoted # starts a comment'
    ]


def test_all_problems_are_reported_not_just_the_first(tmp_path: Path) -> None:
    def break_everything(data: dict[str, Any]) -> None:
        data["severites"] = []
        data["severities"][1]["id"] = "P1"
        data["severities"][0]["escalation"][1]["after"] = "10m"
        data["severities"][0]["update_every"] = "0m"
        data["roles"][0]["lead"] = False
        data["types"][0]["default_severity"] = "P7"
        data["digest"]["cron"] = "every monday"
        data["digest"]["timezone"] = "Nowhere/Special"
        data["permissions"]["close"] = ["boss"]

    path = _write(tmp_path, _variant(break_everything))
    problems = check_policy_file(path)
    expected = [
        "severites",
        "severities[1].id",
        "severities[0].escalation[1].after",
        "severities[0].update_every",
        "roles",
        "types[0].default_severity",
        "digest.cron",
        "digest.timezone",
        "permissions.close[0]",
    ]
    for field in expected:
        assert any(p.startswith(f"{field}: ") for p in problems), (field, problems)
    assert len(problems) == len(expected)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.problems == problems
    assert all(problem in str(caught.value) for problem in problems)


# --- defaults, lookups, immutability ---------------------------------------------------------


def test_minimal_policy_gets_sensible_defaults() -> None:
    policy = parse_policy("severities: [{id: P1, name: Critical}]")
    assert str(policy.announce_channel) == "#incident-response"
    assert policy.role_ids == ("commander", "tech_lead", "comms", "scribe")
    assert policy.permissions.resolve == ("commander", "tech_lead")
    assert policy.permissions.note == ("members",)
    assert policy.allowed("update") == ("members",)
    assert policy.share_updates is True
    assert policy.archive_after is None
    assert policy.digest is None
    assert policy.timeline_emoji == "pushpin"
    assert policy.templates.status_update is None


def test_default_permissions_follow_the_roles_the_policy_has() -> None:
    policy = parse_policy(
        "severities: [{id: P1, name: a}]\n"
        "roles: [{id: ic, name: Incident Commander, lead: true}, {id: scribe, name: Scribe}]\n"
    )
    assert policy.permissions.resolve == ("ic",)
    assert policy.permissions.update == ("members",)


def test_templates_and_other_options_are_kept() -> None:
    policy = parse_policy(
        "severities: [{id: P1, name: a}]\n"
        "archive_after: 7d\nshare_updates: false\ntimeline_emoji: ':memo:'\n"
        "templates: {status_update: '*{{ status }}* {{ impact }}', postmortem: '# {{ title }}'}\n"
    )
    assert policy.archive_after == timedelta(days=7)
    assert policy.share_updates is False
    assert policy.timeline_emoji == "memo"
    assert policy.templates.status_update == "*{{ status }}* {{ impact }}"


def test_lookups() -> None:
    policy = default_policy()
    assert policy.severity("p2").id == "P2"
    assert policy.find_severity("P9") is None
    with pytest.raises(PolicyLookupError, match=r"unknown severity 'P9' \(known: P1, P2, P3, P4\)"):
        policy.severity("P9")
    assert [policy.rank(s) for s in ("P1", "P2", "P3", "P4")] == [0, 1, 2, 3]
    with pytest.raises(PolicyLookupError):
        policy.rank("P0")
    for words in ("commander", "Incident Commander", "IC", "incident commander"):
        assert policy.role(words).id == "commander"
    for words in ("tech_lead", "tech lead", "Technical Lead", "TL"):
        assert policy.role(words).id == "tech_lead"
    assert policy.find_role("janitor") is None
    with pytest.raises(PolicyLookupError, match="unknown role 'janitor'"):
        policy.role("janitor")
    assert policy.incident_type("Data-Privacy").id == "data-privacy"
    assert policy.find_incident_type("weather") is None
    assert policy.is_private_type(None) is False
    assert policy.is_private_type("weather") is False
    assert policy.channel_placeholders == ("number", "slug")


def test_policy_is_immutable() -> None:
    policy = default_policy()
    with pytest.raises(ValidationError):
        policy.share_updates = False  # type: ignore[misc]
    with pytest.raises(ValidationError):
        policy.severities[0].update_every = None  # type: ignore[misc]
    assert isinstance(policy.severities, tuple)
    assert isinstance(policy.severities[0].notify, tuple)
    with pytest.raises(AttributeError):
        policy.announce_channel.value = "elsewhere"  # type: ignore[misc]


def test_policies_round_trip_through_their_yaml_form() -> None:
    for policy in [default_policy(), *(load_policy(p) for p in EXAMPLE_FILES)]:
        data = policy.model_dump(mode="json")
        assert policy_from_data(data) == policy
        assert parse_policy(yaml.safe_dump(data)) == policy


def test_shipped_policies_match_the_json_schema() -> None:
    schema = Policy.model_json_schema()
    for path in [DEFAULT_FILE, *EXAMPLE_FILES]:
        jsonschema.validate(yaml.safe_load(path.read_text("utf-8")), schema)


def test_programmatic_policies_are_checked_too() -> None:
    with pytest.raises(ValidationError, match="exactly one role"):
        Policy(
            severities=(policy_from_data(BASE).severities[0],),
            roles=(Role(id="a", name="A"), Role(id="b", name="B")),
        )


# --- targets and channel names ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "value", "is_id", "mention"),
    [
        ("#incident-response", "channel", "incident-response", False, "#incident-response"),
        ("C0123ABCD", "channel", "C0123ABCD", True, "<#C0123ABCD>"),
        ("G0123ABCD", "channel", "G0123ABCD", True, "<#G0123ABCD>"),
        ("U0123ABC", "user", "U0123ABC", True, "<@U0123ABC>"),
        ("W0123ABC", "user", "W0123ABC", True, "<@W0123ABC>"),
        ("S0123ABC", "group", "S0123ABC", True, "<!subteam^S0123ABC>"),
        ("@oncall", "group", "oncall", False, "@oncall"),
        ("@backup-oncall", "group", "backup-oncall", False, "@backup-oncall"),
    ],
)
def test_targets_parse_and_keep_their_text(
    text: str, kind: str, value: str, is_id: bool, mention: str
) -> None:
    target = Target.parse(text)
    assert (target.kind, target.value, target.is_id, target.mention) == (
        kind,
        value,
        is_id,
        mention,
    )
    assert str(target) == text
    assert Target.parse(str(target)) == target


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U0123ABC>", Target("user", "U0123ABC")),
        ("<#C0123ABC|general>", Target("channel", "C0123ABC")),
        ("<!subteam^S0123ABC|@oncall>", Target("group", "S0123ABC")),
    ],
)
def test_slack_mention_syntax_is_accepted(text: str, expected: Target) -> None:
    assert Target.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "oncall", "#", "#Upper", "#with space", "@", "@here", "@channel", "u0123", "X0123"]
)
def test_invalid_targets(text: str) -> None:
    with pytest.raises(TargetError):
        Target.parse(text)


def test_target_constructor_validates() -> None:
    with pytest.raises(TargetError):
        Target("user", "oncall")


def test_channel_names_never_cut_the_number_and_fit_slack() -> None:
    policy = default_policy()
    assert policy.channel_name_for(42, "db-down") == "inc-42-db-down"
    assert policy.channel_name_for(42, "") == "inc-42"
    long_slug = "checkout-is-down-" * 10
    name = policy.channel_name_for(1234567, long_slug)
    assert len(name) <= CHANNEL_NAME_MAX
    assert name.startswith("inc-1234567-checkout-is-down")
    assert not name.endswith("-")
    template = "inc-{date}-{severity}-{type}-{number}-{slug}"
    rendered = render_channel_name(
        template,
        number=9,
        slug="Café crashed!",
        severity="SEV-1",
        type_id="security",
        on=date(2025, 1, 2),
    )
    assert rendered == "inc-2025-01-02-sev-1-security-9-caf-crashed"
    squeezed = render_channel_name(template, number=98765, slug="x" * 90, type_id="t" * 90)
    assert len(squeezed) <= CHANNEL_NAME_MAX
    assert "-98765" in squeezed


@given(
    number=st.integers(min_value=0, max_value=10**9),
    slug=st.text(max_size=200),
    type_id=st.text(max_size=40),
)
def test_rendered_channel_names_are_always_valid(number: int, slug: str, type_id: str) -> None:
    template = "inc-{number}-{type}-{slug}"
    name = render_channel_name(template, number=number, slug=slug, type_id=type_id)
    assert len(name) <= CHANNEL_NAME_MAX
    assert re.fullmatch(r"[a-z0-9_-]+", name)
    assert name.startswith(f"inc-{number}")


# --- the clock's keys: snooze, nudges, drills, post-mortem reminders -------------------------


def test_clock_keys_have_defaults() -> None:
    policy = parse_policy("severities: [{id: P1, name: Critical, postmortem: {required: true}}]")
    assert policy.snooze == (15 * MIN, 30 * MIN, HOUR)
    assert policy.roles_nudge_after == 5 * MIN
    assert policy.stale_after == timedelta(days=7)
    assert policy.drills.reminders is False
    postmortem = policy.severities[0].postmortem
    assert postmortem.remind_before is None
    assert postmortem.first_reminder_before() is None  # no due time, nothing to remind of


def test_the_built_in_policy_spells_out_the_clock_defaults() -> None:
    policy = default_policy()
    minimal = parse_policy("severities: [{id: P1, name: Critical}]")
    assert policy.snooze == minimal.snooze
    assert policy.roles_nudge_after == minimal.roles_nudge_after
    assert policy.stale_after == minimal.stale_after
    assert policy.drills == minimal.drills
    for severity in policy.severities[:2]:
        assert severity.postmortem.remind_before == 24 * HOUR
        assert severity.postmortem.first_reminder_before() == 24 * HOUR


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        ("snooze: []", "snooze", "must list at least one snooze duration"),
        ("snooze: [0m]", "snooze[0]", "must be > 0"),
        ("snooze: 15m", "snooze", "must be a list"),
        ("roles_nudge_after: 5", "roles_nudge_after", "has no unit"),
        ("stale_after: 0d", "stale_after", "must be > 0"),
        ("drills: {nope: 1}", "drills.nope", "unknown key 'nope'"),
        ("drills: {reminders: 'yes'}", "drills.reminders", "valid boolean"),
        ("drills: true", "drills", "must be a mapping"),
    ],
)
def test_invalid_clock_keys_are_refused(tmp_path: Path, text: str, path: str, message: str) -> None:
    file = tmp_path / "policy.yaml"
    file.write_text(f"severities: [{{id: P1, name: Critical}}]\n{text}\n", "utf-8")
    problems = check_policy_file(file)
    assert any(p.startswith(f"{path}: ") and message in p for p in problems), problems
    with pytest.raises(PolicyError):
        load_policy(file)


def test_clock_keys_are_accepted() -> None:
    policy = parse_policy(
        "severities: [{id: P1, name: Critical}]\n"
        "snooze: [10s, 1m]\nroles_nudge_after: null\nstale_after: null\n"
        "drills: {reminders: true}\n"
    )
    assert policy.snooze == (timedelta(seconds=10), MIN)
    assert policy.roles_nudge_after is None
    assert policy.stale_after is None
    assert policy.drills.reminders is True
    assert parse_policy("severities: [{id: P1, name: a}]\ndrills: {}").drills.reminders is False


def test_clock_keys_are_accepted_in_a_full_policy_file(tmp_path: Path) -> None:
    def add(data: dict[str, Any]) -> None:
        data |= {"snooze": ["10s", "1m"], "roles_nudge_after": None, "drills": {"reminders": True}}

    assert check_policy_file(_write(tmp_path, _variant(add))) == []
    assert policy_from_data(_variant(add)).snooze == (timedelta(seconds=10), MIN)


@pytest.mark.parametrize(
    ("rule", "first"),
    [
        ("{required: true, due: 20s, remind_before: 5s}", timedelta(seconds=5)),
        ("{required: true, due: 2h}", HOUR),  # half the window when that is under a day
        ("{required: true, due: 48h}", 24 * HOUR),
        ("{required: true, due: 5d}", 24 * HOUR),
        ("{required: true, due: 1h, remind_before: 3h}", HOUR),  # never before the window opens
        ("{required: true, remind_before: 3h}", None),  # no due time
    ],
)
def test_first_postmortem_reminder(rule: str, first: timedelta | None) -> None:
    policy = parse_policy(f"severities: [{{id: P1, name: Critical, postmortem: {rule}}}]")
    assert policy.severities[0].postmortem.first_reminder_before() == first


def test_postmortem_remind_before_is_a_duration(tmp_path: Path) -> None:
    change = _set("severities.0.postmortem", {"required": True, "due": "48h", "remind_before": 0})
    problems = check_policy_file(_write(tmp_path, _variant(change)))
    assert problems == [
        "severities[0].postmortem.remind_before: bare number 0 has no unit;"
        " write e.g. '15m' or '1h30m' (units: d, h, m, s)"
    ]


def test_examples_use_the_clock_keys_their_procedures_describe() -> None:
    devops = _example("devops-security-p1-p4.yaml")
    p1_cadence = devops.severities[0].update_every
    assert p1_cadence is not None
    assert max(devops.snooze) <= p1_cadence  # a snooze never skips a promised P1 update
    assert devops.severities[0].postmortem.first_reminder_before() == 24 * HOUR
    ai = _example("ai-writing-platform-p1-p4.yaml")
    assert ai.drills.reminders is True  # "Full-scale exercises: Complete response activation"
    assert max(ai.snooze) <= 30 * MIN
    assert ai.stale_after == timedelta(days=7)
    assert _example("anomaly-detection-p0-p3.yaml").roles_nudge_after == 15 * MIN
    for path in EXAMPLE_FILES:
        policy = load_policy(path)
        assert policy.roles_nudge_after is not None, path.name
        assert any(s.escalation for s in policy.severities), path.name
