import pytest

from tests.ops import pg


@pytest.fixture(scope="session")
def postgres_superuser():
    """Skip unless the suite runs on PostgreSQL as a role that may create databases and roles."""
    if not pg.is_postgres():
        pytest.skip("PostgreSQL only: roles, pg_dump and privileges do not exist on SQLite")
    if not pg.can_create_roles():
        pytest.skip("DATABASE_URL's role is not a superuser: cannot create throwaway databases and roles")
