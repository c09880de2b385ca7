from django.apps import AppConfig


class FileshareConfig(AppConfig):
    name = "fileshare"
    verbose_name = "Compartilhamento de arquivos"
