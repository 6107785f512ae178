"""Sending: SMTP connections (TLS, pipelining, a pool per relay), relays and rate limits, retries
and the failed-mail folder, bulk and background sending, DKIM, VERP, one-click unsubscribe, and
the delivery log with bounces and suppression."""
