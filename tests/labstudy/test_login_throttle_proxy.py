"""Login throttling behind the reverse proxy: clients are told apart by the address the
proxy put in X-Forwarded-For, and the part a client wrote itself is never trusted."""

import pytest
from django.test import Client
from django.urls import reverse

PROXY = "127.0.0.1"  # every request reaches the app from the proxy


def _fail(forwarded_for: str, times: int) -> int:
    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    responses = [
        client.post(reverse("login"), {"username": "tess", "password": "wrong"})
        for _ in range(times)
    ]
    return responses[-1].status_code


def _signs_in(forwarded_for: str) -> bool:
    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    response = client.post(
        reverse("login"), {"username": "tess", "password": "correct-horse-battery"}
    )
    return response.status_code == 302 and "_auth_user_id" in client.session


@pytest.fixture
def throttled(settings, make_user):
    settings.AXES_ENABLED = True
    make_user("tess")
    return settings


@pytest.mark.django_db
def test_two_clients_behind_one_proxy_are_throttled_separately(throttled):
    throttled.LABSTUDY_PROXY_COUNT = 1
    assert _fail("198.51.100.7", throttled.AXES_FAILURE_LIMIT) == 429
    assert not _signs_in("198.51.100.7")  # locked out
    assert _signs_in("203.0.113.5")  # another client through the same proxy is not


@pytest.mark.django_db
def test_a_client_cannot_escape_the_lock_by_forging_x_forwarded_for(throttled):
    throttled.LABSTUDY_PROXY_COUNT = 1
    assert _fail("198.51.100.7", throttled.AXES_FAILURE_LIMIT) == 429
    # The proxy appends the real address to whatever the client sent.
    assert not _signs_in("203.0.113.5, 198.51.100.7")


@pytest.mark.django_db
def test_without_a_proxy_count_x_forwarded_for_is_ignored(throttled):
    throttled.LABSTUDY_PROXY_COUNT = 0  # the default: REMOTE_ADDR only
    assert _fail("198.51.100.7", throttled.AXES_FAILURE_LIMIT) == 429
    assert not _signs_in("203.0.113.5")  # same REMOTE_ADDR, so the same lock


def _fail_many_usernames(forwarded_for: str, usernames: int) -> list[int]:
    """One wrong password for each of `usernames` different usernames from one client."""
    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    return [
        client.post(reverse("login"), {"username": f"guess{n}", "password": "wrong"}).status_code
        for n in range(usernames)
    ]


@pytest.mark.django_db
def test_many_usernames_from_one_client_lock_that_client_only(throttled):
    throttled.LABSTUDY_PROXY_COUNT = 1
    limit = throttled.LABSTUDY_LOGIN_ADDRESS_FAILURE_LIMIT
    statuses = _fail_many_usernames("198.51.100.7", limit)
    # No single username reached its own limit: the forms came back until the last one.
    assert statuses[:-1] == [200] * (limit - 1)
    assert statuses[-1] == 429
    # The next attempt, a real account with the right password, is refused.
    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7")
    response = client.post(
        reverse("login"), {"username": "tess", "password": "correct-horse-battery"}
    )
    assert response.status_code == 429
    assert "signing in from this device or network is paused" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another client behind the same proxy still signs in.
    assert _signs_in("203.0.113.5")


@pytest.mark.django_db
def test_one_failure_short_of_the_address_limit_still_signs_in(throttled):
    throttled.LABSTUDY_PROXY_COUNT = 1
    limit = throttled.LABSTUDY_LOGIN_ADDRESS_FAILURE_LIMIT
    assert set(_fail_many_usernames("198.51.100.7", limit - 1)) == {200}
    assert _signs_in("198.51.100.7")


@pytest.mark.django_db
def test_signing_in_to_an_own_account_does_not_clear_the_address_count(throttled):
    throttled.LABSTUDY_PROXY_COUNT = 1
    limit = throttled.LABSTUDY_LOGIN_ADDRESS_FAILURE_LIMIT
    _fail_many_usernames("198.51.100.7", limit - 1)
    assert _signs_in("198.51.100.7")  # resets tess's failures only (she had none)
    assert _fail_many_usernames("198.51.100.7", 1) == [429]
    assert not _signs_in("198.51.100.7")
