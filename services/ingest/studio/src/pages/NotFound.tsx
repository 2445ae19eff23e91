import { useTitle } from '../components/ui.tsx';

export function NotFound() {
  useTitle('Not found');
  return (
    <section>
      <h1>Nothing here</h1>
      <p>
        This page does not exist. Go to the <a href="/jobs">jobs</a>.
      </p>
    </section>
  );
}
