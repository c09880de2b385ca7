from django.contrib import admin, messages
from django.db.models import Q
from django.template.defaultfilters import filesizeformat

from agepar.admin_tools import BigTableAdmin, ReadOnlyAdminMixin, confirm_with_reason, permission_check, status_badge
from fileshare import services
from fileshare.models import FileShareItem

STATUS_LABELS = {"live": "ativo", "expired": "expirado", "exhausted": "limite atingido", "deleted": "excluído"}


class StatusFilter(admin.SimpleListFilter):
    title = "situação"
    parameter_name = "situacao"

    def lookups(self, request, model_admin):
        return [("live", "ativo"), ("expired", "expirado"), ("deleted", "excluído")]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.live()
        if self.value() == "expired":
            return queryset.overdue()
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class PasswordFilter(admin.SimpleListFilter):
    title = "senha"
    parameter_name = "senha"

    def lookups(self, request, model_admin):
        return [("1", "com senha"), ("0", "sem senha")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(~Q(password=""))
        if self.value() == "0":
            return queryset.filter(password="")
        return queryset


@admin.register(FileShareItem)
class FileShareItemAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("id", "original_name", "owner", "tamanho", "expires_at", "downloads_display",
                    "situacao")
    # No plain field filters: each would run a SELECT DISTINCT over the whole table.
    list_filter = (StatusFilter, PasswordFilter)
    # Prefix searches use the indexes; a substring search would scan every row.
    search_fields = ("^original_name", "=owner__email")
    search_help_text = "Início do nome do arquivo ou e-mail exato do dono."
    list_select_related = ("owner",)
    lag_tolerant_changelist = True  # read replica (agepar/routers.py)
    ordering = ("-id",)
    actions = ("expire_now", "delete_items")
    # The link-token hash is useless to staff and stays out of the screens.
    fields = ("original_name", "owner", "tamanho", "content_type", "sha256", "storage_name", "created_at",
              "expires_at", "max_downloads", "downloads", "tem_senha", "situacao", "deleted_at", "deleted_by",
              "delete_reason")
    readonly_fields = fields

    @admin.display(description="tamanho", ordering="size")
    def tamanho(self, obj):
        return filesizeformat(obj.size)

    @admin.display(description="downloads")
    def downloads_display(self, obj):
        return f"{obj.downloads} / {obj.max_downloads}" if obj.max_downloads else str(obj.downloads)

    @admin.display(description="situação")
    def situacao(self, obj):
        return status_badge(obj.status, STATUS_LABELS[obj.status])

    @admin.display(description="protegido por senha", boolean=True)
    def tem_senha(self, obj):
        return obj.has_password

    has_expire_permission = permission_check("fileshare.expire_fileshareitem")
    has_remove_permission = permission_check("fileshare.delete_fileshareitem")

    @admin.action(description="Expirar agora", permissions=["expire"])
    def expire_now(self, request, queryset):
        def perform(items, reason):
            done = sum(services.item_expire(item=item, actor=request.user, reason=reason, request=request)
                       for item in items.filter(deleted_at__isnull=True))
            self.message_user(request, f"{done} arquivo(s) expirado(s).", messages.SUCCESS)

        return confirm_with_reason(self, request, queryset, title="Expirar arquivos",
                                   question="Os links destes arquivos deixam de funcionar agora:", perform=perform)

    # "remove", not "delete": Django's own delete permission check is the read-only "no" of the mixin.
    @admin.action(description="Excluir", permissions=["remove"])
    def delete_items(self, request, queryset):
        def perform(items, reason):
            done = sum(services.item_delete(item=item, actor=request.user, note=reason, request=request)
                       for item in items.filter(deleted_at__isnull=True))
            self.message_user(request, f"{done} arquivo(s) excluído(s).", messages.SUCCESS)

        return confirm_with_reason(self, request, queryset, title="Excluir arquivos",
                                   question="Estes arquivos serão apagados e seus links deixam de funcionar:",
                                   perform=perform)
