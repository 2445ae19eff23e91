// Submitting a merge (`POST /v1/merges`) from the CLI or a test: local files are uploaded (streamed
// from disk), blob keys and https URLs are passed on as they are.
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { ApiError, type ClientOptions } from './client.ts';
import { isLocalFile } from './story.ts';

/** Pure but for the file check: the `clips` list and the files to upload (field name → path). */
export function mergeRequestParts(clips: readonly string[]): {
  clips: Array<string | { upload: string }>;
  files: Array<[field: string, path: string]>;
} {
  const files: Array<[string, string]> = [];
  const list = clips.map((ref, i) => {
    if (!isLocalFile(ref)) return ref;
    const field = `clip${i}`;
    files.push([field, ref]);
    return { upload: field };
  });
  return { clips: list, files };
}

/** Submits a merge of `clips` (local files, blob keys or URLs), in order. */
export async function submitMerge(opts: {
  client: ClientOptions;
  clips: readonly string[];
  callbackUrl?: string | undefined;
}): Promise<{ jobId: string; statusUrl: string; clips: number }> {
  const { client, clips, callbackUrl } = opts;
  const parts = mergeRequestParts(clips);
  let body: string | FormData;
  const headers: Record<string, string> = { authorization: `Bearer ${client.apiKey}` };
  if (parts.files.length === 0) {
    body = JSON.stringify({ clips: parts.clips, ...(callbackUrl ? { callbackUrl } : {}) });
    headers['content-type'] = 'application/json';
  } else {
    const form = new FormData();
    form.set('clips', JSON.stringify(parts.clips));
    if (callbackUrl) form.set('callbackUrl', callbackUrl);
    for (const [field, path] of parts.files) form.set(field, await openAsBlob(path), basename(path));
    body = form;
  }
  const res = await fetch(`${client.baseUrl}/v1/merges`, { method: 'POST', headers, body });
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
    } catch {
      // not JSON
    }
    throw new ApiError(res.status, `POST /v1/merges: ${res.status} ${message}`);
  }
  return JSON.parse(text) as { jobId: string; statusUrl: string; clips: number };
}
