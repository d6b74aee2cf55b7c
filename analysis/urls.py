"""URLs under /s/<slug>/ owned by the analysis app: the results pages."""

from django.urls import path

from analysis import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/mixed-model/", views.mixed_model, name="dashboard_mixed_model"),
    path("dashboard/completeness/", views.completeness, name="dashboard_completeness"),
    path("dashboard/figure/", views.figure, name="dashboard_figure"),
    path("dashboard/animals/<id:animal_id>/", views.animal, name="dashboard_animal"),
]
