// Reading a service's OpenAPI 3.1 document the way a client's tooling does: every schema compiled
// by Ajv's JSON Schema 2020-12 validator (the dialect OpenAPI 3.1 uses), operations and their
// responses enumerated from the document, and a live answer checked against what it documents.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export type Json = Record<string, any>;

export interface Operation {
  method: string;
  /** The path template, e.g. /user/{name}. */
  path: string;
  operationId: string;
  operation: Json;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const DOCUMENT_ID = 'urn:openapi:document';

/** Every operation of the document, in document order. */
export function operationsOf(document: Json): Operation[] {
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    METHODS.filter((method) => (item as Json)[method]).map((method) => {
      const operation = (item as Json)[method] as Json;
      return { method: method.toUpperCase(), path, operationId: operation.operationId as string, operation };
    }),
  );
}

/** Follows a local `$ref` (`#/components/…`) to what it names. */
export function resolve(document: Json, value: Json): Json {
  if (typeof value?.$ref !== 'string') return value;
  const target = (value.$ref as string)
    .replace(/^#\//, '')
    .split('/')
    .reduce((at: Json | undefined, key) => at?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], document);
  if (!target) throw new Error(`unresolved $ref ${value.$ref}`);
  return resolve(document, target);
}

/**
 * Ajv 2020-12, strict, with formats, knowing OpenAPI 3.1's own schema keywords. The document
 * itself is registered under one id, so `#/components/schemas/…` references resolve exactly as
 * written in the document.
 */
export class SchemaValidator {
  readonly ajv: Ajv2020;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(document: Json) {
    this.ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats.default(this.ajv);
    // OpenAPI 3.1's base dialect adds these annotations to JSON Schema 2020-12.
    this.ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
    // The document is not a schema; only its component schemas are registered, at the pointers
    // they have in the document (`components` is declared as a keyword that checks nothing).
    this.ajv.addKeyword({ keyword: 'components', schemaType: 'object' });
    this.ajv.addSchema({ $id: DOCUMENT_ID, components: { schemas: document.components?.schemas ?? {} } });
  }

  /** A validator for a schema found in the document; its `#/…` references point into the document. */
  compile(schema: Json): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.cache.get(key);
    if (!validate) {
      const rebased = JSON.parse(key.replaceAll('"$ref":"#/', `"$ref":"${DOCUMENT_ID}#/`)) as Json;
      validate = this.ajv.compile(rebased);
      this.cache.set(key, validate);
    }
    return validate;
  }

  errors(validate: ValidateFunction): string {
    return this.ajv.errorsText(validate.errors, { separator: '; ' });
  }
}

/**
 * Every schema the document holds: each component schema, and each `schema` of a parameter,
 * header, request body or response, with where it was found.
 */
export function schemasOf(document: Json): { at: string; schema: Json }[] {
  const found: { at: string; schema: Json }[] = [];
  for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) {
    found.push({ at: `#/components/schemas/${name}`, schema: schema as Json });
  }
  const walk = (value: unknown, at: string) => {
    if (!value || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (key === 'schema' && child && typeof child === 'object') found.push({ at: `${at}/schema`, schema: child as Json });
      else walk(child, `${at}/${key}`);
    }
  };
  walk(document.paths, '#/paths');
  const { schemas: _, ...otherComponents } = document.components ?? {};
  walk(otherComponents, '#/components');
  return found;
}

/** Headers that HTTP itself adds (framing, date); every other header must be documented. */
export const TRANSPORT_HEADERS = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding']);

/**
 * What in a live answer differs from what the document says of this operation and status:
 * the status is documented, every documented header is there and valid, no undocumented header
 * is sent, the content type is a documented one (none for a body-less answer), and the body
 * validates against its schema. Empty when the answer matches.
 */
export async function mismatches(document: Json, validator: SchemaValidator, operation: Operation, res: Response): Promise<string[]> {
  const declared = operation.operation.responses?.[String(res.status)];
  if (!declared) return [`status ${res.status} is not documented`];
  const response = resolve(document, declared);
  const problems: string[] = [];

  const headers = Object.fromEntries(Object.entries(response.headers ?? {}).map(([name, header]) => [name.toLowerCase(), resolve(document, header as Json)]));
  for (const [name, header] of Object.entries(headers)) {
    const value = res.headers.get(name);
    if (value === null) {
      problems.push(`documented header ${name} is missing`);
      continue;
    }
    const validate = validator.compile(header.schema ?? {});
    if (!validate(value)) problems.push(`header ${name}: ${JSON.stringify(value)} ${validator.errors(validate)}`);
  }
  for (const name of res.headers.keys()) {
    if (!TRANSPORT_HEADERS.has(name) && !(name in headers)) problems.push(`header ${name} is sent but not documented`);
  }

  const text = await res.text();
  const content = response.content as Json | undefined;
  if (!content) {
    if (text !== '') problems.push(`a body is sent where none is documented: ${text.slice(0, 80)}`);
    return problems;
  }
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const media = content[mediaType];
  if (!media) return [...problems, `content type ${JSON.stringify(mediaType)} is not one of ${Object.keys(content).join(', ')}`];
  if (media.schema) {
    const validate = validator.compile(media.schema);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return [...problems, `the body is not JSON: ${text.slice(0, 80)}`];
    }
    if (!validate(body)) problems.push(`body ${text.slice(0, 200)}: ${validator.errors(validate)}`);
  }
  return problems;
}
