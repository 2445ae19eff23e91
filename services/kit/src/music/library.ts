import { createHash } from 'node:crypto';
import type { BlobStore } from '../blob/types.ts';

/**
 * The music library in blob storage, laid out as the reference's (do not change without the chooser):
 *
 *   music/<mood>/<Track>/<Track>-30s.mp3, -60s.mp3, -240s.mp3
 *
 * A mood holds tracks; a track holds duration variants of one piece of music.
 */

export const MUSIC_PREFIX = 'music/';
/** The moods a story may ask for (`none` = no music, never a folder). */
export const MUSIC_MOODS = ['adventurous', 'family', 'nostalgic', 'reflective'] as const;
export type MusicMoodName = (typeof MUSIC_MOODS)[number];

export interface MusicVariant {
  /** Nominal length from the file name (`-60s`). */
  seconds: number;
  key: string;
}

export interface MusicTrack {
  mood: string;
  name: string;
  /** Shortest first. */
  variants: MusicVariant[];
}

export interface MusicChoice {
  mood: string;
  track: string;
  key: string;
  /** Nominal length of the chosen variant. */
  variantSec: number;
  /** True when even the longest variant is shorter than the video: play it looped. */
  loop: boolean;
}

const AUDIO_EXT = '(mp3|m4a|aac|wav|ogg|flac)';
const KEY_RE = new RegExp(`^music/([^/]+)/([^/]+)/([^/]+)-(\\d+)s\\.${AUDIO_EXT}$`);

/** The key of one variant: `music/<mood>/<Track>/<Track>-<seconds>s.<ext>`. */
export function musicVariantKey({
  mood,
  track,
  seconds,
  ext = 'mp3',
}: {
  mood: string;
  track: string;
  seconds: number;
  ext?: string;
}): string {
  return `${MUSIC_PREFIX}${mood}/${track}/${track}-${seconds}s.${ext}`;
}

/** Reads a variant key back; undefined for anything not laid out as a variant (the file must be named after its track folder). */
export function parseMusicKey(key: string): { mood: string; track: string; seconds: number } | undefined {
  const m = KEY_RE.exec(key);
  if (!m || m[3] !== m[2]) return undefined;
  const seconds = Number(m[4]);
  return seconds > 0 ? { mood: m[1]!, track: m[2]!, seconds } : undefined;
}

/** The tracks of a mood with their variants, tracks by name, variants shortest first. Files not laid out as variants are ignored. */
export async function listTracks({ blobs, mood }: { blobs: BlobStore; mood: string }): Promise<MusicTrack[]> {
  const found = await blobs.list(`${MUSIC_PREFIX}${mood}/`);
  const byTrack = new Map<string, MusicVariant[]>();
  for (const b of found) {
    const p = parseMusicKey(b.key);
    if (!p || p.mood !== mood) continue;
    const list = byTrack.get(p.track) ?? [];
    // Two files of one length (e.g. .mp3 and .m4a): the first by key wins, so the choice is stable.
    if (!list.some((v) => v.seconds === p.seconds)) list.push({ seconds: p.seconds, key: b.key });
    byTrack.set(p.track, list);
  }
  return [...byTrack.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, variants]) => ({ mood, name, variants: variants.sort((a, b) => a.seconds - b.seconds) }));
}

/** A stable index in [0, n) from a seed (a job id): the same story always gets the same track. */
export function seedIndex({ seed, n }: { seed: string; n: number }): number {
  if (n <= 0) throw new RangeError('seedIndex needs n > 0');
  return createHash('sha256').update(seed).digest().readUInt32BE(0) % n;
}

/**
 * Pure choice: the track picked by the seed's hash; its shortest variant at least `durationSec` long,
 * else its longest with `loop: true`. Undefined when there are no tracks.
 */
export function pickMusic({
  tracks,
  durationSec,
  seed,
}: {
  tracks: MusicTrack[];
  durationSec: number;
  seed: string;
}): MusicChoice | undefined {
  const usable = tracks.filter((t) => t.variants.length > 0);
  if (usable.length === 0) return undefined;
  const track = usable[seedIndex({ seed, n: usable.length })]!;
  const longEnough = track.variants.find((v) => v.seconds >= durationSec);
  const variant = longEnough ?? track.variants[track.variants.length - 1]!;
  return {
    mood: track.mood,
    track: track.name,
    key: variant.key,
    variantSec: variant.seconds,
    loop: !longEnough,
  };
}

/**
 * Chooses the music of a video from the library: deterministic per `seed` (use the job id).
 * Undefined for mood `none` or a mood without tracks.
 */
export async function chooseMusic({
  blobs,
  mood,
  durationSec,
  seed,
}: {
  blobs: BlobStore;
  mood: string;
  durationSec: number;
  seed: string;
}): Promise<MusicChoice | undefined> {
  if (mood === 'none') return undefined;
  return pickMusic({ tracks: await listTracks({ blobs, mood }), durationSec, seed });
}
