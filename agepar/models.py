from django.db import models


class Counter(models.Model):
    """A fixed-window counter of `agepar.counters`, when the cache is not Redis."""

    key = models.CharField(max_length=200, primary_key=True)
    count = models.IntegerField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "agepar_counter"
        verbose_name = "contador"
        verbose_name_plural = "contadores"

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
