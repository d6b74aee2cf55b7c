"""URLs under /s/<slug>/ owned by the sessions app."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
