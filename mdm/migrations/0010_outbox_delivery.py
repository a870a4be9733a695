# Reserved slot: filled in by the change that needs it.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("mdm", "0009_split")]

    operations = []
