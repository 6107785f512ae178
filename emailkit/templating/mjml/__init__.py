"""MJML emails (``body.mjml``): compiled once with MRML, probed for what Jinja tags may change,
and validated against MJML 4's elements and attributes."""
