import { apiErrorFrom } from './errors.ts';
import type { JobAccepted } from './types.ts';

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * POSTs a multipart form and reports upload progress. XMLHttpRequest, because fetch() has no
 * upload progress in browsers. Resolves with the 202 answer; rejects with ApiError (the API's
 * field errors included) or, when `signal` aborts, with an AbortError.
 */
export function uploadForm(opts: {
  path: string;
  key: string;
  form: FormData;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
}): Promise<JobAccepted> {
  const { path, key, form, onProgress, signal } = opts;
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('authorization', `Bearer ${key}`);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress?.({ loaded: e.loaded, total: e.total });
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText) as JobAccepted);
        } catch {
          reject(apiErrorFrom({ status: xhr.status, statusText: 'not JSON', body: '' }));
        }
        return;
      }
      reject(apiErrorFrom({ status: xhr.status, statusText: xhr.statusText, body: xhr.responseText }));
    };
    xhr.onerror = () => reject(apiErrorFrom({ status: 0, statusText: '', body: '' }));
    xhr.onabort = () => reject(new DOMException('the upload was cancelled', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}
