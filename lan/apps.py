from django.apps import AppConfig


class LanConfig(AppConfig):
    name = "lan"
    verbose_name = "Tablets on the lab network"
