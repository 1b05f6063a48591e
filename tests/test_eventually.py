"""The tests' one polling helper: what it returns, what counts as "not yet", how it gives up."""

from __future__ import annotations

import pytest

from tests.support.eventually import eventually


async def test_returns_the_first_truthy_value_of_a_plain_check() -> None:
    tries: list[int] = []

    def third_time() -> list[int]:
        tries.append(len(tries))
        return tries if len(tries) >= 3 else []

    assert await eventually(third_time, what="three tries", interval=0) == [0, 1, 2]


async def test_an_async_check_may_assert_until_it_holds() -> None:
    tries: list[int] = []

    async def holds_on_the_second_try() -> str:
        tries.append(1)
        assert len(tries) > 1, "not yet"
        return "done"

    assert await eventually(holds_on_the_second_try, what="the second try", interval=0) == "done"


async def test_gives_up_naming_what_it_waited_for_and_what_it_last_saw() -> None:
    def never() -> None:
        raise AssertionError("still 0 rows")

    with pytest.raises(TimeoutError, match=r"waiting for the rows; last: AssertionError: still 0"):
        await eventually(never, what="the rows", timeout=0.1, interval=0.01)


async def test_other_errors_of_the_check_are_not_retried() -> None:
    def broken() -> bool:
        raise TimeoutError("the server did not answer")

    with pytest.raises(TimeoutError, match="the server did not answer"):
        await eventually(broken, what="anything")
