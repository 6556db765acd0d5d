"""Test peers for the serial link: a socat pty pair and the C decoder built from the docs."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "serial-protocol.md"

C_MAIN = r"""
#include <stdio.h>
/* test harness: decode stdin, print one line per frame; with argv[1] == "ack" print an ACK frame */
int main(int argc, char **argv) {
    (void)argv;
    if (argc > 1) {
        uint8_t out[16];
        size_t n = dm_encode_ack(out, 7, 123456u);
        fwrite(out, 1, n, stdout);
        return 0;
    }
    dm_rx_t rx = {0};
    int c;
    while ((c = getchar()) != EOF) {
        int n = dm_rx_byte(&rx, (uint8_t)c);
        if (n <= 0) continue;
        const uint8_t *p = rx.buf + 3;
        printf("type=%u seq=%u t_ms=%u", rx.buf[1], rx.buf[2], dm_u32(p));
        if (rx.buf[1] == 0x01) printf(" driver_state=%u flags=%u eor_cs=%u perclos=%u", p[5], p[6], dm_u16(p + 10), dm_u16(p + 12));
        if (rx.buf[1] == 0x02) printf(" level=%u reason=%u actions=%u", p[4], p[5], dm_u16(p + 6));
        if (rx.buf[1] == 0x03) printf(" faults=%u", dm_u16(p + 5));
        printf("\n");
    }
    return 0;
}
"""


def doc_c_source() -> str:
    """The first ```c block of docs/serial-protocol.md: the reference decoder itself."""
    blocks = re.findall(r"```c\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    return blocks[0]


def build_c_decoder(tmp: Path) -> Path | None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    src = tmp / "dm_decode.c"
    src.write_text(doc_c_source() + C_MAIN, encoding="utf-8")
    exe = tmp / "dm_decode"
    subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-Wno-unused-function", "-O1",
                    "-o", str(exe), str(src)], check=True, capture_output=True, text=True)
    return exe


class SocatPair:
    """`socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B`: two real ptys wired together."""

    def __init__(self, tmp: Path):
        self.a = tmp / "ttyDMS"
        self.b = tmp / "ttyBOARD"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> SocatPair:
        self.proc = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5.0
        while not (self.a.exists() and self.b.exists()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("socat did not create the pty pair")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            killed = stop_socat(self.proc)
            if killed:  # SIGKILL leaves socat's links behind: the next start() must not find them
                self.a.unlink(missing_ok=True)
                self.b.unlink(missing_ok=True)
        self.proc = None
        deadline = time.monotonic() + 2.0
        while (self.a.exists() or self.b.exists()) and time.monotonic() < deadline:
            time.sleep(0.02)


def stop_socat(proc: subprocess.Popen, grace_s: float = 5.0) -> bool:
    """SIGTERM, then SIGKILL if socat has not exited within `grace_s`; True when it was killed.

    On a loaded CI machine a plain terminate()+wait(5) once timed out (test_serial, fresh-clone
    run of bbf20c6); here socat 1.7.4 exits within 0.05 s of SIGTERM even with a full pty, so
    the cause is unknown, and a peer that will not stop must not fail the test that used it.
    """
    if proc.poll() is not None:
        return False
    proc.terminate()
    try:
        proc.wait(grace_s)
        return False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5.0)
        return True


def socat_available() -> bool:
    return shutil.which("socat") is not None
