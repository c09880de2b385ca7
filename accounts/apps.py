from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _apply_role_permissions(sender, app_config, using, **kwargs):
    # post_migrate is sent once per app, and each app's permissions are created on its own turn:
    # only after the last app are all the permissions the role table names there to be granted.
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if app_config is not with_models[-1] or using != "default":
        return
    from accounts.roles import apply_role_permissions

    apply_role_permissions(missing_ok=True)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Contas e sessões"

    def ready(self):
        from accounts import admin_audit  # noqa: F401  (the admin's sign-in/out receivers)

        post_migrate.connect(_apply_role_permissions, dispatch_uid="accounts.apply_role_permissions")
