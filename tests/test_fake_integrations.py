"""The PagerDuty and Statuspage fakes themselves: what they accept, refuse, remember and how
their injected faults behave, driven with plain HTTP clients."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import aiohttp
import pytest

from tests.fakepagerduty import FakePagerDuty
from tests.fakestatuspage import FakeStatuspage

ROUTING_KEY = "R" * 32


def http(
    method: str,
    url: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """(status, decoded JSON answer, headers), errors included."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    sent = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read()), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def trigger(dedup_key: str | None = "inc-1", **payload: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "payload": {
            "summary": "SEV1: checkout is down",
            "source": "warroom",
            "severity": "critical",
            **payload,
        },
    }
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    return event


def act(action: str, dedup_key: str = "inc-1") -> dict[str, Any]:
    return {"routing_key": ROUTING_KEY, "event_action": action, "dedup_key": dedup_key}


# -- PagerDuty ----------------------------------------------------------------------------------


def test_pd_trigger_with_every_documented_field(fake_pagerduty: FakePagerDuty) -> None:
    event = trigger(
        timestamp="2025-01-02T03:04:05.000+00:00",
        component="checkout",
        group="payments",
        **{"class": "outage"},
        custom_details={"channel": "#inc-1", "commander": "alice"},
    )
    event |= {
        "links": [{"href": "https://slack.example/inc-1", "text": "War room"}],
        "images": [{"src": "https://example.com/graph.png", "href": "https://x", "alt": "g"}],
        "client": "warroom",
        "client_url": "https://slack.example/inc-1",
    }
    status, body, _ = http("POST", fake_pagerduty.url, event)
    assert status == 202
    assert body == {"status": "success", "message": "Event processed", "dedup_key": "inc-1"}
    assert fake_pagerduty.events == [event]
    incident = fake_pagerduty.incident("inc-1")
    assert (incident.status, incident.summary, incident.severity, incident.source) == (
        "triggered",
        "SEV1: checkout is down",
        "critical",
        "warroom",
    )
    assert incident.links == event["links"]
    assert fake_pagerduty.violations == []
    assert fake_pagerduty.url.endswith("/v2/enqueue")
    assert fake_pagerduty.url.startswith("http://127.0.0.1:")


def test_pd_trigger_without_dedup_key_gets_one(fake_pagerduty: FakePagerDuty) -> None:
    status, body, _ = http("POST", fake_pagerduty.url, trigger(dedup_key=None))
    assert status == 202
    assert re.fullmatch(r"[0-9a-f]{32}", body["dedup_key"])
    assert list(fake_pagerduty.incidents) == [body["dedup_key"]]


def test_pd_dedup_and_lifecycle(fake_pagerduty: FakePagerDuty) -> None:
    url = fake_pagerduty.url
    assert http("POST", url, trigger())[0] == 202
    assert http("POST", url, trigger(summary="again"))[0] == 202  # folded into the open one
    assert http("POST", url, act("acknowledge"))[0] == 202
    assert http("POST", url, act("acknowledge"))[0] == 202  # nothing more to do
    assert http("POST", url, trigger())[0] == 202  # still acknowledged
    assert http("POST", url, act("resolve"))[0] == 202
    assert http("POST", url, act("resolve"))[0] == 202  # no open incident: ignored
    (incident,) = fake_pagerduty.all_incidents
    assert incident.status == "resolved"
    assert incident.history == ["triggered", "acknowledged", "resolved"]
    assert incident.trigger_count == 3
    assert incident.summary == "SEV1: checkout is down"  # the first trigger's
    outcomes = [r.outcome for r in fake_pagerduty.requests]
    assert outcomes == [
        "created",
        "deduplicated",
        "acknowledged",
        "ignored",
        "deduplicated",
        "resolved",
        "ignored",
    ]
    assert len(fake_pagerduty.events) == 7
    # After a resolve, the same key opens a new incident.
    assert http("POST", url, trigger(summary="back again"))[0] == 202
    assert [i.status for i in fake_pagerduty.all_incidents] == ["resolved", "triggered"]
    assert fake_pagerduty.incident("inc-1").summary == "back again"
    assert [i.number for i in fake_pagerduty.open_incidents()] == [2]


def test_pd_ack_and_resolve_of_nothing_are_accepted_and_ignored(
    fake_pagerduty: FakePagerDuty,
) -> None:
    for action in ("acknowledge", "resolve"):
        status, body, _ = http("POST", fake_pagerduty.url, act(action, "never-triggered"))
        assert (status, body["dedup_key"]) == (202, "never-triggered")
    assert fake_pagerduty.incidents == {}
    assert [r.outcome for r in fake_pagerduty.requests] == ["ignored", "ignored"]


def test_pd_dedup_is_per_routing_key(fake_pagerduty: FakePagerDuty) -> None:
    http("POST", fake_pagerduty.url, trigger())
    http("POST", fake_pagerduty.url, trigger() | {"routing_key": "S" * 32})
    assert len(fake_pagerduty.all_incidents) == 2


def _without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != key}


def _payload(**changes: Any) -> dict[str, Any]:
    event = trigger()
    event["payload"] = {k: v for k, v in (event["payload"] | changes).items() if v is not None}
    return event


INVALID_EVENTS = [
    ("no routing_key", _without(trigger(), "routing_key"), "'routing_key' is missing"),
    ("blank routing_key", trigger() | {"routing_key": ""}, "'routing_key' is missing"),
    ("no event_action", _without(trigger(), "event_action"), "'event_action' is missing"),
    ("bad event_action", trigger() | {"event_action": "close"}, "'event_action' is invalid"),
    ("ack without dedup_key", _without(act("acknowledge"), "dedup_key"), "'dedup_key' is"),
    ("resolve without dedup_key", _without(act("resolve"), "dedup_key"), "'dedup_key' is"),
    ("long dedup_key", trigger(dedup_key="k" * 256), "'dedup_key' is too long"),
    ("no payload", _without(trigger(), "payload"), "'payload' is missing"),
    ("no summary", _payload(summary=None), "'payload.summary' is missing"),
    ("long summary", _payload(summary="s" * 1025), "'payload.summary' is too long"),
    ("no source", _payload(source=None), "'payload.source' is missing"),
    ("no severity", _payload(severity=None), "'payload.severity' is missing"),
    ("bad severity", _payload(severity="sev1"), "'payload.severity' is invalid"),
    ("bad timestamp", _payload(timestamp="yesterday"), "'payload.timestamp'"),
    ("links not a list", trigger() | {"links": {"href": "x"}}, "'links' must be an array"),
    ("link without href", trigger() | {"links": [{"text": "x"}]}, "'links[0].href'"),
    ("image without src", trigger() | {"images": [{"alt": "x"}]}, "'images[0].src'"),
    ("client not a string", trigger() | {"client_url": 3}, "'client_url' must be a string"),
]


@pytest.mark.parametrize(
    ("event", "error"),
    [(e, m) for _, e, m in INVALID_EVENTS],
    ids=[n for n, _, _ in INVALID_EVENTS],
)
def test_pd_refuses_invalid_events(
    fake_pagerduty: FakePagerDuty, event: dict[str, Any], error: str
) -> None:
    status, body, _ = http("POST", fake_pagerduty.url, event)
    assert status == 400
    assert body["status"] == "invalid event"
    assert body["message"] == "Event object is invalid"
    assert any(error in e for e in body["errors"]), body["errors"]
    assert fake_pagerduty.events == []
    assert fake_pagerduty.incidents == {}
    assert any(error in v for v in fake_pagerduty.violations)
    (request,) = fake_pagerduty.requests
    assert (request.outcome, request.status, request.applied) == ("invalid", 400, False)


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]"])
def test_pd_refuses_what_is_not_a_json_object(fake_pagerduty: FakePagerDuty, raw: bytes) -> None:
    status, body, _ = http("POST", fake_pagerduty.url, raw=raw)
    assert (status, body["status"]) == (400, "invalid event")
    assert len(fake_pagerduty.violations) == 1


def test_pd_limits_are_inclusive(fake_pagerduty: FakePagerDuty) -> None:
    event = trigger(dedup_key="k" * 255, summary="s" * 1024)
    assert http("POST", fake_pagerduty.url, event)[0] == 202
    assert fake_pagerduty.violations == []


def test_pd_notes_ignored_fields_but_accepts(fake_pagerduty: FakePagerDuty) -> None:
    event = trigger(priority="P1") | {"severity": "critical"}
    event["images"] = [{"src": "http://example.com/graph.png"}]
    assert http("POST", fake_pagerduty.url, event)[0] == 202
    violations = fake_pagerduty.take_violations()
    assert len(violations) == 3
    assert any("'severity'" in v for v in violations)
    assert any("'payload.priority'" in v for v in violations)
    assert any("https" in v for v in violations)
    assert fake_pagerduty.violations == []


def test_pd_fail_next(fake_pagerduty: FakePagerDuty) -> None:
    url = fake_pagerduty.url
    fake_pagerduty.fail_next(2, status=500)
    assert http("POST", url, trigger())[0] == 500
    assert http("POST", url, trigger())[0] == 500
    assert fake_pagerduty.events == []
    fake_pagerduty.fail_next(status=429, retry_after=2)
    status, body, headers = http("POST", url, trigger())
    assert (status, body["status"], headers["Retry-After"]) == (429, "throttle event", "2")
    fake_pagerduty.fail_next(status=400)
    status, body, _ = http("POST", url, trigger())
    assert (status, body["status"]) == (400, "invalid event")
    assert fake_pagerduty.incidents == {}
    assert http("POST", url, trigger())[0] == 202
    assert [r.outcome for r in fake_pagerduty.requests] == ["fault"] * 4 + ["created"]
    assert fake_pagerduty.violations == []


def test_pd_fail_next_where(fake_pagerduty: FakePagerDuty) -> None:
    fake_pagerduty.fail_next(where=lambda event: event["event_action"] == "resolve")
    assert http("POST", fake_pagerduty.url, trigger())[0] == 202
    assert http("POST", fake_pagerduty.url, act("resolve"))[0] == 500
    assert fake_pagerduty.incident("inc-1").status == "triggered"
    assert http("POST", fake_pagerduty.url, act("resolve"))[0] == 202
    assert fake_pagerduty.incident("inc-1").status == "resolved"


def test_pd_fail_after_acts_then_answers_500(fake_pagerduty: FakePagerDuty) -> None:
    url = fake_pagerduty.url
    fake_pagerduty.fail_after(status=500)
    assert http("POST", url, _without(trigger(), "routing_key"))[0] == 400  # not used up
    status, _, _ = http("POST", url, trigger())
    assert status == 500
    assert fake_pagerduty.incident("inc-1").status == "triggered"
    request = fake_pagerduty.requests[-1]
    assert (request.applied, request.outcome, request.status) == (True, "created", 500)
    assert request.suppressed is not None
    assert request.suppressed["dedup_key"] == "inc-1"
    # The client's retry with the same dedup_key does not double the incident.
    assert http("POST", url, trigger())[0] == 202
    assert len(fake_pagerduty.all_incidents) == 1
    assert fake_pagerduty.incident("inc-1").trigger_count == 2


async def test_pd_fail_after_drop_with_aiohttp(fake_pagerduty: FakePagerDuty) -> None:
    fake_pagerduty.fail_after(drop=True)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.post(fake_pagerduty.url, json=trigger()) as answer:
                await answer.read()
        async with session.post(fake_pagerduty.url, json=act("acknowledge")) as answer:
            assert answer.status == 202
            assert (await answer.json())["dedup_key"] == "inc-1"
    assert fake_pagerduty.incident("inc-1").status == "acknowledged"
    assert fake_pagerduty.requests[0].dropped


def test_pd_rate_limit() -> None:
    with FakePagerDuty(rate_limit_per_minute=2) as fake:
        assert [http("POST", fake.url, trigger())[0] for _ in range(3)] == [202, 202, 429]
        assert http("POST", fake.url, trigger() | {"routing_key": "S" * 32})[0] == 202
        assert fake.requests[2].outcome == "rate_limited"
        fake.reset()
        assert fake.requests == []
        assert http("POST", fake.url, trigger())[0] == 202


def test_pd_lifecycle() -> None:
    fake = FakePagerDuty()
    with pytest.raises(RuntimeError):
        _ = fake.url
    fake.start()
    fake.start()  # idempotent
    try:
        assert http("POST", fake.url, trigger())[0] == 202
    finally:
        fake.stop()
        fake.stop()
    with pytest.raises(RuntimeError):
        _ = fake.url


# -- Statuspage ---------------------------------------------------------------------------------


def sp_url(fake: FakeStatuspage, tail: str = "/incidents", page: str | None = None) -> str:
    return f"{fake.api_url}/pages/{page or fake.page_id}{tail}"


def sp(
    fake: FakeStatuspage,
    method: str,
    tail: str = "/incidents",
    body: Any = None,
    *,
    key: str | None = None,
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"OAuth {key or fake.api_key}"}
    return http(method, sp_url(fake, tail), body, headers=headers)


def new_incident(name: str = "INC-1: checkout is down", **fields: Any) -> dict[str, Any]:
    return {
        "incident": {
            "name": name,
            "status": "investigating",
            "body": "We are looking into it.",
            **fields,
        }
    }


def test_sp_create(fake_statuspage: FakeStatuspage) -> None:
    body = new_incident(
        component_ids=["cmpapi000001"],
        components={"cmpapi000001": "major_outage"},
        deliver_notifications=False,
    )
    status, incident, _ = sp(fake_statuspage, "POST", body=body)
    assert status == 201
    assert re.fullmatch(r"[a-z0-9]{12}", incident["id"])
    assert re.fullmatch(r"https://stspg\.io/[a-z0-9]+", incident["shortlink"])
    assert (incident["name"], incident["status"], incident["page_id"]) == (
        "INC-1: checkout is down",
        "investigating",
        "pg123",
    )
    assert incident["impact"] == "critical"
    assert incident["created_at"] == incident["updated_at"]
    assert [c["id"] for c in incident["components"]] == ["cmpapi000001"]
    assert incident["components"][0]["status"] == "major_outage"
    (update,) = incident["incident_updates"]
    assert (update["body"], update["status"], update["deliver_notifications"]) == (
        "We are looking into it.",
        "investigating",
        False,
    )
    assert update["affected_components"] == [
        {
            "code": "cmpapi000001",
            "name": "API",
            "old_status": "operational",
            "new_status": "major_outage",
        }
    ]
    assert fake_statuspage.incidents == {incident["id"]: incident}
    assert fake_statuspage.components["cmpapi000001"]["status"] == "major_outage"
    (request,) = fake_statuspage.requests
    assert (request.method, request.path, request.status, request.applied) == (
        "POST",
        "/pages/pg123/incidents",
        201,
        True,
    )
    assert request.body == body
    assert fake_statuspage.violations == []
    assert fake_statuspage.api_url.startswith("http://127.0.0.1:")
    assert fake_statuspage.api_url.endswith("/v1")


def test_sp_create_defaults(fake_statuspage: FakeStatuspage) -> None:
    status, incident, _ = sp(fake_statuspage, "POST", body={"incident": {"name": "Minimal"}})
    assert status == 201
    assert (incident["status"], incident["impact"], incident["components"]) == (
        "investigating",
        "none",
        [],
    )
    assert incident["incident_updates"][0]["body"] == ""
    assert incident["incident_updates"][0]["affected_components"] is None


def test_sp_update_appends_updates_newest_first(fake_statuspage: FakeStatuspage) -> None:
    created = sp(fake_statuspage, "POST", body=new_incident())[1]
    tail = f"/incidents/{created['id']}"
    change = {
        "incident": {
            "status": "identified",
            "body": "Bad deploy.",
            "components": {"cmpweb000001": "degraded_performance"},
            "impact_override": "major",
        }
    }
    status, incident, _ = sp(fake_statuspage, "PATCH", tail, change)
    assert status == 200
    assert incident["status"] == "identified"
    assert incident["impact"] == "major"
    assert [u["body"] for u in incident["incident_updates"]] == [
        "Bad deploy.",
        "We are looking into it.",
    ]
    assert incident["incident_updates"][0]["affected_components"][0]["new_status"] == (
        "degraded_performance"
    )
    assert [c["id"] for c in incident["components"]] == ["cmpweb000001"]
    # A rename alone adds no update.
    status, incident, _ = sp(fake_statuspage, "PATCH", tail, {"incident": {"name": "Renamed"}})
    assert (status, incident["name"], len(incident["incident_updates"])) == (200, "Renamed", 2)
    resolve = {"incident": {"status": "resolved", "body": "Fixed."}}
    status, incident, _ = sp(fake_statuspage, "PUT", tail, resolve)
    assert status == 200
    assert incident["resolved_at"] is not None
    assert [u["status"] for u in incident["incident_updates"]] == [
        "resolved",
        "identified",
        "investigating",
    ]
    assert sp(fake_statuspage, "GET", tail)[1] == incident
    assert fake_statuspage.incident(created["id"]) == incident
    assert fake_statuspage.violations == []


def test_sp_unknown_incident(fake_statuspage: FakeStatuspage) -> None:
    for method, body in (("GET", None), ("PATCH", {"incident": {"body": "x"}})):
        status, answer, _ = sp(fake_statuspage, method, "/incidents/nosuchincide", body)
        assert status == 404
        assert "error" in answer


def test_sp_lists_newest_first_with_q(fake_statuspage: FakeStatuspage) -> None:
    ids = [
        sp(fake_statuspage, "POST", body=new_incident(f"INC-{n}: trouble"))[1]["id"]
        for n in (1, 2, 3)
    ]
    sp(fake_statuspage, "PATCH", f"/incidents/{ids[1]}", {"incident": {"status": "resolved"}})
    status, listed, _ = sp(fake_statuspage, "GET")
    assert status == 200
    assert [i["id"] for i in listed] == ids[::-1]
    assert [i["id"] for i in sp(fake_statuspage, "GET", "/incidents/unresolved")[1]] == [
        ids[2],
        ids[0],
    ]
    assert [i["id"] for i in sp(fake_statuspage, "GET", "/incidents?q=inc-2")[1]] == [ids[1]]
    assert sp(fake_statuspage, "GET", "/incidents?q=INC-9")[1] == []
    assert [i["id"] for i in sp(fake_statuspage, "GET", "/incidents?q=looking")[1]] == ids[::-1]
    page2 = sp(fake_statuspage, "GET", "/incidents?limit=2&page=2")[1]
    assert [i["id"] for i in page2] == [ids[0]]
    assert sp(fake_statuspage, "GET", "/incidents?limit=zero")[0] == 400
    assert [c["id"] for c in sp(fake_statuspage, "GET", "/components")[1]] == [
        "cmpapi000001",
        "cmpweb000001",
        "cmpdb0000001",
    ]


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "no Authorization"),
        ({"Authorization": "OAuth wrong-key"}, "wrong API key"),
        ({"Authorization": "Bearer test-key"}, "not 'OAuth <key>'"),
    ],
)
def test_sp_auth(fake_statuspage: FakeStatuspage, headers: dict[str, str], why: str) -> None:
    status, answer, _ = http("POST", sp_url(fake_statuspage), new_incident(), headers=headers)
    assert status == 401
    assert isinstance(answer["error"], str)
    assert fake_statuspage.incidents == {}
    assert fake_statuspage.requests[0].authorized is False
    assert any(why in v for v in fake_statuspage.violations)


def test_sp_unknown_page_and_endpoint(fake_statuspage: FakeStatuspage) -> None:
    headers = {"Authorization": "OAuth test-key"}
    url = sp_url(fake_statuspage, page="other")
    assert http("POST", url, new_incident(), headers=headers)[0] == 404
    subscribers = f"{fake_statuspage.api_url}/pages/pg123/subscribers"
    assert http("GET", subscribers, headers=headers)[0] == 404
    assert fake_statuspage.incidents == {}
    assert len(fake_statuspage.violations) == 2


INVALID_BODIES = [
    ("bad status", new_incident(status="fixed"), 422, "Status 'fixed'"),
    ("scheduled status", new_incident(status="scheduled"), 422, "scheduled"),
    ("completed status", new_incident(status="completed"), 422, "scheduled"),
    (
        "bad component status",
        new_incident(components={"cmpapi000001": "down"}),
        422,
        "Component status 'down'",
    ),
    ("unknown component", new_incident(component_ids=["nope"]), 422, "'nope' not found"),
    ("unknown component status", new_incident(components={"nope": "major_outage"}), 422, "nope"),
    ("no name", {"incident": {"status": "investigating"}}, 422, "Name can't be blank"),
    ("bad impact", new_incident(impact_override="huge"), 422, "Impact override"),
    ("bad notify", new_incident(deliver_notifications="yes"), 422, "deliver_notifications"),
    ("not wrapped", {"name": "x", "status": "investigating"}, 400, "incident"),
]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [(b, s, e) for _, b, s, e in INVALID_BODIES],
    ids=[n for n, _, _, _ in INVALID_BODIES],
)
def test_sp_refuses_invalid_bodies(
    fake_statuspage: FakeStatuspage, body: dict[str, Any], status: int, error: str
) -> None:
    got, answer, _ = sp(fake_statuspage, "POST", body=body)
    assert got == status
    assert error in answer["error"]
    assert fake_statuspage.incidents == {}
    assert fake_statuspage.components["cmpapi000001"]["status"] == "operational"
    assert any(error in v for v in fake_statuspage.violations)


def test_sp_refuses_bad_json_and_bad_updates(fake_statuspage: FakeStatuspage) -> None:
    headers = {"Authorization": "OAuth test-key"}
    assert http("POST", sp_url(fake_statuspage), raw=b"{oops", headers=headers)[0] == 400
    created = sp(fake_statuspage, "POST", body=new_incident())[1]
    tail = f"/incidents/{created['id']}"
    assert sp(fake_statuspage, "PATCH", tail, {"incident": {"status": "verifying"}})[0] == 422
    assert sp(fake_statuspage, "PATCH", tail, {"incident": {"name": ""}})[0] == 422
    assert fake_statuspage.incident(created["id"]) == created


def test_sp_notes_ignored_fields(fake_statuspage: FakeStatuspage) -> None:
    assert sp(fake_statuspage, "POST", body=new_incident(message="hi"))[0] == 201
    assert fake_statuspage.take_violations() == [
        "POST /pages/pg123/incidents: unknown field incident.message (ignored)"
    ]


def test_sp_fail_next(fake_statuspage: FakeStatuspage) -> None:
    fake_statuspage.fail_next(status=500)
    assert sp(fake_statuspage, "POST", body=new_incident())[0] == 500
    fake_statuspage.fail_next(status=429, retry_after=3)
    status, answer, headers = sp(fake_statuspage, "POST", body=new_incident())
    assert (status, headers["Retry-After"], "error" in answer) == (429, "3", True)
    fake_statuspage.fail_next(2, status=401)
    assert sp(fake_statuspage, "POST", body=new_incident())[0] == 401
    assert sp(fake_statuspage, "GET")[0] == 401
    fake_statuspage.fail_next(status=404)
    assert sp(fake_statuspage, "GET")[0] == 404
    assert fake_statuspage.incidents == {}
    assert sp(fake_statuspage, "POST", body=new_incident())[0] == 201
    assert fake_statuspage.violations == []


def test_sp_fail_next_where(fake_statuspage: FakeStatuspage) -> None:
    fake_statuspage.fail_next(where=lambda request: request.method == "PATCH")
    created = sp(fake_statuspage, "POST", body=new_incident())[1]
    tail = f"/incidents/{created['id']}"
    assert sp(fake_statuspage, "PATCH", tail, {"incident": {"body": "more"}})[0] == 500
    assert sp(fake_statuspage, "PATCH", tail, {"incident": {"body": "more"}})[0] == 200


def test_sp_fail_after_then_find_by_q(fake_statuspage: FakeStatuspage) -> None:
    """The answer to a create is lost: the client finds what it made with `q` and patches it,
    rather than making a second incident."""
    fake_statuspage.fail_after(status=500)
    name = "INC-42: search is slow"
    assert sp(fake_statuspage, "POST", body={"incident": {"name": ""}})[0] == 422  # not used up
    status, _, _ = sp(fake_statuspage, "POST", body=new_incident(name))
    assert status == 500
    (made,) = fake_statuspage.incidents_named(name)
    request = fake_statuspage.requests[-1]
    assert (request.applied, request.status, request.suppressed["id"]) == (True, 500, made["id"])
    found = sp(fake_statuspage, "GET", "/incidents?q=INC-42")[1]
    assert [i["id"] for i in found] == [made["id"]]
    patched = sp(fake_statuspage, "PATCH", f"/incidents/{made['id']}", new_incident(name))
    assert patched[0] == 200
    assert len(fake_statuspage.incidents) == 1


async def test_sp_fail_after_drop_with_aiohttp(fake_statuspage: FakeStatuspage) -> None:
    fake_statuspage.fail_after(drop=True)
    async with aiohttp.ClientSession(headers=fake_statuspage.headers) as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.post(sp_url(fake_statuspage), json=new_incident()) as answer:
                await answer.read()
        async with session.get(sp_url(fake_statuspage, "/incidents/unresolved")) as answer:
            assert answer.status == 200
            assert len(await answer.json()) == 1
    assert fake_statuspage.requests[0].dropped


def test_sp_rate_limit_custom_page_and_components() -> None:
    with FakeStatuspage(
        api_key="k2", page_id="page9", components={"c1": "Edge"}, rate_limit_per_minute=2
    ) as fake:
        body = new_incident(components={"c1": "partial_outage"})
        assert sp(fake, "POST", body=body)[0] == 201
        assert sp(fake, "GET")[0] == 200
        status, _, headers = sp(fake, "GET")
        assert status == 429
        assert int(headers["Retry-After"]) >= 1
        fake.reset()
        assert fake.components["c1"]["status"] == "operational"
        fake.add_component("c2", "Origin", "under_maintenance")
        assert fake.components["c2"]["status"] == "under_maintenance"
        assert sp(fake, "GET", "/components")[0] == 200
