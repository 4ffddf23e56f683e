// cf. ngx_http_log_module.c — the access log.

import { HSL, cmd, defineModule } from '../conf/module.js';
import { logPath } from '../conf/parse.js';

export const logModule = defineModule({
  name: 'log',
  nginx: 'ngx_http_log_module',
  about: 'the access log (combined format), written after each main request',
  directives: {
    accessLog: cmd(HSL, logPath('stdout'), false, { differs: 'off by default (nginx: logs/access.log)' }),
  },
});
