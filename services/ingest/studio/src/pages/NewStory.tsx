import { useRef, useState } from 'preact/hooks';
import { FileDrop } from '../components/FileDrop.tsx';
import { PhotoList, type Photo } from '../components/PhotoList.tsx';
import { FieldErrors, FormErrors, useTitle } from '../components/ui.tsx';
import { UploadProgress } from '../components/UploadProgress.tsx';
import type { ControlFields } from '../forms/fields.ts';
import { useUpload } from '../forms/useUpload.ts';

const AUDIO = 'audio/*,.wav,.mp3,.m4a,.ogg,.flac,.webm';
const IMAGES = 'image/jpeg,image/png,image/webp,image/heic,.heic';
const MOODS = [
  { value: 'family', text: 'Family (warm)' },
  { value: 'adventurous', text: 'Adventurous' },
  { value: 'nostalgic', text: 'Nostalgic' },
  { value: 'reflective', text: 'Reflective' },
  { value: 'none', text: 'No music' },
];
const MAX_PHOTOS = 50;

/** Which control shows which field of `POST /v1/stories` (its JSON paths and the aliases it accepts). */
function controls(photoCount: number): ControlFields[] {
  return [
    { control: 'story-audio', fields: ['audio', 'audioKey', 'audio_key', 'audioUrl', 'audio_url'] },
    { control: 'story-title', fields: ['title', 'prompt', 'storyTitle', 'story_title'] },
    { control: 'story-teller', fields: ['storyteller', 'storytellerName', 'storyteller_name', 'name'] },
    { control: 'story-user-photo', fields: ['userPhoto', 'user_photo', 'photo', 'photoKey', 'photo_key'] },
    { control: 'story-photos', fields: ['images'] },
    ...Array.from({ length: photoCount }, (_, i) => ({
      control: `story-photo-${i}`,
      fields: [`images[${i}]`],
    })),
    { control: 'story-mood', fields: ['music.mood', 'mood', 'musicMood', 'music_mood', 'music'] },
    { control: 'story-gain', fields: ['music.gainDb', 'gainDb', 'musicGainDb', 'music_gain_db'] },
    { control: 'story-duck', fields: ['music.duck', 'duck', 'musicDuck', 'music_duck'] },
    { control: 'story-logo', fields: ['brand.logo', 'logo', 'logoKey', 'logo_key', 'brand'] },
    {
      control: 'story-background',
      fields: ['brand.background', 'background', 'backgroundColor', 'background_color'],
    },
    { control: 'story-intro', fields: ['brand.introSeconds', 'introSeconds', 'intro_seconds'] },
    { control: 'story-outro', fields: ['brand.outroSeconds', 'outroSeconds', 'outro_seconds'] },
  ];
}

/** A spoken story with photos, music and brand → a branded slideshow video. */
export function NewStory() {
  useTitle('New story');
  const [audio, setAudio] = useState<File>();
  const [userPhoto, setUserPhoto] = useState<File>();
  const [photos, setPhotos] = useState<Photo[]>([]);
  const [title, setTitle] = useState('');
  const [teller, setTeller] = useState('');
  const [mood, setMood] = useState('family');
  const [gain, setGain] = useState(-25);
  const [duck, setDuck] = useState(false);
  const [logo, setLogo] = useState<File>();
  const [background, setBackground] = useState('#f3e9dc');
  const [intro, setIntro] = useState('3');
  const [outro, setOutro] = useState('2');
  const [missing, setMissing] = useState<string[]>();
  const nextId = useRef(1);
  const upload = useUpload({ path: '/v1/stories', controls: controls(photos.length) });
  const err = (c: string) => upload.issues.byControl[c];
  const describe = (c: string, hint = false) =>
    [hint ? `${c}-hint` : '', err(c)?.length ? `${c}-error` : ''].filter(Boolean).join(' ') || undefined;

  function onSubmit(e: Event) {
    e.preventDefault();
    if (!audio) {
      setMissing(['Choose the story recording.']);
      document.getElementById('story-audio')?.focus();
      return;
    }
    setMissing(undefined);
    // Text fields first, files last: the API reads the form in order.
    const form = new FormData();
    if (title.trim()) form.append('title', title.trim());
    if (teller.trim()) form.append('storyteller', teller.trim());
    form.append('mood', mood);
    if (mood !== 'none') {
      form.append('gainDb', String(gain));
      form.append('duck', String(duck));
    }
    form.append('background', background);
    form.append('introSeconds', intro);
    form.append('outroSeconds', outro);
    form.append('audio', audio, audio.name);
    if (userPhoto) form.append('userPhoto', userPhoto, userPhoto.name);
    for (const p of photos) form.append('images', p.file, p.file.name);
    if (logo) form.append('logo', logo, logo.name);
    void upload.submit(form);
  }

  const addPhotos = (files: File[]) => {
    const images = files.filter((f) => f.type.startsWith('image/') || /\.(heic|heif)$/i.test(f.name));
    setPhotos((list) =>
      [...list, ...images.map((file) => ({ id: nextId.current++, file }))].slice(0, MAX_PHOTOS),
    );
    upload.clear('story-photos');
  };

  return (
    <section class="narrow">
      <h1>New story video</h1>
      <p class="lede">
        A spoken story becomes a slideshow: your photos with gentle motion, music under the voice, and your
        brand at the start and end.
      </p>
      <FormErrors errors={upload.issues.general} />
      <form onSubmit={onSubmit} noValidate>
        <fieldset disabled={upload.busy}>
          <legend>The story</legend>
          <FileDrop
            id="story-audio"
            label="Story recording"
            hint="The spoken story: WAV, MP3, M4A, OGG, FLAC or WebM."
            accept={AUDIO}
            required
            file={audio}
            errors={missing ?? err('story-audio')}
            onFiles={([f]) => {
              setAudio(f);
              setMissing(undefined);
              upload.clear('story-audio');
            }}
          />
          <div class="pair">
            <div class="field">
              <label for="story-title">Title</label>
              <input
                id="story-title"
                value={title}
                maxLength={200}
                aria-invalid={err('story-title') ? 'true' : undefined}
                aria-describedby={describe('story-title')}
                onInput={(e) => setTitle(e.currentTarget.value)}
              />
              <FieldErrors id="story-title-error" errors={err('story-title')} />
            </div>
            <div class="field">
              <label for="story-teller">Storyteller’s name</label>
              <input
                id="story-teller"
                value={teller}
                maxLength={200}
                autoComplete="name"
                aria-invalid={err('story-teller') ? 'true' : undefined}
                aria-describedby={describe('story-teller')}
                onInput={(e) => setTeller(e.currentTarget.value)}
              />
              <FieldErrors id="story-teller-error" errors={err('story-teller')} />
            </div>
          </div>
        </fieldset>

        <fieldset disabled={upload.busy}>
          <legend>Photos</legend>
          <FileDrop
            id="story-user-photo"
            label="Storyteller’s photo"
            hint="Optional; shown first."
            accept={IMAGES}
            file={userPhoto}
            errors={err('story-user-photo')}
            onFiles={([f]) => {
              setUserPhoto(f);
              upload.clear('story-user-photo');
            }}
          />
          {userPhoto ? (
            <button type="button" class="button button--quiet" onClick={() => setUserPhoto(undefined)}>
              Remove the storyteller’s photo
            </button>
          ) : null}
          <FileDrop
            id="story-photos"
            label="More photos"
            hint={`Up to ${MAX_PHOTOS}, shown in this order; drag them, or use the arrows, to reorder.`}
            accept={IMAGES}
            multiple
            errors={err('story-photos')}
            onFiles={addPhotos}
          />
          <PhotoList photos={photos} onChange={setPhotos} errorsAt={(i) => err(`story-photo-${i}`)} />
        </fieldset>

        <fieldset disabled={upload.busy}>
          <legend>Music</legend>
          <div class="pair">
            <div class="field">
              <label for="story-mood">Mood</label>
              <select
                id="story-mood"
                value={mood}
                aria-invalid={err('story-mood') ? 'true' : undefined}
                aria-describedby={describe('story-mood')}
                onChange={(e) => setMood(e.currentTarget.value)}
              >
                {MOODS.map((m) => (
                  <option key={m.value} value={m.value}>
                    {m.text}
                  </option>
                ))}
              </select>
              <FieldErrors id="story-mood-error" errors={err('story-mood')} />
            </div>
            <div class="field">
              <label for="story-gain">
                Music level under the voice: <output for="story-gain">{gain} dB</output>
              </label>
              <input
                id="story-gain"
                type="range"
                min={-60}
                max={0}
                step={1}
                value={gain}
                disabled={mood === 'none'}
                aria-valuetext={`${gain} decibels`}
                aria-invalid={err('story-gain') ? 'true' : undefined}
                aria-describedby={describe('story-gain', true)}
                onInput={(e) => setGain(Number(e.currentTarget.value))}
              />
              <p class="hint" id="story-gain-hint">
                −25 dB sits well under speech; 0 dB is as loud as the voice.
              </p>
              <FieldErrors id="story-gain-error" errors={err('story-gain')} />
            </div>
          </div>
          <div class="check">
            <input
              id="story-duck"
              type="checkbox"
              checked={duck}
              disabled={mood === 'none'}
              onChange={(e) => setDuck(e.currentTarget.checked)}
            />
            <label for="story-duck">Dip the music further while the voice speaks</label>
            <FieldErrors id="story-duck-error" errors={err('story-duck')} />
          </div>
        </fieldset>

        <fieldset disabled={upload.busy}>
          <legend>Brand</legend>
          <FileDrop
            id="story-logo"
            label="Logo"
            hint="Optional; shown at the start and in a corner."
            accept={IMAGES}
            file={logo}
            errors={err('story-logo')}
            onFiles={([f]) => {
              setLogo(f);
              upload.clear('story-logo');
            }}
          />
          <div class="triple">
            <div class="field">
              <label for="story-background">Background</label>
              <input
                id="story-background"
                type="color"
                value={background}
                aria-invalid={err('story-background') ? 'true' : undefined}
                aria-describedby={describe('story-background')}
                onInput={(e) => setBackground(e.currentTarget.value)}
              />
              <FieldErrors id="story-background-error" errors={err('story-background')} />
            </div>
            <div class="field">
              <label for="story-intro">Intro (seconds)</label>
              <input
                id="story-intro"
                type="number"
                inputMode="decimal"
                min={0}
                max={30}
                step={0.5}
                value={intro}
                aria-invalid={err('story-intro') ? 'true' : undefined}
                aria-describedby={describe('story-intro')}
                onInput={(e) => setIntro(e.currentTarget.value)}
              />
              <FieldErrors id="story-intro-error" errors={err('story-intro')} />
            </div>
            <div class="field">
              <label for="story-outro">Outro (seconds)</label>
              <input
                id="story-outro"
                type="number"
                inputMode="decimal"
                min={0}
                max={30}
                step={0.5}
                value={outro}
                aria-invalid={err('story-outro') ? 'true' : undefined}
                aria-describedby={describe('story-outro')}
                onInput={(e) => setOutro(e.currentTarget.value)}
              />
              <FieldErrors id="story-outro-error" errors={err('story-outro')} />
            </div>
          </div>
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
