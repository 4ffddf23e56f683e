// cf. nginx-tests stub_status.t — differential cases for stub_status: its text and figures on one
// keep-alive connection (so the counts are the same on both sides), 405, $connections_*, HEAD.
//
// Normalised: accepts, handled and requests count from each side's first answer of the case
// (request 0), because what came before differs — nginx's also count the harness's readiness
// probe, and sluice's are the test process's, which other suites' servers moved. The rest
// (Active, Reading, Writing, Waiting, and the counts' steps within the case) is compared as sent.
import { diffSuite } from './harness.js';

const CUMULATIVE = /^(server accepts handled requests\n) (\d+) (\d+) (\d+) /m;

/** accepts, handled and requests as steps from the side's first answer of the case. */
function fromFirst(): (body: string, side: 'nginx' | 'sluice') => string {
  const first = new Map<string, number[]>();
  return (body, side) => body.replace(CUMULATIVE, (_m, head: string, ...n: string[]) => {
    const now = n.slice(0, 3).map(Number);
    if (!first.has(side)) first.set(side, now);
    const base = first.get(side)!;
    return `${head} +${now[0] - base[0]} +${now[1] - base[1]} +${now[2] - base[2]} `;
  });
}

diffSuite('stub_status', [{
  name: 'one connection: the figures, POST and PUT 405, the variables',
  nginx: `server { listen 127.0.0.1:\${PORT};
      location = /status { stub_status; }
      location = /vars { return 200 "$connections_active $connections_reading $connections_writing $connections_waiting\\n"; }
      location / { return 200 "ok\\n"; } }`,
  sluice: () => ({
    locations: {
      '= /status': { stubStatus: true },
      '= /vars': { return: [200, '$connections_active $connections_reading $connections_writing $connections_waiting\n'] },
      '/': { return: [200, 'ok\n'] },
    },
  }),
  oneConnection: true,
  normalize: fromFirst(),
  requests: [
    '/status', '/x', '/x', '/x',
    { path: '/status', status: 200 },
    { method: 'POST', path: '/status', body: 'abc', status: 405 },
    { method: 'PUT', path: '/status', status: 405 },
    '/vars',
    '/status',
  ],
}, {
  // its Content-Length is the length of figures that depend on each side's history: not compared
  name: 'HEAD: the head of the status text',
  nginx: `server { listen 127.0.0.1:\${PORT}; location = /status { stub_status; } }`,
  sluice: () => ({ locations: { '= /status': { stubStatus: true } } }),
  ignoreHeaders: ['content-length'],
  requests: [{ method: 'HEAD', path: '/status', status: 200 }],
}]);
