"""Text printed twice on one page, dropped (step 4 of :mod:`rag.parse`).

Page 001 prints an article once on its own and once spliced into an interview; a file
may hold a whole page twice.  The second printing goes, so the interview reads on
continuously and a page printed twice reads as once.
"""

from __future__ import annotations

import bisect
import itertools
import logging

from rag.parse.units import Unit
from rag.text import normalize_for_match

log = logging.getLogger(__name__)

#: Shortest paragraph (normalised characters) that is checked for a second printing.
MIN_DUPLICATE_CHARS = 40


def drop_second_printings(units: list[Unit], source: str) -> list[Unit]:
    """Drop text printed a second time on the same page (step 4 of :mod:`rag.parse`).

    A body paragraph of at least :data:`MIN_DUPLICATE_CHARS` normalised characters that
    occurs inside a longer paragraph, or again after an equal one, is a second printing.
    Next to a dropped paragraph, shorter repeats and headings printed earlier on the
    page go too, and so does a byline or credit that directly follows dropped text.
    """
    norms = [normalize_for_match(u.text) if u.kind in ("body", "heading") else "" for u in units]
    bodies = [norm if unit.kind == "body" else "" for unit, norm in zip(units, norms, strict=True)]
    # One search string for the whole page: offsets map a hit back to its paragraph.
    page = "\x00".join(bodies)
    starts = list(itertools.accumulate((len(x) + 1 for x in bodies), initial=0))
    dropped: set[int] = set()

    def printed_before(i: int) -> bool:
        hit = page.find(bodies[i])
        while hit >= 0:
            j = bisect.bisect_right(starts, hit) - 1
            if j != i and j not in dropped and (len(bodies[j]) > len(bodies[i]) or j < i):
                return True
            hit = page.find(bodies[i], hit + 1)
        return False

    for i, norm in enumerate(bodies):
        if len(norm) >= MIN_DUPLICATE_CHARS and printed_before(i):
            dropped.add(i)
    if not dropped:
        return units
    first_heading: dict[str, int] = {}
    for i, unit in enumerate(units):
        if unit.kind == "heading":
            first_heading.setdefault(norms[i], i)
    changed = True
    while changed:  # both directions, so that a whole run goes in a pass or two
        changed = False
        for direction in (range(len(units)), range(len(units) - 1, -1, -1)):
            for i in direction:
                if i in dropped or not (i - 1 in dropped or i + 1 in dropped):
                    continue
                kind = units[i].kind
                repeat = (
                    (kind == "body" and len(bodies[i]) >= 4 and printed_before(i))
                    or (kind == "heading" and first_heading[norms[i]] < i)
                    or (kind in ("byline", "credit") and i - 1 in dropped)
                )
                if repeat:
                    dropped.add(i)
                    changed = True
    log.info("%s: dropped %d unit(s) printed twice", source, len(dropped))
    return [unit for i, unit in enumerate(units) if i not in dropped]
