"""``emailkit init`` and ``emailkit new NAME``: a designed starter and working email folders.

The starter (``emailkit/project/starter/emails/`` in the package: a layout with dark mode and a
preheader, its stylesheet, components, a logo and a first email) is copied as it is, so what
``emailkit init`` writes is exactly what the README's tour shows.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from ..errors import ConfigError
from .discovery import is_email_name

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

_HTML_WITH_COMPONENTS = """{{% extends "_layouts/base.html" %}}
{{% from "_components/button.html" import button %}}
{{% block title %}}{title}{{% endblock %}}
{{% block preheader %}}What the inbox shows after the subject.{{% endblock %}}
{{% block content %}}
<h1>Hi {{{{ user_name }}}}</h1>
<p>This is the {title} email.</p>
{{{{ button(action_url, "Continue") }}}}
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


_CSS_WITH_COMPONENTS = """/* This email's own styles, inlined after _layouts/base.css. */
h1 { letter-spacing: -0.2px; }
"""

STARTER = Path(__file__).parent / "starter" / "emails"
_SKIPPED = ("__pycache__", ".pyc", ".DS_Store")


def write_starter(root: Path, *, with_email: bool = True) -> list[Path]:
    """Copy the designed starter into ``root`` (new or empty); returns the files written.

    Without ``with_email`` only the shared parts are written (the layout, its stylesheet, the
    components, the logo and the package's ``__init__.py``), not the first email.
    """
    if root.exists() and any(root.iterdir()):
        raise ConfigError(
            f"{root} is not empty; emailkit init starts a new emails root. Add an email to this "
            "one with `emailkit new NAME`, or pass --emails with a new folder"
        )
    written = []
    for source in sorted(STARTER.rglob("*")):
        relative = source.relative_to(STARTER)
        if not source.is_file() or any(part.endswith(_SKIPPED) for part in relative.parts):
            continue
        if not with_email and not relative.parts[0].startswith("_") and len(relative.parts) > 1:
            continue
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
        written.append(target)
    return written


def scaffold_email(root: Path, name: str, *, mjml: bool = False) -> Path:
    """Create ``root/name`` with a context class, templates and CSS; returns the folder.

    With ``mjml`` the HTML part is ``body.mjml`` (see :mod:`emailkit.templating.mjml.compiler`).
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
    if not root.exists() or not any(root.iterdir()):
        write_starter(root, with_email=False)  # the first email gets the layout and the rest
    has_layout = (root / "_layouts" / "base.html").is_file()
    has_button = (root / "_components" / "button.html").is_file()
    html = _HTML_WITH_COMPONENTS if has_layout and has_button else _HTML_WITH_LAYOUT
    files = {
        "__init__.py": _CLASS.format(title=title, class_name=class_name),
        "subject.txt": _SUBJECT.format(title=title),
        "body.txt": _TEXT.format(title=title),
        "body.html": (html if has_layout else _HTML_ALONE).format(title=title),
        "style.css": _CSS if not has_button else _CSS_WITH_COMPONENTS,
    }
    if mjml:
        del files["body.html"]
        files["body.mjml"] = _MJML.format(title=title)
    folder.mkdir(parents=True)
    for filename, content in files.items():
        (folder / filename).write_text(content, encoding="utf-8")
    return folder
