"""``python -m iptvsync`` is the ``iptvsync`` command."""

from iptvsync.cli import main

main()
