// What every request passes through: the Hono app both services start from (app.ts), its
// middlewares (request ids, body limit, UTF-8 bodies), and the one problem+json shape of every error.
export * from './app.ts';
export * from './request-id.ts';
export * from './body-limit.ts';
export * from './utf8-body.ts';
export * from './problem.ts';
export * from './validation-problem.ts';
export * from './errors.ts';
