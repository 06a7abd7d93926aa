/**
 * A loopback OIDC issuer for CI token exchange tests: serves a discovery document and a JWKS
 * (one ES256 key) over plain HTTP on 127.0.0.1, and signs ID tokens with that key, as GitHub
 * Actions or GitLab would. `jwksFetches` counts key-set reads (the controller should cache them),
 * `requests` every request. A controller reaches it only with BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

export interface LoopbackIssuer {
  issuer: string;
  /** An ID token with these claims (iss, iat and exp filled in unless given). */
  sign(claims: JWTPayload, options?: { expiresInSeconds?: number; key?: CryptoKey }): Promise<string>;
  jwksFetches: number;
  /** Every request the issuer has answered. */
  readonly requests: number;
  close(): Promise<void>;
}

export async function startLoopbackIssuer(): Promise<LoopbackIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key-1', alg: 'ES256', use: 'sig' };
  let issuer = '';
  const state = { jwksFetches: 0, requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') return send({ issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['ES256'] });
    if (req.url === '/jwks') {
      state.jwksFetches++;
      return send({ keys: [jwk] });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    get jwksFetches() {
      return state.jwksFetches;
    },
    set jwksFetches(n: number) {
      state.jwksFetches = n;
    },
    get requests() {
      return state.requests;
    },
    async sign(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, iat: now, exp: now + (options.expiresInSeconds ?? 300), ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'test-key-1', typ: 'JWT' })
        .sign(options.key ?? privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
