// `reelbus merge a.mp4 b.mp4 c.mp4` through the whole embedded stack: the CLI uploads local files and
// passes a blob key and a URL; ingest makes a merge job; the encoder fetches the URL, compares the
// clips, re-encodes the odd one and joins by stream copy; the notifier completes the job.
// On the same stack, HLS beside the MP4 (issue 10 §4): a Timeline published on the bus asks for a
// preview and an HLS ladder; the job's signed HLS link plays without an API key.
import { execFileSync } from 'node:child_process';
import { createReadStream, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus, FsBlobStore } from '@reelbus/kit';
import { isFaststart, makeVideo, probeFacts } from '@reelbus/kit/testing';
import { runCli, sharedE2E, waitForJob, type SharedE2E } from './harness.ts';

describe('merges, end to end', () => {
  let e2e: SharedE2E;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    // The shared stack allows private URLs (MERGE_ALLOW_PRIVATE_URLS, ALLOW_PRIVATE_URLS): the clip URL
    // here is this file's own server on 127.0.0.1.
    e2e = await sharedE2E();
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      createReadStream(join(e2e.dir, 'url.mp4')).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }, 300_000);
  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await e2e?.close();
  });

  it('joins uploaded files, a blob key and a URL in order; only the odd clip is re-encoded; the CLI prints the MP4', async () => {
    const a = await makeVideo({ file: join(e2e.dir, 'a.mp4'), seconds: 2, width: 320, height: 240 });
    const b = await makeVideo({
      file: join(e2e.dir, 'b.mp4'),
      seconds: 1.6,
      width: 320,
      height: 240,
      frequency: 660,
    });
    await makeVideo({
      file: join(e2e.dir, 'url.mp4'),
      seconds: 1.2,
      width: 320,
      height: 240,
      frequency: 880,
    });
    // The odd one: another size.
    const odd = await makeVideo({ file: join(e2e.dir, 'odd.mp4'), seconds: 1, width: 640, height: 360 });
    await new FsBlobStore({ root: e2e.stack.blobDir }).putFile('takes/odd.mp4', odd);

    const { stdout } = await runCli(e2e, ['merge', a, 'takes/odd.mp4', `${base}/clip.mp4`, b], {
      timeoutMs: 300_000,
    });
    const jobId = /^job (\S+) \(4 clips\)$/m.exec(stdout)?.[1];
    expect(jobId, stdout).toBeDefined();
    expect(stdout).toMatch(/video: 320x240, 5\.80 s, [\d.]+ MB, 4 clips joined/);
    expect(stdout).toContain('warning: clips[1]: re-encoded (picture) because');
    const path = join(e2e.stack.blobDir, `jobs/${jobId}/final.mp4`);
    expect(stdout).toContain(path);

    const job = await e2e.client.getJob(jobId!);
    expect(job).toMatchObject({ kind: 'merge', status: 'completed' });
    // Made through ingest's one submit path: the key that asked, and the request's trace.
    expect(job.submittedBy).toEqual({ name: 'stack', role: 'operator' });
    expect(job.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(job.outputs.video).toMatchObject({ key: `jobs/${jobId}/final.mp4`, videoCount: 4 });
    expect(job.steps.fetch?.status).toBe('completed');
    expect(job.steps.merge?.status).toBe('completed');
    expect(job.progress).toBe(100);

    const facts = probeFacts(path);
    expect(facts.video).toMatchObject({ codec: 'h264', width: 320, height: 240, pixFmt: 'yuv420p' });
    expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    expect(Math.abs(facts.durationSec - 5.8)).toBeLessThanOrEqual(1 / 25 + 1024 / 48000);
    expect(isFaststart(path)).toBe(true);
    expect(job.outputs.video!.sizeBytes).toBeGreaterThan(0);
  }, 400_000);

  it('fails the job naming the clip that is missing', async () => {
    const res = await fetch(`${e2e.stack.ingestUrl}/v1/merges`, {
      method: 'POST',
      headers: { authorization: `Bearer ${e2e.stack.secrets.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ clips: ['takes/odd.mp4', 'takes/nowhere.mp4'] }),
    });
    expect(res.status).toBe(202);
    const { jobId, clips } = (await res.json()) as { jobId: string; clips: number };
    expect(clips).toBe(2);
    const job = await e2e.client.follow(jobId, () => {}, { pollMs: 250 });
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ step: 'merge' });
    expect(job.error!.reason).toContain('clips[1]: "takes/nowhere.mp4" is not in blob storage');
  }, 120_000);

  it('renders a Timeline published on the bus as a 480p preview with an HLS ladder that a player opens from the signed link, without a key', async () => {
    const jobId = 'hls_e2e_1';
    const source = await makeVideo({
      file: join(e2e.dir, 'hls-src.mp4'),
      seconds: 5,
      width: 640,
      height: 360,
    });
    await new FsBlobStore({ root: e2e.stack.blobDir }).putFile('takes/hls-src.mp4', source);
    const bus = await Bus.connect({
      servers: e2e.stack.natsUrl,
      namespace: e2e.stack.namespace,
      name: 'hls-e2e',
    });
    try {
      await bus.publish('timeline.ready', jobId, {
        kind: 'render',
        timeline: {
          version: 1,
          duration: 5,
          output: { width: 1280, height: 720, preset: 'preview', formats: ['mp4', 'hls'] },
          tracks: [
            { clips: [{ type: 'video', source: { key: 'takes/hls-src.mp4' }, start: 0, duration: 5 }] },
          ],
        },
      });
    } finally {
      await bus.close();
    }
    const job = await waitForJob(e2e, jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('completed');
    expect(job.outputs.video).toMatchObject({ key: `jobs/${jobId}/final.mp4`, width: 854, height: 480 });
    expect(job.outputs.hls).toMatchObject({ key: `jobs/${jobId}/hls/master.m3u8` });
    const facts = probeFacts(join(e2e.stack.blobDir, `jobs/${jobId}/final.mp4`));
    expect(facts.video).toMatchObject({ codec: 'h264', width: 854, height: 480, fps: 15 });

    // The job's signed link: the signature is in the path, so the playlists' relative URLs keep it.
    const view = (await (
      await fetch(`${e2e.stack.ingestUrl}/v1/jobs/${jobId}`, {
        headers: { authorization: `Bearer ${e2e.stack.secrets.apiKey}` },
      })
    ).json()) as { links: { hls?: string } };
    const masterUrl = view.links.hls!;
    expect(masterUrl).toMatch(new RegExp(`/v1/hls/${jobId}/\\d+/[0-9a-f]{64}/master\\.m3u8$`));
    const get = async (url: string) => {
      const res = await fetch(url); // no Authorization header: a player has none
      expect(res.status, url).toBe(200);
      return Buffer.from(await res.arrayBuffer());
    };
    const master = HLS.parse((await get(masterUrl)).toString('utf8')) as HLS.types.MasterPlaylist;
    expect(master.isMasterPlaylist).toBe(true);
    expect(master.variants.map((v) => `${v.resolution?.width}x${v.resolution?.height}`)).toEqual([
      '854x480',
      '640x360',
      '428x240',
    ]);
    for (const v of master.variants) {
      expect(v.bandwidth).toBeGreaterThan(0);
      expect(v.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      const mediaUrl = new URL(v.uri, masterUrl).href;
      const media = HLS.parse((await get(mediaUrl)).toString('utf8')) as HLS.types.MediaPlaylist;
      expect(media.playlistType).toBe('VOD');
      const total = media.segments.reduce((sum, seg) => sum + seg.duration, 0);
      expect(Math.abs(total - 5), v.uri).toBeLessThanOrEqual(1 / 15);
      const init = await get(new URL(media.segments[0]!.map!.uri, mediaUrl).href);
      for (const seg of media.segments) {
        // init + segment, fetched through the signed prefix, decodes without an error
        const file = join(e2e.dir, 'hls-check.mp4');
        writeFileSync(file, Buffer.concat([init, await get(new URL(seg.uri, mediaUrl).href)]));
        execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-']);
      }
    }
    // The signature covers this job's files only, and a changed one is refused.
    const tampered = masterUrl.replace(
      /\/([0-9a-f])([0-9a-f]{63})\//,
      (_, c: string, rest: string) => `/${c === '0' ? '1' : '0'}${rest}/`,
    );
    expect((await fetch(tampered)).status).toBe(403);
  }, 300_000);
});
