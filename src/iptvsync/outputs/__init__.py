"""Outputs for existing players (docs/outputs.md): M3U playlists (``m3u``), the XMLTV guide
(``xmltv``), the Xtream Codes player API (``xtream_api``), their HTTP routes (``routes``), the
streamed reads they share (``catalogue``) and the output users (``users``)."""
