"""URLs under /s/<slug>/ owned by the animals app: the bench's dosing, weights, observations,
and an animal's status."""

from django.urls import path

from animals import views

urlpatterns = [
    path("bench/doses/", views.bench_doses, name="bench_doses"),
    path("bench/doses/<id:animal_pk>/", views.bench_dose_record, name="bench_dose_record"),
    path("bench/doses/void/<id:dose_pk>/", views.bench_dose_void, name="bench_dose_void"),
    path("bench/weights/", views.bench_weights, name="bench_weights"),
    path("bench/weights/<id:animal_pk>/", views.bench_weight_record, name="bench_weight_record"),
    path("bench/weights/void/<id:weight_pk>/", views.bench_weight_void, name="bench_weight_void"),
    path("bench/observations/", views.bench_observations, name="bench_observations"),
    path("animals/<path:code>/status/", views.animal_status, name="animal_status"),
    path(
        "bench/observations/void/<id:observation_pk>/",
        views.bench_observation_void,
        name="bench_observation_void",
    ),
]
