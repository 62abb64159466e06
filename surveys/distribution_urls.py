from django.urls import path

from . import distribution_views, kiosk_views

# Invitations, QR codes, embed and kiosk routes (included by surveys/urls.py).
urlpatterns: list = [
    path(
        "s/<slug:slug>/i/<str:token>/",
        distribution_views.invitation_answer,
        name="invitation_answer",
    ),
    path("s/opt-out/<str:token>/", distribution_views.opt_out, name="opt_out"),
    path("surveys/<int:pk>/invitations/", distribution_views.invitations, name="invitations"),
    path("surveys/<int:pk>/share/", distribution_views.share, name="share"),
    path("surveys/<int:pk>/qr.png", distribution_views.qr_png, name="qr_png"),
    path("surveys/<int:pk>/qr.svg", distribution_views.qr_svg, name="qr_svg"),
    path("surveys/<int:pk>/kiosk/", kiosk_views.kiosk_page, name="kiosk"),
    path("surveys/<int:pk>/kiosk/sync/", kiosk_views.kiosk_sync, name="kiosk_sync"),
    path("surveys/<int:pk>/kiosk/worker.js", kiosk_views.kiosk_worker, name="kiosk_worker"),
]
