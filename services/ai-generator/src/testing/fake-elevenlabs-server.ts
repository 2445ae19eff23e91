import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFfmpeg } from '@reelbus/kit';

/** One text-to-speech request as the fake received it. */
export interface FakeSpeechRequest {
  voiceId: string;
  /** Query string (`output_format`, …). */
  query: Record<string, string>;
  /** The JSON body as sent (snake_case: `text`, `model_id`, `previous_text`, `next_text`, `previous_request_ids`, `voice_settings`). */
  body: Record<string, unknown>;
  /** The `request-id` the fake answered with (absent for refused requests). */
  requestId?: string;
  status: number;
}

/** An error answer for the n-th request instead of audio: ElevenLabs' status and `detail`. */
export interface FakeSpeechError {
  status: number;
  detail: unknown;
  retryAfterSec?: number;
}

export interface FakeElevenLabsServer {
  /** The API root to give the client (`http://127.0.0.1:<port>`). */
  url: string;
  requests: FakeSpeechRequest[];
  /** Seconds of audio the fake makes per character (a continuous tone, so joins can be checked for gaps). */
  secPerChar: number;
  close(): Promise<void>;
}

/**
 * A local HTTP server speaking ElevenLabs' text-to-speech-with-timestamps API the way
 * `@elevenlabs/elevenlabs-js` calls it: `POST /v1/text-to-speech/{voice_id}/with-timestamps?output_format=…`
 * with `xi-api-key` and a JSON body (`text`, `model_id`, `previous_text`, `next_text`,
 * `previous_request_ids`, `voice_settings`), answered with JSON `{ audio_base64, alignment,
 * normalized_alignment }` (each alignment `{ characters, character_start_times_seconds,
 * character_end_times_seconds }`) and the `request-id` and `character-cost` headers. The audio is real
 * MP3 made by ffmpeg (libmp3lame, at the asked rate and bitrate): a continuous tone of `secPerChar` per
 * character, every character given an equal slot. Errors have ElevenLabs' shapes: 401
 * `{ detail: { status: "invalid_api_key", message } }`, 404 for an unknown voice, 400 over `maxChars`,
 * 422 `{ detail: [{ loc, msg, type }] }` for a body without text.
 */
export async function startFakeElevenLabsServer(opts: {
  apiKey: string;
  /** Voice ids the account has (others are 404). Default: any. */
  voices?: string[];
  /** Longest text of one request (ElevenLabs: 10,000 for multilingual v2). */
  maxChars?: number;
  secPerChar?: number;
  /** An error for the n-th request (1-based), instead of audio. */
  fail?: (n: number, body: Record<string, unknown>) => FakeSpeechError | undefined;
  /** Characters billed per character of text (`character-cost`); default 1. */
  costPerChar?: number;
}): Promise<FakeElevenLabsServer> {
  const { apiKey, voices, maxChars = 10_000, secPerChar = 0.07, fail, costPerChar = 1 } = opts;
  const requests: FakeSpeechRequest[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'reelbus-fake-elevenlabs-'));
  let made = 0;

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  };
  const alignmentOf = (text: string) => {
    const characters = [...text];
    return {
      characters,
      character_start_times_seconds: characters.map((_, i) => round(i * secPerChar)),
      character_end_times_seconds: characters.map((_, i) => round((i + 1) * secPerChar)),
    };
  };
  const speak = async (text: string, format: string): Promise<Buffer> => {
    const m = /^mp3_(\d+)_(\d+)$/.exec(format)!;
    const file = join(dir, `speech-${++made}.mp3`);
    const durationSec = [...text].length * secPerChar;
    await runFfmpeg({
      step: 'fake-elevenlabs',
      args: [
        '-f',
        'lavfi',
        '-i',
        `sine=frequency=220:sample_rate=${m[1]}:duration=${durationSec.toFixed(6)}`,
        '-c:a',
        'libmp3lame',
        '-b:a',
        `${m[2]}k`,
        file,
      ],
    });
    const bytes = await readFile(file);
    await rm(file, { force: true });
    return bytes;
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const m = /^\/v1\/text-to-speech\/([^/]+)\/with-timestamps$/.exec(url.pathname);
      if (!m || req.method !== 'POST')
        return json(res, 404, {
          detail: { status: 'not_found', message: `no route ${req.method} ${url.pathname}` },
        });
      const voiceId = decodeURIComponent(m[1]!);
      const raw = await readBody(req);
      const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
      const query = Object.fromEntries(url.searchParams);
      const record: FakeSpeechRequest = { voiceId, query, body, status: 0 };
      requests.push(record);
      const answer = (status: number, detail: unknown, headers: Record<string, string> = {}) => {
        record.status = status;
        json(res, status, { detail }, headers);
      };
      if (req.headers['xi-api-key'] !== apiKey)
        return answer(401, { status: 'invalid_api_key', message: 'Invalid API key' });
      const injected = fail?.(requests.length, body);
      if (injected)
        return answer(
          injected.status,
          injected.detail,
          injected.retryAfterSec ? { 'retry-after': String(injected.retryAfterSec) } : {},
        );
      if (voices && !voices.includes(voiceId))
        return answer(404, {
          status: 'voice_not_found',
          message: `A voice with the voice_id ${voiceId} was not found.`,
        });
      const text = body.text;
      if (typeof text !== 'string' || !text)
        return answer(422, [{ loc: ['body', 'text'], msg: 'field required', type: 'value_error.missing' }]);
      if (text.length > maxChars)
        return answer(400, {
          status: 'max_character_limit_exceeded',
          message: `This request's text has ${text.length} characters and exceeds the character limit of ${maxChars} characters for non-streaming requests.`,
        });
      const format = query.output_format ?? 'mp3_44100_128';
      if (!/^mp3_\d+_\d+$/.test(format))
        return answer(422, [
          { loc: ['query', 'output_format'], msg: 'unsupported in this fake', type: 'value_error' },
        ]);
      const audio = await speak(text, format);
      const alignment = alignmentOf(text);
      record.requestId = `req_${requests.length}_${Math.random().toString(36).slice(2, 10)}`;
      record.status = 200;
      json(
        res,
        200,
        { audio_base64: audio.toString('base64'), alignment, normalized_alignment: alignment },
        {
          'request-id': record.requestId,
          'character-cost': String(Math.round(text.length * costPerChar)),
        },
      );
    })().catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { detail: { status: 'internal', message: String(err) } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    secPerChar,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function round(sec: number): number {
  return Math.round(sec * 1e6) / 1e6;
}
