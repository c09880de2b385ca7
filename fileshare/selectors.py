"""Reads of the fileshare app."""

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from accounts.models import User
from agepar.routers import lag_tolerant
from fileshare import tokens
from fileshare.models import FileShareItem, RevokedLink

# What ItemSerializer reads from an instance (the detail, the delete).
ITEM_FIELDS = ("id", "original_name", "size", "content_type", "sha256", "created_at", "expires_at",
               "max_downloads", "downloads", "password", "owner_id", "owner__id", "owner__nome")
# The columns of the API list's rows (fileshare.api.item_row); the password hash is not one of them.
ITEM_COLUMNS = ("id", "original_name", "size", "content_type", "sha256", "created_at", "expires_at",
                "max_downloads", "downloads", "owner_id", "owner__nome")
PUBLIC_FIELDS = ("id", "original_name", "storage_name", "size", "content_type", "expires_at", "max_downloads",
                 "downloads", "password", "deleted_at")


def live_items(*, owner: User | None = None) -> QuerySet:
    """Live items (not deleted, not expired), newest first, as ITEM_COLUMNS dicts plus `has_password`;
    all owners when `owner` is None. From the read replica if usable (agepar/routers.py): the API list,
    never a read followed by a write."""
    qs = FileShareItem.objects.using(lag_tolerant()).live()
    if owner is not None:
        qs = qs.filter(owner=owner)
    # FileShareItem.has_password, computed by the database so that the hash never leaves it.
    has_password = ExpressionWrapper(~Q(password=""), output_field=BooleanField())
    return qs.order_by("-id").values(*ITEM_COLUMNS, has_password=has_password)


def visible_item(*, pk: int, user: User, admin: bool) -> FileShareItem | None:
    """A not-deleted item the user owns (or any, for an admin); None otherwise, so callers answer 404."""
    qs = FileShareItem.objects.filter(pk=pk, deleted_at__isnull=True).select_related("owner")
    if not admin:
        qs = qs.filter(owner=user)
    return qs.only(*ITEM_FIELDS, "storage_name").first()


def item_by_token(token: str) -> FileShareItem | None:
    if not tokens.plausible(token):
        return None
    return FileShareItem.objects.filter(token_hash=tokens.hash_token(token)).only(*PUBLIC_FIELDS).first()


def token_was_revoked(token: str) -> bool:
    """True for a link that was replaced by a new one (it answers 410, an unknown one 404)."""
    return tokens.plausible(token) and RevokedLink.objects.filter(token_hash=tokens.hash_token(token)).exists()
