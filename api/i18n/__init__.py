"""Languages: gettext catalogs, locale negotiation and placeholder filling.

- ``messages``: the built-in strings in English, marked for ``pybabel extract``.
- ``catalogs``: the compiled catalogs (``translations/<locale>/LC_MESSAGES``), the
  supported locales, the chrome strings by key in each (``UI``) and those with a count
  in the form for a number (``counted``).
- ``negotiation``: which locale to talk to someone in (``pick_locale``).
- ``placeholders``: ``{product}``-style filling of (possibly user-written) templates.

Survey wording (built-in defaults under a workspace's own texts) is in
``api.surveys.wording``. README "Languages" says how to add a string or a locale.
"""
