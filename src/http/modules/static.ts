// cf. ngx_http_static_module.c — the content phase's last handler: a file under root or alias.
// The handler is src/http/static.ts; the module has no directive of its own (root, alias and
// types are core's, index is the index module's).

import { DONE, defineModule, type PhaseHandler } from '../conf/module.js';
import { staticHandler } from './static-handler.js';

// the last content handler: a file, an index (index module), or 404/405
const staticPhase: PhaseHandler = (r) => { staticHandler(r); return DONE; };

export const staticModule = defineModule({
  name: 'static',
  nginx: 'ngx_http_static_module',
  about: 'serves a file (or a directory redirect) when the location has no content handler',
  directives: {},
  phases: { content: staticPhase },
});
