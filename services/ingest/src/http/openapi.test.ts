import { Job } from '@reelbus/contracts';
import { silentLogger } from '@reelbus/kit';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import { PUBLIC_BASE_URL, auth, fullJob, testConfig } from '../testing/helpers.ts';
import { routeSchemaProblems } from './openapi.ts';
import { ErrorBody, NoQuery } from './schemas.ts';

type Operation = {
  summary?: string;
  tags?: string[];
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  security?: unknown[];
  'x-reelbus-access'?: string;
};
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; components: unknown };

let app: FastifyInstance;
let jobs: MemoryJobStore;
let doc: Doc;

beforeAll(async () => {
  jobs = new MemoryJobStore();
  app = buildApp({
    config: testConfig(),
    bus: new MemoryBus(),
    jobs,
    blobs: new MemoryBlobStore(),
    logger: silentLogger(),
  });
  const res = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
  expect(res.statusCode, res.body).toBe(200);
  doc = res.json<Doc>();
});
afterAll(() => app.close());

/** `/v1/jobs/:id` → `/v1/jobs/{id}`; a wildcard `/v1/models/*` → `/v1/models/{*}` */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{*}');
/** The routes the document must describe: every /v1 route but the description itself. */
const apiRoutes = () =>
  app.routeTable.filter(
    (r) => r.url.startsWith('/v1/') && r.url !== '/v1/openapi.json' && !r.url.startsWith('/v1/docs'),
  );

describe('the OpenAPI document at /v1/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document, served without an API key', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('has a docs page at /v1/docs (Swagger UI, no key)', async () => {
    const page = await app.inject({ method: 'GET', url: '/v1/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('swagger-ui');
    const init = await app.inject({ method: 'GET', url: '/v1/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
    const spec = await app.inject({ method: 'GET', url: '/v1/docs/json' });
    expect(spec.json()).toMatchObject({ openapi: '3.1.0' });
  });

  it('gives every /v1 route a summary, tags, params, querystring, body, a 2xx and a 4xx answer', () => {
    const routes = apiRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(10);
    expect(routes.flatMap((r) => routeSchemaProblems(r))).toEqual([]);
    for (const r of routes) {
      const op = doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()];
      const where = `${r.method} ${r.url}`;
      expect(op, where).toBeDefined();
      expect(op!.summary, where).toBeTruthy();
      expect(op!.tags?.length, where).toBeGreaterThan(0);
      for (const name of Array.from(r.url.matchAll(/:([A-Za-z0-9_]+)|\/(\*)$/g), (m) => m[1] ?? m[2])) {
        expect(
          op!.parameters?.some((p) => p.in === 'path' && p.name === name),
          `${where}: path parameter ${name}`,
        ).toBe(true);
      }
      if (r.method === 'POST') expect(Object.keys(op!.requestBody?.content ?? {}), where).not.toEqual([]);
      const codes = Object.keys(op!.responses);
      expect(
        codes.some((c) => c.startsWith('2')),
        `${where}: 2xx`,
      ).toBe(true);
      const clientError = op!.responses['4XX']?.content?.['application/json']?.schema;
      expect(clientError, `${where}: 4XX`).toEqual({ $ref: '#/components/schemas/Error' });
    }
  });

  it('names what a route lacks, so a new route without its schemas fails the check above', () => {
    expect(
      routeSchemaProblems({
        method: 'POST',
        url: '/v1/things/:id',
        schema: { summary: 'make a thing', tags: ['things'], response: { 200: z.object({}) } },
      }),
    ).toEqual([
      'POST /v1/things/:id: no params (zod)',
      'POST /v1/things/:id: no querystring (zod; NoQuery when it takes none)',
      'POST /v1/things/:id: no body (zod)',
      "POST /v1/things/:id: no a '4xx' response with ErrorBody",
    ]);
    expect(
      routeSchemaProblems({
        method: 'GET',
        url: '/v1/things',
        schema: { summary: 'list', tags: ['things'], querystring: NoQuery, response: { '4xx': ErrorBody } },
      }),
    ).toEqual(['GET /v1/things: no a 2xx response']);
  });

  it('documents multipart uploads, the JSON story body, server-sent events and the video by content type', () => {
    const recordings = doc.paths['/v1/recordings']!.post!;
    const form = recordings.requestBody!.content['multipart/form-data']!.schema as {
      properties: Record<string, { format?: string }>;
      required: string[];
    };
    expect(form.properties.recording).toMatchObject({ type: 'string', format: 'binary' });
    expect(form.required).toEqual(['recording']);
    expect(Object.keys(doc.paths['/v1/stories']!.post!.requestBody!.content).sort()).toEqual([
      'application/json',
      'multipart/form-data',
    ]);
    expect(Object.keys(doc.paths['/v1/jobs/{id}/events']!.get!.responses['200']!.content!)).toEqual([
      'text/event-stream',
    ]);
    const video = doc.paths['/v1/jobs/{id}/video.mp4']!.get!.responses;
    expect(video['200']!.content!['video/mp4']!.schema).toMatchObject({ format: 'binary' });
    expect(video['206']!.content!['video/mp4']).toBeDefined();
    expect(video['302']).toBeDefined();
    expect(Object.keys(doc.paths['/v1/webhooks/twilio/recording']!.post!.requestBody!.content)).toEqual([
      'application/x-www-form-urlencoded',
    ]);
  });

  it('says who may call each route, and documents the 401, 403 and 429 answers', () => {
    const keys = doc.paths['/v1/keys']!.get!;
    expect(keys['x-reelbus-access']).toBe('operator');
    expect(keys.security).toEqual([{ apiKey: [] }]);
    expect(Object.keys(keys.responses)).toEqual(expect.arrayContaining(['401', '403', '429']));
    const twilio = doc.paths['/v1/webhooks/twilio/recording']!.post!;
    expect(twilio.security).toEqual([]);
    expect(twilio.responses['401']).toBeUndefined();
    expect(doc.paths['/v1/jobs/{id}/video.mp4']!.get!.security).toEqual([{ apiKey: [] }, { signedLink: [] }]);
  });

  it('uses the same server URL the links are built on', () => {
    expect((doc as unknown as { servers: Array<{ url: string }> }).servers).toEqual([
      { url: PUBLIC_BASE_URL },
    ]);
  });
});

describe('answers go through their response schemas without losing a field', () => {
  it('GET /v1/jobs/:id returns the whole stored job document', async () => {
    const job = fullJob();
    // The sample sets every field contracts' Job declares: a field added there must be added here.
    expect(Object.keys(Job.shape).filter((k) => !(k in job))).toEqual([]);
    await jobs.create(job);
    const res = await app.inject({ method: 'GET', url: `/v1/jobs/${job.id}`, headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    const { links, ...served } = res.json<Job & { links: Record<string, string> }>();
    expect(served).toEqual(JSON.parse(JSON.stringify(job)));
    expect(Object.keys(links).sort()).toEqual(['audio', 'events', 'hls', 'poster', 'self', 'video']);

    const list = await app.inject({ method: 'GET', url: '/v1/jobs?limit=5', headers: auth });
    const listed = list.json<{ jobs: Array<Job & { links: unknown }> }>().jobs.find((j) => j.id === job.id)!;
    const { links: _l, ...fromList } = listed;
    expect(fromList).toEqual(JSON.parse(JSON.stringify(job)));
  });
});

describe('validation errors', () => {
  it('name every bad query parameter at once', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/jobs?status=done&limit=0', headers: auth });
    expect(res.statusCode).toBe(400);
    const { error } = res.json<{
      error: { code: string; field: string; issues: Array<{ field: string }> };
    }>();
    expect(error.code).toBe('invalid_input');
    expect(error.issues.map((i) => i.field).sort()).toEqual(['limit', 'status']);
    expect(error.field).toBe(error.issues[0]!.field);
  });

  it('name every bad body field by its JSON path, unknown fields included', async () => {
    await jobs.create(fullJob('job_for_links'));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/jobs/job_for_links/links',
      headers: auth,
      payload: { ttlSec: 0, expiresIn: 5 },
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json<{
      error: { message: string; issues: Array<{ field: string; message: string }> };
    }>();
    expect(error.issues).toEqual([
      { field: 'ttlSec', message: 'must be a whole number of seconds from 1 to 604800' },
      { field: 'expiresIn', message: 'unknown field' },
    ]);
    expect(error.message).toBe(
      'ttlSec: must be a whole number of seconds from 1 to 604800; expiresIn: unknown field',
    );
  });

  it('name a bad path parameter', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/jobs/not%20an%20id', headers: auth });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'invalid_input', field: 'id' } });
  });
});
