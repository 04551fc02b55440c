"""Process helpers: find children of a PID we started (from /proc)."""
import os


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
