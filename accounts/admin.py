import ipaddress

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts import services
from accounts.cpf import normalize_cpf
from accounts.models import Session, User
from accounts.sessions import alive_q
from agepar.admin_tools import BigTableAdmin, ReadOnlyAdminMixin


class RevokeActionForm(ActionForm):
    reason = forms.CharField(label="Motivo", required=False, max_length=200,
                             help_text="Registrado na sessão e na auditoria.")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "nome", "cpf", "papeis", "is_active", "is_staff", "must_change_password",
                    "sessoes")
    list_filter = ("is_active", "is_staff", "groups")
    # Prefix searches use the unique indexes on email and CPF (a CPF may be typed with punctuation).
    search_fields = ("email__istartswith", "cpf__startswith", "nome__icontains")
    readonly_fields = ("last_login", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Dados pessoais", {"fields": ("nome", "cpf")}),
        ("Permissões", {"fields": ("is_active", "is_staff", "is_superuser", "must_change_password", "groups")}),
        ("Datas", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "nome", "cpf", "password1", "password2")}),)
    filter_horizontal = ("groups",)
    actions = ["revoke_all_sessions", "deactivate_users"]
    action_form = RevokeActionForm

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_search_results(self, request, queryset, search_term):
        digits = normalize_cpf(search_term)
        if digits.isdigit() and digits != search_term:
            search_term = digits
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="papéis")
    def papeis(self, obj):
        return ", ".join(sorted(group.name for group in obj.groups.all())) or "—"

    @admin.display(description="sessões")
    def sessoes(self, obj):
        url = reverse("admin:accounts_session_changelist")
        return format_html('<a href="{}?usuario={}">ver sessões</a>', url, obj.pk)

    def save_model(self, request, obj, form, change):
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        with transaction.atomic():
            if deactivating:
                # The service flips the flag itself, so that the sessions go in the same transaction.
                obj.is_active = True
            super().save_model(request, obj, form, change)
            if deactivating:
                services.user_deactivate(user=obj, actor=request.user, request=request)

    @admin.action(description="Revogar todas as sessões", permissions=["change"])
    def revoke_all_sessions(self, request, queryset):
        reason = request.POST.get("reason", "").strip() or services.REASON_BY_ADMIN
        count = services.user_sessions_revoke_all(users=queryset, actor=request.user, reason=reason, request=request)
        self.message_user(request, f"{count} sessão(ões) revogada(s).", messages.SUCCESS)

    @admin.action(description="Desativar usuários selecionados (revoga as sessões)", permissions=["change"])
    def deactivate_users(self, request, queryset):
        count = sum(services.user_deactivate(user=user, actor=request.user, request=request)
                    for user in queryset.filter(is_active=True))
        self.message_user(request, f"{count} usuário(s) desativado(s).", messages.SUCCESS)


class SessionStatusFilter(admin.SimpleListFilter):
    title = "situação"
    parameter_name = "situacao"

    def lookups(self, request, model_admin):
        return (("active", "ativa"), ("expired", "expirada"), ("revoked", "revogada"))

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(alive_q(now))
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True).exclude(alive_q(now))
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class SessionUserFilter(admin.SimpleListFilter):
    """By user, without listing every user: the choice comes from the link on the user's page/list."""

    title = "usuário"
    parameter_name = "usuario"

    def lookups(self, request, model_admin):
        value = self.value()
        if not value or not value.isdigit():
            return ()
        user = User.objects.filter(pk=value).only("email").first()
        return ((value, user.email),) if user else ()

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(user_id=value)
        return queryset


@admin.register(Session)
class SessionAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    """Browse and revoke sessions. The key (and its hash) is never shown: rows are named by public id."""

    list_display = ("public_id", "user", "ip", "navegador", "created_at", "last_seen_at", "expire_date",
                    "absolute_expires_at", "situacao")
    list_filter = (SessionStatusFilter, SessionUserFilter)
    list_select_related = ("user",)
    search_fields = ("user__email", "user__cpf", "ip")  # see get_search_results
    search_help_text = "E-mail ou CPF do usuário (início), ou IP exato."
    ordering = ("-id",)
    fields = ("public_id", "user", "ip", "user_agent", "roles", "created_at", "last_seen_at", "expire_date",
              "absolute_expires_at", "revoked_at", "revoked_by", "revoke_reason")
    readonly_fields = fields
    actions = ["revoke_selected"]
    action_form = RevokeActionForm

    def get_queryset(self, request):
        return super().get_queryset(request).defer("session_data", "key_hash")

    def get_search_results(self, request, queryset, search_term):
        """One indexed lookup per kind of term: an IP, a CPF (prefix) or an e-mail (prefix)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(ip=str(ipaddress.ip_address(term))), False
        except ValueError:
            pass
        digits = normalize_cpf(term)
        if digits.isdigit():
            return queryset.filter(user__cpf__startswith=digits), False
        return queryset.filter(user__email__startswith=term.lower()), False

    @admin.display(description="navegador")
    def navegador(self, obj):
        return obj.user_agent[:80]

    @admin.display(description="situação")
    def situacao(self, obj):
        return {"active": "ativa", "expired": "expirada", "revoked": "revogada"}[obj.status_at(timezone.now())]

    @admin.action(description="Revogar sessões selecionadas", permissions=["view"])
    def revoke_selected(self, request, queryset):
        reason = request.POST.get("reason", "").strip() or services.REASON_BY_ADMIN
        count = services.sessions_revoke(sessions=queryset, actor=request.user, reason=reason, request=request)
        self.message_user(request, f"{count} sessão(ões) revogada(s).", messages.SUCCESS)
