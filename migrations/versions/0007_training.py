"""training area tables: training plans and their review steps, training classes,
trainee scores, units' plan hour declarations with attendees and attachments

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('training_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_kind', sa.String(length=20), nullable=False),
    sa.Column('owner_org_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('county_id', sa.Integer(), nullable=True),
    sa.Column('city_id', sa.Integer(), nullable=True),
    sa.Column('competent_dept_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('training_year', sa.Integer(), nullable=False),
    sa.Column('ce_year', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('planned_trainees', sa.Integer(), nullable=False),
    sa.Column('hours', sa.Numeric(precision=7, scale=1), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('route', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('current_org_id', sa.Integer(), nullable=True),
    sa.Column('current_level', sa.String(length=20), nullable=True),
    sa.Column('reject_reason', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['city_id'], ['org.id'], name=op.f('fk_training_plan_city_id_org')),
    sa.ForeignKeyConstraint(['competent_dept_id'], ['org.id'], name=op.f('fk_training_plan_competent_dept_id_org')),
    sa.ForeignKeyConstraint(['county_id'], ['org.id'], name=op.f('fk_training_plan_county_id_org')),
    sa.ForeignKeyConstraint(['current_org_id'], ['org.id'], name=op.f('fk_training_plan_current_org_id_org')),
    sa.ForeignKeyConstraint(['form_id'], ['learning_form.id'], name=op.f('fk_training_plan_form_id_learning_form')),
    sa.ForeignKeyConstraint(['institution_id'], ['org.id'], name=op.f('fk_training_plan_institution_id_org')),
    sa.ForeignKeyConstraint(['owner_org_id'], ['org.id'], name=op.f('fk_training_plan_owner_org_id_org')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_training_plan_subject_id_subject')),
    sa.ForeignKeyConstraint(['unit_id'], ['org.id'], name=op.f('fk_training_plan_unit_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_plan'))
    )
    with op.batch_alter_table('training_plan', schema=None) as batch_op:
        batch_op.create_index('ix_training_plan_city', ['city_id', 'status'], unique=False)
        batch_op.create_index('ix_training_plan_competent', ['competent_dept_id', 'status'], unique=False)
        batch_op.create_index('ix_training_plan_county', ['county_id', 'status'], unique=False)
        batch_op.create_index('ix_training_plan_institution', ['institution_id', 'status', 'ce_year'], unique=False)
        batch_op.create_index('ix_training_plan_queue', ['current_org_id', 'status'], unique=False)
        batch_op.create_index('ix_training_plan_unit', ['unit_id', 'status', 'ce_year'], unique=False)

    op.create_table('training_class',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=True),
    sa.Column('city_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('training_year', sa.Integer(), nullable=False),
    sa.Column('ce_year', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('planned_trainees', sa.Integer(), nullable=False),
    sa.Column('hours', sa.Numeric(precision=7, scale=1), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('teacher', sa.String(length=100), nullable=True),
    sa.Column('remark', sa.String(length=500), nullable=True),
    sa.Column('declared_at', sa.DateTime(), nullable=True),
    sa.Column('declared_route', sa.String(length=20), nullable=True),
    sa.Column('declared_by_id', sa.Integer(), nullable=True),
    sa.Column('declared_count', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['org.id'], name=op.f('fk_training_class_city_id_org')),
    sa.ForeignKeyConstraint(['county_id'], ['org.id'], name=op.f('fk_training_class_county_id_org')),
    sa.ForeignKeyConstraint(['declared_by_id'], ['membership.id'], name=op.f('fk_training_class_declared_by_id_membership')),
    sa.ForeignKeyConstraint(['form_id'], ['learning_form.id'], name=op.f('fk_training_class_form_id_learning_form')),
    sa.ForeignKeyConstraint(['institution_id'], ['org.id'], name=op.f('fk_training_class_institution_id_org')),
    sa.ForeignKeyConstraint(['plan_id'], ['training_plan.id'], name=op.f('fk_training_class_plan_id_training_plan')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_training_class_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_class'))
    )
    with op.batch_alter_table('training_class', schema=None) as batch_op:
        batch_op.create_index('ix_training_class_city', ['city_id'], unique=False)
        batch_op.create_index('ix_training_class_county', ['county_id'], unique=False)
        batch_op.create_index('ix_training_class_institution', ['institution_id', 'ce_year', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_class_plan_id'), ['plan_id'], unique=False)

    op.create_table('training_plan_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('actor_membership_id', sa.Integer(), nullable=True),
    sa.Column('acted_at', sa.DateTime(), nullable=True),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['actor_membership_id'], ['membership.id'], name=op.f('fk_training_plan_step_actor_membership_id_membership')),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_training_plan_step_org_id_org')),
    sa.ForeignKeyConstraint(['plan_id'], ['training_plan.id'], name=op.f('fk_training_plan_step_plan_id_training_plan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_plan_step'))
    )
    with op.batch_alter_table('training_plan_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_plan_step_plan_id'), ['plan_id'], unique=False)

    op.create_table('unit_plan_declaration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=True),
    sa.Column('city_id', sa.Integer(), nullable=True),
    sa.Column('competent_dept_id', sa.Integer(), nullable=True),
    sa.Column('hours', sa.Numeric(precision=7, scale=1), nullable=False),
    sa.Column('remark', sa.String(length=1000), nullable=True),
    sa.Column('declared_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['org.id'], name=op.f('fk_unit_plan_declaration_city_id_org')),
    sa.ForeignKeyConstraint(['competent_dept_id'], ['org.id'], name=op.f('fk_unit_plan_declaration_competent_dept_id_org')),
    sa.ForeignKeyConstraint(['county_id'], ['org.id'], name=op.f('fk_unit_plan_declaration_county_id_org')),
    sa.ForeignKeyConstraint(['declared_by_id'], ['membership.id'], name=op.f('fk_unit_plan_declaration_declared_by_id_membership')),
    sa.ForeignKeyConstraint(['plan_id'], ['training_plan.id'], name=op.f('fk_unit_plan_declaration_plan_id_training_plan')),
    sa.ForeignKeyConstraint(['unit_id'], ['org.id'], name=op.f('fk_unit_plan_declaration_unit_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_plan_declaration'))
    )
    with op.batch_alter_table('unit_plan_declaration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_plan_declaration_city_id'), ['city_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_plan_declaration_competent_dept_id'), ['competent_dept_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_plan_declaration_county_id'), ['county_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_plan_declaration_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_plan_declaration_unit_id'), ['unit_id'], unique=False)

    op.create_table('trainee_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('remark', sa.String(length=500), nullable=True),
    sa.Column('declaration_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], name=op.f('fk_trainee_score_class_id_training_class')),
    sa.ForeignKeyConstraint(['declaration_id'], ['declaration.id'], name=op.f('fk_trainee_score_declaration_id_declaration')),
    sa.ForeignKeyConstraint(['institution_id'], ['org.id'], name=op.f('fk_trainee_score_institution_id_org')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_trainee_score_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trainee_score')),
    sa.UniqueConstraint('class_id', 'person_id', name='uq_trainee_score_class_person'),
    sa.UniqueConstraint('declaration_id', name=op.f('uq_trainee_score_declaration_id'))
    )
    with op.batch_alter_table('trainee_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trainee_score_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trainee_score_person_id'), ['person_id'], unique=False)

    op.create_table('unit_plan_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('stored_name', sa.String(length=100), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['unit_plan_declaration.id'], name=op.f('fk_unit_plan_attachment_batch_id_unit_plan_declaration')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_plan_attachment')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_unit_plan_attachment_stored_name'))
    )
    with op.batch_alter_table('unit_plan_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_plan_attachment_batch_id'), ['batch_id'], unique=False)

    op.create_table('unit_plan_attendee',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('declaration_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['unit_plan_declaration.id'], name=op.f('fk_unit_plan_attendee_batch_id_unit_plan_declaration')),
    sa.ForeignKeyConstraint(['declaration_id'], ['declaration.id'], name=op.f('fk_unit_plan_attendee_declaration_id_declaration')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_unit_plan_attendee_person_id_person')),
    sa.ForeignKeyConstraint(['plan_id'], ['training_plan.id'], name=op.f('fk_unit_plan_attendee_plan_id_training_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_plan_attendee')),
    sa.UniqueConstraint('declaration_id', name=op.f('uq_unit_plan_attendee_declaration_id')),
    sa.UniqueConstraint('plan_id', 'person_id', name='uq_unit_plan_attendee_plan_person')
    )
    with op.batch_alter_table('unit_plan_attendee', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_plan_attendee_batch_id'), ['batch_id'], unique=False)



def downgrade():
    with op.batch_alter_table('unit_plan_attendee', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_plan_attendee_batch_id'))

    op.drop_table('unit_plan_attendee')
    with op.batch_alter_table('unit_plan_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_plan_attachment_batch_id'))

    op.drop_table('unit_plan_attachment')
    with op.batch_alter_table('trainee_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trainee_score_person_id'))
        batch_op.drop_index(batch_op.f('ix_trainee_score_institution_id'))

    op.drop_table('trainee_score')
    with op.batch_alter_table('unit_plan_declaration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_plan_declaration_unit_id'))
        batch_op.drop_index(batch_op.f('ix_unit_plan_declaration_plan_id'))
        batch_op.drop_index(batch_op.f('ix_unit_plan_declaration_county_id'))
        batch_op.drop_index(batch_op.f('ix_unit_plan_declaration_competent_dept_id'))
        batch_op.drop_index(batch_op.f('ix_unit_plan_declaration_city_id'))

    op.drop_table('unit_plan_declaration')
    with op.batch_alter_table('training_plan_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_plan_step_plan_id'))

    op.drop_table('training_plan_step')
    with op.batch_alter_table('training_class', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_class_plan_id'))
        batch_op.drop_index('ix_training_class_institution')
        batch_op.drop_index('ix_training_class_county')
        batch_op.drop_index('ix_training_class_city')

    op.drop_table('training_class')
    with op.batch_alter_table('training_plan', schema=None) as batch_op:
        batch_op.drop_index('ix_training_plan_unit')
        batch_op.drop_index('ix_training_plan_queue')
        batch_op.drop_index('ix_training_plan_institution')
        batch_op.drop_index('ix_training_plan_county')
        batch_op.drop_index('ix_training_plan_competent')
        batch_op.drop_index('ix_training_plan_city')

    op.drop_table('training_plan')
