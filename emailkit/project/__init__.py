"""A project of emails: its settings (``[tool.emailkit]``), discovering its emails, snapshot
files, and ``emailkit init`` / ``emailkit new`` with the starter they copy."""
