// An independent OpenID Connect provider (panva/oidc-provider 9, OpenID certified) mounted
// under a Keycloak-style issuer, for tis-auth's interoperability tests.
//
//   node server.mjs [realm]
//
// Listens on 127.0.0.1, port chosen by the OS, and prints the port alone as the first line
// of stdout. The issuer is http://127.0.0.1:PORT/realms/<realm> (default realm "test");
// discovery, JWKS (/protocol/openid-connect/certs) and token
// (/protocol/openid-connect/token) live under it where Keycloak puts them.
//
// One confidential client, "tis-batch" / "tis-batch-secret", may use client_credentials.
// Through the resourceIndicators feature its access tokens are RS256 JWTs (typ at+jwt) for
// audience "tis-test", with Keycloak's realm_access.roles and preferred_username added by
// extraTokenClaims.
//
// Test-only key rotation (loopback only, no authentication: never run this anywhere else):
//   POST /admin/keys/rotate  new RS256 key signs from now on; the old keys stay published
//   POST /admin/keys/prune   only the current signing key stays published
// Both answer {"kids": [...published kids, signing key first]}.

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const realm = process.argv[2] || 'test';
const prefix = `/realms/${realm}`;
const AUDIENCE = 'tis-test';
const RESOURCE = 'urn:tis:api';

function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

function configuration(keys) {
  return {
    clients: [
      {
        client_id: 'tis-batch',
        client_secret: 'tis-batch-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys },
    routes: {
      jwks: '/protocol/openid-connect/certs',
      token: '/protocol/openid-connect/token',
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({
          scope: 'api',
          audience: AUDIENCE,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: async (_ctx, token) => ({
      preferred_username: `service-account-${token.clientId}`,
      realm_access: { roles: ['ETL', 'offline_access'] },
      dbc: ['1-AIIDWA'],
    }),
  };
}

let keys = [newKey()];
let provider;
let issuer;

function build() {
  provider = new Provider(issuer, configuration(keys));
  provider.proxy = false;
}

function publicKids() {
  return keys.map((k) => k.kid);
}

async function admin(req, res) {
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  if (req.url === '/admin/keys/rotate') {
    keys = [newKey(), ...keys];
  } else if (req.url === '/admin/keys/prune') {
    keys = keys.slice(0, 1);
  } else {
    res.writeHead(404).end();
    return;
  }
  build();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kids: publicKids() }));
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/admin/')) {
    admin(req, res).catch((err) => {
      res.writeHead(500).end(String(err));
    });
    return;
  }
  if (req.url === prefix || req.url.startsWith(`${prefix}/`) || req.url.startsWith(`${prefix}?`)) {
    // What express's app.use(prefix, ...) does: the provider sees the path below its mount
    // point and finds the mount point again through originalUrl.
    req.originalUrl = req.url;
    req.url = req.url.slice(prefix.length) || '/';
    provider.callback()(req, res);
    return;
  }
  res.writeHead(404).end();
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}${prefix}`;
  build();
  process.stdout.write(`${port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
