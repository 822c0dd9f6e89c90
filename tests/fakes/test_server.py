"""fakes/server.free_port: a port for a server another process starts later, chosen where the
kernel hands out no ports of its own (docs/contributing.md, rule 8)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from iptvsync.fakes import server
from iptvsync.fakes.server import free_port


def _ephemeral_low() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_a_free_port_is_below_the_kernels_ephemeral_range_and_bindable() -> None:
    ports = {free_port() for _ in range(20)}
    assert all(10_000 <= p < _ephemeral_low() for p in ports), ports
    assert len(ports) > 1  # drawn at random, not one fixed port every caller fights over
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports.pop()))


def test_a_port_in_use_is_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    held: list[socket.socket] = []
    try:
        base = free_port()
        for port in range(base, base + 4):  # a range of five, four of them held
            sock = socket.socket()
            sock.bind(("127.0.0.1", port))
            sock.listen()
            held.append(sock)
    except OSError:
        pytest.skip("a neighbouring port is in use on this machine")  # not the code's fault
    try:
        monkeypatch.setattr(server, "_LOW_PORTS", (base, base + 5))
        assert {server.free_port() for _ in range(10)} == {base + 4}
    finally:
        for sock in held:
            sock.close()
