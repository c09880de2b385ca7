"""A tiny URLconf for tests: one endpoint guarded by HasRole("compras")."""

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasRole


class ComprasOnly(APIView):
    permission_classes = [HasRole("compras")]

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("api/test/compras", ComprasOnly.as_view()),
    path("api/", include("accounts.urls")),
]
