"""Delivery of outbox events to target systems: targets (subscriptions,
configuration, circuit breaker and rate-limit state), deliveries with their
attempts, and the link table (what each target holds per golden ID)."""

import datetime

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mdm", "0009_split")]

    operations = [
        migrations.CreateModel(
            name='DeliveryTarget',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.SlugField(max_length=64, unique=True, verbose_name='name')),
                ('kind', models.CharField(help_text='webhook, file, tryton, kingdee, …', max_length=32, verbose_name='kind')),
                ('enabled', models.BooleanField(default=True, verbose_name='enabled')),
                ('topics', models.JSONField(blank=True, default=list, verbose_name='topics')),
                ('config', models.JSONField(blank=True, default=dict, verbose_name='configuration')),
                ('secret_env', models.JSONField(blank=True, default=dict, verbose_name='secret variables')),
                ('timeout_seconds', models.FloatField(default=30.0, verbose_name='time-out (s)')),
                ('batch_size', models.PositiveIntegerField(default=50, verbose_name='batch size')),
                ('rate_limit_per_second', models.FloatField(default=0.0, help_text='0: unlimited', verbose_name='rate limit (per second)')),
                ('retry_max_attempts', models.PositiveIntegerField(default=12, verbose_name='retry attempts at least')),
                ('retry_window', models.DurationField(default=datetime.timedelta(days=3), verbose_name='retry window at least')),
                ('backoff_base_seconds', models.FloatField(default=30.0, verbose_name='backoff base (s)')),
                ('backoff_cap_seconds', models.FloatField(default=21600.0, verbose_name='backoff cap (s)')),
                ('breaker_threshold', models.PositiveIntegerField(default=10, verbose_name='failures that open the circuit')),
                ('breaker_cooldown_seconds', models.FloatField(default=60.0, verbose_name='circuit open for (s)')),
                ('breaker_state', models.CharField(choices=[('closed', 'closed'), ('open', 'open'), ('half_open', 'half open')], default='closed', max_length=16, verbose_name='circuit')),
                ('consecutive_failures', models.PositiveIntegerField(default=0, verbose_name='consecutive failures')),
                ('breaker_open_until', models.DateTimeField(blank=True, null=True)),
                ('paused_until', models.DateTimeField(blank=True, null=True, verbose_name='paused until')),
                ('rate_tat', models.DateTimeField(blank=True, null=True)),
                ('suspended_at', models.DateTimeField(blank=True, null=True, verbose_name='suspended at')),
                ('suspended_reason', models.TextField(blank=True, verbose_name='suspended because')),
                ('last_error', models.TextField(blank=True, verbose_name='last error')),
                ('last_success_at', models.DateTimeField(blank=True, null=True, verbose_name='last success')),
                ('inbound_cursor', models.TextField(blank=True, verbose_name='inbound cursor')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('source_system', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='mdm.sourcesystem', verbose_name='source system')),
            ],
            options={
                'verbose_name': 'delivery target',
                'verbose_name_plural': 'delivery targets',
            },
        ),
        migrations.CreateModel(
            name='Delivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('golden_id', models.CharField(max_length=16, verbose_name='golden ID')),
                ('version', models.PositiveIntegerField(verbose_name='version')),
                ('topic', models.CharField(choices=[('golden.created', 'golden record created'), ('golden.updated', 'golden record updated'), ('golden.merged', 'golden records merged'), ('golden.unmerged', 'merge undone'), ('golden.split', 'golden record split'), ('golden.retired', 'golden record retired')], max_length=32, verbose_name='topic')),
                ('idempotency_key', models.CharField(max_length=64, verbose_name='idempotency key')),
                ('state', models.CharField(choices=[('pending', 'due'), ('in_flight', 'in flight'), ('delivered', 'delivered'), ('superseded', 'superseded by a newer version'), ('conflict', 'conflict'), ('dead', 'dead letter')], default='pending', max_length=16, verbose_name='state')),
                ('attempts', models.PositiveIntegerField(default=0, verbose_name='attempts')),
                ('first_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='next attempt')),
                ('lease_token', models.UUIDField(blank=True, null=True)),
                ('lease_expires_at', models.DateTimeField(blank=True, null=True)),
                ('leased_by', models.CharField(blank=True, max_length=100, verbose_name='worker')),
                ('last_error', models.TextField(blank=True, verbose_name='last error')),
                ('last_status', models.PositiveIntegerField(null=True, verbose_name='last HTTP status')),
                ('delivered_at', models.DateTimeField(blank=True, null=True, verbose_name='delivered at')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('event', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='deliveries', to='mdm.outboxevent', verbose_name='event')),
                ('superseded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='mdm.delivery')),
                ('target', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='mdm.deliverytarget', verbose_name='target')),
            ],
            options={
                'verbose_name': 'delivery',
                'verbose_name_plural': 'deliveries',
            },
        ),
        migrations.CreateModel(
            name='RemoteLink',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('golden_id', models.CharField(max_length=16, verbose_name='golden ID')),
                ('remote_id', models.CharField(blank=True, max_length=255, verbose_name='remote ID')),
                ('remote_version', models.CharField(blank=True, max_length=255, verbose_name='remote version')),
                ('pushed', models.JSONField(blank=True, default=dict, verbose_name='last pushed')),
                ('pushed_hash', models.CharField(blank=True, max_length=64, verbose_name='hash of last pushed')),
                ('state', models.CharField(choices=[('linked', 'linked'), ('remote_archived', 'archived in the target'), ('remote_deleted', 'deleted in the target'), ('conflict', 'conflict')], default='linked', max_length=16, verbose_name='state')),
                ('last_version', models.PositiveIntegerField(default=0, verbose_name='last version sent')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='updated at')),
                ('last_event', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='mdm.outboxevent')),
                ('target', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='links', to='mdm.deliverytarget', verbose_name='target')),
            ],
            options={
                'verbose_name': 'remote link',
                'verbose_name_plural': 'remote links',
            },
        ),
        migrations.CreateModel(
            name='DeliveryAttempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('attempted_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='attempted at')),
                ('duration_ms', models.PositiveIntegerField(default=0, verbose_name='duration (ms)')),
                ('outcome', models.CharField(choices=[('delivered', 'delivered'), ('retry', 'failed, will retry'), ('rate_limited', 'rate-limited'), ('conflict', 'conflict'), ('failed', 'failed for good'), ('gone', 'endpoint gone')], max_length=16, verbose_name='outcome')),
                ('status_code', models.PositiveIntegerField(null=True, verbose_name='HTTP status')),
                ('error', models.TextField(blank=True, verbose_name='error')),
                ('worker', models.CharField(blank=True, max_length=100, verbose_name='worker')),
                ('delivery', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attempt_log', to='mdm.delivery')),
            ],
            options={
                'verbose_name': 'delivery attempt',
                'verbose_name_plural': 'delivery attempts',
                'indexes': [models.Index(fields=['delivery', 'attempted_at'], name='mdm_deliver_deliver_77435c_idx')],
            },
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['state', 'next_attempt_at'], name='mdm_deliver_state_f1f00a_idx'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['target', 'golden_id', 'state'], name='mdm_deliver_target__b283d0_idx'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['target', 'state'], name='mdm_deliver_target__d62eb4_idx'),
        ),
        migrations.AddConstraint(
            model_name='delivery',
            constraint=models.UniqueConstraint(fields=('target', 'event'), name='delivery_one_per_target_event'),
        ),
        migrations.AddIndex(
            model_name='remotelink',
            index=models.Index(fields=['target', 'remote_id'], name='mdm_remotel_target__8000c9_idx'),
        ),
        migrations.AddConstraint(
            model_name='remotelink',
            constraint=models.UniqueConstraint(fields=('target', 'golden_id'), name='remote_link_one_per_target'),
        ),
    ]
