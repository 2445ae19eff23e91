// A scene project through the whole embedded stack: created and edited over the API, previewed and
// rendered with `reelbus project preview|render` (the CLI); voiceovers, drawn visuals and music made
// by the local provider as job steps; the encoder renders the Timeline in chunks (a low threshold here). The MP4s are checked with
// ffprobe (size, fps, frame count = the scenes less the transition), their pixels (the overlay shows
// where it is enabled and not where it is disabled) and their loudness (music-only stretch where
// `volume` puts it).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolvePosition, type Job } from '@reelbus/contracts';
import { FsBlobStore, runFfmpeg } from '@reelbus/kit';
import { isFaststart, probeFacts } from '@reelbus/kit/testing';
import { projectApi, type Revisioned } from '../project.ts';
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
        readyTimeoutMs: 150_000,
        log: (l) => logs.push(l),
        // Renders over 5 s are chunked (2-second chunks), so the 7-second renders here go through chunking.
        serviceEnv: { encoder: { CHUNK_THRESHOLD_SEC: '5', CHUNK_SECONDS: '2' } },
      });
    } catch (err) {
      console.error(logs.slice(-40).join('\n'));
      throw err;
    }
  }, 240_000);
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
    // Rendered in chunks (7 s over the 5 s threshold), joined to the exact frame count above.
    const chunks = final.progressDetail?.chunks;
    expect(chunks?.total, JSON.stringify(final.progressDetail)).toBeGreaterThanOrEqual(3);
    expect(chunks?.done).toBe(chunks?.total);

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
  }, 600_000);
});
