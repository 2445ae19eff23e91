import type { AnyComponent } from 'preact';
import { Generations } from './pages/Generations.tsx';
import { JobPage } from './pages/Job.tsx';
import { Jobs } from './pages/Jobs.tsx';
import { NewCall } from './pages/NewCall.tsx';
import { NewStory } from './pages/NewStory.tsx';
import { Operators } from './pages/Operators.tsx';
import { ReelBoard } from './pages/ReelBoard.tsx';
import { ReelNew } from './pages/ReelNew.tsx';
import { Reels } from './pages/Reels.tsx';
import { ProjectPage } from './pages/Project.tsx';
import { Projects } from './pages/Projects.tsx';
import { SignIn } from './pages/SignIn.tsx';
import { Watch } from './pages/Watch.tsx';

export interface StudioRoute {
  path: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- route components take their path params
  component: AnyComponent<any>;
  /** Needs a signed-in key (else the sign-in page, then back here). */
  needsKey: boolean;
  /** Shown in the top navigation with this text. */
  nav?: string;
  /** In the navigation only for keys with this role (the page itself says when the API refuses). */
  role?: 'operator';
}

/**
 * Every page of the studio. A feature adds its pages here (reels: `/reels/:id`; scene projects:
 * `/projects`, `/projects/:id`), and ingest serves the app for any path outside /v1, so no server
 * change is needed.
 */
export const ROUTES: StudioRoute[] = [
  { path: '/sign-in', component: SignIn, needsKey: false },
  { path: '/jobs', component: Jobs, needsKey: true, nav: 'Jobs' },
  { path: '/jobs/:id', component: JobPage, needsKey: true },
  { path: '/new/call', component: NewCall, needsKey: true, nav: 'New call' },
  { path: '/new/story', component: NewStory, needsKey: true, nav: 'New story' },
  { path: '/generations', component: Generations, needsKey: true, nav: 'Generations' },
  // Reels: `/reels/new` before `/reels/:id` (the first route that matches wins).
  { path: '/reels', component: Reels, needsKey: true, nav: 'Reels' },
  { path: '/reels/new', component: ReelNew, needsKey: true },
  { path: '/reels/:id', component: ReelBoard, needsKey: true },
  { path: '/projects', component: Projects, needsKey: true, nav: 'Projects' },
  { path: '/projects/:id', component: ProjectPage, needsKey: true },
  { path: '/operators', component: Operators, needsKey: true, nav: 'Operators', role: 'operator' },
  { path: '/watch/:id', component: Watch, needsKey: false },
];
