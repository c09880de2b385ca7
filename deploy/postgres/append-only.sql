-- The audit trail (and any monthly partition of it) and its seals are append-only for every role but their owner:
-- take back UPDATE, DELETE and TRUNCATE wherever they were granted, e.g. by the default
-- privileges of roles.sql when a migration creates the table, or by a restore.
-- Run by roles.sql, by deploy/restore.sh and after every `migrate` (agepar/db_grants.py).
-- Acts only on tables the current role may act for (their owner, or a superuser); no role names.
DO $append_only$
DECLARE
  statement text;
BEGIN
  FOR statement IN
    SELECT DISTINCT format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.%I FROM %s', n.nspname, c.relname,
                           CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END)
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      CROSS JOIN LATERAL aclexplode(c.relacl) acl
      LEFT JOIN pg_roles r ON r.oid = acl.grantee
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
       AND c.relname ~ '^audits_(auditevent(_.*)?|auditseal)$'
       AND pg_has_role(current_user, c.relowner, 'USAGE')
       AND acl.grantee <> c.relowner
       AND acl.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')
  LOOP
    EXECUTE statement;
  END LOOP;
END
$append_only$;
