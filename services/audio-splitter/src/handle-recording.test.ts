import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf } from '@reelbus/contracts';
import { FsBlobStore, probe } from '@reelbus/kit';
import {
  makeDamagedMp3,
  makeMono,
  makeSilence,
  makeStereoCall,
  makeTone,
  truncateWav,
  type StereoCallFixture,
} from '@reelbus/kit/testing';
import { handleRecording, keys, type SplitterSettings } from './handle-recording.ts';
import { recordingContext, recordingReceived } from './test-support.ts';

const exec = promisify(execFile);
const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'secret-token';
const RECORDING_SID = 'RE0123456789abcdef0123456789abcdef';

let dir: string;
let blobs: FsBlobStore;
let call: StereoCallFixture;
let settings: SplitterSettings;
let jobSeq = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-splitter-test-'));
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  // Twilio-like: 8 kHz 16-bit dual channel, caller then callee
  call = await makeStereoCall({
    dir: join(dir, 'fixtures'),
    left: 'Hello, I am calling about my order.',
    right: 'Sure, let me look that up for you.',
    sampleRate: 8000,
  });
  settings = {
    download: {
      timeoutMs: 2000,
      attempts: 3,
      backoffMs: 20,
      twilioAuth: { accountSid: ACCOUNT, authToken: TOKEN },
    },
    silenceThresholdDb: -50,
    tmpDir: join(dir, 'tmp'),
    stallTimeoutMs: 30_000,
  };
  await mkdir(settings.tmpDir, { recursive: true });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const newJobId = () => `job-${process.pid}-${++jobSeq}`;

async function withInput(file: string): Promise<{ jobId: string; key: string }> {
  const jobId = newJobId();
  const key = keys.input(jobId);
  await blobs.put(key, await readFile(file)); // putFile would move the fixture into the store
  return { jobId, key };
}

async function run(opts: { jobId: string; data: unknown; settings?: SplitterSettings }) {
  const rec = recordingContext();
  const outcome = await handleRecording({
    event: recordingReceived({ jobId: opts.jobId, data: opts.data }),
    ctx: rec.ctx,
    blobs,
    settings: opts.settings ?? settings,
  });
  const split = rec.published.find((e) => e.type === 'audio.split') as EventOf<'audio.split'> | undefined;
  return { ...rec, outcome, split };
}

/** RMS amplitude (0-1) of one channel (1-based) of a file between two times, measured by sox. */
async function rms(file: string, channel: number, startSec: number, endSec: number): Promise<number> {
  const { stderr } = await exec('sox', [
    file,
    '-n',
    'remix',
    String(channel),
    'trim',
    String(startSec),
    `=${endSec}`,
    'stat',
  ]);
  const m = /RMS\s+amplitude:\s+([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no sox stat output: ${stderr}`);
  return Number(m[1]);
}

describe('handleRecording: splitting', () => {
  it('splits a stereo call into caller and callee files that each hold only their own side', async () => {
    const { jobId, key } = await withInput(call.file);
    const { outcome, split, progress, published } = await run({
      jobId,
      data: { source: 'upload', recording: { key } },
    });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(published).toHaveLength(1);
    expect(split?.id).toBe(`audio.split:${jobId}`);
    expect(split?.data.mode).toBe('stereo');
    expect(split?.data.source).toMatchObject({ key, channels: 2, sampleRate: 8000, codec: 'pcm_s16le' });
    expect(split?.data.channels.map((c) => [c.role, c.key, c.silent])).toEqual([
      ['caller', `jobs/${jobId}/split/caller.wav`, false],
      ['callee', `jobs/${jobId}/split/callee.wav`, false],
    ]);
    const left = call.left!;
    const right = call.right!;
    for (const [i, ch] of (split?.data.channels ?? []).entries()) {
      const file = blobs.localPath(ch.key);
      const info = await probe(file);
      expect(info.audio).toMatchObject({ codec: 'pcm_s16le', channels: 1, sampleRate: 48000 });
      expect(Math.abs(info.durationSec - call.durationSec)).toBeLessThan(0.02);
      expect(Math.abs(ch.durationSec - call.durationSec)).toBeLessThan(0.02);
      // the output carries its source channel: same loudness where that side speaks, silence where the other does
      const [own, other] = i === 0 ? [left, right] : [right, left];
      const srcRms = await rms(call.file, i + 1, own.startSec, own.endSec);
      const outRms = await rms(file, 1, own.startSec, own.endSec);
      expect(srcRms).toBeGreaterThan(0.01);
      expect(Math.abs(outRms - srcRms) / srcRms).toBeLessThan(0.05);
      expect(await rms(file, 1, other.startSec + 0.05, other.endSec - 0.05)).toBeLessThan(0.001);
    }
    expect(progress.filter((p) => p.step === 'split').map((p) => p.status)).toContain('completed');
  });

  it('flags a channel that is silent for the whole call', async () => {
    const oneSided = await makeStereoCall({
      dir: join(dir, 'fixtures'),
      file: join(dir, 'fixtures', 'one-sided.wav'),
      left: 'Hello? Is anybody there?',
    });
    const { jobId, key } = await withInput(oneSided.file);
    const { outcome, split } = await run({ jobId, data: { source: 'upload', recording: { key } } });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(split?.data.channels.map((c) => [c.role, c.silent])).toEqual([
      ['caller', false],
      ['callee', true],
    ]);
    expect(split?.data.channels[1]?.meanVolumeDb ?? 0).toBeLessThan(-80);
  });

  it('turns mono input into one caller channel', async () => {
    const mono = await makeMono({ file: join(dir, 'fixtures', 'mono.wav'), sampleRate: 22050 });
    const { jobId, key } = await withInput(mono);
    const { outcome, split } = await run({ jobId, data: { source: 'upload', recording: { key } } });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(split?.data.mode).toBe('mono');
    expect(split?.data.channels).toHaveLength(1);
    expect(split?.data.channels[0]).toMatchObject({
      role: 'caller',
      silent: false,
      key: `jobs/${jobId}/split/caller.wav`,
    });
    const info = await probe(blobs.localPath(split!.data.channels[0]!.key));
    expect(info.audio).toMatchObject({ channels: 1, sampleRate: 48000 });
    expect(Math.abs(info.durationSec - (await probe(mono)).durationSec)).toBeLessThan(0.02);
  });

  it('uses the first two channels of a three-channel recording and warns', async () => {
    const file = await makeTone({ file: join(dir, 'fixtures', 'three.wav'), seconds: 1, channels: 3 });
    const { jobId, key } = await withInput(file);
    const { outcome, split, warnings } = await run({ jobId, data: { source: 'upload', recording: { key } } });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(split?.data.channels.map((c) => c.role)).toEqual(['caller', 'callee']);
    expect(warnings).toEqual([{ step: 'split', message: expect.stringContaining('3 channels') }]);
  });
});

describe('handleRecording: partly damaged recordings say so', () => {
  /** Stores `file` as the job's uploaded recording with the extension `ext`. */
  async function upload(file: string, ext: string) {
    const jobId = newJobId();
    const key = `jobs/${jobId}/input/recording.${ext}`;
    await blobs.put(key, await readFile(file));
    return { jobId, key };
  }

  it('splits what decodes of a truncated MP3 followed by garbage, and warns naming the file, the loss and the errors', async () => {
    const mp3 = await makeDamagedMp3({
      source: call.file,
      file: join(dir, 'fixtures', 'call-damaged.mp3'),
      keepFraction: 0.5,
    });
    const { jobId, key } = await upload(mp3.file, 'mp3');
    const { outcome, split, warnings } = await run({ jobId, data: { source: 'upload', recording: { key } } });
    expect(outcome).toEqual({ outcome: 'ok' });
    // the split files hold the half that decoded, and the event says the recording is that long
    const decoded = split!.data.source.durationSec;
    expect(Math.abs(decoded - mp3.declaredSec / 2)).toBeLessThan(0.3);
    for (const ch of split!.data.channels) {
      expect(Math.abs((await probe(blobs.localPath(ch.key))).durationSec - decoded)).toBeLessThan(0.01);
      expect(ch.durationSec).toBeCloseTo(decoded, 2);
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.step).toBe('split');
    const lost = Math.round((mp3.declaredSec - decoded) * 100) / 100;
    expect(warnings[0]!.message).toMatch(
      new RegExp(
        `^the recording recording\\.mp3 is damaged: ${lost} s of its ${r2(mp3.declaredSec)} s could not be decoded ` +
          `\\(the audio that decoded ends at ${r2(decoded)} s\\); (a decode error|\\d+ decode errors) at ${r2(decoded)} s ` +
          `\\(ffmpeg: Invalid data found when processing input\\)\\. The video uses the ${r2(decoded)} s that decoded\\.$`,
      ),
    );
  });

  it('splits what exists of a WAV whose header declares more than it holds, and warns', async () => {
    const cut = await truncateWav({
      source: call.file,
      file: join(dir, 'fixtures', 'call-truncated.wav'),
      keepFraction: 0.6,
    });
    const { jobId, key } = await upload(cut.file, 'wav');
    const { outcome, split, warnings } = await run({ jobId, data: { source: 'upload', recording: { key } } });
    expect(outcome).toEqual({ outcome: 'ok' });
    const decoded = split!.data.source.durationSec;
    expect(Math.abs(decoded - cut.declaredSec * 0.6)).toBeLessThan(0.01);
    expect(warnings).toEqual([
      {
        step: 'split',
        message:
          `the recording recording.wav is damaged: ${r2(cut.declaredSec - decoded)} s of its ${r2(cut.declaredSec)} s ` +
          `could not be decoded (the audio that decoded ends at ${r2(decoded)} s). The video uses the ${r2(decoded)} s that decoded.`,
      },
    ]);
  });

  it('fails an MP3 of which almost nothing decodes, saying nothing usable is left', async () => {
    const mp3 = await makeDamagedMp3({
      source: call.file,
      file: join(dir, 'fixtures', 'call-ruined.mp3'),
      keepFraction: 0.06,
    });
    const { jobId, key } = await upload(mp3.file, 'mp3');
    const { outcome, published } = await run({ jobId, data: { source: 'upload', recording: { key } } });
    expect(outcome).toMatchObject({ outcome: 'fail', step: 'split' });
    expect((outcome as { reason: string }).reason).toMatch(
      new RegExp(
        `^the recording recording\\.mp3 is damaged: only 0\\.\\d+ s of the ${r2(mp3.declaredSec)} s it declares could be decoded ` +
          `\\(ffmpeg: Invalid data found when processing input\\); nothing usable is left`,
      ),
    );
    expect(published).toHaveLength(0);
  });

  it('says nothing about a healthy MP3', async () => {
    const mp3 = await makeDamagedMp3({
      source: call.file,
      file: join(dir, 'fixtures', 'call-whole.mp3'),
      keepFraction: 1,
    });
    const { jobId, key } = await upload(mp3.file, 'mp3');
    const { outcome, warnings } = await run({ jobId, data: { source: 'upload', recording: { key } } });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(warnings).toEqual([]);
  });
});

describe('handleRecording: bad input fails the job with a reason a user understands', () => {
  it('fails an empty file', async () => {
    const empty = join(dir, 'fixtures', 'empty.wav');
    await writeFile(empty, '');
    const { jobId, key } = await withInput(empty);
    const { outcome, published } = await run({ jobId, data: { source: 'upload', recording: { key } } });
    expect(outcome).toEqual({ outcome: 'fail', step: 'split', reason: 'the recording is empty (0 bytes)' });
    expect(published).toHaveLength(0);
  });

  it('fails a text file renamed .wav', async () => {
    const text = join(dir, 'fixtures', 'notes.wav');
    await writeFile(text, 'Meeting notes: call the customer back on Tuesday.\n'.repeat(10));
    const { jobId, key } = await withInput(text);
    const { outcome } = await run({ jobId, data: { source: 'upload', recording: { key } } });
    expect(outcome).toMatchObject({ outcome: 'fail', step: 'split' });
    expect((outcome as { reason: string }).reason).toMatch(
      /^the recording is not an audio file \(ffprobe: .*Invalid data/,
    );
  });

  it('fails a recording that is silent on both channels', async () => {
    const silent = await makeSilence({
      file: join(dir, 'fixtures', 'silent.wav'),
      seconds: 1,
      channels: 2,
      sampleRate: 8000,
    });
    const { jobId, key } = await withInput(silent);
    const { outcome, published } = await run({ jobId, data: { source: 'upload', recording: { key } } });
    expect(outcome).toEqual({
      outcome: 'fail',
      step: 'split',
      reason: 'the recording is silent on both channels',
    });
    expect(published).toHaveLength(0);
    expect(await blobs.list(`jobs/${jobId}/split/`)).toEqual([]);
  });

  it('fails when the key names no blob', async () => {
    const jobId = newJobId();
    const { outcome } = await run({
      jobId,
      data: { source: 'upload', recording: { key: `jobs/${jobId}/input/missing.wav` } },
    });
    expect(outcome).toEqual({
      outcome: 'fail',
      step: 'split',
      reason: `the recording was not found in blob storage (key jobs/${jobId}/input/missing.wav)`,
    });
  });
});

describe('handleRecording: downloading from Twilio', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
    const requests: IncomingMessage[] = [];
    const server = createServer((req, res) => {
      requests.push(req);
      handler(req, res, requests.length);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return { requests, base: `http://127.0.0.1:${port}` };
  }

  const twilioData = (url: string) => ({
    source: 'twilio',
    recording: { url },
    twilio: { accountSid: ACCOUNT, callSid: 'CA1', recordingSid: RECORDING_SID },
  });
  const recPath = `/2010-04-01/Accounts/${ACCOUNT}/Recordings/${RECORDING_SID}`;

  it('retries a failing server, sends Basic auth, asks for dual-channel WAV and streams it into storage', async () => {
    const wav = await readFile(call.file);
    const expectedAuth = `Basic ${Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64')}`;
    const { requests, base } = await serve((req, res, n) => {
      if (req.headers.authorization !== expectedAuth) return void res.writeHead(401).end();
      if (n <= 2) return void res.writeHead(503).end('busy');
      res.writeHead(200, { 'content-type': 'audio/x-wav', 'content-length': String(wav.length) }).end(wav);
    });
    const jobId = newJobId();
    const { outcome, split, progress } = await run({ jobId, data: twilioData(`${base}${recPath}`) });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(requests).toHaveLength(3);
    for (const r of requests) {
      expect(r.headers.authorization).toBe(expectedAuth);
      expect(r.url).toBe(`${recPath}.wav?RequestedChannels=2`);
    }
    expect(await readFile(blobs.localPath(keys.input(jobId)))).toEqual(wav);
    expect(split?.data.source.key).toBe(keys.input(jobId));
    expect(split?.data.channels).toHaveLength(2);
    expect(progress.filter((p) => p.step === 'download').map((p) => p.status)).toEqual(
      expect.arrayContaining(['started', 'completed']),
    );
  });

  it('fails with a timeout reason when the server never answers', async () => {
    const { requests, base } = await serve(() => undefined); // accepts, never responds
    const jobId = newJobId();
    const { outcome, published } = await run({
      jobId,
      data: twilioData(`${base}${recPath}`),
      settings: { ...settings, download: { ...settings.download, timeoutMs: 300 } },
    });
    expect(outcome).toMatchObject({ outcome: 'fail', step: 'download' });
    expect((outcome as { reason: string }).reason).toMatch(
      /^download of the recording timed out after 3 attempts/,
    );
    expect(requests).toHaveLength(3);
    expect(published).toHaveLength(0);
  });

  it('fails at once when Twilio says the recording does not exist', async () => {
    const { requests, base } = await serve((_req, res) => void res.writeHead(404).end('not found'));
    const { outcome } = await run({ jobId: newJobId(), data: twilioData(`${base}${recPath}`) });
    expect(requests).toHaveLength(1);
    expect(outcome).toMatchObject({ outcome: 'fail', step: 'download' });
    expect((outcome as { reason: string }).reason).toContain('answered 404');
  });

  it('never sends the Twilio credentials to a URL outside Twilio', async () => {
    const wav = await readFile(call.file);
    const { requests, base } = await serve((_req, res) => void res.writeHead(200).end(wav));
    const { outcome } = await run({
      jobId: newJobId(),
      data: { source: 'bus', recording: { url: `${base}/files/call.wav` } },
    });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(requests).toHaveLength(1);
    expect(requests[0]?.headers.authorization).toBeUndefined();
    expect(requests[0]?.url).toBe('/files/call.wav');
  });
});

/** Seconds as the warnings print them. */
const r2 = (n: number) => Math.round(n * 100) / 100;
