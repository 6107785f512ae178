"""What MJML allows: its components, their attributes and where each may appear.

Taken from MJML 4.18's component definitions (``allowedAttributes``, ``endingTag``) and its
validator (``mjml-preset-core/src/dependencies.js``), the MJML version MRML renders. MRML
itself accepts anything, so emailkit checks an email against this before compiling it.
"""

from __future__ import annotations


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Every component also takes these.
GLOBAL_ATTRIBUTES = _names("css-class mj-class")
# Elements without a component of their own that MJML still accepts, with their attributes.
EXTRA_ELEMENTS = {
    "mjml": _names("lang dir owa"),
    "mj-all": None,  # any attribute: defaults for every component
    "mj-class": None,  # any attribute, plus its name
    "mj-selector": _names("path"),
    "mj-html-attribute": _names("name"),
}

ATTRIBUTES: dict[str, frozenset[str]] = {
    "mj-accordion": _names(
        "border container-background-color font-family icon-align icon-height icon-position "
        "icon-unwrapped-alt icon-unwrapped-url icon-width icon-wrapped-alt icon-wrapped-url "
        "padding padding-bottom padding-left padding-right padding-top "
    ),
    "mj-accordion-element": _names(
        "background-color border font-family icon-align icon-height icon-position "
        "icon-unwrapped-alt icon-unwrapped-url icon-width icon-wrapped-alt icon-wrapped-url "
    ),
    "mj-accordion-text": _names(
        "background-color color font-family font-size font-weight letter-spacing line-height "
        "padding padding-bottom padding-left padding-right padding-top "
    ),
    "mj-accordion-title": _names(
        "background-color color font-family font-size font-weight padding padding-bottom "
        "padding-left padding-right padding-top "
    ),
    "mj-attributes": _names(""),
    "mj-body": _names("background-color width"),
    "mj-breakpoint": _names("width"),
    "mj-button": _names(
        "align background-color border border-bottom border-left border-radius border-right "
        "border-top color container-background-color font-family font-size font-style "
        "font-weight height href inner-padding letter-spacing line-height name padding "
        "padding-bottom padding-left padding-right padding-top rel target text-align "
        "text-decoration text-transform title vertical-align width "
    ),
    "mj-carousel": _names(
        "align border-radius container-background-color icon-width left-icon padding "
        "padding-bottom padding-left padding-right padding-top right-icon tb-border "
        "tb-border-radius tb-hover-border-color tb-selected-border-color tb-width thumbnails "
    ),
    "mj-carousel-image": _names(
        "alt border-radius href rel src target tb-border tb-border-radius thumbnails-src title "
    ),
    "mj-column": _names(
        "background-color border border-bottom border-left border-radius border-right "
        "border-top direction inner-background-color inner-border inner-border-bottom "
        "inner-border-left inner-border-radius inner-border-right inner-border-top padding "
        "padding-bottom padding-left padding-right padding-top vertical-align width "
    ),
    "mj-divider": _names(
        "align border-color border-style border-width container-background-color padding "
        "padding-bottom padding-left padding-right padding-top width "
    ),
    "mj-font": _names("href name"),
    "mj-group": _names("background-color direction vertical-align width"),
    "mj-head": _names(""),
    "mj-hero": _names(
        "background-color background-height background-position background-url "
        "background-width border-radius container-background-color height "
        "inner-background-color inner-padding inner-padding-bottom inner-padding-left "
        "inner-padding-right inner-padding-top mode padding padding-bottom padding-left "
        "padding-right padding-top vertical-align "
    ),
    "mj-html-attributes": _names(""),
    "mj-image": _names(
        "align alt border border-bottom border-left border-radius border-right border-top "
        "container-background-color fluid-on-mobile font-size height href max-height name "
        "padding padding-bottom padding-left padding-right padding-top rel sizes src srcset "
        "target title usemap width "
    ),
    "mj-navbar": _names(
        "align base-url hamburger ico-align ico-close ico-color ico-font-family ico-font-size "
        "ico-line-height ico-open ico-padding ico-padding-bottom ico-padding-left "
        "ico-padding-right ico-padding-top ico-text-decoration ico-text-transform padding "
        "padding-bottom padding-left padding-right padding-top "
    ),
    "mj-navbar-link": _names(
        "color font-family font-size font-style font-weight href letter-spacing line-height "
        "name padding padding-bottom padding-left padding-right padding-top rel target "
        "text-decoration text-transform "
    ),
    "mj-preview": _names(""),
    "mj-raw": _names("position"),
    "mj-section": _names(
        "background-color background-position background-position-x background-position-y "
        "background-repeat background-size background-url border border-bottom border-left "
        "border-radius border-right border-top direction full-width padding padding-bottom "
        "padding-left padding-right padding-top text-align text-padding "
    ),
    "mj-social": _names(
        "align border-radius color container-background-color font-family font-size "
        "font-style font-weight icon-height icon-padding icon-size inner-padding line-height "
        "mode padding padding-bottom padding-left padding-right padding-top table-layout "
        "text-decoration text-padding vertical-align "
    ),
    "mj-social-element": _names(
        "align alt background-color border-radius color font-family font-size font-style "
        "font-weight href icon-height icon-padding icon-position icon-size line-height name "
        "padding padding-bottom padding-left padding-right padding-top rel sizes src srcset "
        "target text-decoration text-padding title vertical-align "
    ),
    "mj-spacer": _names(
        "border border-bottom border-left border-right border-top container-background-color "
        "height padding padding-bottom padding-left padding-right padding-top "
    ),
    "mj-style": _names("inline"),
    "mj-table": _names(
        "align border cellpadding cellspacing color container-background-color font-family "
        "font-size font-weight line-height padding padding-bottom padding-left padding-right "
        "padding-top role table-layout vertical-align width "
    ),
    "mj-text": _names(
        "align background-color color container-background-color font-family font-size "
        "font-style font-weight height letter-spacing line-height padding padding-bottom "
        "padding-left padding-right padding-top text-decoration text-transform vertical-align "
    ),
    "mj-title": _names(""),
    "mj-wrapper": _names(
        "background-color background-position background-position-x background-position-y "
        "background-repeat background-size background-url border border-bottom border-left "
        "border-radius border-right border-top direction full-width gap padding "
        "padding-bottom padding-left padding-right padding-top text-align text-padding "
    ),
}
ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("mj-accordion", "icon-align"): ("top", "middle", "bottom"),
    ("mj-accordion", "icon-position"): ("left", "right"),
    ("mj-accordion-element", "icon-align"): ("top", "middle", "bottom"),
    ("mj-accordion-element", "icon-position"): ("left", "right"),
    ("mj-button", "align"): ("left", "center", "right"),
    ("mj-button", "text-align"): ("left", "right", "center"),
    ("mj-button", "vertical-align"): ("top", "bottom", "middle"),
    ("mj-carousel", "align"): ("left", "center", "right"),
    ("mj-carousel", "thumbnails"): ("visible", "hidden", "supported"),
    ("mj-column", "direction"): ("ltr", "rtl"),
    ("mj-column", "vertical-align"): ("top", "bottom", "middle"),
    ("mj-divider", "align"): ("left", "center", "right"),
    ("mj-group", "direction"): ("ltr", "rtl"),
    ("mj-group", "vertical-align"): ("top", "bottom", "middle"),
    ("mj-hero", "vertical-align"): ("top", "bottom", "middle"),
    ("mj-image", "align"): ("left", "center", "right"),
    ("mj-navbar", "align"): ("left", "center", "right"),
    ("mj-navbar", "ico-align"): ("left", "center", "right"),
    ("mj-raw", "position"): ("file-start",),
    ("mj-section", "background-repeat"): ("repeat", "no-repeat"),
    ("mj-section", "direction"): ("ltr", "rtl"),
    ("mj-section", "full-width"): ("full-width", "false", ""),
    ("mj-section", "text-align"): ("left", "center", "right"),
    ("mj-social", "align"): ("left", "right", "center"),
    ("mj-social", "mode"): ("horizontal", "vertical"),
    ("mj-social", "table-layout"): ("auto", "fixed"),
    ("mj-social", "vertical-align"): ("top", "bottom", "middle"),
    ("mj-social-element", "align"): ("left", "center", "right"),
    ("mj-social-element", "icon-position"): ("left", "right"),
    ("mj-social-element", "vertical-align"): ("top", "middle", "bottom"),
    ("mj-table", "align"): ("left", "right", "center"),
    ("mj-table", "role"): ("none", "presentation"),
    ("mj-table", "table-layout"): ("auto", "fixed", "initial", "inherit"),
    ("mj-table", "vertical-align"): ("top", "bottom", "middle"),
    ("mj-text", "align"): ("left", "right", "center", "justify"),
    ("mj-text", "vertical-align"): ("top", "bottom", "middle"),
    ("mj-wrapper", "background-repeat"): ("repeat", "no-repeat"),
    ("mj-wrapper", "direction"): ("ltr", "rtl"),
    ("mj-wrapper", "full-width"): ("full-width", "false", ""),
    ("mj-wrapper", "text-align"): ("left", "center", "right"),
}
ENDING_TAGS = frozenset(
    (
        "mj-accordion-text",
        "mj-accordion-title",
        "mj-breakpoint",
        "mj-button",
        "mj-carousel-image",
        "mj-navbar-link",
        "mj-preview",
        "mj-raw",
        "mj-social-element",
        "mj-style",
        "mj-table",
        "mj-text",
        "mj-title",
    )
)

CHILDREN: dict[str, frozenset[str]] = {
    "mjml": _names("mj-body mj-head mj-raw"),
    "mj-accordion": _names("mj-accordion-element mj-raw"),
    "mj-accordion-element": _names("mj-accordion-title mj-accordion-text mj-raw"),
    "mj-body": _names("mj-raw mj-section mj-wrapper mj-hero"),
    "mj-carousel": _names("mj-carousel-image"),
    "mj-column": _names(
        "mj-accordion mj-button mj-carousel mj-divider mj-image mj-raw mj-social mj-spacer "
        "mj-table mj-text mj-navbar"
    ),
    "mj-html-attributes": _names("mj-selector"),
    "mj-group": _names("mj-column mj-raw"),
    "mj-head": _names(
        "mj-attributes mj-breakpoint mj-html-attributes mj-font mj-preview mj-style mj-title mj-raw"
    ),
    "mj-hero": _names(
        "mj-accordion mj-button mj-carousel mj-divider mj-image mj-social mj-spacer mj-table "
        "mj-text mj-navbar mj-raw"
    ),
    "mj-navbar": _names("mj-navbar-link mj-raw"),
    "mj-section": _names("mj-column mj-group mj-raw"),
    "mj-selector": _names("mj-html-attribute"),
    "mj-social": _names("mj-social-element mj-raw"),
    "mj-wrapper": _names("mj-hero mj-raw mj-section"),
}
