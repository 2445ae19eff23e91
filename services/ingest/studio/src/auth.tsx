import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiClient } from './api/client.ts';
import type { KindSpec, Me } from './api/types.ts';
import { clearKey, loadKey, saveKey } from './session.ts';

export interface Auth {
  /** The client for the signed-in key; undefined when signed out. */
  client: ApiClient | undefined;
  /** The key's role once known (`GET /v1/me`); operator pages show for `operator`. */
  role: 'operator' | 'user' | undefined;
  /** The key's name once known (`GET /v1/me`). */
  name: string | undefined;
  /** The job kinds (steps, weights, phases) once loaded, by kind. */
  kinds: Record<string, KindSpec>;
  /** Why the user was signed out (shown on the sign-in page). */
  notice: string | undefined;
  signIn(key: string): void;
  signOut(notice?: string): void;
}

const AuthContext = createContext<Auth | undefined>(undefined);

export function AuthProvider({ children }: { children: ComponentChildren }) {
  const [key, setKey] = useState<string | undefined>(loadKey);
  const [notice, setNotice] = useState<string>();
  const [kinds, setKinds] = useState<Record<string, KindSpec>>({});
  const [me, setMe] = useState<Me>();

  const signOut = useCallback((why?: string) => {
    clearKey();
    setKey(undefined);
    setNotice(why);
  }, []);
  const signIn = useCallback((k: string) => {
    saveKey(k);
    setNotice(undefined);
    setKey(k);
  }, []);

  const client = useMemo(
    () =>
      key
        ? new ApiClient({
            key,
            onUnauthorized: () => signOut('The API key is no longer accepted. Sign in again.'),
          })
        : undefined,
    [key, signOut],
  );

  useEffect(() => {
    if (!client) return;
    let live = true;
    client.kinds().then(
      ({ kinds: list }) => live && setKinds(Object.fromEntries(list.map((k) => [k.kind, k]))),
      // Without the kinds the studio still works: progress comes from the job documents.
      () => undefined,
    );
    setMe(undefined);
    client.me().then(
      (m) => live && setMe(m),
      // Unknown (the server could not be reached): operator pages stay hidden; the API decides anyway.
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [client]);

  const value = useMemo(
    () => ({ client, role: me?.role, name: me?.name, kinds, notice, signIn, signOut }),
    [client, me, kinds, notice, signIn, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside AuthProvider');
  return auth;
}
