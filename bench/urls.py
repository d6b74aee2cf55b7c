"""The product's URLs (labstudy.urls) and the benchmark's constant baseline page
/bench-baseline/ (bench/baseline.py), which the tap is compared with in bench_tap.py."""

from django.urls import path

from bench.baseline import bench_baseline
from labstudy.urls import handler403, handler404
from labstudy.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    *product_urlpatterns,
    path("bench-baseline/", bench_baseline, name="bench_baseline"),
]

__all__ = ["handler403", "handler404", "urlpatterns"]
