"""What to change in an email when a SpamAssassin rule hits it (rules of SpamAssassin 4's
default set that transactional email trips most; any other rule gets its own description)."""

from __future__ import annotations

_IMAGE_ONLY = (
    "add real text beside the images (what the email says, in words): an email of images "
    "and few words looks like image spam"
)
_SHORTENER = (
    "link to your own domain's full URL, not a URL shortener (bit.ly, tinyurl, ...): "
    "spammers hide destinations behind them"
)

SPAM_HINTS: dict[str, str] = {
    "SUBJ_ALL_CAPS": "write the subject in sentence case, not all capitals",
    "EMPTY_MESSAGE": "give the email text (a body.txt, or words in body.html)",
    "MIME_HTML_ONLY": "send a text part beside the HTML (emailkit writes one from body.txt "
    "or from the HTML)",
    "HTML_IMAGE_ONLY_04": _IMAGE_ONLY,
    "HTML_IMAGE_ONLY_08": _IMAGE_ONLY,
    "HTML_IMAGE_ONLY_12": _IMAGE_ONLY,
    "HTML_IMAGE_ONLY_16": _IMAGE_ONLY,
    "HTML_IMAGE_ONLY_20": _IMAGE_ONLY,
    "HTML_IMAGE_ONLY_24": _IMAGE_ONLY,
    "HTML_IMAGE_ONLY_28": _IMAGE_ONLY,
    "HTML_IMAGE_ONLY_32": _IMAGE_ONLY,
    "HTML_IMAGE_RATIO_02": "more text per image area: add words, or use smaller images",
    "HTML_IMAGE_RATIO_04": "more text per image area: add words, or use smaller images",
    "HTML_IMAGE_RATIO_06": "more text per image area: add words, or use smaller images",
    "HTML_IMAGE_RATIO_08": "more text per image area: add words, or use smaller images",
    "HTML_SHORT_LINK_IMG_1": "a short email that is mostly a linked image: add text, and a "
    "text link beside the image",
    "HTML_SHORT_LINK_IMG_2": "a short email that is mostly a linked image: add text, and a "
    "text link beside the image",
    "HTML_SHORT_LINK_IMG_3": "a short email that is mostly a linked image: add text, and a "
    "text link beside the image",
    "SHORTENER_SHORT_IMG": _SHORTENER,
    "SHORT_SHORTNER": _SHORTENER,
    "URI_SHORTENER": _SHORTENER,
    "TO_NO_BRKTS_HTML_ONLY": "send a text part beside the HTML (and a display name in To)",
    "TO_NO_BRKTS_HTML_IMG": "send a text part, and more text than images",
    "HTML_FONT_LOW_CONTRAST": "text whose colour is close to its background reads as hidden "
    "text: raise the contrast of light grey text (and of the hidden preheader's colour)",
    "HTML_FONT_SIZE_TINY": "no text in a tiny font (under 2px): it reads as hidden text",
    "HTML_FONT_SIZE_LARGE": "use fewer huge font sizes",
    "HTML_SHOUTING": "write headings and text in sentence case, not capitals",
    "HTML_MIME_NO_HTML_TAG": "the HTML part needs <html> around it (emailkit's layouts have it)",
    "MIME_HTML_MOSTLY": "make the text part carry the same content as the HTML",
    "MPART_ALT_DIFF": "the text and HTML parts say different things: generate the text part "
    "from the same content (body.txt or the HTML)",
    "MPART_ALT_DIFF_COUNT": "the text and HTML parts differ in length: keep them in step",
    "MISSING_DATE": "send through emailkit's message() so a Date header is written",
    "MISSING_MID": "send through emailkit's message() so a Message-ID is written",
    "MISSING_HEADERS": "address the email with To (not only Bcc)",
    "MISSING_SUBJECT": "give the email a subject (subject.txt)",
    "EMPTY_MESSAGE_SUBJECT": "give the email a subject (subject.txt)",
    "FREEMAIL_FROM": "send from your own domain, not a free-mail address",
    "FROM_EXCESS_BASE64": "use a plain ASCII display name in From, or a shorter one",
    "SUBJ_ILLEGAL_CHARS": "remove control or unusual characters from the subject",
    "LOTS_OF_MONEY": "fewer large money amounts, or state them plainly once",
    "MONEY_NOHTMLTAG": "fewer money amounts",
    "ADVANCE_FEE_2_NEW_MONEY": "the wording reads like an advance-fee scam: rephrase",
    "URG_BIZ": "avoid urgency phrases (act now, urgent business)",
    "T_REMOTE_IMAGE": "images from a remote URL: fine, but give them alt text and size",
    "T_KAM_HTML_FONT_INVALID": "a font colour is not a valid CSS colour: fix it",
    "HTML_TAG_BALANCE_BODY": "the HTML has unbalanced <body> tags: fix the layout",
    "BODY_SINGLE_WORD": "the text is one word: say what the email is about",
}
