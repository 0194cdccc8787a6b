"""Back the zygote's anonymous memory with huge pages before it forks anything.

Every check forks two spares from a fork server that is a copy of the zygote, and every
spare exits after one job. Fork copies the page-table entries of the parent's private
memory and exit drops them again: with torch imported that is ~290 MB of anonymous memory
(mostly the heap and relocations of torch's libraries), ~75,000 4 KiB pages, and on a
2-core machine 8-9 ms to fork and ~20 ms to fork, run and exit one spare. A check pressed
right after another paid that twice, on the cores it needed itself.

``MADV_COLLAPSE`` (Linux 6.1) turns those ranges into 2 MiB pages now, synchronously, once:
a fork then copies one entry per 2 MiB (~2 ms; ~7 ms to fork, run and exit). A child that
writes to a shared huge page gets its own copy of the 4 KiB it wrote (the kernel splits the
mapping in that process only), so children and memory use behave as before (+~15 MB in the
zygote, for the rounding to 2 MiB). It costs 0.4-0.8 s once, at start-up; where the kernel
refuses (older kernels, THP disabled), nothing changes and the reason is reported.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from typing import Any

MADV_COLLAPSE = 25
HUGE = 2 * 1024 * 1024


def _anonymous_ranges() -> list[tuple[int, int]]:
    """The 2 MiB-aligned parts of this process's private, writable, anonymous mappings."""
    ranges = []
    with open("/proc/self/maps", encoding="ascii") as maps:
        for line in maps:
            parts = line.split()
            perms, path = parts[1], parts[5] if len(parts) > 5 else ""
            if not (perms.startswith("rw") and perms[3] == "p" and path in ("", "[heap]")):
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            start, end = (start + HUGE - 1) & ~(HUGE - 1), end & ~(HUGE - 1)
            if end > start:
                ranges.append((start, end))
    return ranges


def _huge_mb() -> int:
    try:
        with open("/proc/self/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("AnonHugePages:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return 0


def collapse() -> dict[str, Any]:
    """Collapse this process's anonymous memory into huge pages; what happened, for the
    worker's hello (``{"on", "why", "ms", "huge_mb"}``). Never raises."""
    started = time.perf_counter()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        madvise = libc.madvise
        madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        ranges = _anonymous_ranges()
    except (OSError, AttributeError, ValueError) as exc:
        return {"on": False, "why": f"not available here ({exc})", "ms": 0.0, "huge_mb": 0}
    done, refused = 0, set()
    for start, end in ranges:
        # MADV_COLLAPSE alone, not MADV_HUGEPAGE: the memory that exists now is what forks
        # copy, and a learner's process growing its heap should not fault in 2 MiB pages
        # (with direct compaction) because the zygote's heap was marked.
        if madvise(start, end - start, MADV_COLLAPSE) == 0:
            done += 1
        else:
            refused.add(ctypes.get_errno())
    ms = round((time.perf_counter() - started) * 1000, 1)
    huge = _huge_mb()
    if not done:
        import os

        reasons = ", ".join(sorted(os.strerror(e) for e in refused)) or "no anonymous memory"
        return {"on": False, "why": f"the kernel refused MADV_COLLAPSE ({reasons}): forks copy 4 KiB pages",
                "ms": ms, "huge_mb": huge}
    return {"on": True, "why": f"{huge} MB of the zygote's memory in 2 MiB pages: cheaper forks of spares",
            "ms": ms, "huge_mb": huge}
