"""A fresh install comes with the three source systems most users start from."""

from django.db import migrations

DEFAULT_SYSTEMS = [
    # code, name, kind, mapping preset, trust per attribute
    ("erp", "ERP (Kingdee K/3 Cloud)", "erp", "kingdee_k3cloud",
     {"legal_name": 0.9, "uscc": 0.9, "addresses": 0.7}),
    ("crm", "CRM (Salesforce)", "crm", "salesforce_account",
     {"phones": 0.8, "emails": 0.8, "contacts": 0.8, "english_name": 0.9}),
    ("legacy", "Legacy Excel", "spreadsheet", "legacy_excel", {}),
]


def create_systems(apps, schema_editor):
    SourceSystem = apps.get_model("mdm", "SourceSystem")
    for code, name, kind, preset, trust in DEFAULT_SYSTEMS:
        SourceSystem.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "mapping_preset": preset,
                "trust": trust,
                "default_trust": 0.3 if kind == "spreadsheet" else 0.5,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("mdm", "0001_initial")]
    operations = [migrations.RunPython(create_systems, migrations.RunPython.noop)]
