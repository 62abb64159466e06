from django.urls import path  # noqa: F401

# Invitations, QR codes, embed and kiosk routes (included by surveys/urls.py).
urlpatterns: list = []
