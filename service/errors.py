"""The service's own exception tree; library errors are translated into it at each boundary.

EventPromoError
 ├── ConfigError            bad or missing configuration (names the key)
 ├── CalendarError          a calendar source could not be read
 │    ├── FetchError        the file or feed could not be fetched
 │    └── ParseError        the content is not a calendar we can read
 ├── TemplateError          a template set is broken (names file, step, line)
 ├── PlanningError          a campaign could not be planned for an event
 ├── ChannelError           a channel refused or failed a publish
 │    ├── RetryableError    try again later (5xx, timeouts before sending, 429)
 │    │    └── RateLimited  try again at `retry_at`
 │    ├── AuthError         the credentials are expired or revoked: reconnect
 │    ├── RejectedError     the network refused this post for good (4xx)
 │    │    └── DuplicateContent  X refused it as a duplicate (maybe of our own earlier try)
 │    └── OutcomeUnknown    the request may or may not have reached the network
 ├── NotFound               a row asked for by id does not exist
 └── StateError             the action does not apply to the row as it is now (names the row)
"""

from __future__ import annotations

from datetime import datetime


class EventPromoError(Exception):
    """Base of every error the service raises on purpose."""


class ConfigError(EventPromoError):
    """The configuration file or environment is wrong; the message names the key."""


class CalendarError(EventPromoError):
    """A calendar source could not be read."""


class FetchError(CalendarError):
    """The calendar file or feed could not be fetched."""


class ParseError(CalendarError):
    """The calendar content could not be parsed."""


class TemplateError(EventPromoError):
    """A template set is broken; the message names the file, the step and the line."""

    def __init__(self, message: str, *, file: str = "", step: str = "", line: int | None = None):
        super().__init__(message)
        self.file = file
        self.step = step
        self.line = line


class PlanningError(EventPromoError):
    """A campaign could not be planned for an event."""


class ChannelError(EventPromoError):
    """A channel failed to publish a post."""


class RetryableError(ChannelError):
    """A temporary failure: the same request may succeed later."""


class RateLimited(RetryableError):
    """The network asked us to wait until `retry_at` before trying again."""

    def __init__(self, message: str, retry_at: datetime | None = None):
        super().__init__(message)
        self.retry_at = retry_at


class AuthError(ChannelError):
    """The channel's credentials are expired or revoked; a person must reconnect it."""


class RejectedError(ChannelError):
    """The network refused this post for good (bad request, forbidden, duplicate content)."""


class DuplicateContent(RejectedError):
    """The network refused the post as a duplicate: an earlier try of ours may have gone out."""


class OutcomeUnknown(ChannelError):
    """The request may have reached the network: reconcile before doing anything else."""


class NotFound(EventPromoError):
    """A row asked for by id does not exist."""


class StateError(EventPromoError):
    """A person's action does not apply to the row in its current state (e.g. retrying a published post)."""
