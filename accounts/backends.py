"""Sign-in by email address and password; the A-Z letter case of the email does not matter."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.http import HttpRequest

from accounts import services
from precompiled import Precompiled

# The read every signed-in request makes. The placeholder is an id no account has (within
# the 32-bit range: beyond it the ORM answers "nothing" without asking the database).
_SIGNED_IN_USER: Precompiled[User] = Precompiled(
    lambda pk: (
        get_user_model()
        ._default_manager.select_related(*getattr(settings, "ACCOUNTS_USER_RELATED", ()))
        .filter(pk=pk)
    ),
    pk=-2_046_302_551,
)


class EmailBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = services.email_normalise(str(kwargs.get("email") or username or ""))
        if not email or password is None:
            return None
        user = services.user_for_email(email)
        if user is None:
            # Spend the time a real check would take, so timing does not reveal accounts.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        """The signed-in user, for every request, with the records the site's pages read next
        (settings.ACCOUNTS_USER_RELATED) in the same query, built once per process."""
        try:
            user = _SIGNED_IN_USER.first(pk=int(user_id))
        except (TypeError, ValueError):  # a session naming no valid id is nobody's
            return None
        return user if user is not None and self.user_can_authenticate(user) else None


def axes_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """The sign-in name django-axes counts failures by: the email, normalised as for sign-in."""
    value = (credentials or {}).get("username")
    if value is None and request is not None:
        value = request.POST.get("username", "")
    return services.email_normalise(str(value or ""))
