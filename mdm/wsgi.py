"""WSGI entry point (gunicorn mdm.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")
application = get_wsgi_application()
