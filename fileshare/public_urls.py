"""Public share-link pages, mounted at the site root (/s/<token>)."""

from django.urls import path

from fileshare import views

urlpatterns = [
    path("s/<str:token>", views.share_page, name="fileshare-public"),
    path("s/<str:token>/download", views.share_download, name="fileshare-public-download"),
]
