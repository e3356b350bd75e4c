"""Page numbers for the list pages: read from the query, bounded, and the links around them."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

PAGE_SIZE = 50
_MAX_PAGE = 100_000


def page_number(raw: str | None) -> int:
    """``?page=N`` as a number from 1; anything else is page 1."""
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        return 1
    return min(max(int(raw), 1), _MAX_PAGE)


@dataclass(frozen=True)
class Pager:
    """Where a page of ``size`` items sits among ``total``, and the links to its neighbours."""

    page: int
    size: int
    total: int
    path: str
    query: dict[str, str]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_item(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.size + 1

    @property
    def last_item(self) -> int:
        return min(self.total, self.page * self.size)

    def link(self, page: int) -> str:
        query = {k: v for k, v in self.query.items() if v}
        if page > 1:
            query["page"] = str(page)
        return self.path + ("?" + urlencode(query) if query else "")

    @property
    def previous(self) -> str | None:
        return self.link(self.page - 1) if self.page > 1 else None

    @property
    def next(self) -> str | None:
        return self.link(self.page + 1) if self.page < self.pages else None
