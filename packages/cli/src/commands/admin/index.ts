/** `buildmesh admin`: orgs, API tokens and worker enrollment tokens. */
import { group } from '../../command-kit.js';
import { enrollTokenCommand } from './enroll-token.js';
import { orgCommand } from './org.js';
import { rotateInstanceTokenCommand } from './rotate-instance-token.js';
import { tokenCommand } from './token.js';
import { auditCommand } from './audit.js';
import { rotateKeyCommand } from './rotate-key.js';
import { trustCommand } from './trust.js';
import { provenanceKeyCommand } from './provenance-key.js';

export const adminCommand = group('admin', 'Administer orgs, API tokens and worker enrollment tokens', [
  'buildmesh admin org create acme',
  'buildmesh admin token create ci --role member',
  'buildmesh admin enroll-token create mac-minis',
  'buildmesh admin audit --since 24h',
  'buildmesh admin trust list',
], [orgCommand, tokenCommand, enrollTokenCommand, rotateInstanceTokenCommand, rotateKeyCommand, auditCommand, trustCommand, provenanceKeyCommand]);
