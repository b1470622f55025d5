// A service's life as a process: serving on node:http, liveness and readiness, and the shutdown
// sequence that drains before it closes.
export * from './server.ts';
export * from './health.ts';
export * from './shutdown.ts';
