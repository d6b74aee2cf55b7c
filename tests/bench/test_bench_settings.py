"""The benchmark's baseline page lives in the benchmark's settings, never in the product."""

import pytest
from django.urls import NoReverseMatch, reverse


@pytest.mark.django_db
def test_the_product_has_no_benchmark_page(client, django_user_model):
    with pytest.raises(NoReverseMatch):
        reverse("bench_baseline")
    client.force_login(django_user_model.objects.create_user("tess"))
    assert client.get("/bench-baseline/").status_code == 404


def test_the_benchmark_settings_serve_every_product_page_and_the_baseline():
    from bench import settings as bench_settings
    from bench import urls as bench_urls
    from labstudy import urls as product_urls

    assert bench_settings.ROOT_URLCONF == "bench.urls"
    assert bench_urls.urlpatterns[:-1] == product_urls.urlpatterns
    assert reverse("bench_baseline", urlconf="bench.urls") == "/bench-baseline/"
    assert reverse("home", urlconf="bench.urls") == reverse("home")
