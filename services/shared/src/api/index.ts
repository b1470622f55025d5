// The API both services publish: the user and problem schemas their routes declare, and the
// OpenAPI document and /docs built from them.
export * from './user-schema.ts';
export * from './openapi.ts';
