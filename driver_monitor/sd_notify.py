"""systemd's sd_notify protocol without libsystemd: one datagram per message to $NOTIFY_SOCKET.

The protocol (sd_notify(3)): newline-separated VAR=VALUE assignments in a single AF_UNIX
datagram to the socket named in $NOTIFY_SOCKET; a name starting with '@' is an abstract
socket (leading NUL byte). Without $NOTIFY_SOCKET (not started by systemd) every call is a
no-op, so the daemon runs the same from a terminal.

Watchdog (sd_watchdog_enabled(3)): $WATCHDOG_USEC is the timeout; $WATCHDOG_PID, when set,
names the process that must ping. systemd recommends pinging at half the timeout.
"""

from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger(__name__)


def _socket_address(name: str) -> str | bytes:
    if name.startswith("@"):
        return b"\0" + name[1:].encode()
    return name


def watchdog_interval_s(environ: dict[str, str] | None = None, pid: int | None = None) -> float | None:
    """Half the watchdog timeout in seconds, or None when systemd asked for no watchdog
    (or asked another process to ping it)."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    if not usec:
        return None
    wd_pid = env.get("WATCHDOG_PID", "")
    if wd_pid and wd_pid.isdigit() and int(wd_pid) != (os.getpid() if pid is None else pid):
        return None
    try:
        timeout_us = int(usec)
    except ValueError:
        log.warning("WATCHDOG_USEC=%r is not an integer; watchdog pings disabled", usec)
        return None
    if timeout_us <= 0:
        return None
    return timeout_us / 2e6


class Notifier:
    """Sends sd_notify messages; a missing or broken socket never raises (the daemon must
    not die because its supervisor went away), it is logged once."""

    def __init__(self, socket_name: str | None = None):
        name = os.environ.get("NOTIFY_SOCKET") if socket_name is None else socket_name
        self.address = _socket_address(name) if name else None
        self._sock: socket.socket | None = None
        self._warned = False
        if self.address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, *assignments: str) -> bool:
        """Send VAR=VALUE lines in one datagram. True when sent."""
        if self._sock is None or self.address is None:
            return False
        payload = "\n".join(a.replace("\n", " ") for a in assignments).encode()
        try:
            self._sock.sendto(payload, self.address)
        except OSError as exc:
            if not self._warned:
                log.warning("sd_notify to %s failed (%s); continuing without it", self.address, exc.strerror)
                self._warned = True
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def reloading(self, status: str | None = None) -> bool:
        # MONOTONIC_USEC lets systemd (>= 253, notify-reload) match READY to this reload;
        # older systemd ignores it.
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}", *([f"STATUS={status}"] if status else []))

    def stopping(self, status: str | None = None) -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
