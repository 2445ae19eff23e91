import { problemsOf, describeProblems, type Problem } from './problems.ts';
import {
  Timeline,
  TimelineRequest,
  toFrame,
  type RequestSource,
  type TimelineRequestInput,
} from './timeline.ts';

/** What the compositor learnt by probing a source (the kit's `probe`). */
export interface SourceProbe {
  /** The container's duration in seconds. */
  durationSec: number;
  /** False when the file has no picture (a video or image clip needs one). Unknown when absent. */
  hasVideo?: boolean;
  /** False when the file has no sound (an audio track or a file waveform needs it). Unknown when absent. */
  hasAudio?: boolean;
}

/** A Timeline, or a request Timeline, has problems; each names its JSON path. Permanent: bad input. */
export class TimelineProblemsError extends Error {
  override name = 'TimelineProblemsError';
  readonly permanent = true;
  constructor(readonly problems: Problem[]) {
    super(`invalid timeline: ${describeProblems(problems)}`);
  }
}

/** Parses a request Timeline; every problem with its JSON path, all at once. */
export function parseTimelineRequest(
  input: unknown,
): { ok: true; timeline: TimelineRequest } | { ok: false; problems: Problem[] } {
  const res = TimelineRequest.safeParse(input);
  return res.success ? { ok: true, timeline: res.data } : { ok: false, problems: problemsOf(res.error) };
}

/** Parses a resolved Timeline; every problem with its JSON path, all at once. */
export function parseTimeline(
  input: unknown,
): { ok: true; timeline: Timeline } | { ok: false; problems: Problem[] } {
  const res = Timeline.safeParse(input);
  return res.success ? { ok: true, timeline: res.data } : { ok: false, problems: problemsOf(res.error) };
}

/** A source of a request Timeline and the JSON path of the field that holds it. */
export interface SourceRef {
  path: string;
  source: RequestSource;
  /** What the file must hold for that field. */
  needs: 'video' | 'audio';
}

/** Every source a request Timeline names (clips, waveforms, audio tracks), in order: what to fetch and probe. */
export function requestSources(t: TimelineRequest): SourceRef[] {
  const out: SourceRef[] = [];
  t.tracks.forEach((track, ti) =>
    track.clips.forEach((c, ci) => {
      const path = `tracks[${ti}].clips[${ci}].source`;
      if (c.type === 'video' || c.type === 'image') out.push({ path, source: c.source, needs: 'video' });
      if (c.type === 'waveform' && c.source) out.push({ path, source: c.source, needs: 'audio' });
    }),
  );
  t.audio.forEach((a, i) => out.push({ path: `audio[${i}].source`, source: a.source, needs: 'audio' }));
  return out;
}

export interface ResolveTimelineOptions {
  /** A request Timeline, parsed or not. */
  timeline: TimelineRequest | TimelineRequestInput | unknown;
  /** Probe facts by blob key (probe first, then resolve: this function is pure and synchronous). */
  probe: (key: string) => SourceProbe | undefined;
  /** The blob key a `{ url }` or `{ upload }` source was stored at; undefined when it was not. */
  keyOf?: (source: Exclude<RequestSource, { key: string }>, path: string) => string | undefined;
}

/**
 * Resolves a request Timeline into the Timeline the encoder renders: every source becomes a blob key,
 * `duration: "auto"` becomes the source's probed length after `trimStart`, `start: "auto"` becomes the
 * previous clip's end on the same track (minus its transition), and every clip start, clip duration
 * and transition duration is snapped to the output's frame grid. Throws TimelineProblemsError naming
 * every problem (JSON path + what to do) at once.
 */
export function resolveTimeline({ timeline, probe, keyOf }: ResolveTimelineOptions): Timeline {
  const parsed = parseTimelineRequest(timeline);
  if (!parsed.ok) throw new TimelineProblemsError(parsed.problems);
  const t = parsed.timeline;
  const fps = t.output.fps;
  const problems: Problem[] = [];
  const problem = (path: string, message: string) => problems.push({ path, message });

  const keyFor = (source: RequestSource, path: string): string | undefined => {
    if ('key' in source) return source.key;
    const key = keyOf?.(source, path);
    if (key === undefined) {
      problem(
        path,
        `${'url' in source ? `"${source.url}"` : `upload "${source.upload}"`} was not fetched into blob storage`,
      );
    }
    return key;
  };
  const checkProbe = (key: string, path: string, needs: 'video' | 'audio') => {
    const p = probe(key);
    if (needs === 'video' && p?.hasVideo === false) {
      problem(path, `"${key}" has no picture; a video or image clip needs a video or image file`);
    }
    if (needs === 'audio' && p?.hasAudio === false) problem(path, `"${key}" has no audio stream`);
    return p;
  };

  const tracks = t.tracks.map((track, ti) => {
    let prevEnd: number | undefined = 0; // frames; undefined when the previous clip could not be resolved
    let prevTransition = 0;
    const clips = track.clips.map((c, ci) => {
      const path = `tracks[${ti}].clips[${ci}]`;
      let key: string | undefined;
      if ((c.type === 'video' || c.type === 'image' || c.type === 'waveform') && c.source) {
        key = keyFor(c.source, `${path}.source`);
        if (key !== undefined) checkProbe(key, `${path}.source`, c.type === 'waveform' ? 'audio' : 'video');
      }

      // start, on the frame grid
      let startFrame: number | undefined;
      if (c.start === 'auto') {
        if (prevEnd === undefined) startFrame = undefined;
        else startFrame = Math.max(0, prevEnd - prevTransition);
      } else {
        startFrame = toFrame(c.start, fps);
        if (prevTransition > 0 && prevEnd !== undefined && startFrame !== prevEnd - prevTransition) {
          problem(
            `${path}.start`,
            `must be ${(prevEnd - prevTransition) / fps} s (the previous clip's end minus its transition); use "auto"`,
          );
        }
      }

      // duration, in frames
      let frames: number | undefined;
      if (c.duration === 'auto') {
        const trimStart = c.type === 'video' || c.type === 'waveform' ? c.trimStart : 0;
        if (c.type === 'video' && c.loop) {
          problem(
            `${path}.duration`,
            '"auto" cannot be used with loop (a looping clip has no length of its own); give seconds',
          );
        } else if ((c.type === 'video' || c.type === 'waveform') && key !== undefined) {
          const p = probe(key);
          if (!p) problem(`${path}.duration`, `"auto" needs the probed length of "${key}", which is unknown`);
          else if (p.durationSec - trimStart < 0.5 / fps) {
            problem(
              `${path}.duration`,
              `"auto": trimStart (${trimStart} s) is at or past the end of "${key}" (${p.durationSec} s)`,
            );
          } else frames = Math.max(1, Math.round((p.durationSec - trimStart) * fps));
        } else if (c.type === 'waveform' && c.track !== undefined) {
          problem(`${path}.duration`, '"auto" needs a file; a track waveform needs seconds');
        } else if (c.type !== 'video' && c.type !== 'waveform') {
          problem(
            `${path}.duration`,
            `"auto" needs a source with a length (a video, or a waveform of a file); give seconds for a ${c.type} clip`,
          );
        }
      } else {
        frames = Math.max(1, toFrame(c.duration, fps));
      }

      const transitionFrames = c.transition ? Math.max(1, toFrame(c.transition.duration, fps)) : 0;
      prevEnd = startFrame !== undefined && frames !== undefined ? startFrame + frames : undefined;
      prevTransition = transitionFrames;

      const { start: _s, duration: _d, ...rest } = c;
      void _s;
      void _d;
      return {
        ...rest,
        ...(key !== undefined && 'source' in rest && rest.source ? { source: { key } } : {}),
        start: (startFrame ?? 0) / fps,
        duration: (frames ?? 1) / fps,
        elapsed: Math.round(c.elapsed * fps) / fps,
        ...(c.transition ? { transition: { ...c.transition, duration: transitionFrames / fps } } : {}),
      };
    });
    return { ...track, clips };
  });

  const audio = t.audio.map((a, i) => {
    const key = keyFor(a.source, `audio[${i}].source`);
    if (key !== undefined) checkProbe(key, `audio[${i}].source`, 'audio');
    return { ...a, source: { key: key ?? 'unresolved' } };
  });

  if (problems.length > 0) throw new TimelineProblemsError(problems);
  const out = parseTimeline({ ...t, tracks, audio });
  if (!out.ok) throw new TimelineProblemsError(out.problems);
  return out.timeline;
}
