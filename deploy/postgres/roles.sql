-- Portal AGEPAR: least-privilege PostgreSQL roles (docs/operations.md, "PostgreSQL roles").
--
--   owner (migrator)  owns the database, the schema objects and runs `manage.py migrate` and the
--                     retention commands (deploy/as-migrator.sh). Never used by the web server.
--   app               what gunicorn and the task worker use: CONNECT, USAGE on schema public,
--                     SELECT/INSERT/UPDATE/DELETE on tables, USAGE/SELECT on sequences; no DDL,
--                     no TRUNCATE, and no UPDATE/DELETE on the audit trail.
--
-- Run it as a superuser connected to the application database (deploy/postgres/apply-roles.sh
-- does that). Role names and passwords come from psql variables or the environment:
--   owner / AGEPAR_DB_OWNER (default agepar_owner), app / AGEPAR_DB_APP (default agepar_app),
--   owner_password / AGEPAR_DB_OWNER_PASSWORD, app_password / AGEPAR_DB_APP_PASSWORD
--   (a password left unset is not changed: use it for certificate or peer authentication);
--   app_statement_timeout (default 120s) caps any one statement of the app role.
-- Idempotent: apply it on an empty database before the first `migrate`, and again whenever you
-- like; it also adopts a database that an earlier deployment migrated with another role.
\set ON_ERROR_STOP on
\if :{?owner}
\else
  \getenv owner AGEPAR_DB_OWNER
  \if :{?owner}
  \else
    \set owner agepar_owner
  \endif
\endif
\if :{?app}
\else
  \getenv app AGEPAR_DB_APP
  \if :{?app}
  \else
    \set app agepar_app
  \endif
\endif
\if :{?app_statement_timeout}
\else
  \set app_statement_timeout 120s
\endif
\if :{?owner_password}
\else
  \getenv owner_password AGEPAR_DB_OWNER_PASSWORD
\endif
\if :{?app_password}
\else
  \getenv app_password AGEPAR_DB_APP_PASSWORD
\endif

BEGIN;

-- Roles: log in, nothing else. NOINHERIT on the app role so that a later `GRANT owner TO app`
-- by mistake would not silently hand it the owner's rights.
SELECT format('CREATE ROLE %I', :'owner') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I', :'app') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') \gexec
ALTER ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
-- A runaway query or a transaction left open must not hold one of the pool's connections forever.
-- Only the app role: migrations and retention (owner) may legitimately run longer.
ALTER ROLE :"app" SET statement_timeout = :'app_statement_timeout';
ALTER ROLE :"app" SET idle_in_transaction_session_timeout = '5min';
\if :{?owner_password}
ALTER ROLE :"owner" PASSWORD :'owner_password';
\endif
\if :{?app_password}
ALTER ROLE :"app" PASSWORD :'app_password';
\endif

-- The database belongs to the owner: on PostgreSQL 15 that makes it the owner of schema public
-- (pg_database_owner), and lets migrations create trusted extensions such as pg_trgm.
SELECT format('ALTER DATABASE %I OWNER TO %I', current_database(), :'owner') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'app') \gexec

-- A schema public created before PostgreSQL 15 is owned by postgres and open to everyone.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO :"owner";
GRANT USAGE ON SCHEMA public TO :"app";

-- Adopt what an earlier deployment created with another role (extension members excluded:
-- they belong to their extension). Sequences owned by a column follow their table.
SELECT format('ALTER %s %I.%I OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                             WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
              n.nspname, c.relname, :'owner')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
   AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'owner')
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                             AND d.deptype IN ('e', 'a', 'i')) \gexec
SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, :'owner')
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = :'owner')
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                             AND d.deptype = 'e') \gexec

-- What exists now...
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
-- ...and whatever later migrations create (they run as the owner), with no manual grant.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO :"app";

-- The audit trail is append-only for the app: it may read and insert, never rewrite or delete
-- (retention runs as the owner through prune_audits). The same file runs after every `migrate`.
\ir append-only.sql

COMMIT;
