/**
 * GET /cli/buildmesh.tgz (and /cli/buildmesh-<version>.tgz): the CLI as an npm package; the same
 * names + `.sha256` give its checksum as `sha256sum` prints it. Public, like the dashboard's files:
 * it is the code every user of this controller runs. 404 NOT_FOUND when it is not built.
 */
import { createReadStream } from 'node:fs';
import { ApiError } from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import { findCliPackage } from '../cli-package.js';

export function registerCliPackageRoutes(app: App): void {
  app.get<{ Params: { file: string } }>('/cli/:file', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const pkg = findCliPackage();
    const name = request.params.file;
    const versioned = pkg ? `buildmesh-${pkg.version}.tgz` : '';
    const wanted = name.endsWith('.sha256') ? name.slice(0, -'.sha256'.length) : name;
    if (!pkg || (wanted !== 'buildmesh.tgz' && wanted !== versioned)) {
      throw new ApiError('NOT_FOUND', pkg ? `No such file; the CLI is at /cli/buildmesh.tgz (${versioned}).` : 'The CLI package is not built on this controller: run `npm run build` in its checkout.');
    }
    reply.header('cache-control', 'no-cache');
    if (name.endsWith('.sha256')) return reply.type('text/plain; charset=utf-8').send(`${pkg.sha256}  ${versioned}\n`);
    reply.header('content-disposition', `attachment; filename="${versioned}"`);
    reply.header('x-buildmesh-cli-version', pkg.version);
    return reply.type('application/gzip').send(createReadStream(pkg.file));
  });
}
