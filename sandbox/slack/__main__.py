"""`python -m sandbox.slack --port N`: run the fake standalone with the demo workspace."""

from __future__ import annotations

import argparse
import signal
import threading

from sandbox.slack.fake import FakeSlack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.slack", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--signing-secret", default="test-signing-secret")
    parser.add_argument("--no-rate-limits", action="store_true", help="disable rate limiting")
    options = parser.parse_args(argv)

    fake = FakeSlack(
        signing_secret=options.signing_secret,
        rate_limits=not options.no_rate_limits,
        host=options.host,
        port=options.port,
    )
    fake.start()
    incident = fake.channel_id("incident-response")
    fake.post_as_user(incident, "U_ALICE", "Welcome to #incident-response (demo workspace).")
    print(fake.api_url, flush=True)
    print(f"SLACK_API_URL={fake.api_url}", flush=True)
    print(f"SLACK_BOT_TOKEN={fake.bot_token}", flush=True)
    print(f"SLACK_SIGNING_SECRET={fake.signing_secret}", flush=True)

    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    try:
        done.wait()
    finally:
        fake.stop()
        for violation in fake.violations:
            print(f"violation: {violation}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
