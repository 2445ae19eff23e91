// A scene project through the whole embedded stack: created and edited over the API, previewed and
// rendered with `reelbus project preview|render` (the CLI); voiceovers, drawn visuals and music made
// by the local provider as job steps; the encoder renders the Timeline in chunks (a low threshold here). The MP4s are checked with
// ffprobe (size, fps, frame count = the scenes less the transition), their pixels (the overlay shows
// where it is enabled and not where it is disabled) and their loudness (music-only stretch where
// `volume` puts it). The retention sweeper (INTERMEDIATE_TTL=0 here) removes a finished render's
// intermediates but never the project's assets; deleting the project removes them. A 5-minute project
// renders at preview size in 21 chunks to the frame, its phases seen over SSE, its overlays and
// music checked in later chunks as the short render's are (1080p: the bench,
// `npm run bench -- --only project`).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolvePosition, type EventOf, type Job } from '@reelbus/contracts';
import { FsBlobStore, runFfmpeg } from '@reelbus/kit';
import { isFaststart, probeFacts } from '@reelbus/kit/testing';
import { longProjectSpec, projectApi, type Revisioned } from '../project.ts';
import { ROOT, startE2E, type E2E } from './harness.ts';

const run = promisify(execFile);

/** Frames of the first video stream, counted by reading its packets. */
const videoFrames = (file: string) =>
  Number(
    execFileSync(
      'ffprobe',
      [
        '-v',
        'error',
        '-count_packets',
        '-select_streams',
        'v:0',
        '-show_entries',
        'stream=nb_read_packets',
        '-of',
        'csv=p=0',
        file,
      ],
      { encoding: 'utf8' },
    ).trim(),
  );

/** Seconds of the first video stream (its own duration, not the container's). */
const videoStreamSec = (file: string) =>
  Number(
    execFileSync(
      'ffprobe',
      ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=duration', '-of', 'csv=p=0', file],
      { encoding: 'utf8' },
    ).trim(),
  );

/** The RGB of pixel (x, y) of the frame at `at` seconds. */
function pixel(file: string, at: number, x: number, y: number, width: number): [number, number, number] {
  const raw = execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-ss',
      String(at),
      '-i',
      file,
      '-frames:v',
      '1',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const i = (y * width + x) * 3;
  return [raw[i]!, raw[i + 1]!, raw[i + 2]!];
}
const isMagenta = ([r, g, b]: [number, number, number]) => r > 200 && g < 70 && b > 200;

/** Integrated loudness (LUFS) of `file`'s sound from `from` for `seconds` (ffmpeg's ebur128 summary). */
function ebur128(file: string, from: number, seconds: number): number {
  const res = spawnSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostats',
      '-ss',
      String(from),
      '-t',
      String(seconds),
      '-i',
      file,
      '-map',
      '0:a',
      '-af',
      'ebur128',
      '-f',
      'null',
      '-',
    ],
    { encoding: 'utf8' },
  );
  const m = /Integrated loudness:\s+I:\s+(-?[\d.]+) LUFS/.exec(String(res.stderr));
  return m ? Number(m[1]) : NaN;
}

/** The job document once `done(job)` holds, polled with a deadline (the notifier projects events after they happen). */
async function jobWhen(e2e: E2E, jobId: string, done: (j: Job) => boolean, what: string): Promise<Job> {
  const deadline = Date.now() + 60_000;
  let job: Job = await e2e.client.getJob(jobId);
  while (!done(job)) {
    if (Date.now() > deadline)
      throw new Error(`job ${jobId}: ${what} not seen in 60 s: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 250)); // polling the document, with a deadline
    job = await e2e.client.getJob(jobId);
  }
  return job;
}

interface SseMessage {
  event: string;
  data: unknown;
}

/**
 * A job's SSE stream: `opened` resolves with the first message (sent once the server watches the job),
 * `done` with every message once the server ends the stream (after job.completed / job.failed).
 */
async function openJobEvents(url: string, apiKey: string) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` } });
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

describe('scene projects, end to end', () => {
  let e2e: E2E;
  const logs: string[] = [];
  const cli = async (...args: string[]) =>
    (
      await run(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/src/cli.ts'), ...args], {
        cwd: ROOT,
        env: {
          ...process.env,
          REELBUS_URL: e2e.stack.ingestUrl,
          REELBUS_API_KEY: e2e.stack.secrets.apiKey,
          REELBUS_HOME: join(e2e.dir, 'state'),
        },
        timeout: 500_000,
      })
    ).stdout;

  beforeAll(async () => {
    try {
      e2e = await startE2E({
        readyTimeoutMs: 240_000,
        log: (l) => logs.push(l),
        serviceEnv: {
          // Renders over 5 s are chunked in 15-second chunks: the 5-minute one in 21 (the 7-second
          // renders here are a single chunk, so one pass); ultrafast keeps the long one cheap.
          encoder: { CHUNK_THRESHOLD_SEC: '5', CHUNK_SECONDS: '15', ENCODER_PRESET: 'ultrafast' },
          // The 5-minute project fetches one picture from this test's server on 127.0.0.1.
          'ai-generator': { PROJECT_ALLOW_PRIVATE_URLS: 'true' },
          // A finished job's intermediates go at once (the sweeper looks every second).
          notifier: { INTERMEDIATE_TTL: '0', RETENTION_SWEEP_INTERVAL_MS: '1000' },
        },
      });
    } catch (err) {
      console.error(logs.slice(-40).join('\n'));
      throw err;
    }
  }, 330_000);
  afterEach((ctx) => {
    // The stack's last lines explain a failure (a service restarted, a port refused, …).
    if (ctx.task.result?.state === 'fail') console.error(logs.slice(-60).join('\n'));
  });
  afterAll(async () => {
    await e2e?.close();
  });

  it('previews at 480p / 15 fps and renders the final with the overlay where enabled and the music where volume puts it', async () => {
    const client = { baseUrl: e2e.stack.ingestUrl, apiKey: e2e.stack.secrets.apiKey };
    // A magenta product image: easy to find in a frame.
    const png = join(e2e.dir, 'product.png');
    await runFfmpeg({
      step: 'test',
      args: ['-f', 'lavfi', '-i', 'color=c=#ff00ff:s=240x240', '-frames:v', '1', png],
    });
    await new FsBlobStore({ root: e2e.stack.blobDir }).putFile('brand/product.png', png);
    const overlay = {
      image: { key: 'brand/product.png' },
      position: { x: 'right', y: 'bottom' },
      scale: 0.3,
      animation: 'none',
    };
    const created = await projectApi<Revisioned>({
      client,
      method: 'POST',
      path: '/v1/projects',
      body: {
        title: 'E2E project',
        output: { shortSide: 480, fps: 30 },
        music: { source: { mood: 'upbeat' }, volume: 0.5 },
        scenes: [
          {
            id: 's1',
            narration: 'Hello there.',
            duration: 2.5,
            visual: { model: 'local-image', params: { prompt: 'a quiet harbour' } },
            overlay,
            transition: { type: 'fade', duration: 0.5 },
          },
          // No narration: a music-only stretch. The overlay is there but disabled.
          {
            id: 's2',
            duration: 3,
            visual: { model: 'local-image', params: { prompt: 'a field' } },
            overlay: { ...overlay, enabled: false },
          },
          {
            id: 's3',
            narration: 'Goodbye.',
            duration: 2,
            visual: { model: 'local-image', params: { prompt: 'a sunset' } },
          },
        ],
      },
    });
    const id = created.projectId;

    // Preview: 480p at 15 fps.
    const previewOut = await cli('project', 'preview', id);
    const previewJobId = /^preview of revision 1: job (\S+)$/m.exec(previewOut)?.[1];
    expect(previewJobId, previewOut).toBeDefined();
    const preview: Job = await e2e.client.getJob(previewJobId!);
    expect(preview).toMatchObject({
      kind: 'project',
      status: 'completed',
      origin: { type: 'project', id, revision: 1 },
    });
    expect(preview.steps.prepare?.status).toBe('completed');
    const previewPath = join(e2e.stack.blobDir, preview.outputs.video!.key);
    expect(previewOut).toContain(previewPath);
    const pf = probeFacts(previewPath);
    expect(pf.video).toMatchObject({
      codec: 'h264',
      profile: 'High',
      width: 854,
      height: 480,
      fps: 15,
      pixFmt: 'yuv420p',
    });
    expect(pf.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    // 2.5 + 3 + 2 less the 0.5 s transition = 7 s, to the frame.
    expect(videoFrames(previewPath)).toBe(7 * 15);
    expect(isFaststart(previewPath)).toBe(true);

    // The sweeper (INTERMEDIATE_TTL=0) removes the ended preview's intermediates (its narration mix,
    // its chunks) but not the project's assets: voiceovers, generated visuals and music stay with the
    // project, and the final render below reuses them.
    await jobWhen(
      e2e,
      previewJobId!,
      (j) => Boolean(j.retention?.intermediatesRemovedAt),
      'the sweep of its intermediates',
    );
    const blobs = new FsBlobStore({ root: e2e.stack.blobDir });
    expect(await blobs.list(`jobs/${previewJobId}/project/`)).toEqual([]);
    expect(await blobs.list(`jobs/${previewJobId}/chunks/`)).toEqual([]);
    expect(await blobs.stat(preview.outputs.video!.key)).toBeDefined();
    const previewAssets = (preview.state as { project: { assets: Record<string, { key: string }> } }).project
      .assets;
    expect(Object.keys(previewAssets).sort()).toEqual([
      'music',
      'visual:s1',
      'visual:s2',
      'visual:s3',
      'voiceover:s1',
      'voiceover:s3',
    ]);
    for (const a of Object.values(previewAssets)) {
      expect(a.key.startsWith(`projects/${id}/assets/`), a.key).toBe(true);
      expect(await blobs.stat(a.key), a.key).toBeDefined();
    }

    // Final: smaller for CI (the default is 1080p), 30 fps. A PATCH, then the render of revision 2.
    await projectApi({
      client,
      method: 'PATCH',
      path: `/v1/projects/${id}`,
      body: { output: { shortSide: 240, fps: 30 } },
    });
    const renderOut = await cli('project', 'render', id);
    const finalJobId = /^render of revision 2: job (\S+)$/m.exec(renderOut)?.[1];
    expect(finalJobId, renderOut).toBeDefined();
    const final: Job = await e2e.client.getJob(finalJobId!);
    expect(final).toMatchObject({ status: 'completed', origin: { type: 'project', id, revision: 2 } });
    const path = join(e2e.stack.blobDir, final.outputs.video!.key);
    const ff = probeFacts(path);
    expect(ff.video).toMatchObject({ width: 426, height: 240, fps: 30 });
    expect(videoFrames(path)).toBe(7 * 30);
    // Shorter than one 15-second chunk: rendered in one pass (the 5-minute render below is chunked).
    expect(final.progressDetail?.chunks, JSON.stringify(final.progressDetail)).toBeUndefined();

    // The overlay's box (bottom right, 30 % of the frame, 4 % margin): magenta in s1, not in s2.
    const box = resolvePosition({
      position: { anchor: 'bottomRight', scale: 0.3, offset: { x: -10, y: -10 } },
      frame: { width: 426, height: 240 },
    });
    const cx = box.x + Math.round(box.width / 2);
    const cy = box.y + Math.round(box.height / 2);
    expect(isMagenta(pixel(path, 1.0, cx, cy, 426))).toBe(true);
    expect(isMagenta(pixel(path, 3.5, cx, cy, 426))).toBe(false);

    // Music alone (3.0–4.8 s: s1's words ended, s3's not begun) sits at −16 LUFS + 20·log10(0.5) ≈ −22 LUFS.
    const lufs = ebur128(path, 3.0, 1.8);
    expect(
      Math.abs(lufs - (-16 + 20 * Math.log10(0.5))),
      `music-only stretch at ${lufs} LUFS`,
    ).toBeLessThanOrEqual(3);

    // The voiceovers and visuals of revision 1 were reused by revision 2 (only the frame size changed the visuals).
    const state = (final.state as { project?: { assets: Record<string, { made?: boolean }> } }).project!;
    expect(state.assets['voiceover:s1']?.made).toBeFalsy();
    expect(state.assets['music']?.made).toBeFalsy();

    // Deleting the project removes its assets; the rendered videos stay with their jobs.
    expect((await blobs.list(`projects/${id}/`)).length).toBeGreaterThanOrEqual(6);
    await projectApi({ client, method: 'DELETE', path: `/v1/projects/${id}` });
    expect(await blobs.list(`projects/${id}/`)).toEqual([]);
    expect(await blobs.stat(final.outputs.video!.key)).toBeDefined();
    await expect(projectApi({ client, method: 'GET', path: `/v1/projects/${id}` })).rejects.toThrow(/404/);
  }, 600_000);

  it('renders a 5-minute project in 21 chunks to the frame: the scenes less the transitions, overlays and music in later chunks; phases over SSE', async () => {
    const client = { baseUrl: e2e.stack.ingestUrl, apiKey: e2e.stack.secrets.apiKey };
    const blobs = new FsBlobStore({ root: e2e.stack.blobDir });
    // Few distinct assets, reused by many scenes: two stills in storage, one fetched from this test's
    // server (held until the job's SSE stream is open, so every phase is seen), one drawn by the model.
    const stills: string[] = [];
    for (const [i, src] of [
      'testsrc2=s=960x720',
      'mandelbrot=s=960x720',
      'color=c=#ff00ff:s=960x720', // the product: magenta, easy to find in a frame
    ].entries()) {
      const file = join(e2e.dir, `still-${i}.png`);
      await runFfmpeg({ step: 'test', args: ['-f', 'lavfi', '-i', src, '-frames:v', '1', file] });
      stills.push(file);
    }
    await blobs.putFile('five/harbour.png', stills[0]!);
    await blobs.putFile('five/product.png', stills[2]!);
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    const server: Server = createServer((req, res) => {
      if (req.url !== '/held/market.png') return void res.writeHead(404).end();
      void held.then(() => {
        res.writeHead(200, { 'content-type': 'image/png' });
        createReadStream(stills[1]!).pipe(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const long = longProjectSpec({
        visuals: [
          { key: 'five/harbour.png' },
          { url: `${base}/held/market.png` },
          { model: 'local-image', params: { prompt: 'a lighthouse at dusk' } },
        ],
        overlay: { key: 'five/product.png' },
        output: { shortSide: 480, fps: 15 },
      });
      expect(long.durationSec).toBe(303); // 315 s of scenes less 12 s of transitions
      const created = await projectApi<Revisioned>({
        client,
        method: 'POST',
        path: '/v1/projects',
        body: long.spec,
      });
      const started = await projectApi<Revisioned & { jobId: string; eventsUrl: string }>({
        client,
        method: 'POST',
        path: `/v1/projects/${created.projectId}/render`,
      });
      const sse = await openJobEvents(
        started.eventsUrl.replace(/^https?:\/\/[^/]+/, e2e.stack.ingestUrl),
        e2e.stack.secrets.apiKey,
      );
      expect((await sse.opened).event).toBe('job');
      release();
      const messages = await sse.done;
      expect(messages.at(-1)?.event, JSON.stringify(messages.at(-1))).toBe('job.completed');

      const progress = messages
        .filter((m) => m.event === 'job.progress')
        .map((m) => (m.data as EventOf<'job.progress'>).data);
      const phases = [...new Set(progress.map((p) => p.phase).filter(Boolean))];
      // `complete` follows video.encoded, so it may reach the bus after job.completed ends the stream.
      expect(phases.slice(0, 4)).toEqual(['preparing', 'rendering', 'concatenating', 'uploading']);
      expect(phases.slice(4)).toEqual(phases.length > 4 ? ['complete'] : []);
      expect(
        progress.some((p) => p.phase === 'preparing' && /voiceovers \d+ of 13/.test(p.message ?? '')),
      ).toBe(true);

      const job = await jobWhen(
        e2e,
        started.jobId,
        (j) => j.status === 'completed' && j.progressDetail?.phase === 'complete',
        'completed at phase complete',
      );
      expect(job.origin).toEqual({ type: 'project', id: created.projectId, revision: 1 });
      // Four narration lines, one fetched and one drawn picture, the music: made once each and shared.
      const assets = Object.values(
        (job.state as { project: { assets: Record<string, { key: string; made?: boolean }> } }).project
          .assets,
      );
      expect(new Set(assets.map((a) => a.key)).size).toBe(4 + 2 + 1);

      const path = join(e2e.stack.blobDir, job.outputs.video!.key);
      const facts = probeFacts(path);
      expect(facts.video).toMatchObject({
        codec: 'h264',
        width: 854,
        height: 480,
        pixFmt: 'yuv420p',
      });
      // ffprobe's average rate of 21 joined chunks: 4545 frames in 303.00x s.
      expect(facts.video!.fps).toBeCloseTo(15, 3);
      expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
      // The scenes less the transitions, within one frame.
      const frames = videoFrames(path);
      expect(Math.abs(frames - 303 * 15)).toBeLessThanOrEqual(1);
      // In 15-second chunks of 225 frames (21 for 4545 frames), every one rendered and joined, and
      // their intermediates swept once the job ended (INTERMEDIATE_TTL=0).
      const chunks = job.progressDetail!.chunks!;
      expect(chunks.total).toBe(Math.ceil(frames / 225));
      expect(chunks.done).toBe(chunks.total);
      await jobWhen(e2e, job.id, (j) => Boolean(j.retention?.intermediatesRemovedAt), 'the sweep');
      expect(await blobs.list(`jobs/${job.id}/chunks/`)).toEqual([]);
      expect(Math.abs(videoStreamSec(path) - 303)).toBeLessThanOrEqual(1 / 15);
      expect(Math.abs(facts.durationSec - 303)).toBeLessThanOrEqual(1 / 15);

      // Where each scene starts (to a frame or so: the layout snaps durations and transitions to it).
      const scenes = (long.spec as { scenes: Array<{ duration: number; transition?: { duration: number } }> })
        .scenes;
      const startOf = (n: number) =>
        scenes.slice(0, n - 1).reduce((t, s) => t + s.duration - (s.transition?.duration ?? 0), 0);
      const middleOf = (n: number) => startOf(n) + scenes[n - 1]!.duration / 2;
      // The product overlay (bottom right, 25 % of the frame, 4 % margin) on every fourth scene, in chunks
      // other than the first: magenta in s12 (chunk 10 of 21) and s24 (chunk 20), not in s9 and s15,
      // which show the same drawn picture (no magenta in it) without an overlay.
      const box = resolvePosition({
        position: { anchor: 'bottomRight', scale: 0.25, offset: { x: -19, y: -19 } },
        frame: { width: 854, height: 480 },
      });
      const cx = box.x + Math.round(box.width / 2);
      const cy = box.y + Math.round(box.height / 2);
      for (const [n, shown] of [
        [12, true],
        [24, true],
        [9, false],
        [15, false],
      ] as const) {
        const at = middleOf(n);
        expect(Math.floor(at / 15), `s${n} at ${at} s`).toBeGreaterThan(0);
        expect(isMagenta(pixel(path, at, cx, cy, 854)), `overlay in s${n} at ${at} s`).toBe(shown);
      }

      // Music alone: s14 has no words and s13's short line ended long before; 3 s from its start, 4 s of
      // the calm music sit at −16 LUFS + 20·log10(0.15) ≈ −32.5 LUFS (clear of the 60-s music's loop fades).
      const from = startOf(14) + 3;
      const lufs = ebur128(path, from, 4);
      expect(
        Math.abs(lufs - (-16 + 20 * Math.log10(0.15))),
        `music-only stretch ${from}–${from + 4} s at ${lufs} LUFS`,
      ).toBeLessThanOrEqual(3);
    } finally {
      release();
      server.close();
    }
  }, 1_500_000);
});
