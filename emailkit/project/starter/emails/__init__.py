"""The application's emails: one folder per email (see `emailkit list`)."""
