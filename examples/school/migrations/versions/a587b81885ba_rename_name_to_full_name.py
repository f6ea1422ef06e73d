"""Rename name to full_name

Revision ID: a587b81885ba
Revises: 861ba907e84d
Create Date: 2026-11-25 01:57:37.286970

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'a587b81885ba'
down_revision: Union[str, Sequence[str], None] = '861ba907e84d'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.alter_column('students', 'name', new_column_name='full_name')


def downgrade() -> None:
    """Downgrade schema."""
    op.alter_column('students', 'full_name', new_column_name='name')
