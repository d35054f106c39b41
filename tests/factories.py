"""Factories for tests. Cases are filed through the service, like everywhere else."""

from typing import Any

import factory

from accounts.models import Organization, Role, User
from accounts.roles import assign_role
from cases import services
from cases.models import Case, CaseType, KnowledgeArticle, Release, Severity


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"Organization {n}")
    domain = factory.LazyAttribute(lambda o: f"{o.slug}.example.com")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.django.Password("password")


class CustomerFactory(UserFactory):
    organization = factory.SubFactory(OrganizationFactory)

    @factory.post_generation
    def with_role(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            assign_role(obj, Role.CUSTOMER)


class SupportFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def with_role(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            assign_role(obj, Role.SUPPORT)


class EngineerFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def with_role(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            assign_role(obj, Role.ENGINEERING)


class ReleaseFactory(factory.django.DjangoModelFactory[Release]):
    class Meta:
        model = Release

    version = factory.Sequence(lambda n: f"30.1.{n}")
    released_on = None


class KnowledgeArticleFactory(factory.django.DjangoModelFactory[KnowledgeArticle]):
    class Meta:
        model = KnowledgeArticle

    slug = factory.Sequence(lambda n: f"article-{n}")
    title = factory.Sequence(lambda n: f"How to do thing {n}")
    body = "Do it **this** way."
    is_published = True


def file_case(reporter: User | None = None, **fields: Any) -> Case:
    """File a case through the service, as its reporter, with sensible defaults."""
    reporter = reporter or CustomerFactory.create()
    values: dict[str, Any] = {
        "subject": "The virtual service does not answer",
        "description": "Since this morning every request times out.",
        "type": CaseType.ISSUE,
        "severity": Severity.NOT_URGENT,
        "product_version": "18.1.2",
    }
    values.update(fields)
    return services.file_case(by=reporter, **values)
