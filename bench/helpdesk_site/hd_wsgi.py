"""WSGI entry point of the benchmark's django-helpdesk site."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hd_settings")
application = get_wsgi_application()
