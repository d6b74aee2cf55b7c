"""URLs under /s/<slug>/ owned by the animals app."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
