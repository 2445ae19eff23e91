import { Job } from '@reelbus/contracts';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import twilio from 'twilio';
import { hashApiKey } from '../api-keys.ts';
import type { IngestConfig } from '../config.ts';

export const API_KEY = 'rb_test_key_7f3a9c';
export const OPERATOR_KEY = 'rb_test_operator_key_51c2';
export const TWILIO_TOKEN = 'twilio-auth-token-for-tests';
export const PUBLIC_BASE_URL = 'https://calls.example.test';

export function testConfig(over: Partial<IngestConfig> = {}): IngestConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    publicBaseUrl: PUBLIC_BASE_URL,
    twilioAuthToken: TWILIO_TOKEN,
    apiKeys: [
      { name: 'another', role: 'user', hash: hashApiKey('another-key') },
      { name: 'tester', role: 'user', hash: hashApiKey(API_KEY) },
      { name: 'ops', role: 'operator', hash: hashApiKey(OPERATOR_KEY) },
    ],
    linkSigningSecret: 'link-secret-0123456789abcdef',
    videoLinkTtlSec: 3600,
    uploadMaxBytes: 256 * 1024,
    allowPrivateCallbacks: false,
    limits: { requestsPerMinute: 3000, scope: 'replica', maxActiveJobs: 100 },
    ...over,
  };
}

export const auth = { authorization: `Bearer ${API_KEY}` };
export const operatorAuth = { authorization: `Bearer ${OPERATOR_KEY}` };

/** A real 16-bit PCM stereo WAV: a different tone on each channel. */
export function makeStereoWav({
  seconds = 0.25,
  rate = 8000,
}: { seconds?: number; rate?: number } = {}): Buffer {
  const frames = Math.round(seconds * rate);
  const data = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 4);
    data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 660 * i) / rate)), i * 4 + 2);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(2, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 4, 28);
  h.writeUInt16LE(4, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

export type FormPart =
  { name: string; value: string } | { name: string; filename: string; type: string; bytes: Uint8Array };

/** Encodes multipart/form-data the way a browser or curl would. */
export async function multipartBody(
  parts: FormPart[],
): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const fd = new FormData();
  for (const p of parts) {
    if ('value' in p) fd.append(p.name, p.value);
    else fd.append(p.name, new Blob([p.bytes], { type: p.type }), p.filename);
  }
  const req = new Request('http://localhost/', { method: 'POST', body: fd });
  return {
    payload: Buffer.from(await req.arrayBuffer()),
    headers: { 'content-type': req.headers.get('content-type') ?? '' },
  };
}

const hex32 = (seed: string) => Buffer.from(seed.padEnd(16, '0').slice(0, 16)).toString('hex');

/** Form fields of a Twilio recording status callback. */
export function twilioCallback(over: Record<string, string> = {}): Record<string, string> {
  const recordingSid = `RE${hex32(Math.random().toString(36).slice(2))}`;
  return {
    AccountSid: `AC${hex32('account')}`,
    CallSid: `CA${hex32('call')}`,
    RecordingSid: recordingSid,
    RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/AC${hex32('account')}/Recordings/${recordingSid}`,
    RecordingStatus: 'completed',
    RecordingDuration: '42',
    RecordingChannels: '2',
    RecordingSource: 'DialVerb',
    ...over,
  };
}

/** An inject request Twilio would send, signed for PUBLIC_BASE_URL + path (or unsigned/with `signature`). */
export function twilioRequest({
  params,
  path = '/v1/webhooks/twilio/recording',
  token = TWILIO_TOKEN,
  signature,
}: {
  params: Record<string, string>;
  path?: string;
  token?: string;
  signature?: string | null;
}) {
  const sig =
    signature === undefined
      ? twilio.getExpectedTwilioSignature(token, PUBLIC_BASE_URL + path, params)
      : signature;
  return {
    method: 'POST' as const,
    url: path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      // The Host a proxy hands on differs from the public URL: validation must not use it.
      host: 'ingest.internal:8080',
      ...(sig === null ? {} : { 'x-twilio-signature': sig }),
    },
    payload: new URLSearchParams(params).toString(),
  };
}

export interface SseMessage {
  event: string;
  data: unknown;
}

/** Opens an SSE stream over real HTTP and hands out its messages one by one. */
export async function openSse({ url, headers }: { url: string; headers: Record<string, string> }) {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(url, { headers }, resolve);
    req.on('error', reject);
    req.end();
  });
  const queue: SseMessage[] = [];
  const comments: string[] = [];
  let waiter: (() => void) | undefined;
  let ended = false;
  let buf = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments.push(line.slice(1).trim());
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) queue.push({ event, data: JSON.parse(data.join('\n')) });
    }
    waiter?.();
  });
  const endedP = new Promise<void>((resolve) =>
    res.on('close', () => {
      ended = true;
      waiter?.();
      resolve();
    }),
  );
  return {
    status: res.statusCode,
    headers: res.headers,
    comments,
    ended: endedP,
    /** The next message; rejects when the stream ends first. */
    async next(): Promise<SseMessage> {
      while (queue.length === 0) {
        if (ended) throw new Error('SSE stream ended');
        await new Promise<void>((r) => (waiter = r));
      }
      return queue.shift()!;
    },
    close: () => res.destroy(),
  };
}

/** A job document with every field of contracts' Job set (the whole-document test keeps it complete). */
export function fullJob(id = 'job_everything'): Job {
  const at = '2026-03-01T10:00:00.000Z';
  return Job.parse({
    id,
    kind: 'story',
    status: 'completed',
    createdAt: at,
    updatedAt: '2026-03-01T10:05:00.000Z',
    finishedAt: '2026-03-01T10:05:00.000Z',
    retention: {
      intermediatesRemovedAt: '2026-03-08T10:05:00.000Z',
      outputsRemovedAt: '2027-03-01T10:05:00.000Z',
      blobsRemoved: 12,
      bytesFreed: 48_000_000,
    },
    dedupeKey: `story:${id}`,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    input: { audio: { key: 'in/story.wav' }, images: [{ url: 'https://cdn.example.com/a.jpg' }] },
    steps: {
      normalize: { status: 'completed', startedAt: at, finishedAt: at, durationMs: 3800, attempts: 1 },
      encode: {
        status: 'completed',
        percent: 100,
        message: 'done',
        attempts: 2,
        error: 'first try timed out',
      },
    },
    progress: 100,
    progressDetail: {
      phase: 'encode',
      message: 'joining chunks',
      chunks: { done: 4, total: 4 },
      frames: { done: 3600, total: 3600 },
      etaSec: 0,
      updatedAt: at,
    },
    outputs: {
      video: {
        key: `jobs/${id}/final.mp4`,
        durationSec: 120,
        sizeBytes: 9_000_000,
        width: 1920,
        height: 1080,
        fps: 30,
      },
      audio: {
        key: `jobs/${id}/audio.m4a`,
        durationSec: 120,
        sizeBytes: 1_000_000,
        contentType: 'audio/mp4',
      },
      poster: { key: `jobs/${id}/poster.jpg`, durationSec: 0, sizeBytes: 50_000, width: 1920, height: 1080 },
      hls: {
        key: `jobs/${id}/hls/master.m3u8`,
        durationSec: 120,
        sizeBytes: 12_000_000,
        contentType: 'application/vnd.apple.mpegurl',
      },
    },
    warnings: ['image 2 could not be read and was skipped'],
    error: { step: 'encode', reason: 'a reason kept from an earlier attempt' },
    fallback: 'audio_only',
    fallbackReason: 'the encoder failed after its retries',
    callbackUrl: 'https://hooks.example.com/story',
    testMode: true,
    submittedBy: { name: 'tester', role: 'user' },
    origin: { type: 'project', id: 'proj_1', revision: 3, sectionId: 's1', takeId: 't2' },
    cancel: { requestedAt: at, by: 'ops', reason: 'not needed' },
    notifications: [
      {
        at,
        url: 'https://hooks.example.com/story',
        event: 'job.completed',
        attempt: 1,
        ok: false,
        status: 502,
        error: 'bad gateway',
      },
      {
        at,
        url: 'https://hooks.example.com/story',
        event: 'job.completed',
        attempt: 2,
        ok: true,
        status: 200,
      },
    ],
    cost: { backend: 'ffmpeg', estimateUsd: 0.01, actualUsd: 0.02, cpuSeconds: 190 },
    state: { compositor: { claimed: true, clips: ['caller', 'callee'] }, notifier: { lastEventId: 'e1' } },
  });
}
