// cf. lua-nginx-module's ngx_http_lua_capture_filter (its header and body filters) — the module
// of subrequests: the depth limit, and the capture filter that records a captured subrequest's
// status, headers and body for r.location.capture (it sits where lua-nginx-module's lands:
// above headers in the header chain, just below copy in the body chain).

import { HSL, cmd, defineModule } from '../http/conf/module.js';
import { num } from '../http/conf/parse.js';
import { CaptureBodyFilter, CaptureHeaderFilter } from './capture-filter.js';
import { LocationApi } from './subrequest.js';

export const captureModule = defineModule({
  name: 'capture',
  nginx: 'ngx_http_lua_module',
  about: 'subrequests (r.location.capture*): the depth limit and the capture filter',
  directives: {
    subrequestDepth: cmd(HSL, num, 50, { nginx: null, differs: 'nginx fixes the depth at 50 (NGX_HTTP_MAX_SUBREQUESTS is the count); here it is a directive' }),
  },
  locationApi: (r) => new LocationApi(r),
  headerFilter: () => new CaptureHeaderFilter(),
  bodyFilter: () => new CaptureBodyFilter(),
});
