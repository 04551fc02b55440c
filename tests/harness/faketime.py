"""A clock that tests move: libfaketime (Debian's libfaketime) preloaded into nginx and
hubstatsd, reading its offset from a file on every time call, so one write moves the
date of every process started with ``clock.env()``.

    clock = FakeClock(tmp_path)
    clock.set_day(datetime.date(2026, 1, 10))    # noon UTC of that day, ticking
    subprocess.Popen(cmd, env={**os.environ, **clock.env()})

Only the wall clock is faked (CLOCK_REALTIME, time(), gettimeofday); monotonic clocks stay
real so timeouts and timers behave. The offset is relative (seconds), so the fake clock
keeps ticking at real speed from the chosen instant.
"""
import datetime
import os
import time
from pathlib import Path

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

# nginx keeps only the environment variables named by `env` directives for its workers.
NGINX_ENV_DIRECTIVES = "\n".join(
    f"env {name};" for name in ("LD_PRELOAD", "FAKETIME_TIMESTAMP_FILE", "FAKETIME_NO_CACHE",
                                "FAKETIME_DONT_FAKE_MONOTONIC", "FAKETIME_DONT_RESET"))


class FakeClock:
    def __init__(self, tmpdir):
        if not Path(LIBFAKETIME).exists():
            raise RuntimeError(f"{LIBFAKETIME} missing (apt-get install libfaketime)")
        self.path = Path(tmpdir) / f"faketime-{id(self):x}.rc"
        self.path.write_text("+0\n")

    def env(self) -> dict:
        return {
            "LD_PRELOAD": LIBFAKETIME,
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "FAKETIME_DONT_RESET": "1",
        }

    def set(self, when: datetime.datetime):
        """Moves the fake clock to `when` (aware UTC datetime); it ticks from there."""
        offset = int(round(when.timestamp() - time.time()))
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{offset:+d}\n")
        os.replace(tmp, self.path)  # atomic: a reader never sees a half-written offset

    def set_day(self, day: datetime.date, hour: int = 12):
        self.set(datetime.datetime(day.year, day.month, day.day, hour, tzinfo=datetime.timezone.utc))
