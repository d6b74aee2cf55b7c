from django.apps import AppConfig


class LabstudyConfig(AppConfig):
    name = "labstudy"
    verbose_name = "Studies"

    def ready(self) -> None:
        from labstudy import converters

        converters.register()  # before any urls.py uses <id:...>
