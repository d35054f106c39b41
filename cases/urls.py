from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("", views.CaseListView.as_view(), name="list"),
    path("cases/new/", views.CaseCreateView.as_view(), name="new"),
    path("cases/<str:number>/", views.CaseDetailView.as_view(), name="detail"),
    path("cases/<str:number>/reply/", views.CaseReplyView.as_view(), name="reply"),
    path("cases/<str:number>/close/", views.CaseCloseView.as_view(), name="close"),
    path("cases/<str:number>/reopen/", views.CaseReopenView.as_view(), name="reopen"),
    path("cases/<str:number>/follow/", views.CaseFollowView.as_view(), name="follow"),
    path(
        "cases/<str:number>/attachments/<int:pk>/",
        views.AttachmentDownloadView.as_view(),
        name="attachment",
    ),
]

# Mounted under /kb/ by portal.urls, in the "kb" namespace.
kb_patterns = [
    path("", views.KnowledgeListView.as_view(), name="list"),
    path("suggest/", views.KnowledgeSuggestView.as_view(), name="suggest"),
    path("<slug:slug>/", views.KnowledgeDetailView.as_view(), name="detail"),
]
