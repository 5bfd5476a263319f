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

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()):
        starts: list[int] = []
        ends: list[int] = []
        _append_runs(starts, ends, sorted(ranges))
        self._set_runs(starts, ends)

    @staticmethod
    def chronological(entries: list[int], lasts: list[int]) -> "Presence":
        """The same, for stays already in date order that do not overlap (each entry on or
        after the previous stay's last day), as validated stays are: no sort, one pass."""
        presence = Presence()
        if not entries:
            return presence
        starts, ends = [entries[0]], []
        for i in range(1, len(entries)):
            entry, previous_last = entries[i], lasts[i - 1]
            if entry > previous_last + 1:  # a gap: a new run (touching stays are one run)
                ends.append(previous_last)
                starts.append(entry)
        ends.append(lasts[-1])
        presence._set_runs(starts, ends)
        return presence

    def extended(self, ranges: Iterable[tuple[int, int]]) -> "Presence":
        """This presence and more ranges, in date order and none starting before its last day
        (planned trips on top of the history)."""
        starts, ends = self.starts[:], self.ends[:]
        _append_runs(starts, ends, ranges)
        presence = Presence()
        presence._set_runs(starts, ends)
        return presence

    def _set_runs(self, starts: list[int], ends: list[int]) -> None:
        self.starts = starts
        self.ends = ends
        # _before[i] = days of presence in runs 0..i-1
        before, total = [0], 0
        for start, end in zip(starts, ends):
            total += end - start + 1
            before.append(total)
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

    def absent_before(self, run: int) -> int:
        """Days of absence between the first run's start and the start of `run`."""
        return self.starts[run] - self.starts[0] - self._before[run]

    def absences_before_runs(self) -> list[int]:
        """For each run, the days of absence between the first run's start and its own start:
        non-decreasing from run to run, which is what makes R4 a single sweep (check.py)."""
        if not self.starts:
            return []
        origin = self.starts[0]
        return [start - origin - before for start, before in zip(self.starts, self._before)]


def _append_runs(starts: list[int], ends: list[int], ranges: Iterable[tuple[int, int]]) -> None:
    """Add ranges sorted by start to the runs, merging those that overlap or touch."""
    for start, end in ranges:
        if starts and start <= ends[-1] + 1:
            if end > ends[-1]:
                ends[-1] = end
        else:
            starts.append(start)
            ends.append(end)


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
