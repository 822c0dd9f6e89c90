"""Watch through iptvsync: the stream relay (docs/outputs.md, "Play modes and the relay").

- ``modes``: a provider's play mode (``redirect`` | ``relay``), limits and account keys;
- ``upstream``: the one place the relay fetches provider bytes;
- ``hub``: shared upstreams, fanned out to bounded per-viewer buffers;
- ``slots``: connection slots (per provider account, per user) leased in the database;
- ``hls``: playlist rewriting so every variant and segment goes through iptvsync;
- ``remux``: the optional ``ffmpeg -c copy`` profile;
- ``broker``: ties them together for one play request.
"""
