"""The example emails that ship with emailkit; `python preview_app.py` shows them."""
