// Checks of a stored HLS ladder shared by the tests: the master parses with hls-parser, every
// variant's playlist is a VOD whose segments exist and decode, and their durations add up.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import HLS from 'hls-parser';
import type { FsBlobStore } from '@reelbus/kit';

export interface CheckedVariant {
  uri: string;
  width: number | undefined;
  height: number | undefined;
  bandwidth: number;
  codecs: string | undefined;
  playlist: HLS.types.MediaPlaylist;
  /** Sum of the segments' EXTINF durations. */
  totalSec: number;
  /** Start time of every segment. */
  boundaries: number[];
}

/**
 * Reads the ladder under `masterKey` from a filesystem blob store and checks it: a master playlist,
 * VOD media playlists, every init + segment decodes without an error (ffmpeg -xerror) and starts on
 * a keyframe. Throws naming the file that is missing or broken; returns the variants for more checks.
 */
export function readHlsLadder(opts: LadderToCheck): CheckedVariant[] {
  // Strict: a playlist that breaks RFC 8216 (e.g. an EXTINF above the target duration) throws.
  // The option is global to hls-parser, and test files share workers: restored below.
  const before = HLS.getOptions();
  HLS.setOptions({ ...before, strictMode: true });
  try {
    return checkLadder(opts);
  } finally {
    HLS.setOptions(before);
  }
}

interface LadderToCheck {
  blobs: FsBlobStore;
  masterKey: string;
  /** Where the init + segment check files are written. */
  scratchDir: string;
}

function checkLadder({ blobs, masterKey, scratchDir }: LadderToCheck): CheckedVariant[] {
  const read = (key: string) => {
    const path = blobs.localPath(key);
    if (!path) throw new Error(`${key}: not in blob storage`);
    return readFileSync(path);
  };
  const prefix = masterKey.slice(0, masterKey.lastIndexOf('/') + 1);
  const master = HLS.parse(read(masterKey).toString('utf8'));
  if (!master.isMasterPlaylist) throw new Error(`${masterKey}: not a master playlist`);
  return (master as HLS.types.MasterPlaylist).variants.map((v) => {
    const playlistKey = `${prefix}${v.uri}`;
    const base = playlistKey.slice(0, playlistKey.lastIndexOf('/') + 1);
    const playlist = HLS.parse(read(playlistKey).toString('utf8'));
    if (playlist.isMasterPlaylist) throw new Error(`${playlistKey}: not a media playlist`);
    const media = playlist as HLS.types.MediaPlaylist;
    if (media.playlistType !== 'VOD') throw new Error(`${playlistKey}: playlist type is not VOD`);
    if (!media.segments.length) throw new Error(`${playlistKey}: no segments`);
    const init = read(`${base}${media.segments[0]!.map!.uri}`);
    const boundaries: number[] = [];
    let t = 0;
    for (const seg of media.segments) {
      boundaries.push(t);
      t += seg.duration;
      // init + segment is a playable fragment: decodes without an error, starts on a keyframe.
      const file = join(scratchDir, 'hls-check.mp4');
      writeFileSync(file, Buffer.concat([init, read(`${base}${seg.uri}`)]));
      execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-']);
      const first = execFileSync(
        'ffprobe',
        [
          ...['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=flags'],
          ...['-read_intervals', '%+#1', '-of', 'csv=p=0', file],
        ],
        { encoding: 'utf8' },
      );
      if (!first.trim().startsWith('K')) throw new Error(`${base}${seg.uri}: does not start on a keyframe`);
    }
    return {
      uri: v.uri,
      width: v.resolution?.width,
      height: v.resolution?.height,
      bandwidth: v.bandwidth,
      codecs: v.codecs,
      playlist: media,
      totalSec: t,
      boundaries,
    };
  });
}
