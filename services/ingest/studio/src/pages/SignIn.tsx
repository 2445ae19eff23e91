import { useLocation } from 'preact-iso';
import { useState } from 'preact/hooks';
import { checkApiKey } from '../api/client.ts';
import { useAuth } from '../auth.tsx';
import { FieldErrors, Notice, useTitle } from '../components/ui.tsx';

/** Where to go after signing in: `?next=` when it is a path of this app, else the job list. */
export function nextPath(query: Record<string, string>): string {
  const next = query.next;
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/jobs';
}

export function SignIn() {
  useTitle('Sign in');
  const { signIn, notice } = useAuth();
  const { query, route } = useLocation();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: Event) {
    e.preventDefault();
    const k = key.trim();
    if (!k) return setError('Enter your API key.');
    setBusy(true);
    setError(undefined);
    try {
      const problem = await checkApiKey(k);
      if (problem) {
        setError(problem);
        document.getElementById('api-key')?.focus();
        return;
      }
      signIn(k);
      route(nextPath(query), true);
    } catch (err) {
      setError(`Could not reach the API: ${String(err)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="narrow">
      <h1>Sign in</h1>
      <p class="lede">Use the API key of your reelbus server. The studio keeps it in this tab only.</p>
      {notice ? <Notice kind="warning">{notice}</Notice> : null}
      <form onSubmit={onSubmit} noValidate>
        <div class="field">
          <label for="api-key">API key</label>
          <input
            id="api-key"
            name="apiKey"
            type="password"
            autoComplete="current-password"
            spellcheck={false}
            required
            value={key}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? 'api-key-error api-key-hint' : 'api-key-hint'}
            onInput={(e) => setKey(e.currentTarget.value)}
          />
          <p class="hint" id="api-key-hint">
            <code>npm run stack</code> prints it on first start (also in <code>.reelbus/secrets.json</code>).
          </p>
          <FieldErrors id="api-key-error" errors={error ? [error] : undefined} />
        </div>
        <button class="button" type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}
