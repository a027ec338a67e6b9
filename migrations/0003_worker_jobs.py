from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.models import JobKind, JobState
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_invariants')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Job',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='SYNC: SYNC\nPROVISION_CAMPAIGN: PROVISION_CAMPAIGN\nRENAME_PROGRAM: RENAME_PROGRAM\nASSETS_FOLDER: ASSETS_FOLDER', enum_type=JobKind, max_length=30)),
                ('platform_integration', fields.ForeignKeyField('models.PlatformIntegration', source_field='platform_integration_id', db_constraint=True, to_field='id', related_name='jobs', on_delete=OnDelete.CASCADE)),
                ('priority', fields.IntField(default=10)),
                ('state', fields.CharEnumField(default=JobState.PENDING, description='PENDING: PENDING\nRUNNING: RUNNING\nDONE: DONE\nFAILED: FAILED', enum_type=JobState, max_length=20)),
                ('run_after', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('sync_run', fields.ForeignKeyField('models.SyncRun', source_field='sync_run_id', null=True, db_constraint=True, to_field='id', related_name='jobs', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='jobs', on_delete=OnDelete.CASCADE)),
                ('launcher', fields.ForeignKeyField('models.Launcher', source_field='launcher_id', null=True, db_constraint=True, to_field='id', related_name='jobs', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'job', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Durable work for the Marketo worker: a row survives any process that dies while running it.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='PlatformIntegration',
            name='last_full_sync_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='PlatformIntegration',
            name='lease_expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='PlatformIntegration',
            name='lease_owner',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.RunSQL("CREATE INDEX idx_job_runnable ON job (state, run_after)"),
        ops.RunSQL("CREATE INDEX idx_job_integration ON job (platform_integration_id, state, priority, id)"),
    ]
