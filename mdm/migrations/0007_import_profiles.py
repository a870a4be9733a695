# Import profiles: named column mappings per source system (issue #4).
import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mdm", "0006_outbox_topics"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalImportProfile',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('name', models.CharField(max_length=100, verbose_name='name')),
                ('mapping', models.JSONField(default=dict, verbose_name='column mapping')),
                ('sheet', models.CharField(blank=True, max_length=100, verbose_name='sheet')),
                ('encoding', models.CharField(blank=True, max_length=32, verbose_name='text encoding')),
                ('mode', models.CharField(choices=[('per_row', 'import good rows, report bad ones'), ('all_or_nothing', 'all or nothing')], default='per_row', max_length=16, verbose_name='mode')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='updated at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('created_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('source_system', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='mdm.sourcesystem', verbose_name='source system')),
                ('updated_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='updated by')),
            ],
            options={
                'verbose_name': 'historical import profile',
                'verbose_name_plural': 'historical import profiles',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='ImportProfile',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, verbose_name='name')),
                ('mapping', models.JSONField(default=dict, verbose_name='column mapping')),
                ('sheet', models.CharField(blank=True, max_length=100, verbose_name='sheet')),
                ('encoding', models.CharField(blank=True, max_length=32, verbose_name='text encoding')),
                ('mode', models.CharField(choices=[('per_row', 'import good rows, report bad ones'), ('all_or_nothing', 'all or nothing')], default='per_row', max_length=16, verbose_name='mode')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='updated at')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                ('source_system', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='import_profiles', to='mdm.sourcesystem', verbose_name='source system')),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='updated by')),
            ],
            options={
                'verbose_name': 'import profile',
                'verbose_name_plural': 'import profiles',
                'ordering': ['source_system', 'name'],
            },
        ),
        migrations.CreateModel(
            name='ImportProfileUse',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('profile_name', models.CharField(max_length=100, verbose_name='profile')),
                ('how', models.CharField(choices=[('auto', 'picked automatically'), ('chosen', 'chosen by the importer')], max_length=8, verbose_name='how')),
                ('score', models.FloatField(verbose_name='header match')),
                ('new_columns', models.JSONField(blank=True, default=list, verbose_name='new columns')),
                ('missing_columns', models.JSONField(blank=True, default=list, verbose_name='missing columns')),
                ('applied_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='applied at')),
                ('job', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='profile_use', to='mdm.importjob')),
                ('profile', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='uses', to='mdm.importprofile')),
            ],
            options={
                'verbose_name': 'profile applied to an import',
                'verbose_name_plural': 'profiles applied to imports',
            },
        ),
        migrations.AddConstraint(
            model_name='importprofile',
            constraint=models.UniqueConstraint(fields=('source_system', 'name'), name='import_profile_unique_name'),
        ),
    ]
