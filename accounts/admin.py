import ipaddress
import uuid
from contextvars import ContextVar

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm as StaffSetPasswordForm
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from accounts import services
from accounts.cpf import CPF_TYPED_MAX, format_cpf, normalize_cpf
from accounts.models import Session, User
from agepar.admin_tools import (
    BigTableAdmin,
    ReadOnlyAdminMixin,
    confirm_with_reason,
    permission_check,
    status_badge,
    user_agent_summary,
)

# The request of the password view, for the form that hands the new password to the service
# (Django builds that form as `change_password_form(user, data)`, without the request).
_password_request: ContextVar[HttpRequest] = ContextVar("_password_request")


class StaffPasswordForm(StaffSetPasswordForm):
    def save(self, commit=True):
        request = _password_request.get()
        password = self.cleaned_data["password1"] if self.cleaned_data.get("set_usable_password", True) else None
        return services.user_set_password(user=self.user, password=password, actor=request.user, request=request)


class CpfFormField(forms.CharField):
    """Accepts `123.456.789-09` as well as the 11 digits (the model stores the digits)."""

    def __init__(self, **kwargs):
        kwargs["max_length"] = CPF_TYPED_MAX
        super().__init__(**kwargs)

    def to_python(self, value):
        return normalize_cpf(super().to_python(value)) or None


class OwnPasswordChangeView(PasswordChangeView):
    """Django's page, but the change goes through the accounts service (audited, other sessions revoked,
    `must_change_password` cleared)."""

    form_class = AdminPasswordChangeForm

    def form_valid(self, form):
        services.user_change_password(request=self.request, user=self.request.user,
                                      current_password=form.cleaned_data["old_password"],
                                      new_password=form.cleaned_data["new_password1"])
        return HttpResponseRedirect(self.get_success_url())


class UserForm(UserChangeForm):
    cpf = CpfFormField(label="CPF", required=False)
    reason = forms.CharField(label="Motivo", required=False, max_length=200,
                             help_text="Registrado na auditoria; obrigatório ao desativar.")


class NewUserForm(AdminUserCreationForm):
    cpf = CpfFormField(label="CPF", required=False)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserForm
    add_form = NewUserForm
    ordering = ("email",)
    list_display = ("email", "nome", "cpf_formatado", "papeis", "is_active", "is_staff", "must_change_password",
                    "sessoes")
    list_filter = ("is_active", "is_staff", "groups")
    # Prefix searches use the unique indexes on email and CPF (a CPF may be typed with punctuation).
    search_fields = ("email__istartswith", "cpf__startswith", "nome__icontains")
    readonly_fields = ("last_login", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Dados pessoais", {"fields": ("nome", "cpf")}),
        ("Permissões", {"fields": ("is_active", "is_staff", "is_superuser", "must_change_password", "groups")}),
        ("Registro na auditoria", {"fields": ("reason",)}),
        ("Datas", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "nome", "cpf", "password1", "password2")}),)
    filter_horizontal = ("groups",)
    change_password_form = StaffPasswordForm
    actions = ["revoke_all_sessions", "deactivate_users"]

    has_revoke_permission = permission_check("accounts.revoke_session")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        if db_field.name == "groups":
            # A plain label: Django keeps history labels untranslated, so a lazy one would read "Groups".
            kwargs.update(label="Papéis", help_text="Os papéis do portal; cada um abre uma parte da administração "
                                                    "(docs/admin.md).")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_search_results(self, request, queryset, search_term):
        digits = normalize_cpf(search_term)
        if digits.isdigit() and digits != search_term:
            search_term = digits
        return super().get_search_results(request, queryset, search_term)

    # --- who may change what --------------------------------------------------------------------
    def has_change_permission(self, request, obj=None):
        # Only a superuser edits a superuser (their e-mail or password would hand over the account).
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # People are deactivated, never deleted: their submissions and the trail keep pointing at them.
        return False

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["is_staff", "is_superuser"]
            if obj is not None and obj.pk == request.user.pk:
                fields.append("groups")
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class GuardedForm(form):
            """Refuses what the signed-in staff member may not grant (services.user_grant_errors)."""

            def clean(self):
                cleaned = super().clean()
                if obj is not None and obj.is_active and cleaned.get("is_active") is False \
                        and not cleaned.get("reason"):
                    self.add_error("reason", "Informe o motivo da desativação.")
                for error in services.user_grant_errors(actor=request.user, before=obj, after=self.instance,
                                                        roles=cleaned.get("groups")):
                    self.add_error(None, error)
                return cleaned

        return GuardedForm

    def save_model(self, request, obj, form, change):
        services.user_save(user=obj, actor=request.user, roles=form.cleaned_data.get("groups"),
                           reason=form.cleaned_data.get("reason", ""), request=request)

    def save_related(self, request, form, formsets, change):
        # The roles were saved by user_save with the rest of the user (and audited with it).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def user_change_password(self, request, id, form_url=""):
        token = _password_request.set(request)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_request.reset(token)

    # --- list columns ---------------------------------------------------------------------------
    @admin.display(description="CPF", ordering="cpf")
    def cpf_formatado(self, obj):
        return format_cpf(obj.cpf) if obj.cpf else "—"

    @admin.display(description="papéis")
    def papeis(self, obj):
        return ", ".join(sorted(group.name for group in obj.groups.all())) or "—"

    @admin.display(description="sessões")
    def sessoes(self, obj):
        url = reverse("admin:accounts_session_changelist")
        return format_html('<a href="{}?usuario={}">ver sessões</a>', url, obj.pk)

    # --- actions --------------------------------------------------------------------------------
    @admin.action(description="Revogar todas as sessões", permissions=["revoke"])
    def revoke_all_sessions(self, request, queryset):
        def perform(users, reason):
            count = services.user_sessions_revoke_all(users=users, actor=request.user, reason=reason,
                                                      request=request)
            self.message_user(request, f"{count} sessão(ões) revogada(s).", messages.SUCCESS)

        return confirm_with_reason(self, request, queryset, title="Revogar todas as sessões",
                                   question="Todas as sessões destes usuários serão encerradas:", perform=perform)

    @admin.action(description="Desativar usuários selecionados (revoga as sessões)", permissions=["change"])
    def deactivate_users(self, request, queryset):
        def perform(users, reason):
            users = users.filter(is_active=True)
            if not request.user.is_superuser:
                users = users.exclude(is_superuser=True)
            count = sum(services.user_deactivate(user=user, actor=request.user, reason=reason, request=request)
                        for user in users)
            self.message_user(request, f"{count} usuário(s) desativado(s).", messages.SUCCESS)

        return confirm_with_reason(self, request, queryset, title="Desativar usuários",
                                   question="Estes usuários não poderão mais entrar e suas sessões terminam agora "
                                            "(superusuários só são desativados por superusuários):",
                                   perform=perform)


class SessionStatusFilter(admin.SimpleListFilter):
    title = "situação"
    parameter_name = "situacao"

    def lookups(self, request, model_admin):
        return (("active", "ativa"), ("expired", "expirada"), ("revoked", "revogada"))

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.alive(now)
        if self.value() == "expired":
            return queryset.expired(now)
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

    list_display = ("sessao", "user", "ip", "navegador", "last_seen_at", "expira", "situacao")
    list_filter = (SessionStatusFilter, SessionUserFilter)
    list_select_related = ("user",)
    search_fields = ("user__email", "user__cpf", "ip")  # see get_search_results
    search_help_text = "E-mail ou CPF do usuário (início), IP exato ou o identificador da sessão."
    ordering = ("-id",)
    fields = ("public_id", "user", "ip", "user_agent", "roles", "created_at", "last_seen_at", "expire_date",
              "absolute_expires_at", "revoked_at", "revoked_by", "revoke_reason")
    readonly_fields = fields
    actions = ["revoke_selected"]

    has_revoke_permission = permission_check("accounts.revoke_session")

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
        try:  # the public id an audit event links to
            return queryset.filter(public_id=uuid.UUID(term)), False
        except ValueError:
            pass
        digits = normalize_cpf(term)
        if digits.isdigit():
            return queryset.filter(user__cpf__startswith=digits), False
        return queryset.filter(user__email__startswith=term.lower()), False

    @admin.display(description="navegador")
    def navegador(self, obj):
        return user_agent_summary(obj.user_agent)

    @admin.display(description="sessão", ordering="id")
    def sessao(self, obj):
        # The first block of the public id tells sessions apart; the whole one is on the page and in the title.
        return format_html('<span title="{}">{}…</span>', obj.public_id, str(obj.public_id)[:8])

    @admin.display(description="expira em")
    def expira(self, obj):
        return date_format(timezone.localtime(min(obj.expire_date, obj.absolute_expires_at)), "DATETIME_FORMAT")

    @admin.display(description="situação")
    def situacao(self, obj):
        status = obj.status_at(timezone.now())
        return status_badge(status, {"active": "ativa", "expired": "expirada", "revoked": "revogada"}[status])

    @admin.action(description="Revogar sessões selecionadas", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        def perform(sessions, reason):
            count = services.sessions_revoke(sessions=sessions, actor=request.user, reason=reason, request=request)
            self.message_user(request, f"{count} sessão(ões) revogada(s).", messages.SUCCESS)

        return confirm_with_reason(self, request, queryset, title="Revogar sessões",
                                   question="Estas sessões serão encerradas agora (as de superusuários, só por "
                                            "superusuários):", perform=perform)


_VERBS = {"add": "adicionar", "change": "alterar", "delete": "excluir", "view": "ver"}


def permission_label(permission: Permission) -> str:
    """`Contas e sessões | Pode ver usuário` instead of Django's stored English `... | Can view user`."""
    app = apps.get_app_config(permission.content_type.app_label)
    model = permission.content_type.model_class()
    verb, _, model_name = permission.codename.partition("_")
    name = permission.name
    if model is not None and verb in _VERBS and model_name == model._meta.model_name:
        name = f"Pode {_VERBS[verb]} {model._meta.verbose_name}"
    return f"{app.verbose_name} | {name}"


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    """Superusers only (no role carries a permission of `auth`); every edit audited with its before → after."""

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "permissions":
            field.label_from_instance = permission_label
        return field

    def save_model(self, request, obj, form, change):
        services.group_save(group=obj, permissions=form.cleaned_data["permissions"], actor=request.user,
                            request=request)

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # the permissions were saved (and audited) by group_save
            self.save_formset(request, form, formset, change=change)

