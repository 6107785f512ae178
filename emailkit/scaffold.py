"""``emailkit new NAME``: a working email folder to start from."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from .discovery import is_email_name
from .errors import ConfigError

_CLASS = '''"""{title}: describe when this email is sent."""

from __future__ import annotations

from emailkit import Email


class {class_name}(Email):
    user_name: str
    action_url: str

    @classmethod
    def previews(cls) -> dict[str, {class_name}]:
        return {{
            "default": cls(user_name="Ada Lovelace", action_url="https://example.com/go/1"),
            "long-name": cls(
                user_name="Maximiliana Alexandrina Wolfeschlegelsteinhausenbergerdorff",
                action_url="https://example.com/go/2",
            ),
        }}
'''

_SUBJECT = "{title} for {{{{ user_name }}}}\n"

_TEXT = """Hi {{{{ user_name }}}},

This is the {title} email. Continue here:

{{{{ action_url }}}}
"""

_HTML_WITH_LAYOUT = """{{% extends "_layouts/base.html" %}}
{{% block title %}}{title}{{% endblock %}}
{{% block preheader %}}What the inbox shows after the subject.{{% endblock %}}
{{% block content %}}
<h1>Hi {{{{ user_name }}}}</h1>
<p>This is the {title} email.</p>
<p><a href="{{{{ action_url }}}}" class="action">Continue</a></p>
{{% endblock %}}
"""

_HTML_ALONE = """<!DOCTYPE html>
<html lang="{{{{ lang }}}}" dir="{{{{ dir }}}}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
</head>
<body>
  <h1>Hi {{{{ user_name }}}}</h1>
  <p>This is the {title} email.</p>
  <p><a href="{{{{ action_url }}}}" class="action">Continue</a></p>
</body>
</html>
"""

_MJML = """<mjml lang="{{{{ lang }}}}" dir="{{{{ dir }}}}">
  <mj-head>
    <mj-title>{title}</mj-title>
    <mj-preview>What the inbox shows after the subject.</mj-preview>
    <mj-attributes>
      <mj-all font-family="Helvetica, Arial, sans-serif" />
    </mj-attributes>
  </mj-head>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text font-size="24px" line-height="32px">Hi {{{{ user_name }}}}</mj-text>
        <mj-text>This is the {title} email.</mj-text>
        <mj-button href="{{{{ action_url }}}}" background-color="#4f46e5">Continue</mj-button>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""

_CSS = """h1 { font-size: 24px; line-height: 32px; }
.action { color: #4f46e5; font-weight: bold; }
"""


def scaffold_email(root: Path, name: str, *, mjml: bool = False) -> Path:
    """Create ``root/name`` with a context class, templates and CSS; returns the folder.

    With ``mjml`` the HTML part is ``body.mjml`` (see :mod:`emailkit.mjml`).
    """
    if not is_email_name(name):
        suggestion = re.sub(r"[^\w-]+", "_", name).strip("_") or "order_shipped"
        raise ConfigError(
            f"{name!r} cannot name an email: use letters, digits, '_' and '-', not starting "
            f"with '_' (the folder name is a module's name), e.g. {suggestion!r}"
        )
    folder = root / name
    if folder.exists():
        raise ConfigError(f"{folder} already exists; choose another name")
    words = [word for word in re.split(r"[_-]+", name) if word]
    title = " ".join(words).capitalize()
    class_name = "".join(word[:1].upper() + word[1:] for word in words)
    if not class_name.isidentifier() or keyword.iskeyword(class_name):
        class_name = "Email" + class_name
    has_layout = (root / "_layouts" / "base.html").is_file()
    files = {
        "__init__.py": _CLASS.format(title=title, class_name=class_name),
        "subject.txt": _SUBJECT.format(title=title),
        "body.txt": _TEXT.format(title=title),
        "body.html": (_HTML_WITH_LAYOUT if has_layout else _HTML_ALONE).format(title=title),
        "style.css": _CSS,
    }
    if mjml:
        del files["body.html"]
        files["body.mjml"] = _MJML.format(title=title)
    folder.mkdir(parents=True)
    for filename, content in files.items():
        (folder / filename).write_text(content, encoding="utf-8")
    return folder
