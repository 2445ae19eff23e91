import {
  Job,
  JobKind,
  JobStatus,
  TERMINAL_JOB_STATUSES,
  type EventOf,
  type EventType,
} from '@reelbus/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import type { JobWatch } from '../deps.ts';
import { notFound } from '../errors.ts';
import { ErrorBody, JobIdParams, LinkRequest, NoQuery, SignedLinkBody } from '../http/schemas.ts';
import { signLink } from '../links.ts';
import { parseRange } from '../range.ts';
import { signHlsLink } from './hls.ts';
import { openSse } from '../sse.ts';

const TERMINAL_EVENTS = new Set(['job.completed', 'job.failed', 'job.cancelled']);
const TERMINAL_STATUS = new Set<string>(TERMINAL_JOB_STATUSES);

/** The job document as `GET /v1/jobs/:id` serves it: every stored field, plus links. */
export const JobView = Job.extend({
  links: z.object({
    self: z.url(),
    events: z.url().describe('Server-sent events of this job'),
    video: z.url().optional().describe('A signed, expiring link to the video that needs no API key'),
    poster: z
      .url()
      .optional()
      .describe('A signed, expiring link to the poster frame (when the job made one)'),
    audio: z
      .url()
      .optional()
      .describe(
        'A signed, expiring link to the audio a speech, music or audio generation made (an <audio> tag plays it without a key)',
      ),
    trace: z.url().optional().describe("The job's trace in Jaeger (JAEGER_URL)"),
    hls: z
      .url()
      .optional()
      .describe(
        'A signed, expiring link to the HLS master playlist (when the job has `outputs.hls`) that a player opens without an API key',
      ),
  }),
}).meta({ id: 'JobView', description: 'The job document (contracts/schemas/job.v1.json) plus links' });

const ListQuery = z.object({
  status: JobStatus.optional().describe('Only jobs with this status'),
  kind: z
    .enum(JobKind.options, { error: `must be one of ${JobKind.options.join(', ')}` })
    .optional()
    .describe('Only jobs of this kind (GET /v1/kinds lists them)'),
  limit: z.coerce
    .number({ error: 'must be a whole number from 1 to 500' })
    .int('must be a whole number from 1 to 500')
    .min(1, 'must be a whole number from 1 to 500')
    .max(500, 'must be a whole number from 1 to 500')
    .default(50)
    .describe('At most this many (1-500, default 50)'),
});

const VideoQuery = z.object({
  expires: z.string().optional().describe('Signed link: unix seconds after which it is refused'),
  signature: z.string().optional().describe('Signed link: hex HMAC-SHA256 of "GET\\n<path>\\n<expires>"'),
});

const Mp4 = z.file().describe('The MP4 (H.264/AAC, moov first)');
const Jpeg = z.file().describe('A JPEG');
const Audio = z.file().describe('The audio as the generation stored it (WAV, M4A, MP3, …)');
/** What an audio output is served as when its content type was not recorded. */
const AUDIO_FALLBACK_TYPE = 'application/octet-stream';

export const jobRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app, { ctx }) => {
  const { config, jobs, blobs, bus } = ctx;
  // Open event streams never go idle, so closing the app ends them (else close() would wait on them).
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of [...openStreams]) close();
  });

  const loadJob = async (id: string): Promise<Job> => {
    const job = await jobs.get(id);
    if (!job) throw notFound(`job "${id}" does not exist`);
    return job;
  };
  const signedLink = (path: string, ttlSec = config.videoLinkTtlSec) =>
    signLink({ baseUrl: config.publicBaseUrl, path, secret: config.linkSigningSecret, ttlSec });
  const videoLink = (jobId: string, ttlSec = config.videoLinkTtlSec) =>
    signedLink(`/v1/jobs/${jobId}/video.mp4`, ttlSec);
  const hlsLink = (jobId: string) =>
    signHlsLink({
      baseUrl: config.publicBaseUrl,
      jobId,
      secret: config.linkSigningSecret,
      ttlSec: config.videoLinkTtlSec,
    }).url;
  const withLinks = (job: Job): z.output<typeof JobView> => {
    const self = `${config.publicBaseUrl}/v1/jobs/${job.id}`;
    return {
      ...job,
      links: {
        self,
        events: `${self}/events`,
        ...(job.outputs.video ? { video: videoLink(job.id).url } : {}),
        ...(job.outputs.poster ? { poster: signedLink(`/v1/jobs/${job.id}/poster.jpg`).url } : {}),
        ...(job.outputs.audio ? { audio: signedLink(`/v1/jobs/${job.id}/audio`).url } : {}),
        ...(job.traceId && config.jaegerUrl ? { trace: `${config.jaegerUrl}/trace/${job.traceId}` } : {}),
        ...(job.outputs.hls ? { hls: hlsLink(job.id) } : {}),
      },
    };
  };

  app.route({
    method: 'GET',
    url: '/v1/jobs',
    config: { access: 'user' },
    schema: {
      summary: 'List jobs, newest first',
      tags: ['jobs'],
      querystring: ListQuery,
      response: { 200: z.object({ jobs: z.array(JobView) }), '4xx': ErrorBody },
    },
    handler: async (req) => {
      const { status, kind, limit } = req.query;
      const list = await jobs.list({ limit, ...(status ? { status } : {}), ...(kind ? { kind } : {}) });
      return { jobs: list.map(withLinks) };
    },
  });

  app.route({
    method: 'GET',
    url: '/v1/jobs/:id',
    config: { access: 'user' },
    schema: {
      summary: 'A job: status, steps, progress, outputs, warnings, error, notifications, links',
      tags: ['jobs'],
      params: JobIdParams,
      querystring: NoQuery,
      response: { 200: JobView, '4xx': ErrorBody },
    },
    handler: async (req) => withLinks(await loadJob(req.params.id)),
  });

  app.route({
    method: 'POST',
    url: '/v1/jobs/:id/links',
    config: { access: 'user' },
    schema: {
      summary: 'A signed, expiring link to the video that a <video> tag can use without a key',
      tags: ['jobs'],
      params: JobIdParams,
      querystring: NoQuery,
      body: LinkRequest,
      response: { 200: SignedLinkBody, '4xx': ErrorBody },
    },
    handler: async (req) => {
      const job = await loadJob(req.params.id);
      return videoLink(job.id, req.body?.ttlSec ?? config.videoLinkTtlSec);
    },
  });

  /**
   * A named output of a job (the video, its poster, a generation's audio) with Range support, or a 302 to
   * a presigned URL. `contentType` undefined: the type stored with the output.
   */
  const serveOutput = async (
    req: FastifyRequest<{ Params: { id: string } }>,
    reply: FastifyReply,
    { name, contentType: fixedType }: { name: 'video' | 'poster' | 'audio'; contentType?: string },
  ) => {
    const job = await loadJob(req.params.id);
    const output = job.outputs[name];
    if (!output) throw notFound(`job "${job.id}" has no ${name} yet (status: ${job.status})`);
    const contentType = fixedType ?? output.contentType ?? AUDIO_FALLBACK_TYPE;
    const presigned = await blobs.presign(output.key, { expiresInSec: 3600, contentType });
    if (presigned) return reply.redirect(presigned, 302);

    const info = await blobs.stat(output.key);
    if (!info) throw notFound(`the ${name} of job "${job.id}" is missing from storage (${output.key})`);
    const size = info.size;
    reply.header('accept-ranges', 'bytes');
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      return reply
        .code(416)
        .header('content-range', `bytes */${size}`)
        .send({
          error: {
            code: 'range_not_satisfiable',
            message: `the ${name} is ${size} bytes long; ask for a range inside it`,
          },
        });
    }
    reply.header('content-type', contentType).header('cache-control', 'private, max-age=3600');
    if (range) {
      reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
        .header('content-length', range.end - range.start + 1);
      if (req.method === 'HEAD') return reply.send();
      return reply.send(await blobs.get(output.key, { range }));
    }
    reply.code(200).header('content-length', size);
    if (req.method === 'HEAD') return reply.send();
    return reply.send(await blobs.get(output.key));
  };
  const serveVideo = (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) =>
    serveOutput(req, reply, { name: 'video', contentType: 'video/mp4' });
  const servePoster = (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) =>
    serveOutput(req, reply, { name: 'poster', contentType: 'image/jpeg' });
  // Audio comes as the provider made it (WAV from the local speech model, M4A music, MP3 from ElevenLabs):
  // served with the type stored beside it.
  const serveAudio = (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) =>
    serveOutput(req, reply, { name: 'audio' });
  for (const url of ['/v1/jobs/:id/video.mp4', '/v1/jobs/:id/video']) {
    app.route({
      method: 'GET',
      url,
      config: { access: 'user-or-signed-link' },
      schema: {
        summary: url.endsWith('.mp4')
          ? 'The finished video (HTTP Range → 206), or a 302 to a presigned S3 URL'
          : 'Same as /video.mp4',
        description:
          'Authenticate with the API key, or with a signed link (`expires` + `signature`, from `links.video` or POST /v1/jobs/:id/links).',
        tags: ['jobs'],
        params: JobIdParams,
        querystring: VideoQuery,
        response: {
          200: { description: 'The whole file', content: { 'video/mp4': { schema: Mp4 } } },
          206: { description: 'The requested byte range', content: { 'video/mp4': { schema: Mp4 } } },
          302: z.undefined().describe('A redirect (Location) to a presigned S3 URL (S3 blob store)'),
          '4xx': ErrorBody,
        },
      },
      handler: serveVideo,
    });
  }

  app.route({
    method: 'GET',
    url: '/v1/jobs/:id/poster.jpg',
    config: { access: 'user-or-signed-link' },
    schema: {
      summary: "The job's poster frame (generations make one), or a 302 to a presigned S3 URL",
      description:
        'Authenticate with the API key, or with a signed link (`expires` + `signature`, from `links.poster`).',
      tags: ['jobs'],
      params: JobIdParams,
      querystring: VideoQuery,
      response: {
        200: { description: 'The poster', content: { 'image/jpeg': { schema: Jpeg } } },
        206: { description: 'The requested byte range', content: { 'image/jpeg': { schema: Jpeg } } },
        302: z.undefined().describe('A redirect (Location) to a presigned S3 URL (S3 blob store)'),
        '4xx': ErrorBody,
      },
    },
    handler: servePoster,
  });

  app.route({
    method: 'GET',
    url: '/v1/jobs/:id/audio',
    config: { access: 'user-or-signed-link' },
    schema: {
      summary:
        'The audio a speech, music or audio generation made (HTTP Range → 206), or a 302 to a presigned S3 URL',
      description:
        'Served with the content type stored with `outputs.audio` (e.g. `audio/wav`, `audio/mp4`, `audio/mpeg`). Authenticate with the API key, or with a signed link (`expires` + `signature`, from `links.audio`).',
      tags: ['jobs'],
      params: JobIdParams,
      querystring: VideoQuery,
      response: {
        200: { description: 'The whole file', content: { 'audio/*': { schema: Audio } } },
        206: { description: 'The requested byte range', content: { 'audio/*': { schema: Audio } } },
        302: z.undefined().describe('A redirect (Location) to a presigned S3 URL (S3 blob store)'),
        '4xx': ErrorBody,
      },
    },
    handler: serveAudio,
  });

  app.route({
    method: 'GET',
    url: '/v1/jobs/:id/events',
    config: { access: 'user' },
    schema: {
      summary: 'Server-sent events: the job, then its live events until it ends',
      description:
        'First `event: job` with the job document, then one message per bus event of the job (`event: <type>`, the envelope as `data`, `id:` the event id); ends after `job.completed` / `job.failed` (at once when the job has ended). A `: heartbeat` comment every 15 s.',
      tags: ['jobs'],
      params: JobIdParams,
      querystring: NoQuery,
      response: {
        200: {
          description: 'A text/event-stream',
          content: { 'text/event-stream': { schema: z.string().describe('Server-sent events') } },
        },
        '4xx': ErrorBody,
      },
    },
    handler: async (req, reply) => {
      const jobId = req.params.id;
      // Watch before reading the document so nothing published in between is lost.
      const pending: EventOf<EventType>[] = [];
      const sink: { live?: (e: EventOf<EventType>) => void } = {};
      const watch: JobWatch = await bus.watchJob(jobId, (e) => (sink.live ? sink.live(e) : pending.push(e)));
      let job: Job | undefined;
      try {
        job = await jobs.get(jobId);
      } catch (err) {
        await watch.stop();
        throw err;
      }
      if (!job) {
        await watch.stop();
        throw notFound(`job "${jobId}" does not exist`);
      }

      const stream = openSse(req, reply, {
        heartbeatMs: ctx.sseHeartbeatMs,
        onClose: () => {
          openStreams.delete(stream.close);
          Promise.resolve(watch.stop()).catch((err) =>
            req.log.warn({ err, jobId }, 'stopping the job watch failed'),
          );
        },
      });
      openStreams.add(stream.close);
      stream.send({ event: 'job', data: JobView.parse(withLinks(job)) });
      if (TERMINAL_STATUS.has(job.status)) return stream.close();
      const send = (e: EventOf<EventType>) => {
        if (stream.closed) return;
        stream.send({ id: e.id, event: e.type, data: e });
        if (TERMINAL_EVENTS.has(e.type)) stream.close();
      };
      sink.live = send;
      for (const e of pending.splice(0)) send(e);
    },
  });
};
