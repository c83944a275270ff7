"""Pages of a list in Northflank's convention, and walking them.

A paginated operation answers ``{"data": {"<items>": [...]}, "pagination":
{"hasNextPage", "cursor", "count"}}``; the next page is the same call with the
query parameter ``cursor`` set to this page's ``pagination.cursor``.

    for widget in client.list.widgets(team_id="t"):          # every item, pages fetched lazily
    page = client.list.widgets(team_id="t")                   # the first page
    page.items, page.pagination.cursor, page.has_next_page(), page.next_page()

    async for widget in async_client.list.widgets(team_id="t"):   # no await needed
    page = await async_client.list.widgets(team_id="t")
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = [
    "CURSOR_PARAMETER",
    "AsyncPage",
    "AsyncPaginator",
    "PageInfo",
    "SyncPage",
    "page_parts",
]

CURSOR_PARAMETER = "cursor"
"""The query parameter that asks for the page after a cursor."""
PAGINATION_ATTRIBUTE = "pagination"
"""The response's property that describes the page."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageInfo:
    """The ``pagination`` object of a page."""

    has_next_page: bool
    cursor: str | None
    """The cursor of the next page; ``None`` when the answer gave none."""
    count: int
    """How many items this page holds."""


def page_parts(
    envelope: Any, result_attribute: str, items_attribute: str
) -> tuple[list[Any], PageInfo]:
    """A parsed list response's items and its `PageInfo`."""
    items = list(getattr(getattr(envelope, result_attribute), items_attribute))
    pagination = getattr(envelope, PAGINATION_ATTRIBUTE)
    cursor = getattr(pagination, "cursor", None)
    count = getattr(pagination, "count", None)
    info = PageInfo(
        has_next_page=getattr(pagination, "has_next_page", False) is True,
        cursor=cursor if isinstance(cursor, str) else None,
        count=count if isinstance(count, int) else len(items),
    )
    return items, info


class _Page(Generic[T]):
    def __init__(self, items: list[T], pagination: PageInfo, response: Any) -> None:
        self.items = items
        self.pagination = pagination
        self.response = response
        """The whole parsed response; fields the spec does not know are in its ``model_extra``."""
        self._request_id: str | None = None
        """The ``X-Request-Id`` of the response this page came in."""

    def has_next_page(self) -> bool:
        return self.pagination.has_next_page

    def _next_cursor(self) -> str:
        if not self.pagination.has_next_page:
            raise ValueError("this is the last page: its pagination.hasNextPage is false")
        if self.pagination.cursor is None:
            raise ValueError("the server says there is a next page but gave no pagination.cursor")
        return self.pagination.cursor

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(items={self.items!r},"
            f" has_next_page={self.pagination.has_next_page}, cursor={self.pagination.cursor!r})"
        )


class SyncPage(_Page[T]):
    """One page of a list; iterating it yields every item of this page and the next ones."""

    def __init__(
        self,
        items: list[T],
        pagination: PageInfo,
        response: Any,
        fetch: Callable[[str], SyncPage[T]],
    ) -> None:
        super().__init__(items, pagination, response)
        self._fetch = fetch

    def next_page(self) -> SyncPage[T]:
        """The same call with ``cursor`` set to this page's; `ValueError` on the last page."""
        return self._fetch(self._next_cursor())

    def iter_pages(self) -> Iterator[SyncPage[T]]:
        """This page, then each next one, fetched as it is reached."""
        page = self
        yield page
        while page.has_next_page():
            page = page.next_page()
            yield page

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.items


class AsyncPage(_Page[T]):
    """One page of a list; ``async for`` yields every item of this page and the next ones."""

    def __init__(
        self,
        items: list[T],
        pagination: PageInfo,
        response: Any,
        fetch: Callable[[str], Awaitable[AsyncPage[T]]],
    ) -> None:
        super().__init__(items, pagination, response)
        self._fetch = fetch

    async def next_page(self) -> AsyncPage[T]:
        """The same call with ``cursor`` set to this page's; `ValueError` on the last page."""
        return await self._fetch(self._next_cursor())

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        """This page, then each next one, fetched as it is reached."""
        page = self
        yield page
        while page.has_next_page():
            page = await page.next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.items:
                yield item


class AsyncPaginator(Generic[T]):
    """What an async list call returns: ``await`` it for the first page, or ``async for``
    over it for every item of every page."""

    def __init__(self, first_page: Callable[[], Awaitable[AsyncPage[T]]]) -> None:
        self._first_page = first_page

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._first_page().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first_page()
        async for item in page:
            yield item
