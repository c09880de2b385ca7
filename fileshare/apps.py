from django.apps import AppConfig


class FileshareConfig(AppConfig):
    name = "fileshare"
    verbose_name = "Compartilhamento de arquivos"

    def ready(self):
        from django.http import multipartparser

        # Django refuses a multipart part whose headers pass 1 KiB, so a long (but still bounded)
        # file name would fail with an opaque parse error instead of being stored shortened
        # (fileshare.uploads.clean_name). 4 KiB keeps the bound; the other body limits are unchanged.
        multipartparser.MAX_TOTAL_HEADER_SIZE = max(multipartparser.MAX_TOTAL_HEADER_SIZE, 4096)
