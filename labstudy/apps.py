from django.apps import AppConfig


class LabstudyConfig(AppConfig):
    name = "labstudy"
    verbose_name = "Studies"
