import { useState } from 'preact/hooks';
import { FileDrop } from '../components/FileDrop.tsx';
import { FormErrors, useTitle } from '../components/ui.tsx';
import { UploadProgress } from '../components/UploadProgress.tsx';
import type { ControlFields } from '../forms/fields.ts';
import { useUpload } from '../forms/useUpload.ts';

const AUDIO = 'audio/*,.wav,.mp3,.m4a,.ogg,.flac,.webm';
const IMAGES = 'image/jpeg,image/png,image/webp,image/heic,.heic';

/** Which control shows which field of `POST /v1/recordings`. */
const CONTROLS: ControlFields[] = [
  { control: 'recording', fields: ['recording'] },
  { control: 'caller-image', fields: ['callerImage'] },
  { control: 'callee-image', fields: ['calleeImage'] },
];

/** Upload a stereo call recording (caller left, callee right), with faces if you have them. */
export function NewCall() {
  useTitle('New call');
  const [recording, setRecording] = useState<File>();
  const [caller, setCaller] = useState<File>();
  const [callee, setCallee] = useState<File>();
  const [missing, setMissing] = useState<string[]>();
  const upload = useUpload({ path: '/v1/recordings', controls: CONTROLS });

  function onSubmit(e: Event) {
    e.preventDefault();
    if (!recording) {
      setMissing(['Choose the call recording.']);
      document.getElementById('recording')?.focus();
      return;
    }
    setMissing(undefined);
    const form = new FormData();
    if (caller) form.append('callerImage', caller, caller.name);
    if (callee) form.append('calleeImage', callee, callee.name);
    form.append('recording', recording, recording.name);
    void upload.submit(form);
  }

  const errors = (c: string) => (c === 'recording' && missing ? missing : upload.issues.byControl[c]);
  return (
    <section class="narrow">
      <h1>New call video</h1>
      <p class="lede">
        A stereo recording of a call (caller on the left channel, callee on the right) becomes a split-screen
        video of two talking avatars with the call’s audio.
      </p>
      <FormErrors errors={upload.issues.general} />
      <form onSubmit={onSubmit} noValidate>
        <fieldset disabled={upload.busy}>
          <FileDrop
            id="recording"
            label="Call recording"
            hint="WAV, MP3, M4A, OGG, FLAC or WebM; stereo: caller left, callee right."
            accept={AUDIO}
            required
            file={recording}
            errors={errors('recording')}
            onFiles={([f]) => {
              setRecording(f);
              setMissing(undefined);
              upload.clear('recording');
            }}
          />
          <div class="pair">
            <FileDrop
              id="caller-image"
              label="Caller’s face"
              hint="Optional. JPEG, PNG, WebP or HEIC."
              accept={IMAGES}
              file={caller}
              errors={errors('caller-image')}
              onFiles={([f]) => {
                setCaller(f);
                upload.clear('caller-image');
              }}
            />
            <FileDrop
              id="callee-image"
              label="Callee’s face"
              hint="Optional. JPEG, PNG, WebP or HEIC."
              accept={IMAGES}
              file={callee}
              errors={errors('callee-image')}
              onFiles={([f]) => {
                setCallee(f);
                upload.clear('callee-image');
              }}
            />
          </div>
          {caller || callee ? (
            <div class="actions">
              {caller ? (
                <button type="button" class="button button--quiet" onClick={() => setCaller(undefined)}>
                  Remove the caller’s face
                </button>
              ) : null}
              {callee ? (
                <button type="button" class="button button--quiet" onClick={() => setCallee(undefined)}>
                  Remove the callee’s face
                </button>
              ) : null}
            </div>
          ) : null}
        </fieldset>
        {upload.progress ? (
          <UploadProgress progress={upload.progress} onCancel={upload.cancel} />
        ) : (
          <button class="button" type="submit">
            Upload and make the video
          </button>
        )}
      </form>
    </section>
  );
}
