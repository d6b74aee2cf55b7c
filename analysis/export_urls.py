"""URLs under /s/<slug>/ for exports and the ARRIVE report (the import's are sessions/urls.py)."""

from django.urls import path

from analysis import export_views

urlpatterns = [
    path("exports/", export_views.export_index, name="export_index"),
    path("exports/package.zip", export_views.export_package, name="export_package"),
    path("exports/workbook.xlsx", export_views.export_workbook, name="export_workbook"),
    path("exports/methods.txt", export_views.export_methods, name="export_methods"),
    path("exports/<slug:what>.csv", export_views.export_table, name="export_table"),
    path("arrive/", export_views.arrive_report, name="arrive_report"),
]
