// reelbus's merge on real files: stream copy when the clips match (bit-identical pictures), sound in
// sync at every join, only the odd clips re-encoded, bad inputs named.
import { createServer, type Server } from 'node:http';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '@reelbus/kit';
import { isFaststart } from '@reelbus/kit/testing';
import { fakeHandlerContext } from '../testing.ts';
import { handleMergeRequested } from './handle-merge.ts';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { extractAudioArgs } from './args.ts';
import { parseAdts } from './audio-join.ts';
import { mergeClips, readAacFrames } from './merge.ts';
import { probeClip } from './probe.ts';
import {
  clickOnsets,
  decodeErrors,
  durations,
  frameHashes,
  frameValues,
  makeClip,
  stripInBandParameterSets,
} from './testing.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reelbus-merge-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const inputs = (files: string[]) => files.map((file, i) => ({ file, label: `clips[${i}]`, shown: file }));
let n = 0;
const work = () => mkdtempSync(join(dir, `w${n++}-`));

describe('reading AAC frames from an MP4', () => {
  it('gives, byte for byte, the ADTS frames ffmpeg copies out of it (priming included)', async () => {
    for (const [name, audio] of [
      ['stereo', ['-c:a', 'aac', '-ac', '2']],
      ['mono', ['-c:a', 'aac', '-ac', '1']],
    ] as const) {
      const file = makeClip({ file: join(dir, `adts-${name}.mp4`), audio: [...audio] });
      const p = await probeClip({ file, index: 0, shown: file });
      expect(p.audio?.packets?.length).toBeGreaterThan(90);
      const mine = await readAacFrames({ file, packets: p.audio!.packets!, aac: p.audio!.aac! });
      const out = join(dir, `adts-${name}.aac`);
      execFileSync('ffmpeg', [
        '-v',
        'error',
        '-y',
        ...extractAudioArgs({ inputs: [{ file, streamIndex: p.audio!.index, output: out }] }),
      ]);
      const theirs = parseAdts(readFileSync(out));
      expect(mine!.map((f) => Buffer.from(f).toString('hex'))).toEqual(
        theirs.map((f) => Buffer.from(f).toString('hex')),
      );
    }
  }, 60_000);
});

describe('mergeClips', () => {
  it('joins matching clips by stream copy: every picture bit-identical, sound exactly as long, moov first', async () => {
    const files = [1, 2, 3].map((i) => makeClip({ file: join(dir, `same-${i}.mp4`), seconds: 2 + i * 0.4 }));
    const w = work();
    const r = await mergeClips({ inputs: inputs(files), output: join(w, 'out.mp4'), workDir: w });
    expect(r.plan.mode).toBe('copy');
    expect(r.notes).toEqual([]);
    const out = join(w, 'out.mp4');
    expect(frameHashes(out)).toEqual(files.flatMap(frameHashes));
    const d = durations(out);
    expect(d.video).toBeCloseTo(2.4 + 2.8 + 3.2, 6);
    expect(Math.abs(d.audio! - d.video!)).toBeLessThanOrEqual(0.0213);
    expect(isFaststart(out)).toBe(true);
  }, 120_000);

  it('keeps each clip’s sound on its picture over 20 joins, whatever the sound’s length (short, long, none)', async () => {
    // Each clip's sound starts with a click at its first frame; every 4th clip has a short sound,
    // a long one, or none.
    const clips = Array.from({ length: 20 }, (_, i) => {
      const audioSec = [1, 0.5, 1.6, 0][i % 4]!;
      const file = join(dir, `click-${i}.mp4`);
      return makeClip({
        file,
        seconds: 1,
        ...(audioSec === 0
          ? { audio: null }
          : { audioSource: `aevalsrc='if(lt(t,0.01),0.9*sin(2*PI*1000*t),0)':s=48000:d=${audioSec}` }),
      });
    });
    const w = work();
    const out = join(w, 'out.mp4');
    const r = await mergeClips({ inputs: inputs(clips), output: out, workDir: w });
    expect(r.plan.mode).toBe('copy');
    expect(r.notes.filter((x) => x.includes('silence'))).toHaveLength(5);
    const d = durations(out);
    expect(Math.abs(d.video! - 20)).toBeLessThanOrEqual(1 / 25);
    expect(Math.abs(d.audio! - d.video!)).toBeLessThanOrEqual(1024 / 48000);
    const onsets = clickOnsets(out);
    const expected = clips.map((_, i) => i).filter((i) => i % 4 !== 3);
    expect(onsets).toHaveLength(expected.length);
    onsets.forEach((t, k) => expect(Math.abs(t - expected[k]!)).toBeLessThanOrEqual(0.012));
  }, 420_000);

  it('re-encodes only the clip that differs (its size), says why, and the join decodes as a strict avc1 player sees it', async () => {
    const a = makeClip({ file: join(dir, 'n-a.mp4') });
    const b = makeClip({ file: join(dir, 'n-b.mp4'), width: 640, height: 480 });
    const c = makeClip({ file: join(dir, 'n-c.mp4') });
    const w = work();
    const out = join(w, 'out.mp4');
    const r = await mergeClips({ inputs: inputs([a, b, c]), output: out, workDir: w });
    expect(r.plan.mode).toBe('normalise');
    expect(r.plan.clips.map((x) => x.video)).toEqual(['copy', 'encode', 'copy']);
    expect(r.notes).toHaveLength(1);
    expect(r.notes[0]).toMatch(/^clips\[1\]: re-encoded \(picture\) because /);
    expect(r.notes[0]).toContain("width is 640, the majority's is 320; height is 480, the majority's is 240");
    expect(frameValues({ file: out, stream: 'v', entries: 'width,height' })).toEqual(['320,240']);
    const hashes = frameHashes(out);
    expect(frameHashes(stripInBandParameterSets({ file: out, output: join(w, 'strict.mp4') }))).toEqual(
      hashes,
    );
    expect(hashes.slice(0, 50)).toEqual(frameHashes(a));
    expect(durations(out).video).toBeCloseTo(6, 2);
  }, 300_000);

  it('makes one joinable set from clips that differ every way a copy join cannot bear', async () => {
    const ref = makeClip({ file: join(dir, 'm-ref.mp4') });
    const odd = [
      makeClip({ file: join(dir, 'm-fps.mp4'), fps: 30 }),
      makeClip({ file: join(dir, 'm-rate.mp4'), sampleRate: 44100 }),
      makeClip({ file: join(dir, 'm-mono.mp4'), audio: ['-c:a', 'aac', '-ac', '1'] }),
      makeClip({ file: join(dir, 'm-tb.mp4'), extra: ['-video_track_timescale', '90000'] }),
      makeClip({ file: join(dir, 'm-order.mp4'), extra: ['-map', '1:a', '-map', '0:v'] }),
      makeClip({ file: join(dir, 'm-mp3.mp4'), audio: ['-c:a', 'libmp3lame', '-ac', '2'] }),
    ];
    const files = [ref, ref, ref, ref, ...odd];
    const w = work();
    const out = join(w, 'out.mp4');
    const r = await mergeClips({ inputs: inputs(files), output: out, workDir: w });
    expect(r.plan.clips.slice(4).map((c) => `${c.video}/${c.audio}/${c.remux}`)).toEqual([
      'encode/copy/false',
      'copy/encode/false',
      'copy/encode/false',
      'encode/copy/false',
      'copy/copy/true',
      'copy/encode/false',
    ]);
    expect(decodeErrors(out)).toBe(0);
    const d = durations(out);
    expect(Math.abs(d.video! - 20)).toBeLessThanOrEqual(1 / 25);
    expect(Math.abs(d.audio! - d.video!)).toBeLessThanOrEqual(1024 / 48000);
    expect(frameValues({ file: out, stream: 'a', entries: 'channels' })).toEqual(['2']);
  }, 420_000);
});

describe('handleMergeRequested', () => {
  let root: string;
  let blobs: FsBlobStore;
  let server: Server;
  let base: string;
  const deps = () => ({
    blobs,
    tmpDir: join(dir, 'tmp'),
    fetch: { allowPrivate: true, timeoutMs: 30_000, maxBytes: 100 * 1024 * 1024 },
  });
  beforeAll(async () => {
    root = mkdtempSync(join(dir, 'blobs-'));
    blobs = new FsBlobStore({ root });
    await blobs.putFile('in/a.mp4', makeClip({ file: join(dir, 'h-a.mp4') }));
    makeClip({ file: join(dir, 'h-b.mp4'), seconds: 1 });
    writeFileSync(join(dir, 'notes.txt'), 'not a video at all');
    await blobs.putFile('in/notes.mp4', join(dir, 'notes.txt'));
    server = createServer((req, res) => {
      if (req.url === '/b.mp4') {
        res.writeHead(200, { 'content-type': 'video/mp4' });
        createReadStream(join(dir, 'h-b.mp4')).pipe(res);
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const event = (jobId: string, clips: unknown[]) => ({
    id: `merge.requested:${jobId}`,
    type: 'merge.requested' as const,
    version: 1,
    jobId,
    occurredAt: new Date().toISOString(),
    data: { clips } as never,
  });

  it('fetches URL clips into the job, joins, stores final.mp4 and publishes video.encoded with videoCount', async () => {
    const ctx = fakeHandlerContext();
    const outcome = await handleMergeRequested({
      event: event('job_m1', [{ key: 'in/a.mp4' }, { url: `${base}/b.mp4` }, { key: 'in/a.mp4' }]),
      ctx,
      deps: deps(),
    });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(await blobs.stat('jobs/job_m1/input/clip-001.mp4')).toBeDefined();
    const encoded = ctx.published.find((p) => p.type === 'video.encoded');
    expect(encoded).toMatchObject({
      id: 'video.encoded:job_m1',
      data: { key: 'jobs/job_m1/final.mp4', videoCount: 3 },
    });
    expect((encoded!.data as { durationSec: number }).durationSec).toBeCloseTo(5, 1);
    expect(ctx.progress.calls.map((c) => `${c[0]}:${c[1]}`)).toEqual(
      expect.arrayContaining(['fetch:started', 'fetch:completed', 'merge:started', 'merge:completed']),
    );
  }, 120_000);

  it.each([
    [
      [{ key: 'in/a.mp4' }, { key: 'in/missing.mp4' }],
      'merge',
      'clips[1]: "in/missing.mp4" is not in blob storage',
    ],
    [
      [{ key: 'in/a.mp4' }, { key: 'in/notes.mp4' }],
      'merge',
      'clips[1]: "in/notes.mp4" is not a readable media file',
    ],
    [[{ key: 'in/a.mp4' }, { url: `http://127.0.0.1:1/x.mp4` }], 'fetch', 'clips[1]:'],
  ])(
    'fails the job naming the bad clip (%#)',
    async (clips, step, reason) => {
      const ctx = fakeHandlerContext();
      const outcome = await handleMergeRequested({ event: event('job_bad', clips), ctx, deps: deps() }).catch(
        (err: Error) => ({ outcome: 'thrown', reason: err.message }),
      );
      if (step === 'fetch') {
        // A refused connection may pass: it is retried, and names the clip.
        expect(JSON.stringify(outcome)).toContain(reason);
        return;
      }
      expect(outcome).toMatchObject({ outcome: 'fail', step });
      expect((outcome as { reason: string }).reason).toContain(reason);
    },
    60_000,
  );
});
