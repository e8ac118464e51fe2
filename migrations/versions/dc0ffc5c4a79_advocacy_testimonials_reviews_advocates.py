"""advocacy: testimonials with consent, review requests, opt-ins, the ask cap, acts

Revision ID: dc0ffc5c4a79
Revises: 22c4be386789
Create Date: 2026-12-01 10:12:29.055986

"""
from alembic import op
import sqlalchemy as sa

import api.database
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'dc0ffc5c4a79'
down_revision = '22c4be386789'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('advocacy_settings',
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('review_ask', sa.String(length=16), nullable=False),
    sa.Column('review_destinations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('ask_cooldown_days', sa.Integer(), nullable=False),
    sa.Column('created_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_advocacy_settings_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workspace_id', name=op.f('pk_advocacy_settings'))
    )
    op.create_table('advocacy_acts',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('contact_id', sa.String(length=32), nullable=False),
    sa.Column('act', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.String(length=32), nullable=True),
    sa.Column('destination', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('occurred_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_advocacy_acts_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_advocacy_acts_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_advocacy_acts')),
    sa.UniqueConstraint('act', 'subject_id', name=op.f('uq_advocacy_acts_act_subject_id'))
    )
    with op.batch_alter_table('advocacy_acts', schema=None) as batch_op:
        batch_op.create_index('ix_advocacy_acts_contact', ['contact_id'], unique=False)
        batch_op.create_index('ix_advocacy_acts_workspace_occurred', ['workspace_id', 'occurred_at'], unique=False)

    op.create_table('advocacy_asks',
    sa.Column('contact_id', sa.String(length=32), nullable=False),
    sa.Column('act', sa.String(length=16), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('asked_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('response_id', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_advocacy_asks_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_advocacy_asks_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', 'act', name=op.f('pk_advocacy_asks'))
    )
    with op.batch_alter_table('advocacy_asks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_advocacy_asks_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('advocate_opt_ins',
    sa.Column('contact_id', sa.String(length=32), nullable=False),
    sa.Column('act', sa.String(length=16), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('opted_in_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_advocate_opt_ins_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_advocate_opt_ins_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', 'act', name=op.f('pk_advocate_opt_ins'))
    )
    with op.batch_alter_table('advocate_opt_ins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_advocate_opt_ins_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('review_requests',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('contact_id', sa.String(length=32), nullable=False),
    sa.Column('response_id', sa.String(length=32), nullable=True),
    sa.Column('survey_id', sa.String(length=32), nullable=True),
    sa.Column('category', sa.String(length=16), nullable=True),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('first_clicked_at', api.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_at', api.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_destination_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_review_requests_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_review_requests_response_id_responses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_review_requests_survey_id_surveys'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_review_requests_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_requests')),
    sa.UniqueConstraint('response_id', name=op.f('uq_review_requests_response_id'))
    )
    with op.batch_alter_table('review_requests', schema=None) as batch_op:
        batch_op.create_index('ix_review_requests_contact', ['contact_id'], unique=False)
        batch_op.create_index('ix_review_requests_workspace_created', ['workspace_id', 'created_at'], unique=False)

    op.create_table('testimonials',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('contact_id', sa.String(length=32), nullable=False),
    sa.Column('response_id', sa.String(length=32), nullable=True),
    sa.Column('survey_id', sa.String(length=32), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=100), nullable=True),
    sa.Column('company', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('featured', sa.Boolean(), nullable=False),
    sa.Column('consent_text', sa.Text(), nullable=False),
    sa.Column('consent_channel', sa.String(length=8), nullable=False),
    sa.Column('consent_locale', sa.String(length=16), nullable=True),
    sa.Column('consented_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', api.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('moderated_at', api.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_testimonials_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_testimonials_response_id_responses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_testimonials_survey_id_surveys'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_testimonials_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_testimonials')),
    sa.UniqueConstraint('response_id', name=op.f('uq_testimonials_response_id'))
    )
    with op.batch_alter_table('testimonials', schema=None) as batch_op:
        batch_op.create_index('ix_testimonials_contact', ['contact_id'], unique=False)
        batch_op.create_index('ix_testimonials_workspace_status', ['workspace_id', 'status', 'id'], unique=False)

    op.create_table('review_clicks',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('workspace_id', sa.String(length=32), nullable=False),
    sa.Column('review_request_id', sa.String(length=32), nullable=False),
    sa.Column('destination_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', api.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['review_request_id'], ['review_requests.id'], name=op.f('fk_review_clicks_review_request_id_review_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_review_clicks_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_clicks'))
    )
    with op.batch_alter_table('review_clicks', schema=None) as batch_op:
        batch_op.create_index('ix_review_clicks_request', ['review_request_id'], unique=False)

    op.create_table('testimonial_tags',
    sa.Column('testimonial_id', sa.String(length=32), nullable=False),
    sa.Column('tag', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['testimonial_id'], ['testimonials.id'], name=op.f('fk_testimonial_tags_testimonial_id_testimonials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('testimonial_id', 'tag', name=op.f('pk_testimonial_tags'))
    )
    with op.batch_alter_table('testimonial_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_testimonial_tags_tag'), ['tag'], unique=False)



def downgrade():
    with op.batch_alter_table('testimonial_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_testimonial_tags_tag'))

    op.drop_table('testimonial_tags')
    with op.batch_alter_table('review_clicks', schema=None) as batch_op:
        batch_op.drop_index('ix_review_clicks_request')

    op.drop_table('review_clicks')
    with op.batch_alter_table('testimonials', schema=None) as batch_op:
        batch_op.drop_index('ix_testimonials_workspace_status')
        batch_op.drop_index('ix_testimonials_contact')

    op.drop_table('testimonials')
    with op.batch_alter_table('review_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_review_requests_workspace_created')
        batch_op.drop_index('ix_review_requests_contact')

    op.drop_table('review_requests')
    with op.batch_alter_table('advocate_opt_ins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_advocate_opt_ins_workspace_id'))

    op.drop_table('advocate_opt_ins')
    with op.batch_alter_table('advocacy_asks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_advocacy_asks_workspace_id'))

    op.drop_table('advocacy_asks')
    with op.batch_alter_table('advocacy_acts', schema=None) as batch_op:
        batch_op.drop_index('ix_advocacy_acts_workspace_occurred')
        batch_op.drop_index('ix_advocacy_acts_contact')

    op.drop_table('advocacy_acts')
    op.drop_table('advocacy_settings')
