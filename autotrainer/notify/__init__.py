"""Messages to the operator: Telegram as the bot itself sends them, other services through Apprise.

Light on imports: `check` (blocked retrains) loads it on its fast path; the HTTP client and Apprise load
only when a message is sent.
"""
