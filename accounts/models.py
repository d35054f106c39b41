"""People and the organizations they belong to."""

import hashlib
import secrets
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone


class Role(models.TextChoices):
    """The roles of the product; each is a group of the same name with its permissions."""

    CUSTOMER = "customer", "Customer"
    SUPPORT = "support", "Support"
    ENGINEERING = "engineering", "Engineering"


class Organization(models.Model):
    """A customer organization: its people see its cases and nothing else."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True, help_text="Email domain of its people.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in by email: a customer of one organization, or staff of none."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        help_text="Customers belong to one organization; staff to none.",
    )
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(organization__isnull=True) | models.Q(is_staff=False),
                name="staff_belong_to_no_organization",
            )
        ]
        indexes = [
            # The staff by name (the case list's assignee filter), among many customers.
            models.Index(
                fields=["name", "email"],
                name="user_staff_by_name",
                condition=models.Q(is_staff=True, is_active=True),
            ),
            # A person found by email in any case (support filing for a customer,
            # an email reply): email__iexact compares the upper-cased address.
            models.Index(Upper("email"), name="user_email_upper"),
        ]

    def __str__(self) -> str:
        return self.name or self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email

    @property
    def is_customer(self) -> bool:
        return self.organization_id is not None


class ApiToken(models.Model):
    """A named, revocable API token; only its SHA-256 hash is stored."""

    PREFIX_LENGTH = 8

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, user: User, name: str) -> tuple["ApiToken", str]:
        """Create a token for `user` and return it with its clear key, shown once."""
        key = "cb_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, prefix=key[: cls.PREFIX_LENGTH], key_hash=cls.hash_key(key)
        )
        return token, key

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(models.Model):
    """
    The first response to a create request sent with an `Idempotency-Key` header.

    A retry with the same key and the same request gets this response again and
    creates nothing; the same key with another request is refused.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"


class Session(AbstractBaseSession):
    """
    A session of the database session backend (accounts.sessions), with its user.

    `user` is the id of the person signed in to the session, kept from the
    session's data each time it is saved, so that reading a session reads its
    user in the same query. The session's data stays what decides who is signed
    in: the user read with it is used only when it is that person. No database
    constraint: a session may outlive its user, who is then simply not found.
    """

    user = models.ForeignKey(
        User,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )

    @classmethod
    def get_session_store_class(cls) -> type[Any]:
        from accounts.sessions import SessionStore

        return SessionStore
