"""The HTTP side: an aiohttp server on 127.0.0.1 in a background thread with its own loop.

Routes:
  GET|POST /api/<method>           the Web API (form, JSON or query arguments; Bearer token)
  POST     /upload/v1/<file_id>    upload target returned by files.getUploadURLExternal
  POST     /response_url/<token>   response_urls issued by FakeSlack.new_response_url
  GET      /files/<file_id>/<name> url_private of an uploaded file
Every request passes: hold -> latency -> injected fault -> (Web API only) auth -> method
lookup -> rate limit -> required arguments -> handler (under the workspace lock) -> fault
after the fact (`fail_after`: the effect stays, the answer is replaced or the connection closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import sys
import threading
import traceback
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

from sandbox.slack.background import BackgroundHttpServer
from sandbox.slack.recording import Effect
from sandbox.slack.reference import reference_bot_scopes
from sandbox.slack.registry import all_methods, effective_required, missing_argument_error
from sandbox.slack.responses import apply_response_url
from sandbox.slack.rules import Ctx, SlackError, decode_json_args, required_missing

if TYPE_CHECKING:
    from sandbox.slack.fake import FakeSlack
    from sandbox.slack.records import Call

Answer = tuple[int, dict[str, Any], dict[str, str]]


class Server:
    def __init__(self, fake: FakeSlack, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self._stopping = threading.Event()
        self._stop_event: asyncio.Event | None = None
        self._http = BackgroundHttpServer(
            "fakeslack", self._routes, host, port, client_max_size=200 * 1024 * 1024
        )

    @property
    def running(self) -> bool:
        return self._http.running

    @property
    def host(self) -> str:
        return self._http.host

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def base_url(self) -> str:
        return self._http.base_url

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._http.start()

    def _routes(self, app: web.Application) -> None:
        self._stop_event = asyncio.Event()  # in the server's loop: wakes sleeping handlers
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        app.router.add_post("/response_url/{token}", self._response_url)
        app.router.add_get("/files/{file_id}/{name}", self._download)

    def stop(self) -> None:
        if not self.running:
            return
        self._stopping.set()
        stop_event = self._stop_event
        if stop_event is not None:
            self._http.call_soon(stop_event.set)
        self.fake._holds.clear()
        self._http.stop()
        self._stop_event = None

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up at once when the server stops."""
        assert self._stop_event is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), timeout=seconds)

    # -- request plumbing -----------------------------------------------------------------------
    async def _arguments(self, request: web.Request) -> tuple[dict[str, Any], str | None]:
        """Query + body arguments (form or JSON), and a parse error if the body was bad."""
        args: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.can_read_body:
            return args, None
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.read() or b"{}")
            except ValueError:
                return args, "invalid_json"
            if not isinstance(body, dict):
                return args, "json_not_object"
            args.update(body)
        elif request.content_type == "multipart/form-data":
            form = await request.post()
            for key in form:
                value = form[key]
                args[key] = value if isinstance(value, str) else getattr(value, "filename", "")
        else:
            raw = (await request.read()).decode("utf-8", "replace")
            args.update(parse_qsl(raw, keep_blank_values=True))
        return args, None

    async def _before(self, method: str, call: Call) -> Answer | None:
        """Hold, latency and injected faults, common to every route."""
        fake = self.fake
        hold = fake._holds.take(method, call.args)
        if hold is not None:
            await hold.block(call.index)
        if fake.latency > 0:
            await self._sleep(fake.latency)
        fault = fake._faults.take(method, call.args)
        if fault is None:
            return None
        if fault.hang:
            await self._sleep(fault.hang)
        if fault.status == 429:
            headers = {"Retry-After": str(fault.retry_after)}
            return 429, {"ok": False, "error": "ratelimited"}, headers
        if fault.status != 200:
            return fault.status, {"ok": False, "error": fault.error or "internal_error"}, {}
        if fault.error:
            return 200, {"ok": False, "error": fault.error}, {}
        return None

    def _after(
        self, method: str, call: Call, effect: Effect, applied: bool, answer: Answer
    ) -> Answer:
        """After the fake executed a call (`applied`: successfully), a pending `fail_after`
        fault replaces its answer (or, with `drop`, marks the connection for closing)."""
        effect.applied = applied
        if not applied:
            return answer
        fault = self.fake._faults.take_after(method, call.args)
        if fault is None:
            return answer
        effect.suppressed = copy.deepcopy(answer[1])
        effect.dropped = fault.drop
        return fault.answer()

    @staticmethod
    def _reply(request: web.Request, effect: Effect, response: web.Response) -> web.Response:
        """The response to send, unless the connection is to be dropped: then close it now, so
        that the client sees the server disconnect without any HTTP answer (aiohttp quietly
        gives up writing the response to the closed transport)."""
        if effect.dropped:
            request.protocol.force_close()
        return response

    def _violate(self, method: str, rule: str, detail: str, call: Call | None) -> None:
        self.fake._recorder.violate(method, rule, detail, call.index if call else None)

    def _rate_key(self, args: dict[str, Any]) -> str | None:
        ref = args.get("channel")
        if not isinstance(ref, str):
            return None
        ws = self.fake._ws
        with ws.lock:
            if ref in ws.channels:
                return ref
            if ref in ws.users:
                return ws.ims.get(ref, f"im:{ref}")
            found = ws.channel_by_name(ref.removeprefix("#"))
            return found.id if found else ref

    # -- /api/<method> ------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args, parse_error = await self._arguments(request)
        token = args.pop("token", None)
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
        args = decode_json_args(args)
        call = self.fake._recorder.begin(method, copy.deepcopy(args), request.method)
        answer: Answer = (500, {"ok": False, "error": "fake_internal_error"}, {})
        effect = Effect()
        try:
            answer = await self._pipeline(method, args, token, parse_error, call, effect)
        except Exception as exc:  # a bug in the fake itself: make it loud
            traceback.print_exc(file=sys.stderr)
            self._violate(method, "fake_internal_error", repr(exc), call)
        finally:
            self.fake._recorder.end(call, answer[0], copy.deepcopy(answer[1]), effect)
        status, body, headers = answer
        if self.fake.granted_scopes is not None:
            headers = {**headers, "x-oauth-scopes": ",".join(self.fake.granted_scopes)}
        return self._reply(request, effect, web.json_response(body, status=status, headers=headers))

    async def _pipeline(
        self,
        method: str,
        args: dict[str, Any],
        token: Any,
        parse_error: str | None,
        call: Call,
        effect: Effect,
    ) -> Answer:
        early = await self._before(method, call)
        if early is not None:
            return early
        fake = self.fake
        if parse_error:
            self._violate(method, "request_format", parse_error, call)
            return 200, {"ok": False, "error": parse_error}, {}
        if not token:
            self._violate(method, "auth", "no token", call)
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token != fake.bot_token:
            self._violate(method, "auth", "token is not the bot token", call)
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        spec = all_methods().get(method)
        if spec is None:
            self._violate(method, "unknown_method", f"{method} is not implemented by Slack", call)
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        granted = fake.granted_scopes
        scopes = reference_bot_scopes(method)
        if granted is not None and scopes and not set(scopes) & set(granted):
            # Slack's answer to a token without the scope: which one it needed.
            body = {"ok": False, "error": "missing_scope", "needed": scopes[0]}
            return 200, {**body, "provided": ",".join(granted)}, {}
        key = self._rate_key(args) if method == "chat.postMessage" else None
        retry_after = fake._limiter.check(method, key)
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
            return 429, {"ok": False, "error": "ratelimited"}, headers
        missing = required_missing(args, effective_required(method))
        if missing:
            detail = f"missing required argument(s): {', '.join(missing)}"
            self._violate(method, "missing_argument", detail, call)
            messages = [f"[ERROR] missing required field: {name}" for name in missing]
            body = SlackError(missing_argument_error(method, missing[0]), messages=messages).body()
            return 200, body, {}
        ws = fake._ws
        with ws.lock:
            ctx = Ctx(ws, method, call.index)
            try:
                body = {"ok": True, **spec.handler(ctx, args)}
            except SlackError as exc:
                body = exc.body()
                if exc.rule:
                    ctx.violate(exc.rule, exc.detail)
            for rule, detail in ctx.violations:
                self._violate(method, rule, detail, call)
            if ctx.warnings and body.get("ok"):
                body["warning"] = ",".join(ctx.warnings)
                body.setdefault("response_metadata", {})["warnings"] = list(ctx.warnings)
        return self._after(method, call, effect, bool(body.get("ok")), (200, body, {}))

    # -- uploads, response_urls, downloads --------------------------------------------------------
    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if request.content_type == "multipart/form-data":
            form = await request.post()
            part = next((form[k] for k in form if not isinstance(form[k], str)), None)
            data = part.file.read() if part is not None else b""  # type: ignore[union-attr]
        else:
            data = await request.read()
        call = self.fake._recorder.begin(
            "file_upload", {"file_id": file_id, "length": len(data)}, "POST"
        )
        status, text = 200, f"OK - {len(data)}"
        effect = Effect()
        try:
            early = await self._before("file_upload", call)
            if early is not None:
                status, text = early[0], json.dumps(early[1])
            else:
                ws = self.fake._ws
                with ws.lock:
                    f = ws.files.get(file_id)
                    if f is None or f.is_canvas:
                        status, text = 404, "file_not_found"
                    else:
                        if len(data) != f.length:
                            detail = f"declared {f.length} bytes, sent {len(data)}"
                            self._violate("file_upload", "upload_length", detail, call)
                        f.content, f.uploaded = data, True
                real: Answer = (status, {"ok": status == 200, "body": text}, {})
                after = self._after("file_upload", call, effect, status == 200, real)
                if after is not real:
                    status, text = after[0], json.dumps(after[1])
        finally:
            body = {"ok": status == 200, "body": text}
            self.fake._recorder.end(call, status, body, effect)
        response = web.Response(text=text, status=status, content_type="text/plain")
        return self._reply(request, effect, response)

    async def _response_url(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        raw = await request.read()
        body: Any
        try:
            if request.content_type == "application/json":
                body = json.loads(raw or b"null")
            else:
                form = dict(parse_qsl(raw.decode("utf-8", "replace")))
                body = json.loads(form["payload"]) if "payload" in form else form
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = body if isinstance(body, dict) else {"body": body}
        call = self.fake._recorder.begin("response_url", copy.deepcopy(record), "POST")
        answer: Answer = (404, {"ok": False, "error": "no_such_url"}, {})
        effect = Effect()
        try:
            early = await self._before("response_url", call)
            if early is not None:
                answer = early
            else:
                ws = self.fake._ws
                with ws.lock:
                    ru = ws.response_urls.get(token)
                    if ru is None:
                        self._violate("response_url", "response_url", "unknown response_url", call)
                    else:
                        status, answer_body, violations = apply_response_url(ws, ru, body)
                        answer = (status, answer_body, {})
                        for rule, detail in violations:
                            self._violate("response_url", rule, detail, call)
                answer = self._after("response_url", call, effect, answer[0] == 200, answer)
        finally:
            self.fake._recorder.end(call, answer[0], copy.deepcopy(answer[1]), effect)
        response = web.json_response(answer[1], status=answer[0], headers=answer[2])
        return self._reply(request, effect, response)

    async def _download(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        if header != f"Bearer {self.fake.bot_token}":
            return web.Response(status=403, text="forbidden")
        ws = self.fake._ws
        with ws.lock:
            f = ws.files.get(request.match_info["file_id"])
            content = f.content if f is not None else None
        if content is None:
            return web.Response(status=404, text="file_not_found")
        return web.Response(body=content, content_type="application/octet-stream")
