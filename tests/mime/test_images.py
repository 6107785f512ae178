"""Images by relative path: embedded as cid: parts when sent, or linked under a public prefix."""

from __future__ import annotations

import os
import re
import struct
import zlib
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from emailkit import Email, TemplateError
from emailkit.mime import images
from emailkit.mime import message as mime
from emailkit.preview import create_preview_app

from ..conftest import SHIPPED_ROOT
from ..preview.test_preview import copy_of_shipped
from ..sending.test_sending import make_app


def png(width: int) -> bytes:
    """A real PNG, ``width`` x 1 opaque pixels (so different widths differ in bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" + b"\x4f\x46\xe5" * width)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG_1, PNG_2, PNG_3 = png(1), png(2), png(3)


def make(emails_root, body, name="note"):
    folder = emails_root.email(
        name,
        subject_txt="Hi {{ who }}",
        body_html=(
            "<!DOCTYPE html><html><head><title>x</title></head><body>"
            f"<p>Hi {{{{ who }}}}</p>{body}</body></html>"
        ),
    )
    namespace = {"template": folder, "__annotations__": {"who": "str"}}
    return type("Note", (Email,), namespace)


@pytest.fixture
def with_images(emails_root):
    (emails_root.path / "_assets").mkdir()
    (emails_root.path / "_assets" / "logo.png").write_bytes(PNG_1)
    (emails_root.path / "_assets" / "shared.png").write_bytes(PNG_3)
    emails_root.email("note")
    (emails_root.path / "note" / "logo.png").write_bytes(PNG_2)  # the email's own wins
    return emails_root


def related_parts(raw: bytes):
    parsed = message_from_bytes(raw, policy=default_policy)
    related = [p for p in parsed.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1, [p.get_content_type() for p in parsed.walk()]
    html = parsed.get_body(("html",)).get_content()
    inline = {
        p["Content-ID"].strip("<>"): p
        for p in related[0].iter_parts()
        if p.get_content_maintype() == "image"
    }
    return html, inline


def test_relative_images_are_embedded_once_each_as_cid_parts(with_images):
    cls = make(
        with_images,
        '<img src="logo.png" alt="a"><img src="shared.png" alt="b"><img src="logo.png" alt="c">'
        '<img src="https://cdn.acme.io/x.png" alt="remote">',
    )
    rendered = cls(who="Ada").render()
    assert 'src="logo.png"' in rendered.html  # the rendering keeps what the template says
    raw = rendered.message("ada@example.com", sender="a@acme.example.com").as_bytes()
    html, inline = related_parts(raw)
    assert len(inline) == 2
    by_bytes = {part.get_content(): cid for cid, part in inline.items()}
    assert html.count(f'src="cid:{by_bytes[PNG_2]}"') == 2  # note/logo.png, not _assets/
    assert PNG_1 not in by_bytes  # _assets/logo.png is shadowed by the email's own
    assert f'src="cid:{by_bytes[PNG_2]}"' in html
    shared = next(cid for cid, p in inline.items() if p.get_filename() == "shared.png")
    assert f'src="cid:{shared}"' in html
    assert 'src="https://cdn.acme.io/x.png"' in html
    for part in inline.values():
        assert part.get_content_type() == "image/png"
        assert part.get_content_disposition() == "inline"


def test_public_url_prefix_links_images_instead_of_embedding(with_images, tmp_path):
    cls = make(with_images, '<img src="shared.png" alt="b"><img src="logo.png" alt="a">')
    app = make_app(tmp_path, EMAILKIT_IMAGE_URL="https://cdn.acme.io/mail")
    with app.app_context():
        raw = cls(who="Ada").message("ada@example.com").as_bytes()
    parsed = message_from_bytes(raw, policy=default_policy)
    assert "multipart/related" not in [p.get_content_type() for p in parsed.walk()]
    html = parsed.get_body(("html",)).get_content()
    assert 'src="https://cdn.acme.io/mail/_assets/shared.png"' in html
    assert 'src="https://cdn.acme.io/mail/note/logo.png"' in html


@pytest.mark.parametrize(
    ("src", "says"),
    [
        ("missing.png", "'missing.png' not found in note/ or _assets/"),
        ("../secret.png", "leads outside note/ and _assets/"),
        ("../../secret.png", "leads outside note/ and _assets/"),
        ("%2E%2E/secret.png", "leads outside note/ and _assets/"),
        ("/etc/passwd", "is an absolute path"),
        ("/logo.png", "is an absolute path"),
        ("link.png", "leads outside note/ and _assets/"),
        ("__init__.py", "is not an image file"),
    ],
)
def test_images_outside_the_email_and_assets_are_refused(with_images, src, says):
    (with_images.path / "secret.png").write_bytes(PNG_1)  # in the root, but not allowed
    (with_images.path.parent / "secret.png").write_bytes(PNG_1)  # outside the root
    os.symlink(with_images.path.parent / "secret.png", with_images.path / "note" / "link.png")
    (with_images.path / "note" / "__init__.py").write_text("SECRET = 1\n")
    cls = make(with_images, f'<img src="{src}" alt="x">')
    with pytest.raises(TemplateError) as raised:
        cls(who="Ada").message("ada@example.com", sender="a@acme.example.com")
    message = str(raised.value)
    assert message.startswith("note: image"), message
    assert says in message
    assert "_assets" in message or "Point the src at" in message  # says what to do


def test_content_id_depends_on_the_bytes():
    assert images.content_id("logo.png", PNG_1) == images.content_id("logo.png", PNG_1)
    assert images.content_id("logo.png", PNG_1) != images.content_id("logo.png", PNG_2)
    assert images.content_id("my logo!.png", PNG_1).startswith("my-logo.")


def test_src_values_are_escaped_when_rewritten():
    html = images.rewrite('<img alt="x" src="a.png">', lambda src: 'b".png?x=1&y=2')
    assert html == '<img alt="x" src="b&#34;.png?x=1&amp;y=2">'


def test_shipped_layout_sends_its_logo_through_the_smtp_sink(tmp_path, smtp_server):
    from emails.welcome import Welcome

    logo = (SHIPPED_ROOT / "_assets" / "logo.png").read_bytes()
    assert logo.startswith(b"\x89PNG\r\n\x1a\n")
    app = make_app(tmp_path, smtp_server)
    with app.app_context():
        Welcome.previews()["default"].send(to="ada@example.com")
    (envelope,) = smtp_server.envelopes
    html, inline = related_parts(envelope.original_content)
    (cid,) = inline
    assert inline[cid].get_content() == logo
    assert inline[cid].get_filename() == "logo.png"
    assert f'<img src="cid:{cid}"' in html


def test_preview_serves_relative_images_and_nothing_outside(with_images):
    make(with_images, '<img src="logo.png" alt="a">')
    (with_images.path / "note" / "__init__.py").write_text(
        "from emailkit import Email\n\n\nclass Note(Email):\n    who: str\n\n"
        "    @classmethod\n    def previews(cls):\n        return {'default': cls(who='Ada')}\n"
    )
    (with_images.path / "note" / "subject.txt").write_text("Hi")
    (with_images.path.parent / "outside.png").write_bytes(PNG_1)
    os.symlink(with_images.path.parent / "outside.png", with_images.path / "_assets" / "out.png")
    (with_images.path / "secret.png").write_bytes(PNG_1)
    client = create_preview_app(with_images.path, TESTING=True).test_client()
    html = client.get("/note/default.html").get_data(as_text=True)
    assert '<img src="logo.png"' in html  # the raw HTML: the browser resolves it next to it
    ok = client.get("/note/logo.png")
    assert ok.status_code == 200 and ok.data == PNG_2 and ok.mimetype == "image/png"
    assert ok.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/note/shared.png").data == PNG_3  # from _assets/, as sending finds it
    assert client.get("/_assets/logo.png").data == PNG_1  # what ../_assets/logo.png reaches
    for url in (
        "/note/..%2Foutside.png",
        "/note/..%2Fsecret.png",
        "/_assets/..%2F..%2Foutside.png",
        "/_assets/out.png",  # a symlink out of the root
        "/note/__init__.py",
        "/note/subject.txt",
        "/note/missing.png",
        "/nobody/logo.png",
        "/secret.png",
    ):
        assert client.get(url).status_code == 404, url


def test_outbox_viewer_shows_a_stored_messages_cid_images(tmp_path):
    from emailkit.extension import kit
    from emails.welcome import Welcome

    app = create_preview_app(copy_of_shipped(tmp_path), TESTING=True)
    with app.app_context():
        message = Welcome.previews()["default"].message("ada@example.com", sender="a@acme.io")
        kit.deliver(message)
        (stored,) = list(kit.outbox)
    client = app.test_client()
    html = client.get(f"/outbox/{stored.path.stem}.html").get_data(as_text=True)
    (url,) = re.findall(r'<img src="([^"]+)"', html)
    assert url.startswith(f"/outbox/{stored.path.stem}/part?cid=logo.")
    image = client.get(url.replace("&amp;", "&"))
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data == (SHIPPED_ROOT / "_assets" / "logo.png").read_bytes()
    assert client.get(f"/outbox/{stored.path.stem}/part?cid=nope").status_code == 404
    assert client.get("/outbox/nope/part?cid=x").status_code == 404


def test_cached_resolutions_follow_files_that_appear_change_or_turn_into_symlinks(emails_root):
    (emails_root.path / "_assets").mkdir()
    (emails_root.path / "_assets" / "logo.png").write_bytes(PNG_1)
    cls = make(emails_root, '<img src="logo.png" alt="a">')

    def sent_image() -> bytes:
        raw = cls(who="Ada").message("ada@example.com", sender="a@acme.io").as_bytes()
        _, inline = related_parts(raw)
        (part,) = inline.values()
        return part.get_content()

    assert sent_image() == PNG_1
    own = emails_root.path / "note" / "logo.png"
    own.write_bytes(PNG_2)  # the email's own file now shadows _assets/
    assert sent_image() == PNG_2
    own.write_bytes(PNG_3)
    os.utime(own, ns=(0, 10**18))
    assert sent_image() == PNG_3
    own.unlink()
    (emails_root.path.parent / "outside.png").write_bytes(PNG_1)
    os.symlink(emails_root.path.parent / "outside.png", own)
    with pytest.raises(TemplateError, match="leads outside note/ and _assets/"):
        sent_image()


def test_cid_references_show_in_the_preview_from_the_file_they_name(with_images, tmp_path):
    """A template written for inline_image("logo.png", ...) previews without sending."""
    folder = with_images.path / "note"
    (folder / "subject.txt").write_text("Hi")
    (folder / "body.html").write_text(
        '<html><body><img src="cid:logo.png" alt="a"><img src="cid:shared" alt="b">'
        '<img src="cid:../secret" alt="c"></body></html>'
    )
    (folder / "__init__.py").write_text(
        "from emailkit import Email\n\n\nclass Note(Email):\n    @classmethod\n"
        "    def previews(cls):\n        return {'default': cls()}\n"
    )
    (with_images.path / "secret.png").write_bytes(PNG_1)
    client = create_preview_app(with_images.path, TESTING=True).test_client()
    assert client.get("/note/default").status_code == 500  # cid:../secret has no part
    (folder / "body.html").write_text(
        '<html><body><img src="cid:logo.png" alt="a"><img src="cid:shared" alt="b"></body></html>'
    )
    os.utime(folder / "body.html", ns=(0, 10**18))
    assert client.get("/note/default").status_code == 200
    html = client.get("/note/default.html").get_data(as_text=True)
    assert '<img src="/note/logo.png"' in html
    assert '<img src="/note/shared.png"' in html
    eml = client.get("/note/default.eml").data
    _, inline = related_parts(eml)
    assert set(inline) == {"logo.png", "shared"}
    assert inline["shared"].get_content() == PNG_3


def test_src_is_read_as_html_writes_it():
    html = '<IMG data-src="no.png" SRC="a&amp;b.png"><img alt="x"\nsrc=\'c.png\'>'
    assert images.local_sources(html) == ["a&b.png", "c.png"]
    assert images.rewrite(html, lambda src: src.upper()) == (
        '<IMG data-src="no.png" SRC="A&amp;B.PNG"><img alt="x"\nsrc=\'C.PNG\'>'
    )


def test_embedded_part_is_encoded_once_and_equals_a_fresh_encoding(with_images):
    cls = make(with_images, '<img src="shared.png" alt="b">')
    first = cls(who="Ada").message("ada@example.com", sender="a@acme.example.com")
    second = cls(who="Bob").message("bob@example.com", sender="a@acme.example.com")
    (one,), (two,) = first.attachments, second.attachments
    assert one is not two and one.wire_part[2] is two.wire_part[2]  # encoded once
    fresh = mime._file_part(mime.inline_image(images._cid(one), one.data, "image/png"))
    assert mime._file_part(one).content == fresh.content
    two.data = PNG_1  # a changed attachment is encoded from its new data, never the old part
    _, inline = related_parts(second.as_bytes())
    assert [part.get_content() for part in inline.values()] == [PNG_1]
