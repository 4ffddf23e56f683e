// cf. ngx_http_log_module.c — the access log.

import { HSL, cmd, defineModule } from '../conf/module.js';
import { logPath } from '../conf/parse.js';

export const logModule = defineModule({
  name: 'log',
  nginx: 'ngx_http_log_module',
  about: 'the access log (combined format), written after each main request',
  notYet: ['log_format', 'open_log_file_cache'],
  directives: {
    accessLog: cmd(HSL, logPath('stdout'), false, { differs: 'off by default (nginx: logs/access.log); the combined format only, with an ISO time for now' }),
  },
});
