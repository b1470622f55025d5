// Who may write: bearer tokens (HS256 secret or a JWKS URL), their scopes, the AUTH_* settings,
// and signing tokens for operators and tests.
export * from './auth-config.ts';
export * from './auth.ts';
export * from './jwks.ts';
export * from './token.ts';
