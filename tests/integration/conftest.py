"""pytest fixtures: a real redis-server and a real upshotd per test."""
import pytest

from harness import RedisServer, Upshotd, experiment  # noqa: F401


@pytest.fixture
def redis():
    with RedisServer() as r:
        yield r


@pytest.fixture
def upshot(redis):
    with Upshotd(redis) as u:
        yield u
