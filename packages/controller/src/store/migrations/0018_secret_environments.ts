import { sql, type Kysely } from 'kysely';

/**
 * A project secret may be scoped to an EAS environment (eas.json `environment`): the key becomes
 * (project, name, environment). '' means every environment, so the key never holds a NULL (NULLs
 * are distinct in a unique key on both engines). SQLite cannot change a primary key in place: the
 * table is rebuilt (create, copy, drop, rename), which works the same on PostgreSQL.
 */
export async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const bytes = dialect === 'postgres' ? sql`bytea` : sql`blob`;
  await db.schema
    .createTable('secrets_scoped')
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('sealed', bytes, (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('secrets_scoped_pk', ['project_id', 'name', 'environment'])
    .execute();
  await sql`insert into secrets_scoped (project_id, name, environment, org_id, sealed, updated_at)
            select project_id, name, '', org_id, sealed, updated_at from secrets`.execute(db);
  await db.schema.dropTable('secrets').execute();
  await db.schema.alterTable('secrets_scoped').renameTo('secrets').execute();
}
