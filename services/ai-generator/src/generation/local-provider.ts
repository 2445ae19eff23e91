import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PermanentError, probe, runFfmpeg } from '@reelbus/kit';
import { renderSpeakerCard } from '../providers/local.ts';
import {
  buildMusicArgs,
  buildPromptImageArgs,
  buildSpeechArgs,
  buildStillVideoArgs,
  captionLines,
  type Mood,
} from './local-media.ts';
import type { DirectProvider, DirectResult, RunRequest } from './types.ts';

const exec = promisify(execFile);

/**
 * The offline provider: every model type made on this machine with ffmpeg and espeak-ng, deterministic
 * (the same params give the same media), no account, no network.
 */
export function createLocalGenerationProvider(
  opts: { stallTimeoutMs?: number; fontFile?: string } = {},
): DirectProvider {
  const { stallTimeoutMs, fontFile } = opts;
  const ff = (req: RunRequest, step: string, args: string[], durationSec?: number) =>
    runFfmpeg({
      step,
      args,
      signal: req.signal,
      logger: req.logger,
      ...(durationSec ? { durationSec } : {}),
      ...(stallTimeoutMs ? { stallTimeoutMs } : {}),
      ...(req.onProgress
        ? { onProgress: (p) => p.percent !== undefined && req.onProgress?.(Math.min(99, p.percent)) }
        : {}),
    });

  async function drawImage(
    req: RunRequest,
    o: { prompt: string; seed?: number; width: number; height: number; name: string },
  ) {
    const captionFile = join(req.outDir, `${o.name}.caption.txt`);
    const perLine = Math.max(
      12,
      Math.floor(o.width / (Math.max(12, Math.round(Math.min(o.width, o.height) / 28)) * 0.6)),
    );
    await writeFile(captionFile, captionLines({ prompt: o.prompt, perLine }));
    const outFile = join(req.outDir, `${o.name}.png`);
    await ff(
      req,
      'generate',
      buildPromptImageArgs({
        prompt: o.prompt,
        seed: o.seed,
        width: o.width,
        height: o.height,
        captionFile,
        outFile,
        ...(fontFile ? { fontFile } : {}),
      }),
    );
    return outFile;
  }

  const generators: Record<string, (req: RunRequest) => Promise<DirectResult>> = {
    async image(req) {
      const p = req.params as { prompt: string; width: number; height: number; seed?: number };
      const file = await drawImage(req, { ...p, name: 'image' });
      return { files: [{ path: file, role: 'image', contentType: 'image/png' }], facts: { runs: 1 } };
    },
    async video(req) {
      const p = req.params as { prompt?: string; duration: number; width: number; height: number };
      const fps = req.model.limits.fps ?? 25;
      const still =
        req.mediaFiles.image ??
        (await drawImage(req, { prompt: p.prompt ?? '', width: p.width, height: p.height, name: 'still' }));
      const outFile = join(req.outDir, 'video.mp4');
      await ff(
        req,
        'generate',
        buildStillVideoArgs({
          imageFile: still,
          durationSec: p.duration,
          width: p.width,
          height: p.height,
          fps,
          outFile,
        }),
        p.duration,
      );
      return {
        files: [{ path: outFile, role: 'video', contentType: 'video/mp4' }],
        facts: { outputSec: p.duration },
      };
    },
    async music(req) {
      const p = req.params as { mood: Mood; tempo: number; duration: number };
      const outFile = join(req.outDir, 'music.m4a');
      await ff(
        req,
        'generate',
        buildMusicArgs({ mood: p.mood, tempo: p.tempo, durationSec: p.duration, outFile }),
        p.duration,
      );
      return {
        files: [{ path: outFile, role: 'audio', contentType: 'audio/mp4' }],
        facts: { outputSec: p.duration },
      };
    },
    async speech(req) {
      const p = req.params as { text: string; voice: string; wordsPerMinute: number };
      const textFile = join(req.outDir, 'speech.txt');
      await writeFile(textFile, p.text);
      const outFile = join(req.outDir, 'speech.wav');
      try {
        await exec(
          'espeak-ng',
          buildSpeechArgs({ textFile, voice: p.voice, wordsPerMinute: p.wordsPerMinute, outFile }),
          {
            signal: req.signal,
          },
        );
      } catch (err) {
        const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
        if (/voice|language/i.test(stderr))
          throw new PermanentError(
            `generate: espeak-ng has no voice "${p.voice}" (params.voice): ${stderr}`,
            { step: 'generate' },
          );
        throw err;
      }
      return {
        files: [{ path: outFile, role: 'audio', contentType: 'audio/wav' }],
        facts: { characters: p.text.length },
      };
    },
    async avatar(req) {
      const p = req.params as { label: string };
      const audio = req.mediaFiles.audio;
      if (!audio) throw new PermanentError('generate: params.audio is required', { step: 'generate' });
      const info = await probe(audio);
      if (!info.audio || !(info.durationSec > 0))
        throw new PermanentError(`generate: params.audio has no audio stream`, { step: 'generate' });
      const clip = await renderSpeakerCard({
        audioPath: audio,
        imagePath: req.mediaFiles.image,
        durationSec: info.durationSec,
        width: 640,
        height: 720,
        role: 'caller',
        label: p.label,
        outDir: req.outDir,
        fileName: 'avatar.mp4',
        step: 'generate',
        signal: req.signal,
        logger: req.logger,
        fps: req.model.limits.fps ?? 25,
        ...(fontFile ? { fontFile } : {}),
        ...(stallTimeoutMs ? { stallTimeoutMs } : {}),
      });
      return {
        files: [{ path: clip.file, role: 'video', contentType: 'video/mp4' }],
        facts: { outputSec: clip.durationSec },
      };
    },
  };

  return {
    kind: 'direct',
    name: 'local',
    async run(req) {
      const generate = generators[req.model.ref];
      if (!generate)
        throw new PermanentError(`generate: no local generator "${req.model.ref}"`, { step: 'generate' });
      return generate(req);
    },
  };
}
