from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        # One message for an unknown user and a wrong password: no account enumeration.
        "invalid_login": "The email address or password is not correct.",
        "inactive": "The email address or password is not correct.",
    }
