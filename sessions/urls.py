"""URLs under /s/<slug>/ owned by the sessions app: the bench (day list, guided sessions)
and the study import (upload, preview, confirm)."""

from django.urls import path

from sessions import import_views, views

_KEY = "bench/vf/<id:animal_pk>/<id:timepoint_pk>/<str:paw>/"

urlpatterns = [
    path("bench/", views.bench_today, name="bench_today"),
    path("bench/sw.js", views.bench_service_worker, name="bench_service_worker"),
    path(_KEY, views.bench_session, name="bench_session"),
    path(_KEY + "tap/", views.bench_tap, name="bench_tap"),
    path(_KEY + "undo/", views.bench_undo, name="bench_undo"),
    path(_KEY + "void/", views.bench_void, name="bench_void"),
    path(_KEY + "next/", views.bench_next, name="bench_next"),
    path("import/", import_views.import_upload, name="import_upload"),
    path("import/confirm/", import_views.import_confirm, name="import_confirm"),
]
