"""Delivery of outbox events to target systems (ERP, CRM, webhooks).

`mdm` writes these rows (a Delivery per subscribed target, in the same
transaction as the change); the workers in `connectors/` read and update
them. The link table (RemoteLink) records what each target holds for each
golden ID.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mdm.models.outbox import OutboxEvent


class DeliveryTarget(models.Model):
    """A system that receives golden-record changes, and how to reach it.

    Secrets are never stored: `secret_env` names the environment variables
    (or NAME_FILE files) that hold them.
    """

    class Breaker(models.TextChoices):
        CLOSED = "closed", _("closed")
        OPEN = "open", _("open")
        HALF_OPEN = "half_open", _("half open")

    name = models.SlugField(_("name"), max_length=64, unique=True)
    kind = models.CharField(
        _("kind"), max_length=32, help_text=_("webhook, file, tryton, kingdee, …")
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    # Empty: every topic.
    topics = models.JSONField(_("topics"), default=list, blank=True)
    config = models.JSONField(_("configuration"), default=dict, blank=True)
    # {"signing_secret": "WEBHOOK_ERP_SECRET"}: secret name -> variable name.
    secret_env = models.JSONField(_("secret variables"), default=dict, blank=True)
    # The source system whose records this target holds, if any (the ERP a
    # target writes to is usually also imported from).
    source_system = models.ForeignKey(
        "mdm.SourceSystem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("source system"),
    )

    timeout_seconds = models.FloatField(_("time-out (s)"), default=30.0)
    batch_size = models.PositiveIntegerField(_("batch size"), default=50)
    rate_limit_per_second = models.FloatField(
        _("rate limit (per second)"), default=0.0, help_text=_("0: unlimited")
    )
    retry_max_attempts = models.PositiveIntegerField(
        _("retry attempts at least"), default=12
    )
    retry_window = models.DurationField(
        _("retry window at least"), default=timedelta(hours=72)
    )
    backoff_base_seconds = models.FloatField(_("backoff base (s)"), default=30.0)
    backoff_cap_seconds = models.FloatField(_("backoff cap (s)"), default=6 * 3600.0)
    breaker_threshold = models.PositiveIntegerField(
        _("failures that open the circuit"), default=10
    )
    breaker_cooldown_seconds = models.FloatField(
        _("circuit open for (s)"), default=60.0
    )

    # Run-time state, written by the workers.
    breaker_state = models.CharField(
        _("circuit"), max_length=16, choices=Breaker, default=Breaker.CLOSED
    )
    consecutive_failures = models.PositiveIntegerField(
        _("consecutive failures"), default=0
    )
    breaker_open_until = models.DateTimeField(null=True, blank=True)
    # Set by a 429/Retry-After: the whole target waits until then.
    paused_until = models.DateTimeField(_("paused until"), null=True, blank=True)
    # GCRA "theoretical arrival time" of the rate limiter.
    rate_tat = models.DateTimeField(null=True, blank=True)
    # Set by a 410: nothing is sent until an operator resumes the target.
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    suspended_reason = models.TextField(_("suspended because"), blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    # Durable cursor for polling the target's changes (changes_since).
    inbound_cursor = models.TextField(_("inbound cursor"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("delivery target")
        verbose_name_plural = _("delivery targets")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.topics, list) or not set(self.topics) <= set(
            OutboxEvent.Topic.values
        ):
            raise ValidationError(
                {"topics": _("A list of outbox topics, or empty for all.")}
            )
        if not isinstance(self.secret_env, dict) or not all(
            isinstance(v, str) for v in self.secret_env.values()
        ):
            raise ValidationError(
                {"secret_env": _("An object of secret name -> variable name.")}
            )
        if self.timeout_seconds <= 0 or self.timeout_seconds > 300:
            raise ValidationError({"timeout_seconds": _("Between 0 and 300 s.")})

    def subscribes_to(self, topic: str) -> bool:
        return not self.topics or topic in self.topics


class Delivery(models.Model):
    """One outbox event due at one target.

    Per (target, golden ID) at most one delivery is in flight, and the
    oldest open one goes first; when it is claimed, newer pending ones of the
    same key are folded into it (only the latest snapshot is sent).
    """

    class State(models.TextChoices):
        PENDING = "pending", _("due")
        IN_FLIGHT = "in_flight", _("in flight")
        DELIVERED = "delivered", _("delivered")
        SUPERSEDED = "superseded", _("superseded by a newer version")
        CONFLICT = "conflict", _("conflict")
        DEAD = "dead", _("dead letter")

    OPEN_STATES = (State.PENDING, State.IN_FLIGHT)

    target = models.ForeignKey(
        DeliveryTarget,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("target"),
    )
    event = models.ForeignKey(
        OutboxEvent,
        on_delete=models.PROTECT,
        related_name="deliveries",
        verbose_name=_("event"),
    )
    # Copied from the event: the claim query orders and groups by them.
    golden_id = models.CharField(_("golden ID"), max_length=16)
    version = models.PositiveIntegerField(_("version"))
    topic = models.CharField(_("topic"), max_length=32, choices=OutboxEvent.Topic)
    # Sent as webhook-id / Idempotency-Key; the same on every retry and replay.
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    state = models.CharField(
        _("state"), max_length=16, choices=State, default=State.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    lease_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(_("worker"), max_length=100, blank=True)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_error = models.TextField(_("last error"), blank=True)
    last_status = models.PositiveIntegerField(_("last HTTP status"), null=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["target", "event"], name="delivery_one_per_target_event"
            )
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["target", "golden_id", "state"]),
            models.Index(fields=["target", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.target_id}:{self.golden_id} v{self.version} ({self.state})"


class DeliveryAttempt(models.Model):
    """One call to a target for a delivery: what happened and how long."""

    class Outcome(models.TextChoices):
        DELIVERED = "delivered", _("delivered")
        RETRY = "retry", _("failed, will retry")
        RATE_LIMITED = "rate_limited", _("rate-limited")
        CONFLICT = "conflict", _("conflict")
        FAILED = "failed", _("failed for good")
        GONE = "gone", _("endpoint gone")

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField(_("attempted at"), default=timezone.now)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome)
    status_code = models.PositiveIntegerField(_("HTTP status"), null=True)
    error = models.TextField(_("error"), blank=True)
    worker = models.CharField(_("worker"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        indexes = [models.Index(fields=["delivery", "attempted_at"])]


class RemoteLink(models.Model):
    """What one target holds for one golden ID: the link table."""

    class State(models.TextChoices):
        LINKED = "linked", _("linked")
        REMOTE_ARCHIVED = "remote_archived", _("archived in the target")
        REMOTE_DELETED = "remote_deleted", _("deleted in the target")
        CONFLICT = "conflict", _("conflict")

    target = models.ForeignKey(
        DeliveryTarget,
        on_delete=models.CASCADE,
        related_name="links",
        verbose_name=_("target"),
    )
    golden_id = models.CharField(_("golden ID"), max_length=16)
    remote_id = models.CharField(_("remote ID"), max_length=255, blank=True)
    remote_version = models.CharField(_("remote version"), max_length=255, blank=True)
    # The mapped payload we last pushed: the base of a three-way merge.
    pushed = models.JSONField(_("last pushed"), default=dict, blank=True)
    pushed_hash = models.CharField(_("hash of last pushed"), max_length=64, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State, default=State.LINKED
    )
    last_event = models.ForeignKey(
        OutboxEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_version = models.PositiveIntegerField(_("last version sent"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("remote link")
        verbose_name_plural = _("remote links")
        constraints = [
            models.UniqueConstraint(
                fields=["target", "golden_id"], name="remote_link_one_per_target"
            )
        ]
        indexes = [models.Index(fields=["target", "remote_id"])]

    def __str__(self) -> str:
        return f"{self.golden_id} -> {self.target_id}:{self.remote_id}"
