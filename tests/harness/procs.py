"""Process helpers for processes the tests started: stop one, find its children."""
import os
import signal
import subprocess


def child_pids(ppid: int) -> list[int]:
    """Live (non-zombie) child PIDs of ppid."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == ppid and fields[0] != "Z":
            out.append(int(entry))
    return sorted(out)


def terminate(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM a process we started, wait for it, SIGKILL it if it outlives timeout.
    A process that already exited is left alone (its PID may belong to another now)."""
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
