from rest_framework.permissions import BasePermission

from .authentication import ApiKeyUser


class HasScopeOrPermission(BasePermission):
    """API keys need the view's scope; people need the view's Django permission.

    A view sets ``required_scopes = {"GET": "feedback:read", ...}`` and
    ``required_perms = {"GET": "feedback.triage_feedback", ...}``.
    """

    def has_permission(self, request, view) -> bool:
        if not hasattr(view, request.method.lower()):
            return True  # the view answers 405 Method Not Allowed
        user = request.user
        method = {"HEAD": "GET", "OPTIONS": "GET"}.get(request.method, request.method)
        if not user or not user.is_authenticated:
            return False
        if isinstance(user, ApiKeyUser):
            scope = view.required_scopes.get(method)
            return scope is not None and user.api_key.has_scope(scope)
        perm = view.required_perms.get(method)
        return perm is not None and user.has_perm(perm)
