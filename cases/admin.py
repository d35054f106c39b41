from django.contrib import admin

from cases.models import Case, CaseEvent, Comment, KnowledgeArticle, Release


class CommentInline(admin.TabularInline[Comment, Case]):
    model = Comment
    extra = 0
    fields = readonly_fields = ("created_at", "author", "is_public", "body")
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class CaseEventInline(admin.TabularInline[CaseEvent, Case]):
    model = CaseEvent
    extra = 0
    fields = readonly_fields = (
        "at",
        "actor",
        "kind",
        "transition",
        "from_value",
        "to_value",
        "reason",
        "is_public",
    )
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin[Case]):
    list_display = ["number", "subject", "organization", "type", "status", "severity", "assignee"]
    list_filter = ["type", "status", "severity", "channel", "organization"]
    list_select_related = ["organization", "assignee"]
    search_fields = ["subject", "organization__name", "reporter__email", "external_id"]
    show_full_result_count = False
    readonly_fields = [
        "number",
        "type",
        "status",
        "organization",
        "reporter",
        "assignee",
        "channel",
        "target_release",
        "resolution",
        "knowledge_article",
        "external_id",
        "created_at",
        "updated_at",
        "resolved_at",
        "version",
    ]
    fields = ["number", "type", "status", "subject", "description", "severity", "product_version"]
    inlines = [CommentInline, CaseEventInline]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin[Release]):
    list_display = ["version", "released_on"]
    search_fields = ["version"]


@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(admin.ModelAdmin[KnowledgeArticle]):
    list_display = ["title", "slug", "is_published", "updated_at"]
    search_fields = ["title", "body"]
    readonly_fields = ["source_case", "author", "created_at"]
