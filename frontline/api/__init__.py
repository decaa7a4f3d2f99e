"""The REST API: NinjaAPI instance, authentication, one error shape; mounts each app's router."""
