import { ApiError, type Role, type TrustRule } from '@buildmesh/protocol';
import type { Db } from '../rows.js';
import type { TrustRulesTable } from '../schema.js';
import { isUniqueViolation } from './unique-violation.js';

const toRule = (r: TrustRulesTable): TrustRule => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  issuer: r.issuer,
  audience: r.audience,
  condition: r.condition,
  role: r.role as Role,
  project: r.project,
  ttlSeconds: Number(r.ttl_seconds),
  createdAt: r.created_at,
});

export async function listTrustRules(db: Db, orgId: string): Promise<TrustRule[]> {
  return (await db.selectFrom('trust_rules').selectAll().where('org_id', '=', orgId).orderBy('id').execute()).map(toRule);
}

/** An org id's shape (`org_` and 26 base-32 characters): such a value always names an org by id, never by name. */
const ORG_ID = /^org_[0-9a-z]{26}$/;

/**
 * One org's rules for one issuer, oldest first (the exchange takes the first that matches); the org is
 * named by its id or its name, and an unknown org has none. Never another org's rules: which org a CI
 * identity is exchanged for is the caller's choice, not whichever org trusted the issuer first.
 */
export async function orgTrustRulesForIssuer(db: Db, org: string, issuer: string): Promise<TrustRule[]> {
  const query = ORG_ID.test(org)
    ? db.selectFrom('trust_rules').selectAll('trust_rules').where('trust_rules.org_id', '=', org)
    : db.selectFrom('trust_rules').innerJoin('orgs', 'orgs.id', 'trust_rules.org_id').selectAll('trust_rules').where('orgs.name', '=', org);
  return (await query.where('trust_rules.issuer', '=', issuer).orderBy('trust_rules.id').execute()).map(toRule);
}

export async function insertTrustRule(db: Db, rule: TrustRule): Promise<TrustRule> {
  const row: TrustRulesTable = {
    id: rule.id,
    org_id: rule.orgId,
    name: rule.name,
    issuer: rule.issuer,
    audience: rule.audience,
    condition: rule.condition,
    role: rule.role,
    project: rule.project,
    ttl_seconds: rule.ttlSeconds,
    created_at: rule.createdAt,
  };
  try {
    await db.insertInto('trust_rules').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ApiError('NAME_TAKEN', `the org already has a trust rule named ${rule.name}`);
    throw err;
  }
  return toRule(row);
}

export async function deleteTrustRule(db: Db, orgId: string, id: string): Promise<TrustRule | undefined> {
  const row = await db.deleteFrom('trust_rules').where('id', '=', id).where('org_id', '=', orgId).returningAll().executeTakeFirst();
  return row && toRule(row);
}
