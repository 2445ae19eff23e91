import { useLocation } from 'preact-iso';
import { useState } from 'preact/hooks';
import { apiErrorFrom } from '../api/errors.ts';
import { Notice, useTitle } from '../components/ui.tsx';

/**
 * The page a signed link opens: the video plays at once, inline, without a key (iOS Safari plays
 * `playsinline muted autoplay` video without a tap). The link's `expires` and `signature` are
 * those of `/v1/jobs/:id/video.mp4`, which checks them.
 */
export function Watch({ id }: { id: string }) {
  useTitle('Video');
  const { query } = useLocation();
  const [problem, setProblem] = useState<string>();
  const qs = new URLSearchParams({ expires: query.expires ?? '', signature: query.signature ?? '' });
  const src = `/v1/jobs/${encodeURIComponent(id)}/video.mp4?${qs}`;

  // A <video> does not say why it failed: ask for one byte to get the API's reason.
  async function explain() {
    try {
      const res = await fetch(src, { headers: { range: 'bytes=0-0' } });
      if (res.ok) return setProblem('The video could not be played in this browser.');
      const err = apiErrorFrom({ status: res.status, statusText: res.statusText, body: await res.text() });
      setProblem(
        err.code === 'link_expired'
          ? 'This link has expired. Ask the person who shared it for a new one.'
          : err.code === 'link_invalid'
            ? 'This link is not valid (it may have been cut off when it was copied).'
            : err.message,
      );
    } catch {
      setProblem('The video could not be loaded; check your connection.');
    }
  }

  if (!query.expires || !query.signature) {
    return (
      <section class="watch">
        <Notice kind="error">This link is incomplete: it needs its “expires” and “signature” parts.</Notice>
      </section>
    );
  }
  return (
    <section class="watch">
      <h1 class="visually-hidden">Shared video</h1>
      {problem ? (
        <Notice kind="error">{problem}</Notice>
      ) : (
        <video
          id="shared-video"
          class="player__video"
          src={src}
          playsInline
          muted
          autoplay
          controls
          preload="auto"
          aria-label="Shared video"
          ref={(el) => {
            // The attribute, not only the property: iOS decides on autoplay from `muted` as written.
            if (el) el.defaultMuted = true;
          }}
          onError={explain}
        />
      )}
      <p class="muted watch__note">
        Shared from reelbus. <a href="/">Open the studio</a>
      </p>
    </section>
  );
}
