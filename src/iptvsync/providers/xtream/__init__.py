"""Xtream Codes provider: ``parse`` (pure: payloads → records, both server families) and
``client`` (``XtreamClient``, the ``ProviderClient``). See docs/providers.md."""
