from django.urls import path

from notifications.views import inbound_email

app_name = "notifications"

urlpatterns = [
    path("email/inbound/", inbound_email, name="inbound-email"),
]
