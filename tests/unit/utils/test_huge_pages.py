"""Huge pages only when the kernel has them free: the parsing of its published state,
and the answer on this machine read from the real files."""

from __future__ import annotations

import os
import sys

import pytest

from headrace.utils import huge_pages
from headrace.utils.huge_pages import free_blocks, huge_pages_at_hand, selected

BUDDYINFO = """\
Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3
Node 0, zone    DMA32  10008   4535   3222   1579    881    432    169     56     15     50    546
Node 0, zone   Normal  88267  32891  39394  30942   8395   4264   1933    819    480    403    507
"""


def test_free_blocks_counts_every_zone_and_splits_larger_blocks() -> None:
    # order 9 (2 MiB): the order-9 counts plus two per order-10 block, over all zones.
    assert free_blocks(BUDDYINFO, 9) == (1 + 50 + 403) + 2 * (3 + 546 + 507)
    assert free_blocks(BUDDYINFO, 10) == 3 + 546 + 507


def test_free_blocks_of_an_empty_or_garbled_listing_is_zero() -> None:
    assert free_blocks("", 9) == 0
    assert free_blocks("Node 0, zone Normal 1 2 x", 2) == 0  # not a count: skipped
    assert free_blocks("no zones here", 0) == 0


def test_fragmented_memory_has_no_huge_blocks() -> None:
    fragmented = "Node 0, zone   Normal  88267  32891  39394  30942  8395  4264  1933  819  0  0  0"
    assert free_blocks(fragmented, 9) == 0


@pytest.mark.parametrize(
    ("setting", "choice"),
    [
        ("always [madvise] never\n", "madvise"),
        ("always defer defer+madvise [madvise] never", "madvise"),
        ("[always] madvise never", "always"),
        ("always madvise [never]", "never"),
        ("defer", "defer"),
    ],
)
def test_selected_reads_the_bracketed_choice(setting: str, choice: str) -> None:
    assert selected(setting) == choice


@pytest.mark.skipif(sys.platform != "linux", reason="reads Linux's /proc and /sys")
def test_the_answer_follows_this_kernels_state() -> None:
    settings = huge_pages._settings()
    if settings is None:  # no transparent huge pages: never asked for
        assert not huge_pages_at_hand(1)
        return
    order, block_bytes, defrag = settings
    assert block_bytes == os.sysconf("SC_PAGE_SIZE") << order
    assert order > 0
    if defrag in ("defer", "never"):  # a fault never compacts: always worth asking
        assert huge_pages_at_hand(1 << 40)
        return
    with open("/proc/buddyinfo", encoding="ascii") as handle:
        blocks = free_blocks(handle.read(), order)
    assert not huge_pages_at_hand(blocks * block_bytes * 4 + block_bytes)
