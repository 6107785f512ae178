"""Localised emails: locales, compiled number, currency and date formats, message catalogs,
and ``{% trans %}`` blocks holding markup."""
