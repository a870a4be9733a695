"""Domain errors that interfaces turn into clear messages (HTTP 400/409)."""


class DomainError(Exception):
    """Base class: the request was understood but cannot be carried out."""


class PayloadError(DomainError):
    """A source payload that is not a JSON object, or an unusable source key."""


class MergeError(DomainError):
    """A merge that would break an invariant (self-merge, merged record...)."""


class ConflictError(DomainError):
    """Someone changed the record or task since the steward looked at it."""
