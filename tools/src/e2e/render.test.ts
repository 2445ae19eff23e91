// Renders through the whole embedded stack (ingest, compositor, encoder, notifier on a real
// nats-server, real ffmpeg): `reelbus render timeline.json` uploads the local file the Timeline names
// and passes a URL on; a bad body is refused naming each JSON path; a source that cannot be fetched
// fails the job naming the clip; a Timeline longer than CHUNK_THRESHOLD_SEC is rendered in chunks on
// the bus and its phases are seen over SSE. Tiny frames and 1-second chunks keep it quick.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf, Job } from '@reelbus/contracts';
import { isFaststart, makeImage, makeVideo, probeFacts } from '@reelbus/kit/testing';
import { ROOT, startE2E, type E2E } from './harness.ts';

const run = promisify(execFile);

/** Frames of a file's video stream, counted by decoding (ffprobe -count_frames). */
async function countFrames(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-select_streams', 'v:0', '-count_frames'],
    ...['-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file],
  ]);
  return Number(stdout.trim());
}

interface SseMessage {
  event: string;
  data: unknown;
}

/**
 * Opens a job's SSE stream. `opened` resolves with the first message (`event: job`, sent once the
 * server watches the job: every later event reaches this stream); `done` with every message once the
 * server ends the stream (after job.completed / job.failed).
 */
async function openJobEvents(
  eventsUrl: string,
  apiKey: string,
): Promise<{ opened: Promise<SseMessage>; done: Promise<SseMessage[]> }> {
  const res = await fetch(eventsUrl, { headers: { authorization: `Bearer ${apiKey}` } });
  expect(res.status).toBe(200);
  const messages: SseMessage[] = [];
  let first: (m: SseMessage) => void = () => {};
  const opened = new Promise<SseMessage>((r) => (first = r));
  const done = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!event || data === undefined) continue; // a heartbeat comment
        const m = { event, data: JSON.parse(data) as unknown };
        if (messages.push(m) === 1) first(m);
      }
    }
    return messages;
  })();
  return { opened, done };
}

describe('renders, end to end', () => {
  let e2e: E2E;
  let server: Server;
  let base: string;
  const logs: string[] = [];
  /** Files the test server serves by path; `/held/…` waits for `release` first. */
  const served = new Map<string, string>();
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  const post = (body: unknown) =>
    fetch(`${e2e.stack.ingestUrl}/v1/renders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${e2e.stack.secrets.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    try {
      e2e = await startE2E({
        services: ['ingest', 'compositor', 'encoder', 'notifier'],
        env: { ALLOW_PRIVATE_URLS: 'true', RENDER_ALLOW_PRIVATE_URLS: 'true' },
        serviceEnv: { encoder: { CHUNK_THRESHOLD_SEC: '3', CHUNK_SECONDS: '1' } },
        readyTimeoutMs: 150_000,
        log: (l) => logs.push(l),
      });
    } catch (err) {
      console.error(logs.slice(-40).join('\n'));
      throw err;
    }
    server = createServer((req, res) => {
      const path = req.url ?? '';
      const file = served.get(path);
      if (!file) {
        res.writeHead(404).end('no such file');
        return;
      }
      (path.startsWith('/held/') ? held : Promise.resolve())
        .then(() => res.writeHead(200, { 'content-type': 'video/mp4' }).end(readFileSync(file)))
        .catch((err: unknown) => res.writeHead(500).end(String(err)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }, 240_000);
  afterAll(async () => {
    release();
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await e2e?.close();
  }, 120_000);

  it('`reelbus render timeline.json` uploads the local file, the compositor fetches the URL, the CLI follows and prints the MP4 and its poster', async () => {
    await makeVideo({ file: join(e2e.dir, 'intro.mp4'), seconds: 1.6, width: 320, height: 240 });
    served.set('/photo.png', await makeImage({ file: join(e2e.dir, 'photo.png'), width: 400, height: 300 }));
    const timelineFile = join(e2e.dir, 'timeline.json');
    writeFileSync(
      timelineFile,
      JSON.stringify({
        version: 1,
        output: { width: 320, height: 180, fps: 25, poster: true },
        tracks: [
          {
            clips: [
              // a local file (relative to the Timeline): the CLI uploads it
              { type: 'video', source: { file: 'intro.mp4' }, transition: { type: 'fade', duration: 0.4 } },
              // a URL: the compositor fetches it; start "auto" = 0.4 s before the first clip ends
              { type: 'image', source: { url: `${base}/photo.png` }, duration: 1 },
            ],
          },
        ],
      }),
    );

    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'tools/src/cli.ts'), 'render', timelineFile],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          REELBUS_URL: e2e.stack.ingestUrl,
          REELBUS_API_KEY: e2e.stack.secrets.apiKey,
          REELBUS_HOME: join(e2e.dir, 'state'),
        },
        timeout: 300_000,
      },
    );
    const jobId = /^job (\S+) \(1 file uploaded\)$/m.exec(stdout)?.[1];
    expect(jobId, stdout).toBeDefined();
    // the progress bar, one line per change when not on a terminal
    expect(stdout).toMatch(/^\[[#.]{30}\] +\d+% /m);
    expect(stdout).toMatch(/^video: 320x180, 2\.20 s, [\d.]+ MB$/m);
    const path = join(e2e.stack.blobDir, `jobs/${jobId}/final.mp4`);
    expect(stdout).toContain(path);
    expect(stdout).toMatch(/^poster: 320x180$/m);
    expect(stdout).toContain(join(e2e.stack.blobDir, `jobs/${jobId}/poster.jpg`));

    const job = await e2e.client.getJob(jobId!);
    expect(job).toMatchObject({ kind: 'render', status: 'completed', progress: 100 });
    expect(job.submittedBy).toEqual({ name: 'stack', role: 'operator' });
    expect(job.steps.fetch?.status).toBe('completed');
    expect(job.steps.compose?.status).toBe('completed');
    expect(job.steps.encode?.status).toBe('completed');
    expect(job.outputs.video).toMatchObject({ key: `jobs/${jobId}/final.mp4`, width: 320, height: 180 });
    expect(job.outputs.poster).toMatchObject({ key: `jobs/${jobId}/poster.jpg`, contentType: 'image/jpeg' });
    // the upload was stored under the job, the URL fetched into it
    const input = (
      job.input as { timeline: { tracks: Array<{ clips: Array<{ source: unknown }> }> } }
    ).timeline.tracks[0]!.clips.map((c) => c.source);
    expect(input).toEqual([{ key: `jobs/${jobId}/input/intro.mp4` }, { url: `${base}/photo.png` }]);

    const facts = probeFacts(path);
    expect(facts.video).toMatchObject({ codec: 'h264', width: 320, height: 180, pixFmt: 'yuv420p' });
    expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    expect(await countFrames(path)).toBe(55); // 1.6 + 1 − 0.4 s at 25 fps
    expect(isFaststart(path)).toBe(true);
  }, 400_000);

  it('refuses a bad body naming every JSON path at once, and fails a job whose source is missing naming the clip', async () => {
    // Schema problems: every one, by its JSON path, in one answer.
    const bad = await post({
      version: 1,
      output: { width: 321 },
      tracks: [
        {
          clips: [
            { type: 'video', source: { key: 'takes/a.mp4' }, transition: { type: 'spin', duration: 0.5 } },
            { type: 'image', source: { key: '/etc/passwd' }, duration: 1 },
          ],
        },
      ],
    });
    expect(bad.status).toBe(400);
    const issues = async (r: Response) => {
      const { error } = (await r.json()) as {
        error: { code: string; issues: Array<{ field: string; message: string }> };
      };
      expect(error.code).toBe('invalid_input');
      return error.issues;
    };
    const schema = await issues(bad);
    expect(schema.map((i) => i.field).sort(), JSON.stringify(schema)).toEqual([
      'output.width',
      'tracks[0].clips[0].transition.type',
      'tracks[0].clips[1].source.key',
    ]);
    // A well-formed body whose blob key does not exist: named too.
    const missing = await post({
      version: 1,
      tracks: [{ clips: [{ type: 'video', source: { key: 'takes/nowhere.mp4' } }] }],
    });
    expect(missing.status).toBe(400);
    expect(await issues(missing)).toEqual([
      {
        field: 'tracks[0].clips[0].source',
        message: 'blob "takes/nowhere.mp4" is not in storage; upload it, or give an https URL',
      },
    ]);

    served.set(
      '/clip.mp4',
      await makeVideo({ file: join(e2e.dir, 'clip.mp4'), seconds: 1, width: 320, height: 240 }),
    );
    const res = await post({
      version: 1,
      output: { width: 320, height: 180 },
      tracks: [
        {
          clips: [
            { type: 'video', source: { url: `${base}/clip.mp4` } },
            { type: 'video', source: { url: `${base}/gone.mp4` } },
          ],
        },
      ],
    });
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    const job = await e2e.client.follow(jobId, () => {}, { pollMs: 250 });
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ step: 'fetch' });
    expect(job.error!.reason).toContain(
      `tracks[0].clips[1].source: download failed: ${base}/gone.mp4 answered HTTP 404`,
    );
    expect(job.error!.reason).not.toContain('clips[0]');
  }, 120_000);

  it('renders a Timeline longer than CHUNK_THRESHOLD_SEC in chunks; the phases, chunks and time left are seen over SSE', async () => {
    served.set(
      '/held/long.mp4',
      await makeVideo({ file: join(e2e.dir, 'long.mp4'), seconds: 4.6, width: 320, height: 240 }),
    );
    const res = await post({
      version: 1,
      output: { width: 160, height: 90, fps: 25 },
      tracks: [{ clips: [{ type: 'video', source: { url: `${base}/held/long.mp4` }, duration: 4.4 }] }],
    });
    expect(res.status).toBe(202);
    const { jobId, eventsUrl } = (await res.json()) as { jobId: string; eventsUrl: string };
    // The source is held until the stream watches the job, so no progress event is missed.
    const sse = await openJobEvents(
      eventsUrl.replace(/^https?:\/\/[^/]+/, e2e.stack.ingestUrl),
      e2e.stack.secrets.apiKey,
    );
    expect((await sse.opened).event).toBe('job');
    release();
    const messages = await sse.done;
    expect(messages.at(-1)?.event).toBe('job.completed');

    const progress = messages
      .filter((m) => m.event === 'job.progress')
      .map((m) => (m.data as EventOf<'job.progress'>).data);
    const phases = [...new Set(progress.map((p) => p.phase).filter(Boolean))];
    // `complete` is published after video.encoded, so it may reach the bus after job.completed ends the stream.
    expect(phases.slice(0, 4)).toEqual(['preparing', 'rendering', 'concatenating', 'uploading']);
    expect(phases.slice(4)).toEqual(phases.length > 4 ? ['complete'] : []);
    const chunks = progress.find((p) => p.chunks)?.chunks;
    expect(chunks?.total).toBeGreaterThanOrEqual(4); // 4.4 s in 1-second chunks
    expect(progress.some((p) => p.chunks?.done === chunks!.total)).toBe(true);
    expect(progress.some((p) => p.chunk && p.chunk.frames > 0)).toBe(true);
    expect(progress.some((p) => p.etaSec !== undefined)).toBe(true);
    expect(messages.filter((m) => m.event === 'render.chunk.rendered')).toHaveLength(chunks!.total);
    expect(messages.filter((m) => m.event === 'render.audio.rendered')).toHaveLength(1);
    expect(messages.filter((m) => m.event === 'video.encoded')).toHaveLength(1);

    // the job document projects the same detail (the notifier stores the events after the stream saw
    // them): completed, at phase `complete`
    const deadline = Date.now() + 30_000;
    let job: Job = await e2e.client.getJob(jobId);
    while (
      (job.status !== 'completed' || job.progressDetail?.phase !== 'complete') &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 200)); // polling the document, with a deadline
      job = await e2e.client.getJob(jobId);
    }
    expect(job).toMatchObject({ kind: 'render', status: 'completed', progress: 100 });
    expect(job.progressDetail).toMatchObject({
      phase: 'complete',
      chunks: { done: chunks!.total, total: chunks!.total },
    });
    const path = join(e2e.stack.blobDir, `jobs/${jobId}/final.mp4`);
    expect(job.outputs.video).toMatchObject({ key: `jobs/${jobId}/final.mp4`, width: 160, height: 90 });

    const facts = probeFacts(path);
    expect(facts.video).toMatchObject({ codec: 'h264', width: 160, height: 90, pixFmt: 'yuv420p' });
    expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    expect(Math.abs(facts.durationSec - 4.4)).toBeLessThanOrEqual(1 / 25);
    expect(await countFrames(path)).toBe(110);
    expect(isFaststart(path)).toBe(true);
  }, 400_000);
});
