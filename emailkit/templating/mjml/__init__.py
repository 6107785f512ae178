"""mjml."""
