"""manage.py of the benchmark's django-helpdesk site (run with the helpdesk venv's Python)."""

import os
import sys

from django.core.management import execute_from_command_line

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hd_settings")
    execute_from_command_line(sys.argv)
