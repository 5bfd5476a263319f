"""Days of presence as sorted, disjoint runs of day numbers, with counting in O(log n).

Days are proleptic Gregorian ordinals (`date.toordinal()`), so arithmetic is exact and cheap.
Counting the days of presence in any range is a binary search plus a prefix sum; the engine
never walks day by day.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Iterable


class Presence:
    """The union of stays as closed ranges [start, end] of ordinals (RULES.md §2: entry and exit
    days both count; a day shared by an exit and a re-entry is counted once)."""

    __slots__ = ("starts", "ends", "_before")

    def __init__(self, ranges: Iterable[tuple[int, int]]):
        starts: list[int] = []
        ends: list[int] = []
        for start, end in sorted(ranges):
            if starts and start <= ends[-1] + 1:
                if end > ends[-1]:
                    ends[-1] = end
            else:
                starts.append(start)
                ends.append(end)
        self.starts = starts
        self.ends = ends
        before = [0]
        for start, end in zip(starts, ends):
            before.append(before[-1] + end - start + 1)
        # _before[i] = days of presence in runs 0..i-1
        self._before = before

    def __len__(self) -> int:
        return self._before[-1]

    def up_to(self, day: int) -> int:
        """Days of presence on or before `day`."""
        i = bisect_right(self.starts, day) - 1
        if i < 0:
            return 0
        return self._before[i] + min(self.ends[i], day) - self.starts[i] + 1

    def count(self, first: int, last: int) -> int:
        """Days of presence in [first, last] (0 when the range is empty)."""
        if last < first:
            return 0
        return self.up_to(last) - self.up_to(first - 1)

    def counts_at_run_ends(self, length: int) -> list[int]:
        """For each run, the days of presence in the `length` days ending on its last day.

        One forward sweep (the windows only move right), so the whole history costs O(n).
        """
        starts, ends, before = self.starts, self.ends, self._before
        counts, j = [], 0
        for i, end in enumerate(ends):
            first = end - length + 1
            while ends[j] < first:
                j += 1
            counts.append(before[i + 1] - before[j] - max(0, first - starts[j]))
        return counts


def first_true(lo: int, hi: int, predicate) -> int | None:
    """Smallest x in [lo, hi] with predicate(x), for a predicate that is monotone (False..True)."""
    if lo > hi or not predicate(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if predicate(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
