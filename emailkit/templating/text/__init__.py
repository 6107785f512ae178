"""The text part generated from the HTML: the conversion, and a text template compiled from the
HTML once so a render costs a Jinja render."""
