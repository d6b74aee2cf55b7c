"""Connect a tablet: this computer's address as a QR code, and its certificate."""

from django.urls import path

from lan import views

urlpatterns = [
    path("connect/", views.connect_tablet, name="connect_tablet"),
    path("connect/labstudy-ca.crt", views.ca_certificate, name="lan_ca_certificate"),
]
