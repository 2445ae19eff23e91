import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { catalogue, findEvent, latestEvent, parseEnvelope } from './catalogue.ts';
import { renderJsonSchemas } from './json-schema.ts';
import { newJob } from './job.ts';
import { names } from './subjects.ts';
import { Timeline } from './timeline.ts';

const envelope = (type: string, data: unknown, extra: Record<string, unknown> = {}) => ({
  id: `evt-${type}`,
  type,
  version: 1,
  jobId: 'job_1',
  occurredAt: '2026-11-22T10:00:00.000Z',
  data,
  ...extra,
});

const AC = 'AC' + 'a'.repeat(32);
const RE = 'RE' + 'b'.repeat(32);

const timeline = {
  version: 1,
  duration: 10,
  tracks: [
    { clips: [{ type: 'video', start: 0, duration: 10, source: { key: 'jobs/j/clips/caller.mp4' } }] },
  ],
  audio: [{ name: 'call', source: { key: 'jobs/j/input/recording.wav' } }],
};

/** One valid sample and one invalid sample (with the field its error must name) per event type. */
const samples: Record<string, { valid: unknown; invalid: unknown; field: string }> = {
  'recording.received': {
    valid: {
      source: 'twilio',
      recording: { url: 'https://api.twilio.com/2010-04-01/Accounts/x/Recordings/y' },
      twilio: { accountSid: AC, callSid: 'CA1', recordingSid: RE },
    },
    invalid: { source: 'upload', recording: { key: '../etc/passwd' } },
    field: 'data.recording.key',
  },
  'story.received': {
    valid: { audio: { key: 'stories/1/audio.m4a' }, images: [{ url: 'https://example.com/a.jpg' }] },
    invalid: { audio: { key: 'a.m4a' }, music: { mood: 'sad' } },
    field: 'data.music.mood',
  },
  'audio.split': {
    valid: {
      source: { key: 'k', durationSec: 3, channels: 2, sampleRate: 8000, codec: 'pcm_s16le', sizeBytes: 10 },
      mode: 'stereo',
      channels: [{ role: 'caller', key: 'a', durationSec: 3, silent: false }],
    },
    invalid: {
      source: { key: 'k', durationSec: -1, channels: 2, sampleRate: 8000, codec: 'x', sizeBytes: 1 },
      mode: 'stereo',
      channels: [{ role: 'caller', key: 'a', durationSec: 3, silent: false }],
    },
    field: 'data.source.durationSec',
  },
  'audio.normalized': {
    valid: { sourceKey: 'a', key: 'b', durationSec: 12.5, sampleRate: 48000, channels: 1 },
    invalid: { sourceKey: 'a', key: 'b', durationSec: 0, sampleRate: 48000, channels: 1 },
    field: 'data.durationSec',
  },
  'images.converted': {
    valid: { images: [{ key: 'i.jpg', width: 10, height: 10, origin: 'userPhoto' }] },
    invalid: { images: [{ key: 'i.jpg', width: 0, height: 10, origin: 'userPhoto' }] },
    field: 'data.images.0.width',
  },
  'clip.requested': {
    valid: { role: 'caller', label: 'Caller', audioKey: 'a.wav', durationSec: 3, expectedClips: 2 },
    invalid: { role: 'host', label: 'Caller', audioKey: 'a.wav', durationSec: 3, expectedClips: 2 },
    field: 'data.role',
  },
  'clip.generated': {
    valid: {
      role: 'callee',
      key: 'c.mp4',
      durationSec: 3,
      width: 640,
      height: 720,
      provider: 'local',
      expectedClips: 2,
    },
    invalid: { role: 'callee', key: 'c.mp4', durationSec: 3, width: 640, height: 720, expectedClips: 2 },
    field: 'data.provider',
  },
  'timeline.ready': {
    valid: { kind: 'call', timeline },
    invalid: { kind: 'call', timeline: { ...timeline, output: { width: 641 } } },
    field: 'data.timeline.output.width',
  },
  'generation.requested': {
    valid: {
      model: 'local-image',
      params: { prompt: 'a lighthouse', width: 640 },
      origin: { type: 'reel', id: 'reel_1', sectionId: 's1', takeId: 't1' },
    },
    invalid: { model: 'local-image', params: {}, callbackUrl: 'ftp://example.com/x' },
    field: 'data.callbackUrl',
  },
  'generation.callback': {
    valid: {
      provider: 'replicate',
      requestId: 'p_123',
      status: 'succeeded',
      output: ['https://replicate.delivery/x/out.png'],
      computeSec: 2.5,
      receivedAt: '2026-11-22T10:00:01.000Z',
      webhookId: 'msg_1',
    },
    invalid: {
      provider: 'runway',
      requestId: 'p',
      status: 'succeeded',
      receivedAt: '2026-11-22T10:00:01.000Z',
      webhookId: 'w',
    },
    field: 'data.provider',
  },
  'project.render.requested': {
    valid: {
      projectId: 'prj_1',
      revision: 3,
      preset: 'preview',
      project: { title: 'Launch', scenes: [{ id: 's1', narration: 'Hi', visual: { key: 'uploads/a.png' } }] },
    },
    invalid: {
      projectId: 'prj_1',
      revision: 3,
      preset: 'preview',
      project: {
        title: 'Launch',
        scenes: [{ id: 's1', visual: { key: 'a.png' }, overlay: { image: { key: 'p.png' }, scale: 0.95 } }],
      },
    },
    field: 'data.project.scenes.0.overlay.scale',
  },
  'project.asset.requested': {
    valid: {
      projectId: 'prj_1',
      asset: {
        id: 'voiceover:s1',
        role: 'voiceover',
        sceneId: 's1',
        key: 'projects/prj_1/assets/voiceover-abc.wav',
        media: 'audio',
        make: { model: 'local-speech', params: { text: 'Hi' } },
        loudnessLufs: -16,
      },
    },
    invalid: {
      projectId: 'prj_1',
      asset: {
        id: 'music',
        role: 'song',
        key: 'projects/prj_1/assets/m.m4a',
        media: 'audio',
        make: { key: 'm.m4a' },
      },
    },
    field: 'data.asset.role',
  },
  'project.asset.ready': {
    valid: {
      projectId: 'prj_1',
      assetId: 'voiceover:s1',
      key: 'projects/prj_1/assets/v.wav',
      durationSec: 2.5,
    },
    invalid: { projectId: 'prj_1', assetId: 'voiceover:s1', key: '/etc/passwd' },
    field: 'data.key',
  },
  'merge.requested': {
    valid: {
      clips: [{ key: 'jobs/j/input/clip-000.mp4' }, { url: 'https://cdn.example.com/take-2.mp4' }],
      callbackUrl: 'https://example.com/hook',
    },
    invalid: { clips: [{ key: 'a.mp4' }, { url: 'ftp://example.com/b.mp4' }] },
    field: 'data.clips.1',
  },
  'reel.updated': {
    valid: {
      reelId: 'reel_1',
      revision: 4,
      change: 'take.approved',
      sectionId: 's2',
      takeId: 't1',
      takeStatus: 'approved',
      by: 'alice',
    },
    invalid: { reelId: 'reel_1', revision: 4, change: 'take.loved' },
    field: 'data.change',
  },
  'video.encoded': {
    valid: {
      key: 'jobs/j/final.mp4',
      durationSec: 3,
      sizeBytes: 100,
      width: 1280,
      height: 720,
      videoCodec: 'h264',
      audioCodec: 'aac',
      backend: 'ffmpeg',
      encodeSeconds: 1,
    },
    invalid: { key: 'jobs/j/final.mp4', durationSec: 3, sizeBytes: 0, width: 1280, height: 720 },
    field: 'data.sizeBytes',
  },
  'job.progress': {
    valid: { step: 'encode', status: 'running', percent: 40 },
    invalid: { step: 'encode', status: 'running', percent: 140 },
    field: 'data.percent',
  },
  'job.warning': {
    valid: { step: 'images', message: 'skipped' },
    invalid: { step: 'Images!', message: 'x' },
    field: 'data.step',
  },
  'job.completed': {
    valid: { outputs: { video: { key: 'f.mp4', durationSec: 3, sizeBytes: 9 } } },
    invalid: { outputs: { video: { key: 'f.mp4', durationSec: 3 } } },
    field: 'data.outputs.video.sizeBytes',
  },
  'job.failed': {
    valid: { step: 'split', reason: 'the recording is empty', permanent: true },
    invalid: { step: 'split', reason: '', permanent: true },
    field: 'data.reason',
  },
  'job.stalled': {
    valid: { step: 'encode', idleSeconds: 612, lastEventAt: '2025-01-01T00:00:00.000Z', limitSeconds: 600 },
    invalid: { step: 'encode', idleSeconds: -1, lastEventAt: '2025-01-01T00:00:00.000Z' },
    field: 'data.idleSeconds',
  },
  'job.cancelled': {
    valid: { reason: 'wrong photos uploaded', by: 'studio-key' },
    invalid: { reason: '', by: 'studio-key' },
    field: 'data.reason',
  },
  'render.requested': {
    valid: {
      timeline: {
        version: 1,
        tracks: [
          {
            clips: [
              { type: 'video', source: { url: 'https://example.com/a.mp4' } },
              { type: 'image', source: { key: 'jobs/j/input/photo.jpg' }, duration: 3 },
            ],
          },
        ],
      },
      callbackUrl: 'https://example.com/hook',
    },
    // ingest stores uploads before publishing: an { upload } source on the bus is a mistake
    invalid: { timeline: { version: 1, tracks: [{ clips: [{ type: 'video', source: { upload: 'a' } }] }] } },
    field: 'data.timeline.tracks.0.clips.0.source',
  },
  'render.chunk.requested': {
    valid: { plan: 'jobs/j/chunks/plan.json', index: 2, count: 4, startFrame: 1800, frameCount: 900 },
    invalid: { plan: 'jobs/j/chunks/plan.json', index: -1, count: 4, startFrame: 0, frameCount: 900 },
    field: 'data.index',
  },
  'render.audio.requested': {
    valid: { plan: 'jobs/j/chunks/plan.json' },
    invalid: { plan: '/etc/passwd' },
    field: 'data.plan',
  },
  'render.chunk.rendered': {
    valid: {
      plan: 'jobs/j/chunks/plan.json',
      index: 0,
      count: 4,
      key: 'jobs/j/chunks/chunk-0000.mp4',
      frames: 900,
      sizeBytes: 1000,
      encodeSeconds: 12.5,
    },
    invalid: {
      plan: 'jobs/j/chunks/plan.json',
      index: 0,
      count: 4,
      key: 'jobs/j/chunks/chunk-0000.mp4',
      frames: 0,
      sizeBytes: 1000,
      encodeSeconds: 12.5,
    },
    field: 'data.frames',
  },
  'render.audio.rendered': {
    valid: {
      plan: 'jobs/j/chunks/plan.json',
      key: 'jobs/j/chunks/audio.m4a',
      durationSec: 120,
      sizeBytes: 1000,
      encodeSeconds: 1,
    },
    invalid: { plan: 'jobs/j/chunks/plan.json', key: 'jobs/j/chunks/audio.m4a', durationSec: -1 },
    field: 'data.durationSec',
  },
};

describe('event catalogue', () => {
  it('has a sample for every event type', () => {
    expect(Object.keys(samples).sort()).toEqual([...new Set(catalogue.map((d) => d.type))].sort());
  });

  for (const def of catalogue) {
    const sample = samples[def.type]!;
    it(`accepts a valid ${def.type} v${def.version}`, () => {
      const res = parseEnvelope(JSON.stringify(envelope(def.type, sample.valid)));
      expect(res.ok ? 'ok' : res.reason).toBe('ok');
    });
    it(`rejects an invalid ${def.type} v${def.version}, naming ${sample.field}`, () => {
      const res = parseEnvelope(envelope(def.type, sample.invalid));
      expect(res.ok).toBe(false);
      if (!res.ok) expect(res.reason).toContain(sample.field);
    });
  }

  it('treats a version it does not know as poison with a clear reason', () => {
    const res = parseEnvelope(
      envelope('job.progress', { step: 'encode', status: 'running' }, { version: 2 }),
    );
    expect(res).toMatchObject({
      ok: false,
      reason: expect.stringContaining('unknown version v2 of "job.progress"'),
    });
    if (!res.ok) expect(res.reason).toContain('knows v1');
  });

  it('rejects unknown types, bad JSON and bad envelopes, keeping what it could read', () => {
    expect(parseEnvelope('{nope')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not valid JSON'),
    });
    expect(parseEnvelope(envelope('video.deleted', {}))).toMatchObject({
      ok: false,
      reason: 'unknown event type "video.deleted"',
    });
    const bad = parseEnvelope({
      ...envelope('job.progress', {}),
      jobId: 'has spaces',
      occurredAt: 'yesterday',
    });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.reason).toContain('jobId');
      expect(bad.reason).toContain('occurredAt');
      expect(bad.partial?.type).toBe('job.progress');
    }
  });

  it('lets a v2 live beside a v1', () => {
    expect(findEvent('recording.received', 1)).toBeDefined();
    expect(findEvent('recording.received', 2)).toBeUndefined();
    expect(latestEvent('recording.received').version).toBe(1);
  });

  it('requires twilio details when the source is twilio', () => {
    const res = parseEnvelope(
      envelope('recording.received', { source: 'twilio', recording: { url: 'https://x.test/r' } }),
    );
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.reason).toContain('data.twilio: is required when source is "twilio"');
  });
});

describe('Timeline', () => {
  it('fills web-safe output defaults', () => {
    const t = Timeline.parse(timeline);
    expect(t.output).toMatchObject({
      width: 1280,
      height: 720,
      fps: 30,
      video: { codec: 'h264', profile: 'high', pixelFormat: 'yuv420p' },
      audio: { codec: 'aac', sampleRate: 48000, channels: 2 },
      faststart: true,
    });
  });

  it('refuses ducking under a track that does not exist', () => {
    const res = Timeline.safeParse({
      ...timeline,
      audio: [{ name: 'music', source: { key: 'm.mp3' }, duck: { under: 'voice' } }],
    });
    expect(res.success).toBe(false);
    expect(res.error?.issues[0]?.path).toEqual(['audio', 0, 'duck', 'under']);
  });
});

describe('names', () => {
  it('derives every subject and stream from one namespace', () => {
    const n = names('acme');
    expect(n.eventSubject('audio.split')).toBe('acme.evt.audio.split');
    expect(n.eventsStream).toBe('ACME_EVENTS');
    expect(n.consumerName('audio-splitter', 'recording.received')).toBe('audio-splitter__recording_received');
    expect(() => names('Bad Name')).toThrow(/namespace/);
  });

  it('names one KV bucket per document collection, refusing names a bucket or collection cannot have', () => {
    expect(names('acme').documentBucket('reels')).toBe('acme_doc_reels');
    expect(names('my-ns').documentBucket('projects')).toBe('my_ns_doc_projects');
    expect(() => names('acme').documentBucket('Reels')).toThrow(/document collection "Reels"/);
    expect(() => names('acme').documentBucket('a.b')).toThrow(/document collection/);
  });

  it('builds a valid fresh job document', () => {
    const job = newJob({ id: 'call_1', kind: 'call' }, new Date('2026-01-01T00:00:00Z'));
    expect(job).toMatchObject({ status: 'queued', progress: 0, warnings: [], steps: {} });
  });
});

describe('generated JSON Schemas', () => {
  it('are up to date in contracts/schemas (run `npm run schemas` after changing a contract)', () => {
    const dir = fileURLToPath(new URL('../schemas/', import.meta.url));
    const expected = renderJsonSchemas();
    const onDisk = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(onDisk.sort()).toEqual([...expected.keys()].sort());
    for (const [file, text] of expected) expect(readFileSync(dir + file, 'utf8'), file).toBe(text);
  });
});
