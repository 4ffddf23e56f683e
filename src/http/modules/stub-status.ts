// cf. ngx_http_stub_status_module.c — `stubStatus: true`: the location answers with the connection
// counters (src/core/status.ts) in nginx's text, and $connections_active/reading/writing/waiting.

import { DECLINED, DONE, SL, cmd, defineModule, type PhaseHandler } from '../conf/module.js';
import { flag } from '../conf/parse.js';
import { registerVariable } from '../variables.js';
import { STAT, statusSource, statusText, type StatusCounters } from '../../core/status.js';
import type { Request } from '../request.js';

function answer(r: Request, s: StatusCounters): void {
  const body = Buffer.from(statusText(s), 'latin1');
  const h = r.headersOut;
  h.status = 200;
  h.contentType = 'text/plain';
  h.contentLength = body.length;
  r.sendHeader();
  if (!r.headerOnly) r.print(body);
}

// the location's content handler (nginx sets clcf->handler), GET and HEAD only
const stubStatusPhase: PhaseHandler = (r) => {
  if (!r.conf.stubStatus) return DECLINED;
  if (r.method !== 'GET' && r.method !== 'HEAD') r.exit(405);
  if (r === r.main && r.hc !== null) {
    const rc = r.hc.discardBody(r);
    if (rc !== 0) r.exit(rc);
  }
  const source = statusSource();
  if (source === null) {
    answer(r, STAT);
    return DONE;
  }
  return source().then((s) => answer(r, s));
};

// read by nginx from the shared counters; here this process's (a worker's own under the master)
registerVariable('connections_active', () => String(STAT.active));
registerVariable('connections_reading', () => String(STAT.reading));
registerVariable('connections_writing', () => String(STAT.writing));
registerVariable('connections_waiting', () => String(STAT.waiting));

export const stubStatusModule = defineModule({
  name: 'stub_status',
  nginx: 'ngx_http_stub_status_module',
  about: 'stubStatus: the connection counters in nginx\'s text (content phase); $connections_*',
  directives: {
    stubStatus: cmd(SL, flag, false, {
      inherit: false,
      differs: 'summed over the workers by asking the master (nginx reads shared memory); the $connections_* variables are the answering process\'s own',
    }),
  },
  phases: { content: stubStatusPhase },
});
