from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "nome", "cpf", "is_active", "is_staff", "must_change_password")
    list_filter = ("is_active", "is_staff", "groups")
    search_fields = ("email", "cpf", "nome")
    readonly_fields = ("last_login", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Dados pessoais", {"fields": ("nome", "cpf")}),
        ("Permissões", {"fields": ("is_active", "is_staff", "is_superuser", "must_change_password", "groups")}),
        ("Datas", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "nome", "cpf", "password1", "password2")}),)
    filter_horizontal = ("groups",)
