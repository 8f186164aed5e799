from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index
from storage.migration_order import ordered


class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = ordered([
        ops.AddIndex(
            model_name='AcceptanceRequest',
            index=Index(fields=['state']),
        ),
        ops.AddIndex(
            model_name='AlertLog',
            index=Index(fields=['subject', 'recipient']),
        ),
        ops.AddIndex(
            model_name='AuditEntry',
            index=Index(fields=['subject']),
        ),
        ops.AddIndex(
            model_name='CardPost',
            index=Index(fields=['message_ref']),
        ),
        ops.AddIndex(
            model_name='ChangeRequest',
            index=Index(fields=['collaboration_id']),
        ),
        ops.AddIndex(
            model_name='Collaboration',
            index=Index(fields=['state']),
        ),
        ops.AddIndex(
            model_name='Confirmation',
            index=Index(fields=['person_id', 'state']),
        ),
        ops.AddIndex(
            model_name='DelayNotice',
            index=Index(fields=['collaboration_id']),
        ),
        ops.AddIndex(
            model_name='DelayNotice',
            index=Index(fields=['subtask_id']),
        ),
        ops.AddIndex(
            model_name='DigestSubscription',
            index=Index(fields=['person_id']),
        ),
        ops.AddIndex(
            model_name='GroupBinding',
            index=Index(fields=['group_id']),
        ),
        ops.AddIndex(
            model_name='Identity',
            index=Index(fields=['person_id']),
        ),
        ops.AddIndex(
            model_name='Improvement',
            index=Index(fields=['collaboration_id']),
        ),
        ops.AddIndex(
            model_name='Issue',
            index=Index(fields=['collaboration_id']),
        ),
        ops.AddIndex(
            model_name='Meeting',
            index=Index(fields=['collaboration_id']),
        ),
        ops.AddIndex(
            model_name='OutboxMessage',
            index=Index(fields=['platform', 'message_ref']),
        ),
        ops.AddIndex(
            model_name='Person',
            index=Index(fields=['department_id']),
        ),
        ops.AddIndex(
            model_name='PlannedSubtask',
            index=Index(fields=['collaboration_id']),
        ),
        ops.AddIndex(
            model_name='ProgressUpdate',
            index=Index(fields=['subtask_id']),
        ),
        ops.AddIndex(
            model_name='RequestedDepartment',
            index=Index(fields=['department_id']),
        ),
        ops.AddIndex(
            model_name='RiskReport',
            index=Index(fields=['collaboration_id']),
        ),
        ops.AddIndex(
            model_name='StandupAbsence',
            index=Index(fields=['person_id']),
        ),
        ops.AddIndex(
            model_name='Subtask',
            index=Index(fields=['collaboration_id']),
        ),
        ops.AddIndex(
            model_name='Subtask',
            index=Index(fields=['owner_id']),
        ),
    ])
