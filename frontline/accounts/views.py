"""Sign-in, sign-out, password change and reset (rate-limited, no account enumeration)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from frontline.accounts.forms import LoginForm

# Password reset: at most this many mails per address and per client IP an hour.
RESET_LIMIT_PER_EMAIL = 3
RESET_LIMIT_PER_IP = 20
RESET_WINDOW_SECONDS = 3600


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


class PasswordChangeView(auth_views.PasswordChangeView):
    # Django rotates the session hash: every other session of this user ends.
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("home")


def _client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def _over_limit(key: str, limit: int) -> bool:
    added = cache.add(key, 1, RESET_WINDOW_SECONDS)
    if added:
        return False
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, RESET_WINDOW_SECONDS)
        return False
    return bool(count > limit)


class PasswordResetView(auth_views.PasswordResetView):
    """Same answer whether or not the address exists; mails are capped per address and per IP."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-done")

    def form_valid(self, form: Any) -> HttpResponse:
        email = str(form.cleaned_data.get("email", "")).strip().lower()
        ip_limited = _over_limit(f"pwreset:ip:{_client_ip(self.request)}", RESET_LIMIT_PER_IP)
        email_limited = _over_limit(f"pwreset:email:{email}", RESET_LIMIT_PER_EMAIL)
        if ip_limited or email_limited:
            # Say the same as for a sent mail: no hint about limits or accounts.
            return render(self.request, "accounts/password_reset_done.html", status=200)
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:login")
    post_reset_login = False


def locked_out(
    request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    return render(request, "accounts/locked_out.html", status=429)
