import { JobStatus, TERMINAL_JOB_STATUSES, type EventOf, type EventType, type Job } from '@reelbus/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteContext } from '../app.ts';
import { signLink } from '../auth.ts';
import type { JobWatch } from '../deps.ts';
import { badRequest, notFound } from '../errors.ts';
import { parseRange } from '../range.ts';

const TERMINAL_EVENTS = new Set(['job.completed', 'job.failed']);
const TERMINAL_STATUS = new Set<string>(TERMINAL_JOB_STATUSES);
const MAX_LINK_TTL_SEC = 7 * 86_400;

export async function jobRoutes(app: FastifyInstance, { ctx }: { ctx: RouteContext }) {
  const { config, jobs, blobs, bus } = ctx;
  const auth = { onRequest: ctx.requireApiKey };
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
  const videoLink = (jobId: string, ttlSec = config.videoLinkTtlSec) =>
    signLink({
      baseUrl: config.publicBaseUrl,
      path: `/v1/jobs/${jobId}/video.mp4`,
      secret: config.linkSigningSecret,
      ttlSec,
    });
  const withLinks = (job: Job) => {
    const self = `${config.publicBaseUrl}/v1/jobs/${job.id}`;
    return {
      ...job,
      links: {
        self,
        events: `${self}/events`,
        ...(job.outputs.video ? { video: videoLink(job.id).url } : {}),
      },
    };
  };

  app.get('/v1/jobs', auth, async (req) => {
    const q = req.query as Record<string, string | undefined>;
    let status: JobStatus | undefined;
    if (q.status !== undefined) {
      const s = JobStatus.safeParse(q.status);
      if (!s.success) throw badRequest('status', `must be one of ${JobStatus.options.join(', ')}`);
      status = s.data;
    }
    let limit = 50;
    if (q.limit !== undefined) {
      limit = Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        throw badRequest('limit', 'must be a whole number from 1 to 500');
    }
    const list = await jobs.list({ limit, ...(status ? { status } : {}) });
    return { jobs: list.map(withLinks) };
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', auth, async (req) =>
    withLinks(await loadJob(req.params.id)),
  );

  app.post<{ Params: { id: string } }>('/v1/jobs/:id/links', auth, async (req) => {
    const job = await loadJob(req.params.id);
    const body = (req.body ?? {}) as { ttlSec?: unknown };
    let ttlSec = config.videoLinkTtlSec;
    if (body.ttlSec !== undefined) {
      if (
        typeof body.ttlSec !== 'number' ||
        !Number.isInteger(body.ttlSec) ||
        body.ttlSec < 1 ||
        body.ttlSec > MAX_LINK_TTL_SEC
      ) {
        throw badRequest('ttlSec', `must be a whole number of seconds from 1 to ${MAX_LINK_TTL_SEC}`);
      }
      ttlSec = body.ttlSec;
    }
    return videoLink(job.id, ttlSec);
  });

  const serveVideo = async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const job = await loadJob(req.params.id);
    const video = job.outputs.video;
    if (!video) throw notFound(`job "${job.id}" has no video yet (status: ${job.status})`);
    const presigned = await blobs.presign(video.key, { expiresInSec: 3600, contentType: 'video/mp4' });
    if (presigned) return reply.redirect(presigned, 302);

    const info = await blobs.stat(video.key);
    if (!info) throw notFound(`the video of job "${job.id}" is missing from storage (${video.key})`);
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
            message: `the video is ${size} bytes long; ask for a range inside it`,
          },
        });
    }
    reply.header('content-type', 'video/mp4').header('cache-control', 'private, max-age=3600');
    if (range) {
      reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
        .header('content-length', range.end - range.start + 1);
      if (req.method === 'HEAD') return reply.send();
      return reply.send(await blobs.get(video.key, { range }));
    }
    reply.code(200).header('content-length', size);
    if (req.method === 'HEAD') return reply.send();
    return reply.send(await blobs.get(video.key));
  };
  const videoOpts = { onRequest: ctx.requireApiKeyOrSignedLink };
  app.get<{ Params: { id: string } }>('/v1/jobs/:id/video', videoOpts, serveVideo);
  app.get<{ Params: { id: string } }>('/v1/jobs/:id/video.mp4', videoOpts, serveVideo);

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/events', auth, async (req, reply) => {
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

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let closed = false;
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), ctx.sseHeartbeatMs);
    const close = () => {
      if (closed) return;
      closed = true;
      openStreams.delete(close);
      clearInterval(heartbeat);
      Promise.resolve(watch.stop()).catch((err) =>
        req.log.warn({ err, jobId }, 'stopping the job watch failed'),
      );
      res.end();
    };
    openStreams.add(close);
    req.raw.on('close', close);
    res.on('close', close);

    res.write(`event: job\ndata: ${JSON.stringify(withLinks(job))}\n\n`);
    if (TERMINAL_STATUS.has(job.status)) return close();
    const send = (e: EventOf<EventType>) => {
      if (closed) return;
      res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      if (TERMINAL_EVENTS.has(e.type)) close();
    };
    sink.live = send;
    for (const e of pending.splice(0)) send(e);
  });
}
