"""M3U playlist provider: ``parse`` (pure, streaming: lines → entries → records; identity keys;
the live/VOD heuristic) and ``client`` (``M3uClient``, the ``ProviderClient``). Guides are read
by ``providers/xmltv.py``. See docs/providers.md."""
