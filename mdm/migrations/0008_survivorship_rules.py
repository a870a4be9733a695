"""The survivorship policy (one row per ID-card attribute, versioned) and
the rules a fresh install ships with."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

# A copy of mdm.survivorship_rules.DEFAULT_POLICY as of this migration (a
# migration imports nothing from mdm); a test keeps the two equal.
DEFAULT_POLICY = {
    "legal_name": ["valid_first", "source_trust", "most_recent"],
    "short_name": ["source_trust", "most_recent"],
    "english_name": ["source_trust", "most_recent"],
    "uscc": ["valid_first", "most_frequent", "source_trust", "most_recent"],
    "industry": ["most_frequent", "source_trust", "most_recent"],
    "customer_level": ["source_trust", "most_recent"],
    "phones": ["valid_first", "source_trust", "most_recent"],
    "emails": ["valid_first", "source_trust", "most_recent"],
    "addresses": ["most_complete", "source_trust", "most_recent"],
    "contacts": ["most_complete", "source_trust", "most_recent"],
}


def create_default_policy(apps, schema_editor):
    # get_or_create: an attribute someone already configured keeps its rules.
    # Historical models get no signals in migrations: the first version of
    # each row is written by hand, so the admin's history starts with it.
    SurvivorshipPolicy = apps.get_model("mdm", "SurvivorshipPolicy")
    History = apps.get_model("mdm", "HistoricalSurvivorshipPolicy")
    for attribute, rules in DEFAULT_POLICY.items():
        row, created = SurvivorshipPolicy.objects.get_or_create(
            attribute=attribute, defaults={"rules": rules, "note": "shipped default"}
        )
        if created:
            History.objects.create(
                id=row.pk,
                attribute=row.attribute,
                rules=row.rules,
                note=row.note,
                updated_at=row.updated_at,
                history_date=timezone.now(),
                history_type="+",
                history_change_reason="shipped default",
            )


class Migration(migrations.Migration):
    dependencies = [
        ("mdm", "0007_import_profiles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SurvivorshipPolicy",
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
                (
                    "attribute",
                    models.CharField(
                        max_length=32, unique=True, verbose_name="attribute"
                    ),
                ),
                (
                    "rules",
                    models.JSONField(
                        default=list,
                        help_text=(
                            "A JSON list of rules, the strongest first; each later "
                            "rule only breaks ties of the earlier ones. Rules: "
                            "valid_first, source_trust, most_recent, most_complete, "
                            "most_frequent."
                        ),
                        verbose_name="rules",
                    ),
                ),
                (
                    "note",
                    models.TextField(
                        blank=True,
                        help_text="Why the rules are so, for the next steward.",
                        verbose_name="note",
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(auto_now=True, verbose_name="updated at"),
                ),
            ],
            options={
                "verbose_name": "survivorship policy",
                "verbose_name_plural": "survivorship policies",
                "ordering": ["attribute"],
            },
        ),
        migrations.CreateModel(
            name="HistoricalSurvivorshipPolicy",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                (
                    "attribute",
                    models.CharField(
                        db_index=True, max_length=32, verbose_name="attribute"
                    ),
                ),
                (
                    "rules",
                    models.JSONField(
                        default=list,
                        help_text=(
                            "A JSON list of rules, the strongest first; each later "
                            "rule only breaks ties of the earlier ones. Rules: "
                            "valid_first, source_trust, most_recent, most_complete, "
                            "most_frequent."
                        ),
                        verbose_name="rules",
                    ),
                ),
                (
                    "note",
                    models.TextField(
                        blank=True,
                        help_text="Why the rules are so, for the next steward.",
                        verbose_name="note",
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        blank=True, editable=False, verbose_name="updated at"
                    ),
                ),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                (
                    "history_change_reason",
                    models.CharField(max_length=100, null=True),
                ),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")],
                        max_length=1,
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "historical survivorship policy",
                "verbose_name_plural": "historical survivorship policies",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.RunPython(create_default_policy, migrations.RunPython.noop),
    ]
