import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from notifications.inbound import ingest
from notifications.models import InboundEmail

SECRET_HEADER = "X-Casebook-Inbound-Secret"


@csrf_exempt
@require_POST
def inbound_email(request: HttpRequest) -> JsonResponse:
    """Take one raw RFC 822 message from the mail gateway, authenticated by the shared secret."""
    secret = settings.CASEBOOK_INBOUND_EMAIL_SECRET
    given = request.headers.get(SECRET_HEADER, "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        return JsonResponse(
            {"code": "permission_denied", "detail": f"Send the shared secret in {SECRET_HEADER}."},
            status=403,
        )
    if not request.body.strip():
        return JsonResponse(
            {"code": "invalid", "detail": "The body must be the raw RFC 822 message."}, status=400
        )
    record = ingest(request.body)
    if record.outcome == InboundEmail.Outcome.REFUSED:
        return JsonResponse({"code": "email_refused", "detail": record.reason}, status=422)
    return JsonResponse(
        {"outcome": record.outcome, "case": record.case.number if record.case else None},
        status=201,
    )
