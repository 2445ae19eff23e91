// Submitting a Timeline (`POST /v1/renders`) from the CLI or a test. Sources that name local files
// are uploaded in the same multipart request (streamed from disk); blob keys and URLs go as they are.
import { existsSync, openAsBlob, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { ApiError, type ClientOptions } from './client.ts';

/** A source of the Timeline file as the CLI reads it, with its JSON path. */
interface FoundSource {
  path: string;
  source: Record<string, unknown>;
}

function sourcesOf(timeline: Record<string, unknown>): FoundSource[] {
  const out: FoundSource[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  (Array.isArray(timeline.tracks) ? timeline.tracks : []).forEach((track: unknown, ti) => {
    const clips = isObj(track) && Array.isArray(track.clips) ? track.clips : [];
    clips.forEach((clip: unknown, ci) => {
      if (isObj(clip) && isObj(clip.source))
        out.push({ path: `tracks[${ti}].clips[${ci}].source`, source: clip.source });
    });
  });
  (Array.isArray(timeline.audio) ? timeline.audio : []).forEach((a: unknown, i) => {
    if (isObj(a) && isObj(a.source)) out.push({ path: `audio[${i}].source`, source: a.source });
  });
  return out;
}

const isFile = (p: string) => existsSync(p) && statSync(p).isFile();

/**
 * The request a Timeline file becomes (pure but for the file checks). Local files are named either
 * as `{ "file": "<path>" }` (relative to the Timeline file; a CLI convenience, sent as an upload) or
 * as `{ "upload": "<field>" }` with the file given by `--file <field>=<path>` or sitting beside the
 * Timeline under the field's name. Each file is sent once, in the field its sources name. A source
 * whose file does not exist is an error naming its JSON path.
 */
export function renderRequestParts({
  timeline,
  baseDir,
  files = {},
}: {
  /** The Timeline as read from its file (it is not changed). */
  timeline: Record<string, unknown>;
  /** The Timeline file's folder: relative paths start there. */
  baseDir: string;
  /** `--file field=path` mappings. */
  files?: Record<string, string>;
}): { timeline: Record<string, unknown>; uploads: Array<[field: string, path: string]> } {
  const copy = structuredClone(timeline);
  const uploads = new Map<string, string>(); // field → path
  const byPath = new Map<string, string>(); // path → field
  const problems: string[] = [];
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  for (const { path, source } of sourcesOf(copy)) {
    if (typeof source.file === 'string') {
      const file = abs(source.file);
      if (!isFile(file)) {
        problems.push(`${path}: the file "${source.file}" does not exist (relative to ${baseDir})`);
        continue;
      }
      let field = byPath.get(file);
      if (!field) {
        field = fieldFor(basename(file), uploads);
        uploads.set(field, file);
        byPath.set(file, field);
      }
      delete source.file;
      source.upload = field;
    } else if (typeof source.upload === 'string') {
      if (uploads.has(source.upload)) continue;
      const file = files[source.upload] ? abs(files[source.upload]!) : abs(source.upload);
      if (!isFile(file)) {
        problems.push(
          `${path}: no file for the upload "${source.upload}": pass --file ${source.upload}=<path>, or put it beside the Timeline`,
        );
        continue;
      }
      uploads.set(source.upload, file);
      byPath.set(file, source.upload);
    }
  }
  if (problems.length) throw new Error(problems.join('\n'));
  return { timeline: copy, uploads: [...uploads] };
}

/** A multipart field name for a file: its name made safe, made unique. */
function fieldFor(name: string, taken: ReadonlyMap<string, string>): string {
  const base = name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 90) || 'file';
  let field = base;
  for (let i = 2; taken.has(field); i++) field = `${i}-${base}`;
  return field;
}

/** Reads a Timeline file (JSON), saying which file and why when it cannot. */
export function readTimelineFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the Timeline file ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${file} must hold one JSON object (a Timeline)`);
  return json as Record<string, unknown>;
}

export interface SubmittedRender {
  jobId: string;
  statusUrl: string;
  eventsUrl: string;
  uploads: number;
  urls: number;
}

/** Submits a Timeline file: JSON when it names no local file, else multipart with the files. */
export async function submitRender(opts: {
  client: ClientOptions;
  /** The Timeline file. */
  file: string;
  files?: Record<string, string>;
  callbackUrl?: string | undefined;
  backend?: string | undefined;
}): Promise<SubmittedRender> {
  const { client, file, files, callbackUrl, backend } = opts;
  const parts = renderRequestParts({
    timeline: readTimelineFile(file),
    baseDir: dirname(resolve(file)),
    files,
  });
  const headers: Record<string, string> = { authorization: `Bearer ${client.apiKey}` };
  let body: string | FormData;
  if (parts.uploads.length === 0) {
    body = JSON.stringify({
      ...parts.timeline,
      ...(callbackUrl ? { callbackUrl } : {}),
      ...(backend ? { backend } : {}),
    });
    headers['content-type'] = 'application/json';
  } else {
    const form = new FormData();
    form.set('timeline', JSON.stringify(parts.timeline));
    if (callbackUrl) form.set('callbackUrl', callbackUrl);
    if (backend) form.set('backend', backend);
    for (const [field, path] of parts.uploads) form.set(field, await openAsBlob(path), basename(path));
    body = form;
  }
  const res = await fetch(`${client.baseUrl}/v1/renders`, { method: 'POST', headers, body });
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      const e = (
        JSON.parse(text) as {
          error?: { message?: string; issues?: Array<{ field: string; message: string }> };
        }
      ).error;
      message = e?.issues?.length
        ? e.issues.map((i) => `\n  ${i.field}: ${i.message}`).join('')
        : (e?.message ?? text);
    } catch {
      // not JSON
    }
    throw new ApiError(res.status, `POST /v1/renders: ${res.status} ${message}`);
  }
  return JSON.parse(text) as SubmittedRender;
}
