import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { createJsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Access } from './access.ts';
import { ErrorBody } from './schemas.ts';

/**
 * The API description: OpenAPI 3.1 built by @fastify/swagger from every route's zod schemas
 * (fastify-type-provider-zod), served at `/v1/openapi.json`, with Swagger UI at `/v1/docs`.
 * Both are public: the description holds no secret, and a browser opening the docs sends no key.
 */

export const OPENAPI_PATH = '/v1/openapi.json';
export const DOCS_PREFIX = '/v1/docs';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const DESCRIPTION = `The reelbus job API: submit recordings, stories and merges, follow jobs, fetch videos.

**Access.** Send \`Authorization: Bearer <API key>\`. Each key has a name and a role (\`user\` or
\`operator\`); a job records the key that submitted it (\`submittedBy\`). Routes marked
\`x-reelbus-access: operator\` need an operator key (others get 403). The video routes also accept a
signed link (\`?expires=&signature=\`) instead of a key; a job's HLS files are served without a key
under a signed path (\`/v1/hls/<jobId>/<expires>/<signature>/master.m3u8\`, from \`links.hls\`).

**Limits.** Per key: requests per minute (\`RATE_LIMIT_REQUESTS_PER_MINUTE\`) and unfinished jobs
(\`MAX_ACTIVE_JOBS_PER_KEY\`). Past either: \`429\` with \`Retry-After\` (seconds), code
\`rate_limited\` or \`too_many_active_jobs\`.

**Errors** are \`{ "error": { "code", "message", "field"?, "issues"? } }\`; a \`400 invalid_input\`
lists every bad field in \`issues\` (JSON paths such as \`images[1]\` or \`music.mood\`).

**Events.** The job's events on the bus are described by the AsyncAPI document
\`contracts/asyncapi.yaml\`.`;

const SECURITY: Record<Access, Array<Record<string, string[]>>> = {
  public: [],
  user: [{ apiKey: [] }],
  operator: [{ apiKey: [] }],
  'user-or-signed-link': [{ apiKey: [] }, { signedLink: [] }],
};

type RouteSchema = NonNullable<RouteOptions['schema']> & Record<string, unknown>;

/** What a status code means when a route's schema does not say. */
const STATUS_TEXT: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted: the job is queued (`statusUrl` for its document, `eventsUrl` for live events)',
  '4xx':
    'A request the API refuses; `error.code` says why (400 invalid_input names every bad field in `issues`, 404 not_found, 413 too_large, 415 unsupported_media_type, …)',
  '503':
    'Temporarily unavailable (the bus or the job store, e.g. a NATS node failing over): nothing was kept; retry after `Retry-After` seconds',
};

/**
 * A response given as a bare zod schema becomes `{ description, content: { 'application/json' } }`,
 * so the document describes every answer (Fastify serialises per media type the same way).
 */
function describeResponses(response: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [code, value] of Object.entries(response)) {
    if (value instanceof z.ZodType && !(value instanceof z.ZodUndefined)) {
      const standard = STATUS_TEXT[code.toLowerCase()];
      // Success answers say what they hold; error answers what the status means.
      const description =
        (code.startsWith('2') ? (value.description ?? standard) : (standard ?? value.description)) ?? code;
      out[code] = { description, content: { 'application/json': { schema: value } } };
    } else out[code] = value;
  }
  return out;
}

/**
 * onRoute: what every `/v1` route shares, written into its schema so the document says it — the
 * security requirement, `x-reelbus-access`, and the 401/403/429 answers of the access check and
 * the rate limit. Docs routes are made public and unlimited.
 */
export function documentAccess(route: RouteOptions): void {
  if (route.url === OPENAPI_PATH || route.url.startsWith(DOCS_PREFIX)) {
    route.config = { ...route.config, access: 'public', rateLimit: false };
    route.schema = { ...route.schema, hide: true };
    return;
  }
  const access = route.config?.access;
  if (!access) return;
  const schema = (route.schema ?? {}) as RouteSchema;
  const response = { ...(schema.response as Record<string, unknown> | undefined) };
  const add = (code: string, description: string) => {
    response[code] ??= { description, content: { 'application/json': { schema: ErrorBody } } };
  };
  if (access !== 'public') {
    add('401', 'No API key, or not a valid one');
    if (route.config?.rateLimit !== false) {
      add('429', 'Over the key’s requests per minute (or unfinished jobs): see Retry-After');
    }
  }
  if (access === 'operator') add('403', 'The key is not an operator key');
  if (access === 'user-or-signed-link') add('403', 'The signed link is expired or not valid for this path');
  route.schema = {
    ...schema,
    security: SECURITY[access],
    'x-reelbus-access': access,
    response: describeResponses(response),
  } as RouteSchema;
}

/** The zod → JSON Schema transform, also for per-content-type bodies (multipart forms). */
function transform(): ReturnType<typeof createJsonSchemaTransform> {
  const base = createJsonSchemaTransform({ skipList: [] });
  return (doc) => {
    const body = (doc.schema as { body?: unknown } | undefined)?.body as
      { content?: Record<string, { schema: z.ZodType }> } | undefined;
    if (!body || body instanceof z.ZodType || !body.content) return base(doc);
    const { body: _body, ...rest } = doc.schema as Record<string, unknown>;
    const out = base({ ...doc, schema: rest } as typeof doc);
    const content: Record<string, { schema: unknown }> = {};
    for (const [type, { schema }] of Object.entries(body.content)) {
      const converted = base({ ...doc, schema: { body: schema } } as typeof doc);
      content[type] = { schema: (converted.schema as { body: unknown }).body };
    }
    return { ...out, schema: { ...(out.schema as object), body: { content } } };
  };
}

/** Registers @fastify/swagger, Swagger UI and `GET /v1/openapi.json`; call before any route. */
export function registerOpenApi(app: FastifyInstance, { publicBaseUrl }: { publicBaseUrl: string }): void {
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'reelbus API', version: VERSION, description: DESCRIPTION },
      servers: [{ url: publicBaseUrl }],
      tags: [
        { name: 'recordings', description: 'Call recordings → split-screen avatar videos' },
        { name: 'stories', description: 'Spoken stories → branded slideshows' },
        { name: 'merges', description: 'N clips → one MP4 (stream copy when they match)' },
        { name: 'jobs', description: 'Follow jobs and fetch their videos' },
        { name: 'keys', description: 'API keys and their usage (operators)' },
        { name: 'operations', description: 'Dead letters, replays and retries (operators)' },
        { name: 'webhooks', description: 'Calls from other services (signed)' },
      ],
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key: `Authorization: Bearer <key>`',
          },
          signedLink: {
            type: 'apiKey',
            in: 'query',
            name: 'signature',
            description:
              'A signed video link: `expires` (unix seconds) and `signature` (hex HMAC-SHA256 of "GET\\n<path>\\n<expires>"), from `links.video` or POST /v1/jobs/:id/links',
          },
        },
      },
    },
    transform: transform(),
    transformObject: jsonSchemaTransformObject,
  });
  app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    uiConfig: { deepLinking: true, persistAuthorization: false },
  });
  app.register(async (child) => {
    child.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
  });
}

/** A route as the completeness check sees it (app.routeTable entries fit). */
export interface DeclaredRoute {
  method: string;
  url: string;
  schema: unknown;
}

const isZod = (v: unknown): v is z.ZodType => v instanceof z.ZodType;
const bodyDeclared = (body: unknown) =>
  isZod(body) ||
  (typeof body === 'object' &&
    body !== null &&
    'content' in body &&
    Object.values((body as { content: Record<string, { schema?: unknown }> }).content).every((c) =>
      isZod(c.schema),
    ));
const responseSchemaOf = (r: unknown): unknown =>
  isZod(r)
    ? r
    : (r as { content?: Record<string, { schema?: unknown }> } | undefined)?.content?.['application/json']
        ?.schema;

/**
 * What a `/v1` route lacks of the shape every route follows (services/ingest/README.md "How to add
 * a route"): summary, tags, zod `params` (when the path has any), `querystring`, `body` (POST, PUT,
 * PATCH), a 2xx answer and a `4xx` answer with the error body. Empty when complete.
 */
export function routeSchemaProblems(route: DeclaredRoute): string[] {
  const s = (route.schema ?? {}) as Record<string, unknown>;
  if (s.hide) return [];
  const missing: string[] = [];
  if (typeof s.summary !== 'string' || !s.summary) missing.push('summary');
  if (!Array.isArray(s.tags) || s.tags.length === 0) missing.push('tags');
  if ((route.url.includes(':') || route.url.endsWith('*')) && !isZod(s.params)) missing.push('params (zod)');
  if (!isZod(s.querystring)) missing.push('querystring (zod; NoQuery when it takes none)');
  if (['POST', 'PUT', 'PATCH'].includes(route.method) && !bodyDeclared(s.body)) missing.push('body (zod)');
  const response = (s.response ?? {}) as Record<string, unknown>;
  if (!Object.keys(response).some((code) => code.startsWith('2'))) missing.push('a 2xx response');
  if (responseSchemaOf(response['4xx']) !== ErrorBody) missing.push("a '4xx' response with ErrorBody");
  return missing.map((m) => `${route.method} ${route.url}: no ${m}`);
}
