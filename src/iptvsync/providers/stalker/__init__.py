"""Stalker / Ministra "MAC portal" provider (protocol: docs/stalker.md).

- ``client.StalkerClient``: the ``ProviderClient``, assembled from one module per job:
  ``options`` (knobs), ``transport`` (one polite, retried call), ``session`` (handshake, MAC
  pool), ``walks``, ``probe``, ``play`` (links) and ``guide``;
- ``parse``: pure functions, raw payloads in, typed records out (both server families);
- ``identity.StalkerIdentity``: the MAG box we present, derived from the MAC;
- ``discovery``: from a pasted URL to the API endpoint;
- ``paging.walk_stream``: concurrent, in-order paging within the politeness budget.

Modules are imported on demand (``from iptvsync.providers.stalker.client import ...``) so the
parsers stay usable without the I/O stack.
"""
