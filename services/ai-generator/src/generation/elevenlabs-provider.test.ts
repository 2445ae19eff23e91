// The ElevenLabs provider through the real `@elevenlabs/elevenlabs-js` client, against a local server speaking
// ElevenLabs' text-to-speech-with-timestamps protocol (src/testing/fake-elevenlabs-server.ts), and against
// ElevenLabs itself when ELEVENLABS_API_KEY is set.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@reelbus/kit';
import { probeFacts } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelRegistry } from '../models/registry.ts';
import type { Model } from '../models/types.ts';
import { startFakeElevenLabsServer, type FakeElevenLabsServer } from '../testing/fake-elevenlabs-server.ts';
import type { SpeechAlignmentFile } from './alignment.ts';
import { createElevenLabsProvider } from './elevenlabs-provider.ts';
import { isProviderError, type RunRequest } from './types.ts';

const KEY = 'sk_fake_elevenlabs_key';
const registry = loadModelRegistry();
const base = registry.get('elevenlabs-multilingual-v2');
let dir: string;
let n = 0;
const servers: FakeElevenLabsServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aigen-elevenlabs-'));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

async function fake(opts: Partial<Parameters<typeof startFakeElevenLabsServer>[0]> = {}) {
  const s = await startFakeElevenLabsServer({ apiKey: KEY, ...opts });
  servers.push(s);
  return s;
}

async function request(
  params: Record<string, unknown>,
  opts: { model?: Model; signal?: AbortSignal } = {},
): Promise<RunRequest> {
  const model = opts.model ?? base;
  const checked = registry.validateParams(base.id, params);
  if (!checked.ok) throw new Error(checked.message);
  const outDir = join(dir, `run-${++n}`);
  await mkdir(outDir, { recursive: true });
  return {
    jobId: `job-${n}`,
    model,
    params: checked.params,
    mediaFiles: {},
    mediaUrls: {},
    outDir,
    signal: opts.signal ?? new AbortController().signal,
    logger: silentLogger(),
  };
}

/** Silences of at least `minSec` below -50 dB in `file` (ffmpeg silencedetect reports on stderr). */
function silenceCount(file: string, minSec = 0.02): number {
  const r = execFileSync(
    'sh',
    [
      '-c',
      `ffmpeg -hide_banner -nostats -i "$1" -af silencedetect=n=-50dB:d=${minSec} -f null - 2>&1`,
      'sh',
      file,
    ],
    { encoding: 'utf8' },
  );
  return (r.match(/silence_start/g) ?? []).length;
}

const model = (maxChars: number): Model => ({ ...base, limits: { ...base.limits, maxChars } });

describe('ElevenLabs text to speech (real SDK, local ElevenLabs protocol)', () => {
  it('speaks a short text in one request and keeps its character timings beside the audio', async () => {
    const server = await fake({ costPerChar: 1 });
    const provider = createElevenLabsProvider({ apiKey: KEY, baseUrl: server.url });
    const text = 'Welcome to reelbus.';
    const result = await provider.run(await request({ text, voice: 'voice-a', stability: 0.4 }));

    expect(server.requests).toHaveLength(1);
    const [r] = server.requests;
    expect(r).toMatchObject({
      voiceId: 'voice-a',
      query: { output_format: 'mp3_44100_128' },
      body: { text, model_id: 'eleven_multilingual_v2', voice_settings: { stability: 0.4 } },
      status: 200,
    });
    expect(r!.body).not.toHaveProperty('previous_text');
    const audio = result.files.find((f) => f.role === 'audio')!;
    const facts = probeFacts(audio.path);
    expect(facts.audio).toMatchObject({ codec: 'mp3', sampleRate: 44100 });
    expect(Math.abs(facts.durationSec - text.length * server.secPerChar)).toBeLessThan(0.03);

    const alignment = JSON.parse(
      await readFile(result.files.find((f) => f.role === 'alignment')!.path, 'utf8'),
    ) as SpeechAlignmentFile;
    expect(alignment.text).toBe(text);
    expect(alignment.alignment.characters.join('')).toBe(text);
    expect(alignment.alignment.characterEndTimesSeconds.at(-1)).toBeCloseTo(
      text.length * server.secPerChar,
      3,
    );
    expect(alignment.chunks).toEqual([
      { text, startSec: 0, durationSec: expect.any(Number), requestId: r!.requestId },
    ]);
    expect(result.facts).toEqual({ characters: text.length });
  });

  it('splits a long text at sentences within the limit, stitches each request to its neighbours, and joins the audio without gaps', async () => {
    const server = await fake({ maxChars: 120 });
    const provider = createElevenLabsProvider({ apiKey: KEY, baseUrl: server.url });
    const sentences = [
      'The lighthouse keeper climbed the stairs every evening at dusk.',
      'He lit the lamp, wound the clockwork, and watched the ships.',
      'Storms came in the autumn, and the sea rose over the rocks.',
      'In spring the gulls returned, loud and hungry, to the cliffs.',
      'He wrote it all down in a small blue book.',
    ];
    const text = sentences.join(' ');
    const result = await provider.run(await request({ text, voice: 'voice-b' }, { model: model(120) }));

    const bodies = server.requests.map((r) => r.body);
    expect(bodies.length).toBeGreaterThanOrEqual(3);
    expect(bodies.map((b) => b.text).join('')).toBe(text);
    for (const b of bodies) {
      expect(String(b.text).length).toBeLessThanOrEqual(120);
      expect(String(b.text).trimEnd()).toMatch(/[.!?]$/); // whole sentences
    }
    // stitching: the text around each request, and the ids of the requests before it (at most 3)
    expect(bodies[0]).not.toHaveProperty('previous_text');
    expect(bodies[0]!.next_text).toBe(text.slice(String(bodies[0]!.text).length));
    expect(bodies[1]!.previous_text).toBe(bodies[0]!.text);
    expect(bodies[1]!.previous_request_ids).toEqual([server.requests[0]!.requestId]);
    expect(bodies.at(-1)).not.toHaveProperty('next_text');
    expect((bodies.at(-1)!.previous_request_ids as string[]).length).toBeLessThanOrEqual(3);

    const audio = result.files.find((f) => f.role === 'audio')!.path;
    const facts = probeFacts(audio);
    const expected = text.length * server.secPerChar;
    // one MP3 frame (26 ms) of tolerance at the end; no silence inside: the joins have no gaps
    expect(Math.abs(facts.durationSec - expected)).toBeLessThan(0.05);
    expect(silenceCount(audio)).toBe(0);

    const alignment = JSON.parse(
      await readFile(result.files.find((f) => f.role === 'alignment')!.path, 'utf8'),
    ) as SpeechAlignmentFile;
    expect(alignment.alignment.characters.join('')).toBe(text);
    const starts = alignment.alignment.characterStartTimesSeconds;
    for (let i = 1; i < starts.length; i++) expect(starts[i]!).toBeGreaterThanOrEqual(starts[i - 1]!);
    // the first character of the second chunk starts where the first chunk's audio ended
    const first = String(bodies[0]!.text).length;
    expect(starts[first]).toBeCloseTo(alignment.chunks[0]!.durationSec, 3);
    expect(alignment.chunks[1]!.startSec).toBeCloseTo(first * server.secPerChar, 2);
    expect(alignment.alignment.characterEndTimesSeconds.at(-1)!).toBeCloseTo(expected, 1);
    expect(result.facts.characters).toBe(text.length);
  });

  it('retries 429 and 5xx answers with backoff and then succeeds', async () => {
    const server = await fake({
      fail: (i) =>
        i === 1
          ? {
              status: 429,
              detail: { status: 'too_many_concurrent_requests', message: 'Too many concurrent requests' },
            }
          : i === 2
            ? { status: 503, detail: { status: 'service_unavailable', message: 'try again' } }
            : undefined,
    });
    const provider = createElevenLabsProvider({
      apiKey: KEY,
      baseUrl: server.url,
      retries: 3,
      retryBaseMs: 10,
    });
    const result = await provider.run(await request({ text: 'Third time lucky.', voice: 'v' }));
    expect(server.requests.map((r) => r.status)).toEqual([429, 503, 200]);
    expect(result.files.map((f) => f.role)).toEqual(['audio', 'alignment']);
  });

  it('gives up after the retries with a retryable error naming the last answer', async () => {
    const server = await fake({
      fail: () => ({ status: 500, detail: { status: 'internal', message: 'boom' } }),
    });
    const provider = createElevenLabsProvider({
      apiKey: KEY,
      baseUrl: server.url,
      retries: 2,
      retryBaseMs: 5,
    });
    const err = await provider.run(await request({ text: 'Hello.', voice: 'v' })).catch((e: unknown) => e);
    expect(isProviderError(err) && err.retryable).toBe(true);
    expect((err as Error).message).toBe('elevenlabs text to speech: HTTP 500: internal: boom');
    expect(server.requests).toHaveLength(3);
  });

  it("fails at once with ElevenLabs' own message when it refuses the request (no retry)", async () => {
    const server = await fake({ voices: ['known-voice'], maxChars: 50 });
    const provider = createElevenLabsProvider({ apiKey: KEY, baseUrl: server.url, retryBaseMs: 5 });
    const unknownVoice = await provider
      .run(await request({ text: 'Hello.', voice: 'nobody' }))
      .catch((e: unknown) => e);
    expect(isProviderError(unknownVoice) && !unknownVoice.retryable).toBe(true);
    expect((unknownVoice as Error).message).toBe(
      'elevenlabs text to speech: HTTP 404: voice_not_found: A voice with the voice_id nobody was not found.',
    );
    // the registry says 10,000 characters; this account's model takes 50: its 400 is the reason
    const tooLong = await provider
      .run(await request({ text: 'x'.repeat(60), voice: 'known-voice' }))
      .catch((e: unknown) => e);
    expect((tooLong as Error).message).toMatch(
      /HTTP 400: max_character_limit_exceeded: This request's text has 60 characters and exceeds the character limit of 50/,
    );
    const badKey = createElevenLabsProvider({ apiKey: 'wrong', baseUrl: server.url });
    await expect(badKey.run(await request({ text: 'Hi.', voice: 'known-voice' }))).rejects.toThrow(
      'elevenlabs text to speech: HTTP 401: invalid_api_key: Invalid API key',
    );
    expect(server.requests.map((r) => r.status)).toEqual([404, 400, 401]);
  });

  it('names the fields of a 422 validation answer', async () => {
    const server = await fake({
      fail: () => ({
        status: 422,
        detail: [
          {
            loc: ['body', 'voice_settings', 'stability'],
            msg: 'ensure this value is less than or equal to 1',
            type: 'value_error',
          },
        ],
      }),
    });
    const provider = createElevenLabsProvider({ apiKey: KEY, baseUrl: server.url });
    const err = await provider.run(await request({ text: 'Hi.', voice: 'v' })).catch((e: unknown) => e);
    expect(isProviderError(err) && !err.retryable).toBe(true);
    expect((err as Error).message).toBe(
      'elevenlabs text to speech: HTTP 422: body.voice_settings.stability: ensure this value is less than or equal to 1',
    );
    expect(server.requests).toHaveLength(1);
  });

  it('stops between requests when the job is cancelled (the signal aborts)', async () => {
    const controller = new AbortController();
    const server = await fake({
      maxChars: 40,
      fail: (i) => {
        if (i === 2) controller.abort(new Error('job cancelled'));
        return undefined;
      },
    });
    const provider = createElevenLabsProvider({ apiKey: KEY, baseUrl: server.url });
    const text = 'One sentence here. Another sentence here. A third one here. And a fourth.';
    await expect(
      provider.run(await request({ text, voice: 'v' }, { model: model(40), signal: controller.signal })),
    ).rejects.toThrow();
    expect(server.requests.length).toBe(2);
  });
});

describe.runIf(Boolean(process.env.ELEVENLABS_API_KEY))(
  'ElevenLabs itself (ELEVENLABS_API_KEY is set)',
  () => {
    it('speaks a two-sentence text in two stitched requests, with timings', async () => {
      const provider = createElevenLabsProvider({ apiKey: process.env.ELEVENLABS_API_KEY });
      const text = 'This is reelbus speaking. It joins two requests into one reading.';
      const result = await provider.run(await request({ text }, { model: model(30) }));
      const audio = result.files.find((f) => f.role === 'audio')!.path;
      expect(probeFacts(audio).audio?.codec).toBe('mp3');
      const alignment = JSON.parse(
        await readFile(result.files.find((f) => f.role === 'alignment')!.path, 'utf8'),
      ) as SpeechAlignmentFile;
      expect(alignment.chunks).toHaveLength(2);
      expect(alignment.alignment.characters.join('')).toBe(text);
      expect(result.facts.characters).toBeGreaterThan(0);
    });
  },
);
