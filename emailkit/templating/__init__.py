"""Compiling an email folder once: loading and flattening templates, inlining CSS into the
template source, components and macros, the compile cache; ``i18n``, ``mjml`` and ``text``
(the generated text part) as their own packages. Knows nothing of Flask's app globals."""
