
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.roles import user_roles
from agepar.api import CursorPagination
from agepar.errors import NotFound


@method_decorator(ensure_csrf_cookie, name="dispatch")
class CsrfApi(APIView):
    """Sets the `csrftoken` cookie; unsafe requests echo it in the X-CSRFToken header."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(responses=inline_serializer("Csrf", {"csrfToken": serializers.CharField()}), tags=["auth"])
    def get(self, request):
        return Response({"csrfToken": get_token(request)})


# --- serializers --------------------------------------------------------------------------------
class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    cpf = serializers.CharField(allow_null=True)
    nome = serializers.CharField()
    roles = serializers.SerializerMethodField()
    is_staff = serializers.BooleanField()
    must_change_password = serializers.BooleanField()

    def get_roles(self, user) -> list[str]:
        return user_roles(user)


class SessionSerializer(serializers.Serializer):
    """A session as its owner sees it; `id` is the public id, never the cookie key."""

    id = serializers.UUIDField(source="public_id")
    created_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(source="expire_date")
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    current = serializers.SerializerMethodField()
    revoked_at = serializers.DateTimeField(allow_null=True)

    def get_current(self, session) -> bool:
        return session["id"] == self.context["current_pk"]


def _session_dict(row) -> dict:
    return {field: getattr(row, field) for field in selectors.SESSION_LIST_FIELDS}


class LoginInput(serializers.Serializer):
    identifier = serializers.CharField(max_length=254, help_text="CPF (com ou sem pontuação) ou e-mail")
    password = serializers.CharField(max_length=1024, trim_whitespace=False)
    remember_me = serializers.BooleanField(default=False)


LoginOutput = inline_serializer("Login", {"user": UserSerializer(), "session": SessionSerializer()})


class ChangePasswordInput(serializers.Serializer):
    current_password = serializers.CharField(max_length=1024, trim_whitespace=False)
    new_password = serializers.CharField(max_length=1024, trim_whitespace=False)


def _current_pk(request):
    row = request.session.row
    return row.pk if row is not None else None


ERRORS = {
    400: OpenApiResponse(description="Dados inválidos"),
    401: OpenApiResponse(description="Sem sessão válida"),
}


# --- views --------------------------------------------------------------------------------------
@method_decorator(csrf_protect, name="dispatch")
class LoginApi(APIView):
    """Sign in with CPF or e-mail. CSRF is enforced here too (login CSRF): DRF skips it for anonymous callers."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=LoginInput, responses={
        200: LoginOutput, 400: ERRORS[400],
        403: OpenApiResponse(description="Falha na verificação CSRF (`csrf_failed`): falta o cookie `csrftoken` "
                                         "ou o cabeçalho `X-CSRFToken` (login CSRF)"),
        429: OpenApiResponse(description="Bloqueado (Retry-After)")},
                   tags=["auth"])
    def post(self, request):
        data = LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_login(request=request._request, **data.validated_data)
        row = request._request.session.row
        return Response({"user": UserSerializer(user).data,
                         "session": SessionSerializer(_session_dict(row), context={"current_pk": row.pk}).data})


class LogoutApi(APIView):
    @extend_schema(request=None, responses={204: None, 401: ERRORS[401]}, tags=["auth"])
    def post(self, request):
        services.user_logout(request=request._request)
        return Response(status=204)


class MeApi(APIView):
    @extend_schema(responses={200: UserSerializer, 401: ERRORS[401]}, tags=["auth"])
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class ChangePasswordApi(APIView):
    @extend_schema(request=ChangePasswordInput, tags=["auth"],
                   responses={204: None, 400: ERRORS[400], 401: ERRORS[401],
                              429: OpenApiResponse(description="Senha atual errada vezes demais: a conta está "
                                                               "bloqueada (Retry-After), como no login")})
    def post(self, request):
        data = ChangePasswordInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_change_password(request=request._request, user=request.user, **data.validated_data)
        return Response(status=204)


@extend_schema(tags=["auth"], responses={200: SessionSerializer(many=True), 401: ERRORS[401]})
class SessionListApi(generics.ListAPIView):
    serializer_class = SessionSerializer
    pagination_class = CursorPagination

    def get_queryset(self):
        return selectors.user_sessions(self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "current_pk": _current_pk(self.request)}


class SessionRevokeApi(APIView):
    @extend_schema(request=None, tags=["auth"],
                   responses={204: None, 401: ERRORS[401], 404: OpenApiResponse(description="Não encontrada")})
    def post(self, request, public_id):
        session = selectors.user_session(request.user, public_id)
        if session is None:
            raise NotFound()
        services.session_revoke(session=session, actor=request.user, request=request._request)
        return Response(status=204)


class SessionRevokeOthersApi(APIView):
    @extend_schema(request=None, responses={204: None, 401: ERRORS[401]}, tags=["auth"])
    def post(self, request):
        services.sessions_revoke_others(request=request._request, user=request.user)
        return Response(status=204)


