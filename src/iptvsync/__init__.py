"""iptvsync: a local, queryable copy of an IPTV provider's catalogue, served to apps and players."""

__version__ = "0.1.0"
