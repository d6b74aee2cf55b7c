"""URLs under /s/<slug>/ owned by the analysis app."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
