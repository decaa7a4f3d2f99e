"""Frontline: IT service management for organisations and managed service providers."""

from frontline.celery import app as celery_app

__all__ = ["celery_app"]
