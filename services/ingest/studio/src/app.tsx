import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { useEffect, useRef } from 'preact/hooks';
import { AuthProvider, useAuth } from './auth.tsx';
import { NotFound } from './pages/NotFound.tsx';
import { ROUTES, type StudioRoute } from './routes.ts';

export function App() {
  return (
    <LocationProvider>
      <AuthProvider>
        <Shell />
      </AuthProvider>
    </LocationProvider>
  );
}

function Shell() {
  const { client, role, signOut } = useAuth();
  const { path } = useLocation();
  const bare = path.startsWith('/watch/');
  // After a page change (not the first load), move the focus to the page, as a full load would.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById('main')?.focus();
  }, [path]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={client ? '/jobs' : '/'} aria-label="reelbus studio, home">
          <span class="brand__mark" aria-hidden="true">
            ▶
          </span>
          reelbus <span class="brand__sub">studio</span>
        </a>
        {client && !bare ? (
          <nav aria-label="Main">
            <ul>
              {ROUTES.filter((r) => r.nav && (!r.role || r.role === role)).map((r) => (
                <li key={r.path}>
                  <a href={r.path} aria-current={isCurrent(path, r.path) ? 'page' : undefined}>
                    {r.nav}
                  </a>
                </li>
              ))}
              <li>
                <button type="button" class="linklike" onClick={() => signOut('You signed out.')}>
                  Sign out
                </button>
              </li>
            </ul>
          </nav>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        <Router>
          {[
            <Route path="/" component={Home} key="/" />,
            ...ROUTES.map((r) => <Route path={r.path} component={guard(r)} key={r.path} />),
            <Route default component={NotFound} key="*" />,
          ]}
        </Router>
      </main>
    </>
  );
}

const isCurrent = (path: string, navPath: string) => path === navPath || path.startsWith(`${navPath}/`);

function Home() {
  const { client } = useAuth();
  const { route } = useLocation();
  useEffect(() => route(client ? '/jobs' : '/sign-in', true), [client, route]);
  return null;
}

const guarded = new Map<StudioRoute, (props: Record<string, unknown>) => preact.JSX.Element | null>();

/** The route's page, or the sign-in page (then back) when it needs a key and there is none. */
function guard(r: StudioRoute) {
  if (!r.needsKey) return r.component;
  let g = guarded.get(r);
  if (!g) {
    g = function Guarded(props: Record<string, unknown>) {
      const { client } = useAuth();
      const { url, route } = useLocation();
      useEffect(() => {
        if (!client) route(`/sign-in?next=${encodeURIComponent(url)}`, true);
      }, [client, url, route]);
      if (!client) return null;
      const Page = r.component;
      return <Page {...props} />;
    };
    guarded.set(r, g);
  }
  return g;
}
