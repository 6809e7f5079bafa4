"""The real servers the tests use answer: Redis at redis_url, PostgreSQL at database_url."""

from __future__ import annotations

import psycopg
import redis


def test_redis_answers(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ping() is True
    finally:
        client.close()


def test_postgresql_answers_with_a_recent_server(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        assert conn.info.server_version >= 150000 and conn.info.dbname == "kolledzh_test"
