// A real, certified OpenID Connect provider (node-oidc-provider) for the federation tests.
//
//   node provider.mjs PORT
//
// Env: OIDC_PROVIDER_DIR (where scripts/oidc-provider.sh installed it), SSO_REDIRECT_URIS
// (comma-separated redirect URIs of the "zenml-sso" client).
// Prints "ready <issuer>" once it listens on 127.0.0.1:PORT.
//
// - People: its dev interactions (any login name, any password). A login name starting with
//   "admin" is in the "zenml-admins" group; every other one in "staff". The subject is
//   "sub-" + the login name, so tests can log in as the same person twice.
// - Workloads: client credentials grant with a resource indicator gives a signed JWT access
//   token with aud = the resource and CI claims per client (like a GitHub Actions token).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.OIDC_PROVIDER_DIR;
const entry = pathToFileURL(join(dir, 'node_modules', 'oidc-provider', 'lib', 'index.js'));
const { default: Provider } = await import(entry.href);

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const redirectUris = (process.env.SSO_REDIRECT_URIS || '').split(',').filter(Boolean);

const CI_CLAIMS = {
  'ci-main': { repository: 'acme/pipelines', ref: 'refs/heads/main', repository_owner: 'acme' },
  'ci-feature': { repository: 'acme/pipelines', ref: 'refs/heads/feature/x', repository_owner: 'acme' },
  'ci-other': { repository: 'evil/pipelines', ref: 'refs/heads/main', repository_owner: 'evil' },
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', use: 'sig', alg: 'RS256' };

const ciClients = Object.keys(CI_CLAIMS).map((id) => ({
  client_id: id,
  client_secret: 'ci-secret',
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_post',
}));

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'zenml-sso',
      client_secret: 'sso-secret',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: redirectUris.length ? redirectUris : ['http://127.0.0.1/unused'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    ...ciClients,
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'profile', 'email', 'groups', 'ci'],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  // Put the scopes' claims in the ID token itself (as most company providers do).
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        const login = id.replace(/^sub-/, '');
        return {
          sub: id,
          preferred_username: login,
          name: login,
          email: `${login}@example.com`,
          email_verified: true,
          groups: login.startsWith('admin') ? ['staff', 'zenml-admins'] : ['staff'],
        };
      },
    };
  },
  // First-party client: no consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      return ctx.oidc.provider.Grant.find(grantId);
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email groups');
    await grant.save();
    return grant;
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({
        scope: 'ci',
        audience: resource,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 300,
      }),
    },
  },
  async extraTokenClaims(ctx, token) {
    if (token.kind === 'ClientCredentials') {
      return CI_CLAIMS[token.clientId];
    }
    return undefined;
  },
  ttl: { ClientCredentials: 300, IdToken: 300, AccessToken: 300, AuthorizationCode: 60 },
});
provider.proxy = false;

// dev interactions submit the login name as the account id: prefix it as the subject.
const originalFinished = provider.interactionFinished.bind(provider);
provider.interactionFinished = (req, res, result, options) => {
  if (result?.login?.accountId && !result.login.accountId.startsWith('sub-')) {
    result.login.accountId = `sub-${result.login.accountId}`;
  }
  return originalFinished(req, res, result, options);
};

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
