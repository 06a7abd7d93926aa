/**
 * `buildmesh admin trust add|list|rm`: which CI identities may build. A rule names an OIDC issuer,
 * the audience its ID tokens carry, and a condition on their claims; a matching token is exchanged
 * for a short-lived token of this org (see `buildmesh build --oidc-token`).
 */
import { Option } from 'commander';
import type { CreateTrustRuleRequest } from '@buildmesh/protocol';
import { action, command, group } from '../../command-kit.js';
import { connect } from '../../config.js';
import { formatAgo, renderTable } from '../../output.js';

const GITHUB = 'https://token.actions.githubusercontent.com';

interface AddOptions {
  json?: boolean;
  issuer: string;
  audience: string;
  condition: string;
  role: 'member' | 'read-only';
  project?: string;
  ttl?: string;
  org?: string;
}

const add = action<AddOptions>(
  command('add', 'Trust CI ID tokens of an issuer whose claims match a condition', [
    `buildmesh admin trust add app-main --condition 'repository == "acme/app" && ref == "refs/heads/main"' --project app`,
    `buildmesh admin trust add gitlab-tags --issuer https://gitlab.example.com --condition 'project_path == "acme/app" && ref_type == "tag"'`,
  ])
    .argument('<name>', 'rule name: lower-case letters, digits, . _ -')
    .requiredOption('--condition <expr>', 'claims to require: claim == "value" (a * matches anything) or != "value", joined by &&')
    .option('--issuer <url>', "the ID token's iss (https)", GITHUB)
    .option('--audience <aud>', "the ID token's aud (set the same when requesting the token in CI)", 'buildmesh')
    .addOption(new Option('--role <role>', 'role of the exchanged token').choices(['member', 'read-only']).default('member'))
    .option('--project <name>', 'the exchanged token may build only this project (default: any)')
    .option('--ttl <seconds>', 'lifetime of the exchanged token, 5…3600 seconds (default 900)')
    .option('--org <id>', "another org's id (instance admin only; default: your org)")
    .addHelpText('after', '\nJSON (--json): TrustRule { id, orgId, name, issuer, audience, condition, role, project, ttlSeconds, createdAt }\n'),
  async ({ out, opts, args }) => {
    const { client } = await connect();
    const request: CreateTrustRuleRequest = {
      name: args[0]!,
      issuer: opts.issuer,
      audience: opts.audience,
      condition: opts.condition,
      role: opts.role,
      ...(opts.project ? { project: opts.project } : {}),
      ...(opts.ttl ? { ttlSeconds: Number(opts.ttl) } : {}),
      ...(opts.org ? { orgId: opts.org } : {}),
    };
    const rule = await client.createTrustRule(request);
    if (out.json) return out.printJson(rule);
    out.info(`${out.c.green('✔')} Trust rule ${out.c.bold(rule.name)} (${rule.id}) added: ${rule.issuer} tokens for ${rule.audience} where ${rule.condition}`);
    out.info(`In CI, request an ID token with audience ${rule.audience} and run: buildmesh build --org ${rule.orgId} --oidc-token "$TOKEN" (or set BUILDMESH_ORG and BUILDMESH_OIDC_TOKEN)`);
  },
);

const list = action<{ json?: boolean }>(
  command('list', "List your org's trust rules", ['buildmesh admin trust list']).addHelpText('after', '\nJSON (--json): { rules: TrustRule[] }\n'),
  async ({ out }) => {
    const { client } = await connect();
    const { rules } = await client.listTrustRules();
    if (out.json) return out.printJson({ rules });
    if (rules.length === 0) return out.info('No trust rules: CI cannot exchange ID tokens yet (buildmesh admin trust add).');
    out.info(renderTable(rules, [
      { header: 'ID', value: (r) => r.id },
      { header: 'NAME', value: (r) => r.name, max: 24 },
      { header: 'ISSUER', value: (r) => r.issuer, max: 40 },
      { header: 'AUDIENCE', value: (r) => r.audience, max: 20 },
      { header: 'CONDITION', value: (r) => r.condition, max: 60 },
      { header: 'ROLE', value: (r) => r.role },
      { header: 'PROJECT', value: (r) => r.project ?? '(any)' },
      { header: 'TTL', value: (r) => `${r.ttlSeconds}s` },
      { header: 'CREATED', value: (r) => formatAgo(r.createdAt) },
    ], out.c));
  },
);

const rm = action<{ json?: boolean }>(
  command('rm', 'Remove a trust rule: its issuer\'s tokens are no longer exchanged (tokens already issued live out their minutes)', [
    'buildmesh admin trust rm trr_01jb7x6k2m3n4p5q6r7s8t9v0w',
  ])
    .argument('<id>', 'rule id (trr_…), from `buildmesh admin trust list`')
    .addHelpText('after', '\nJSON (--json): TrustRule (the removed rule)\n'),
  async ({ out, args }) => {
    const { client } = await connect();
    const rule = await client.deleteTrustRule(args[0]!);
    if (out.json) return out.printJson(rule);
    out.info(`${out.c.green('✔')} Trust rule ${rule.name} (${rule.id}) removed.`);
  },
);

export const trustCommand = group('trust', 'Trust CI identities (OIDC ID tokens) to build with short-lived tokens', [
  `buildmesh admin trust add app-main --condition 'repository == "acme/app" && ref == "refs/heads/main"' --project app`,
  'buildmesh admin trust list',
  'buildmesh admin trust rm trr_01jb7x6k2m3n4p5q6r7s8t9v0w',
], [add, list, rm]);
