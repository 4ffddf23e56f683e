// cf. nginx-tests static.t, index.t — differential cases: static files, index, directories.
import { diffSuite } from './harness.js';

diffSuite('static', [
  {
    name: 'a file, HEAD, 404',
    files: { 'a.txt': 'hello\n', 'index.html': '<p>index</p>\n' },
    nginx: 'server { listen 127.0.0.1:${PORT}; root ${ROOT}; }',
    sluice: (env) => ({ root: env.root, locations: { '/': {} } }),
    requests: ['/a.txt', { method: 'HEAD', path: '/a.txt' }, { path: '/nope', status: 404 }, '/'],
  },
]);
