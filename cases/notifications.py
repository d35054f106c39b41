"""
Side effects of committed case events.

The services queue `event_committed` with `transaction.on_commit`, so it runs
only for changes that were really saved. Emails and webhooks hang off here.
"""

import logging

logger = logging.getLogger(__name__)


def event_committed(event_id: int) -> None:
    """Handle the side effects of the committed case event `event_id`."""
    logger.debug("case event %s committed", event_id)
