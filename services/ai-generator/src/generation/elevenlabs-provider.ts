import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ElevenLabsClient, ElevenLabsError, ElevenLabsTimeoutError } from '@elevenlabs/elevenlabs-js';
import { probe, runFfmpeg } from '@reelbus/kit';
import { joinAlignments, offsetsOf, type CharacterAlignment, type SpeechAlignmentFile } from './alignment.ts';
import { splitText } from './text-chunks.ts';
import { ProviderError, type DirectProvider, type DirectResult, type RunRequest } from './types.ts';

export interface ElevenLabsProviderOptions {
  /** ELEVENLABS_API_KEY; may be absent when `baseUrl` is a proxy that adds it. */
  apiKey: string | undefined;
  /** The API root (default https://api.elevenlabs.io); a local server speaking its protocol in tests. */
  baseUrl?: string | undefined;
  /** Retries of one request that failed with 408/429/5xx, a timeout or a network error. */
  retries?: number;
  /** First retry delay, doubling. */
  retryBaseMs?: number;
  /** Timeout of one request. */
  requestTimeoutMs?: number;
  /** Longest text of one request when the model's registry entry sets no `limits.maxChars`. */
  defaultMaxChars?: number;
  stallTimeoutMs?: number;
}

/** At most this many earlier request ids go with a request (ElevenLabs takes up to 3). */
const MAX_PREVIOUS_REQUEST_IDS = 3;
/** Context text sent around a chunk (`previous_text` / `next_text`): enough for the prosody, no more. */
const CONTEXT_CHARS = 1000;

/** An ElevenLabs `output_format` (`mp3_44100_128`) as its codec, sample rate and bitrate (kb/s). */
export function parseOutputFormat(format: string): { codec: 'mp3'; sampleRate: number; kbps: number } {
  const m = /^mp3_(\d{4,5})_(\d{2,3})$/.exec(format);
  if (!m) throw new ProviderError(`output format ${format} is not an mp3_<rate>_<kbps> format`, false);
  return { codec: 'mp3', sampleRate: Number(m[1]), kbps: Number(m[2]) };
}

/** ffmpeg arguments decoding one chunk of MP3 to PCM (the decoder drops the encoder's delay and padding). */
export function buildDecodeArgs(opts: { input: string; output: string }): string[] {
  return ['-i', opts.input, '-vn', '-c:a', 'pcm_s16le', opts.output];
}

/**
 * ffmpeg arguments joining decoded chunks sample by sample (concat demuxer over PCM WAVs, no gap, no
 * overlap) and encoding the whole once, in the asked output format.
 */
export function buildJoinArgs(opts: {
  listFile: string;
  output: string;
  format: { sampleRate: number; kbps: number };
}): string[] {
  const { listFile, output, format } = opts;
  return [
    '-f',
    'concat',
    '-safe',
    '0',
    '-i',
    listFile,
    '-c:a',
    'libmp3lame',
    '-ar',
    String(format.sampleRate),
    '-b:a',
    `${format.kbps}k`,
    output,
  ];
}

/** The concat demuxer's list of files (paths quoted as it wants). */
export function concatList(files: string[]): string {
  return files.map((f) => `file '${f.replace(/'/g, "'\\''")}'`).join('\n') + '\n';
}

/** ElevenLabs' own words from an SDK error: `detail.message`, or the fields of a 422's `detail` list. */
export function elevenLabsMessage(err: unknown): { message: string; status: number | undefined } {
  if (err instanceof ElevenLabsTimeoutError) return { message: err.message, status: undefined };
  if (err instanceof ElevenLabsError) {
    const status = err.statusCode;
    const body = err.body as { detail?: unknown } | string | undefined;
    const detail = typeof body === 'object' && body ? body.detail : body;
    let text: string | undefined;
    if (typeof detail === 'string') text = detail;
    else if (Array.isArray(detail))
      text = detail
        .map((d: { loc?: unknown[]; msg?: string }) =>
          [Array.isArray(d.loc) ? d.loc.join('.') : undefined, d.msg].filter(Boolean).join(': '),
        )
        .join('; ');
    else if (detail && typeof detail === 'object') {
      const d = detail as { message?: string; status?: string };
      text = [d.status, d.message].filter(Boolean).join(': ') || JSON.stringify(detail);
    }
    return { message: `HTTP ${status ?? '?'}: ${text ?? err.message}`, status };
  }
  return { message: (err as Error)?.message ?? String(err), status: undefined };
}

function toProviderError(step: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const { message, status } = elevenLabsMessage(err);
  const retryable = status === undefined || status === 408 || status === 429 || status >= 500;
  return new ProviderError(`elevenlabs ${step}: ${message}`, retryable, { cause: err, status });
}

interface ChunkAnswer {
  audio: Buffer;
  alignment: CharacterAlignment | undefined;
  normalizedAlignment: CharacterAlignment | undefined;
  requestId: string | undefined;
  /** Characters ElevenLabs billed (`character-cost` header), when it said. */
  billed: number | undefined;
}

/**
 * ElevenLabs text to speech with character timings, through `@elevenlabs/elevenlabs-js`
 * (`POST /v1/text-to-speech/{voice_id}/with-timestamps`). Text longer than the model's per-request limit
 * is cut at sentences; each request gets the text around it (`previous_text`/`next_text`) and the ids of
 * the requests before it (`previous_request_ids`), so the pieces sound like one reading, and the pieces
 * are joined sample by sample. Stored: the audio, and `alignment.json` (every character's start and end
 * in the joined audio). The cost is the characters ElevenLabs billed (`character-cost`), else the text's.
 *
 * Params read from the model's schema by name: `text` (or `pricing.textParam`), `voice` (voice_id),
 * `outputFormat`, `stability`, `similarityBoost`, `style`, `speed`, `useSpeakerBoost`, `seed`,
 * `languageCode`.
 */
export function createElevenLabsProvider(opts: ElevenLabsProviderOptions): DirectProvider {
  const {
    apiKey,
    baseUrl,
    retries = 3,
    retryBaseMs = 1000,
    requestTimeoutMs = 120_000,
    defaultMaxChars = 5000,
    stallTimeoutMs,
  } = opts;
  const client = new ElevenLabsClient({
    // an empty key would make the SDK fall back to the process environment; a proxy adds its own
    apiKey: apiKey ?? 'none',
    ...(baseUrl ? { baseUrl } : {}),
    // retries are ours (per chunk, with the configured backoff), so a long text never restarts from the top
    maxRetries: 0,
    timeoutInSeconds: Math.ceil(requestTimeoutMs / 1000),
  });

  async function convert(
    req: RunRequest,
    body: Parameters<typeof client.textToSpeech.convertWithTimestamps>[1],
    what: string,
  ): Promise<ChunkAnswer> {
    for (let attempt = 0; ; attempt++) {
      try {
        const voice = String(req.params.voice);
        const { data, rawResponse } = await client.textToSpeech
          .convertWithTimestamps(voice, body, { abortSignal: req.signal })
          .withRawResponse();
        if (!data.audioBase64) throw new ProviderError(`elevenlabs ${what}: the answer has no audio`, false);
        const cost = Number(rawResponse.headers.get('character-cost'));
        return {
          audio: Buffer.from(data.audioBase64, 'base64'),
          alignment: data.alignment ?? undefined,
          normalizedAlignment: data.normalizedAlignment ?? undefined,
          requestId: rawResponse.headers.get('request-id') ?? undefined,
          billed:
            Number.isFinite(cost) && cost >= 0 && rawResponse.headers.has('character-cost')
              ? cost
              : undefined,
        };
      } catch (err) {
        if (req.signal.aborted) throw err;
        const e = toProviderError(what, err);
        if (!e.retryable || attempt >= retries) throw e;
        req.logger.warn({ err: e.message, attempt: attempt + 1 }, `elevenlabs ${what} failed; retrying`);
        await sleep(retryBaseMs * 2 ** attempt, undefined, { signal: req.signal });
      }
    }
  }

  return {
    kind: 'direct',
    name: 'elevenlabs',
    async run(req: RunRequest): Promise<DirectResult> {
      const { model, params, outDir } = req;
      const text = params[model.pricing.textParam ?? 'text'];
      if (typeof text !== 'string' || !text.trim())
        throw new ProviderError(`params.${model.pricing.textParam ?? 'text'}: no text to speak`, false);
      const outputFormat = typeof params.outputFormat === 'string' ? params.outputFormat : 'mp3_44100_128';
      const format = parseOutputFormat(outputFormat);
      const chunks = splitText({ text, maxChars: model.limits.maxChars ?? defaultMaxChars });
      const voiceSettings = pick(params, [
        'stability',
        'similarityBoost',
        'style',
        'speed',
        'useSpeakerBoost',
      ]);

      const answers: ChunkAnswer[] = [];
      for (const [i, chunk] of chunks.entries()) {
        const before = chunks.slice(0, i).join('');
        const after = chunks.slice(i + 1).join('');
        const previousIds = answers
          .map((a) => a.requestId)
          .filter((id): id is string => Boolean(id))
          .slice(-MAX_PREVIOUS_REQUEST_IDS);
        answers.push(
          await convert(
            req,
            {
              text: chunk,
              modelId: model.ref,
              outputFormat: outputFormat as never,
              ...(Object.keys(voiceSettings).length ? { voiceSettings } : {}),
              ...(typeof params.seed === 'number' ? { seed: params.seed } : {}),
              ...(typeof params.languageCode === 'string' ? { languageCode: params.languageCode } : {}),
              ...(before ? { previousText: before.slice(-CONTEXT_CHARS) } : {}),
              ...(after ? { nextText: after.slice(0, CONTEXT_CHARS) } : {}),
              ...(previousIds.length ? { previousRequestIds: previousIds } : {}),
            },
            chunks.length > 1 ? `chunk ${i + 1} of ${chunks.length}` : 'text to speech',
          ),
        );
        req.onProgress?.((90 * (i + 1)) / chunks.length, `spoke ${i + 1} of ${chunks.length} parts`);
      }

      const audioPath = join(outDir, 'speech.mp3');
      let durations: number[];
      if (answers.length === 1) {
        // one request: its audio as ElevenLabs made it, not encoded again
        await writeFile(audioPath, answers[0]!.audio);
        durations = [(await probe(audioPath)).durationSec];
      } else {
        durations = [];
        const wavs: string[] = [];
        for (const [i, a] of answers.entries()) {
          const mp3 = join(outDir, `chunk-${i + 1}.mp3`);
          const wav = join(outDir, `chunk-${i + 1}.wav`);
          await writeFile(mp3, a.audio);
          await ff(req, buildDecodeArgs({ input: mp3, output: wav }));
          durations.push(await exactDuration(wav));
          wavs.push(wav);
        }
        const listFile = join(outDir, 'chunks.txt');
        await writeFile(listFile, concatList(wavs));
        await ff(req, buildJoinArgs({ listFile, output: audioPath, format }));
      }

      const offsets = offsetsOf(durations);
      const alignmentFile: SpeechAlignmentFile = {
        text,
        alignment: joinAlignments(
          answers.map((a, i) => ({ alignment: a.alignment ?? emptyAlignment(), offsetSec: offsets[i]! })),
        ),
        ...(answers.every((a) => a.normalizedAlignment)
          ? {
              normalizedAlignment: joinAlignments(
                answers.map((a, i) => ({ alignment: a.normalizedAlignment!, offsetSec: offsets[i]! })),
              ),
            }
          : {}),
        chunks: chunks.map((c, i) => ({
          text: c,
          startSec: Math.round(offsets[i]! * 1e4) / 1e4,
          durationSec: Math.round(durations[i]! * 1e4) / 1e4,
          ...(answers[i]!.requestId ? { requestId: answers[i]!.requestId } : {}),
        })),
      };
      const alignmentPath = join(outDir, 'alignment.json');
      await writeFile(alignmentPath, JSON.stringify(alignmentFile));
      const billed = answers.every((a) => a.billed !== undefined)
        ? answers.reduce((n, a) => n + a.billed!, 0)
        : text.length;
      req.onProgress?.(99, 'joined');
      return {
        files: [
          { path: audioPath, role: 'audio', contentType: 'audio/mpeg' },
          { path: alignmentPath, role: 'alignment', contentType: 'application/json' },
        ],
        facts: { characters: billed },
      };
    },
  };

  function ff(req: RunRequest, args: string[]) {
    return runFfmpeg({
      step: 'generate',
      args,
      signal: req.signal,
      logger: req.logger,
      ...(stallTimeoutMs ? { stallTimeoutMs } : {}),
    });
  }
}

/** The length of a PCM WAV from its sample count (exact, unlike a container's estimate). */
async function exactDuration(wav: string): Promise<number> {
  const info = await probe(wav);
  return info.audio?.durationSec ?? info.durationSec;
}

function emptyAlignment(): CharacterAlignment {
  return { characters: [], characterStartTimesSeconds: [], characterEndTimesSeconds: [] };
}

function pick(params: Record<string, unknown>, names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((n) => params[n] !== undefined).map((n) => [n, params[n]]));
}
