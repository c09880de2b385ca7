import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from agepar.body_deadline import BodyDeadline

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agepar.settings")
application = BodyDeadline(get_wsgi_application(), timeout=settings.REQUEST_BODY_TIMEOUT,
                           min_rate=settings.REQUEST_BODY_MIN_RATE)
