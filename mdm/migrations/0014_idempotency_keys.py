import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mdm", "0013_history_change_reason_text")]

    operations = [
        migrations.CreateModel(
            name="IdempotencyKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("key", models.CharField(max_length=255, verbose_name="key")),
                ("method", models.CharField(max_length=10, verbose_name="method")),
                ("path", models.CharField(max_length=2000, verbose_name="path")),
                (
                    "request_hash",
                    models.CharField(max_length=64, verbose_name="request hash"),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[("in_progress", "in progress"), ("done", "done")],
                        default="in_progress",
                        max_length=16,
                        verbose_name="state",
                    ),
                ),
                (
                    "response_status",
                    models.PositiveSmallIntegerField(
                        blank=True, null=True, verbose_name="response status"
                    ),
                ),
                (
                    "response_body",
                    models.TextField(blank=True, verbose_name="response body"),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="created at"
                    ),
                ),
                (
                    "client",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="idempotency_keys",
                        to="mdm.apiclient",
                    ),
                ),
            ],
            options={
                "verbose_name": "idempotency key",
                "verbose_name_plural": "idempotency keys",
                "indexes": [
                    models.Index(fields=["created_at"], name="idempotency_created")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("client", "key"),
                        name="idempotency_key_unique_per_client",
                    )
                ],
            },
        ),
    ]
