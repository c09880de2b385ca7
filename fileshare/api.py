"""Owner API of file sharing (API.md "File sharing"). Views are thin: services write, selectors read."""

import unicodedata

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.roles import has_role
from agepar.api import ErrorSerializer
from agepar.errors import Forbidden, Gone, InvalidInput, NotFound
from fileshare import direct, selectors, services
from fileshare.bucket import PresignedPut
from fileshare.delivery import deliver
from fileshare.models import DirectUpload, FileShareItem
from fileshare.uploads import StreamingUploadHandler, clean_name

Error = ErrorSerializer


class OwnerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    nome = serializers.CharField()


class ItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    max_downloads = serializers.IntegerField(allow_null=True)
    downloads = serializers.IntegerField()
    has_password = serializers.BooleanField()
    owner = OwnerSerializer()


def item_row(row: dict) -> dict:
    """ItemSerializer's output for a `selectors.live_items` row, without its per-field cost
    (agepar/representation.py; tests/perf/test_representation.py holds them equal)."""
    return {
        "id": row["id"], "name": row["original_name"], "size": row["size"], "content_type": row["content_type"],
        "sha256": row["sha256"], "created_at": row["created_at"], "expires_at": row["expires_at"],
        "max_downloads": row["max_downloads"], "downloads": row["downloads"], "has_password": row["has_password"],
        "owner": {"id": row["owner_id"], "nome": row["owner__nome"]},
    }


class ItemCreatedSerializer(ItemSerializer):
    link = serializers.URLField(help_text="O link público; mostrado só nesta resposta.")


class LinkSerializer(serializers.Serializer):
    link = serializers.URLField()


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)
    ttl = serializers.ChoiceField(choices=sorted(services.TTLS), default="7d")
    password = serializers.CharField(required=False, allow_blank=True, max_length=128, trim_whitespace=False,
                                     style={"input_type": "password"})
    max_downloads = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1_000_000)


def public_link(request, token: str) -> str:
    return request.build_absolute_uri(reverse("fileshare-public", args=[token]))


def _is_admin(user) -> bool:
    return has_role(user)  # no extra role: only the admin role and superusers pass


def _item_or_404(request, pk: int, *, admin_allowed: bool):
    item = selectors.visible_item(pk=pk, user=request.user, admin=admin_allowed and _is_admin(request.user))
    if item is None:
        raise NotFound()
    return item


class ItemListCreateApi(GenericAPIView):
    parser_classes = [MultiPartParser]
    serializer_class = ItemSerializer
    queryset = FileShareItem.objects.none()  # for the schema generator; reads go through selectors

    def initialize_request(self, request, *args, **kwargs):
        # Installed before DRF touches the body, so nothing is parsed by Django's default handlers.
        self.upload_handler = None
        if request.method == "POST":
            self.upload_handler = StreamingUploadHandler(request)
            request.upload_handlers = [self.upload_handler]
        return super().initialize_request(request, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            # Whatever happened (error, dropped connection, success), no temporary file outlives the request.
            if getattr(self, "upload_handler", None) is not None:
                self.upload_handler.discard()

    @extend_schema(
        tags=["fileshare"],
        parameters=[OpenApiParameter("scope", str, enum=["all"], description="`all`: itens de todos (só admin)")],
        responses={200: ItemSerializer(many=True), 403: Error},
    )
    def get(self, request):
        scope = request.query_params.get("scope", "")
        if scope not in ("", "all"):
            raise InvalidInput({"scope": ["Use 'all' ou omita."]})
        if scope == "all" and not _is_admin(request.user):
            raise Forbidden("Só administradores veem os arquivos de todos.", code="missing_role")
        page = self.paginate_queryset(selectors.live_items(owner=None if scope == "all" else request.user))
        return self.get_paginated_response([item_row(row) for row in page])

    @extend_schema(
        tags=["fileshare"], request={"multipart/form-data": UploadSerializer},
        responses={201: ItemCreatedSerializer, 400: Error, 409: Error, 413: Error, 415: Error, 507: Error},
    )
    def post(self, request):
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        item, token = services.item_create(
            owner=request.user, upload=data["file"], ttl=data["ttl"], password=data.get("password") or "",
            max_downloads=data.get("max_downloads"), request=request)
        body = ItemSerializer(item).data
        body["link"] = public_link(request, token)
        return Response(body, status=status.HTTP_201_CREATED)


class ItemDetailApi(GenericAPIView):
    serializer_class = ItemSerializer

    @extend_schema(tags=["fileshare"], responses={200: ItemSerializer, 404: Error})
    def get(self, request, pk: int):
        return Response(ItemSerializer(_item_or_404(request, pk, admin_allowed=True)).data)

    @extend_schema(tags=["fileshare"], request=None, responses={204: None, 404: Error})
    def delete(self, request, pk: int):
        item = _item_or_404(request, pk, admin_allowed=True)
        services.item_delete(item=item, actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ItemDownloadApi(GenericAPIView):
    """The owner's own copy: no counter, no password. Admins see metadata but never the content."""

    @extend_schema(tags=["fileshare"], responses={
        (200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="o arquivo, com o tipo detectado no envio"),
        302: OpenApiResponse(description="URL assinada de curta duração (armazenamento S3)"),
        404: Error, 410: Error})
    def get(self, request, pk: int):
        item = _item_or_404(request, pk, admin_allowed=False)
        if item.expires_at <= timezone.now():
            raise Gone("Este arquivo expirou.", code="expired")

        def take() -> bool:
            services.record_owner_download(item=item, actor=request.user, request=request)
            return True

        response = deliver(item, take=take)
        if response is None:
            raise Gone("Este arquivo não está mais disponível.", code="gone")
        return response


class ItemLinkApi(GenericAPIView):
    serializer_class = LinkSerializer

    @extend_schema(tags=["fileshare"], request=None, responses={200: LinkSerializer, 404: Error, 410: Error})
    def post(self, request, pk: int):
        item = _item_or_404(request, pk, admin_allowed=False)
        token = services.item_rotate_link(item=item, actor=request.user, request=request)
        return Response({"link": public_link(request, token)})


# --- direct uploads to the bucket (API.md "Direct uploads") ---------------------------------------------------
class DirectUploadSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, trim_whitespace=False,
                                 help_text="Nome do arquivo, sem caminho nem caracteres de controle.")
    size = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="Tamanho exato, em bytes.")
    ttl = serializers.ChoiceField(choices=sorted(services.TTLS), default="7d")
    password = serializers.CharField(required=False, allow_blank=True, max_length=128, trim_whitespace=False,
                                     style={"input_type": "password"})
    max_downloads = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1_000_000)
    sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}\Z", required=False, allow_blank=True,
                                    help_text="SHA-256 do arquivo em hexadecimal (opcional): conferido na conclusão "
                                              "e, no PUT único, pelo próprio S3.")
    part_size = serializers.IntegerField(
        required=False, min_value=direct.MIN_PART_SIZE, max_value=direct.MAX_PART_SIZE,
        error_messages={"min_value": "As partes precisam ter ao menos 5 MiB ({min_value} bytes), o mínimo do S3.",
                        "max_value": "As partes podem ter no máximo 5 GiB ({max_value} bytes), o máximo do S3.",
                        "invalid": "Informe o tamanho das partes em bytes, um número inteiro."},
        help_text="Tamanho das partes, em bytes (opcional): de 5 MiB a 5 GiB e ao menos size/10000; "
                  "igual ou maior que size, um único PUT.")

    def validate_name(self, value: str) -> str:
        # The streamed upload cleans what a browser sends; a program declaring a name gets told instead.
        if clean_name(value) != unicodedata.normalize("NFC", value):
            raise serializers.ValidationError("Nome de arquivo inválido: sem barras, caracteres de controle, "
                                              "espaços ou pontos nas pontas.")
        return clean_name(value)

    def validate(self, attrs: dict) -> dict:
        # Only here is `size` known: S3 takes at most 10,000 parts.
        least = direct.smallest_part_size(attrs["size"])
        if "part_size" in attrs and attrs["part_size"] < least:
            raise serializers.ValidationError({"part_size": [
                f"Com {attrs['size']} bytes, as partes precisam ter ao menos {least} bytes "
                f"(o S3 aceita até {direct.MAX_PARTS} partes)."]})
        return attrs


class PresignedPartSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    size = serializers.IntegerField(help_text="Bytes exatos desta parte (o Content-Length faz parte da assinatura).")
    url = serializers.URLField(help_text="PUT do conteúdo, até expires_at.")
    headers = serializers.DictField(child=serializers.CharField(),
                                    help_text="Cabeçalhos a enviar exatamente assim (assinados).")


class DirectUploadStartedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    expires_at = serializers.DateTimeField(help_text="Envie e conclua até este instante.")
    multipart = serializers.BooleanField()
    part_size = serializers.IntegerField()
    parts = PresignedPartSerializer(many=True)


class UploadedPartSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1, max_value=direct.MAX_PARTS)
    etag = serializers.RegexField(r"^[\x21-\x7e]{1,128}\Z", help_text="O ETag que o S3 devolveu no PUT da parte.")


class DirectUploadCompleteSerializer(serializers.Serializer):
    parts = serializers.ListField(child=UploadedPartSerializer(), required=False, default=list,
                                  max_length=direct.MAX_PARTS, help_text="Só no envio em partes: todas, de 1 a n.")


def _started_body(upload: DirectUpload, presigned: list[PresignedPut]) -> dict:
    parts = [{"number": number, "size": direct.part_length(upload, number), "url": put.url, "headers": put.headers}
             for number, put in enumerate(presigned, start=1)]
    return DirectUploadStartedSerializer({
        "id": upload.pk, "name": upload.original_name, "size": upload.size, "expires_at": upload.expires_at,
        "multipart": bool(upload.multipart_id), "part_size": upload.part_size, "parts": parts}).data


class DirectUploadStartApi(GenericAPIView):
    serializer_class = DirectUploadSerializer

    @extend_schema(tags=["fileshare"], request=DirectUploadSerializer,
                   responses={201: DirectUploadStartedSerializer, 400: Error, 409: Error, 413: Error})
    def post(self, request):
        direct.ensure_available()
        serializer = DirectUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload, presigned = direct.upload_start(
            owner=request.user, name=data["name"], size=data["size"], ttl=data["ttl"],
            password=data.get("password") or "", max_downloads=data.get("max_downloads"),
            sha256=(data.get("sha256") or "").lower(), part_size=data.get("part_size"), request=request)
        return Response(_started_body(upload, presigned), status=status.HTTP_201_CREATED)


class DirectUploadDetailApi(GenericAPIView):
    @extend_schema(tags=["fileshare"], request=None, responses={204: None, 404: Error, 409: Error})
    def delete(self, request, pk):
        direct.upload_abort(upload=direct.upload_for(pk=pk, owner=request.user), request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DirectUploadCompleteApi(GenericAPIView):
    serializer_class = DirectUploadCompleteSerializer

    @extend_schema(tags=["fileshare"], request=DirectUploadCompleteSerializer,
                   responses={201: ItemCreatedSerializer, 400: Error, 404: Error, 409: Error, 410: Error,
                              415: Error})
    def post(self, request, pk):
        upload = direct.upload_for(pk=pk, owner=request.user)
        serializer = DirectUploadCompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parts = [(part["number"], part["etag"]) for part in serializer.validated_data["parts"]]
        item, token = direct.upload_complete(upload=upload, parts=parts, request=request)
        body = ItemSerializer(item).data
        body["link"] = public_link(request, token)
        return Response(body, status=status.HTTP_201_CREATED)
