from django.urls import path

from fileshare import api

urlpatterns = [
    path("fileshare/items", api.ItemListCreateApi.as_view(), name="fileshare-items"),
    path("fileshare/items/<int:pk>", api.ItemDetailApi.as_view(), name="fileshare-item"),
    path("fileshare/items/<int:pk>/download", api.ItemDownloadApi.as_view(), name="fileshare-item-download"),
    path("fileshare/items/<int:pk>/link", api.ItemLinkApi.as_view(), name="fileshare-item-link"),
    path("fileshare/uploads", api.DirectUploadStartApi.as_view(), name="fileshare-uploads"),
    path("fileshare/uploads/<uuid:pk>", api.DirectUploadDetailApi.as_view(), name="fileshare-upload"),
    path("fileshare/uploads/<uuid:pk>/complete", api.DirectUploadCompleteApi.as_view(),
         name="fileshare-upload-complete"),
]
