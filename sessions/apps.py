from django.apps import AppConfig


class VfSessionsConfig(AppConfig):
    # "sessions" would clash with django.contrib.sessions.
    name = "sessions"
    label = "vf_sessions"
    verbose_name = "von Frey sessions"
