export interface VolumeStats {
  /** dBFS; -91 for digital silence in 16-bit. */
  meanDb: number;
  maxDb: number;
  samples?: number;
}

const LINE_RE = /^\[([^\]\s]+) @ [^\]]+\]\s+(n_samples|mean_volume|max_volume):\s+(-?[\d.]+|-?inf)/;

/**
 * Parses ffmpeg `volumedetect` results from stderr text, keyed by filter instance label:
 * `volumedetect@caller` in a graph yields key `caller`; unlabelled instances keep their
 * ffmpeg name (`Parsed_volumedetect_2`). Instances that saw no samples are left out.
 */
export function parseVolumeDetect(stderr: string): Record<string, VolumeStats> {
  const acc = new Map<string, { meanDb?: number; maxDb?: number; samples?: number }>();
  for (const raw of stderr.split('\n')) {
    const m = LINE_RE.exec(raw.trim());
    if (!m) continue;
    const [, instance = '', key, value = ''] = m;
    if (!instance.includes('volumedetect')) continue;
    const label = instance.startsWith('volumedetect@') ? instance.slice('volumedetect@'.length) : instance;
    const num = value.endsWith('inf') ? (value.startsWith('-') ? -Infinity : Infinity) : Number(value);
    const cur = acc.get(label) ?? {};
    if (key === 'n_samples') {
      // a new report for this label (ffmpeg also logs a 0-sample report for graph-probing instances)
      acc.set(label, { samples: num });
      continue;
    }
    if (key === 'mean_volume') cur.meanDb = num;
    if (key === 'max_volume') cur.maxDb = num;
    acc.set(label, cur);
  }
  const out: Record<string, VolumeStats> = {};
  for (const [label, v] of acc) {
    if (v.meanDb === undefined || v.maxDb === undefined) continue;
    out[label] = {
      meanDb: v.meanDb,
      maxDb: v.maxDb,
      ...(v.samples !== undefined ? { samples: v.samples } : {}),
    };
  }
  return out;
}

/** True for the stderr lines `parseVolumeDetect` reads: collect these from a long run instead of all of stderr. */
export function isVolumeDetectLine(line: string): boolean {
  return line.includes('volumedetect') && /(n_samples|mean_volume|max_volume):/.test(line);
}
