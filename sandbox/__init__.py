"""warroom sandbox: try the bot in a browser against an embedded fake Slack."""
