"""Whether a walk is going round in circles, judged page by page: the API may hand out new
cursors for old places, so the pages themselves are watched (api/walk.py resets this guard
whenever the walk starts over, since a second walk repeats keys and pages)."""

from __future__ import annotations

from typing import Any

from gorgias_export.errors import ApiError
from gorgias_export.exports.progress import Key

# Pages in a row whose last time is the same as the page before's: past this, the walk is not
# getting anywhere (a cycle among items of one time), whatever its cursors look like.
MAX_PAGES_AT_ONE_TIME = 64


class ProgressGuard:
    """The pages one walk of `path`, ordered by `order_field`, has given since it (re)started."""

    def __init__(self, path: str, order_field: str, descending: bool) -> None:
        self.path = path
        self.order_field = order_field
        self.descending = descending
        self._pages_seen: set[int] = set()  # hashes of the ids of each page, where not by time
        self._last_time: str | None = None
        self._pages_at_last_time = 0

    def check(self, items: list[dict[str, Any]], keys: list[Key]) -> None:
        """Refuse a page that shows the walk is going round in circles. Remembering cursors is
        not enough: an API may give a new cursor for an old place. Where the walk is ordered
        by time, the last time of each page must not go back (ties are not judged: the API's
        order among equal times is not documented), and not stay the same for long; elsewhere
        no page may hold the same ids as one before it."""
        if self.order_field.endswith("_datetime"):
            times = [key[0] for key in keys if key[0]]
            if not times:
                return
            last = times[-1]
            if self._last_time is not None:
                back = last > self._last_time if self.descending else last < self._last_time
                if back:
                    raise ApiError(
                        f"The API went back in {self.path} (a page ending at {last}, after one "
                        f"ending at {self._last_time}); stopping instead of looping (progress "
                        "is saved)."
                    )
                if last == self._last_time:
                    self._pages_at_last_time += 1
                    if self._pages_at_last_time > MAX_PAGES_AT_ONE_TIME:
                        raise ApiError(
                            f"The API gave {MAX_PAGES_AT_ONE_TIME} pages of {self.path} in a row "
                            f"all at {last}; stopping instead of looping (progress is saved)."
                        )
                else:
                    self._pages_at_last_time = 0
            self._last_time = last
            return
        ids = tuple(item.get("id") for item in items)
        if not ids or not all(isinstance(i, int) for i in ids):
            return
        page_hash = hash(ids)
        if page_hash in self._pages_seen:
            raise ApiError(
                f"The API gave a page of {self.path} it had already given; stopping instead of "
                "looping (progress is saved)."
            )
        self._pages_seen.add(page_hash)
