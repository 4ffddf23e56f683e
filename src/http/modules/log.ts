// cf. ngx_http_log_module.c — the access log: log_format (http level), access_log (per block,
// several per block), written after each main request in the location it ended in.

import { H, HSL, cmd, defineModule, parser } from '../conf/module.js';
import { ConfigError } from '../conf/size-time.js';
import type { ResolvedConfig } from '../conf/config.js';
import type { Directives } from '../conf/directives.js';
import { isPlainObject } from '../conf/parse.js';
import { compileFormat, type LogFormat, type LogFormatInput } from '../log/format.js';
import { ACCESS_LOG_OFF, combinedFormat, parseAccessLog, type AccessLogInput, type AccessLogs } from '../log/access-log.js';
import '../log/variables.js';

const logFormats = parser<Readonly<Record<string, LogFormatInput>>>()((v, key): ReadonlyMap<string, LogFormat> => {
  if (!isPlainObject(v)) throw new ConfigError('an object of named formats ({ main: \'$remote_addr ...\' })', key);
  const out = new Map<string, LogFormat>();
  for (const [name, f] of Object.entries(v)) {
    if (name === 'combined') throw new ConfigError('duplicate "log_format" name "combined"', key);
    out.set(name, compileFormat(name, f, key));
  }
  return out;
});

const accessLog = parser<AccessLogInput>()((v, key): AccessLogs => parseAccessLog(v, key));

/** Every block of a config (http, servers, their locations and named ones). */
function* blocks(c: ResolvedConfig): Generator<Directives> {
  yield c.http;
  for (const s of c.servers) {
    yield s.conf;
    for (const l of s.locations.locations) yield l.conf;
    for (const l of s.named.values()) yield l.conf;
  }
}

export const logModule = defineModule({
  name: 'log',
  nginx: 'ngx_http_log_module',
  about: 'the access log: named formats with nginx\'s escaping, several logs per block, buffer/flush/if, written after each main request',
  notYet: ['open_log_file_cache'],
  directives: {
    logFormat: cmd(H, logFormats, {}, {
      differs: 'an object of named formats: { main: \'escape=json ...\' } (a string, a list of strings joined as nginx joins its arguments, or { escape, format })',
    }),
    accessLog: cmd(HSL, accessLog, false, {
      differs: 'off by default (nginx: logs/access.log combined); true is stdout; nginx\'s arguments as one string (\'path [format] [buffer=size] [flush=time] [if=cond]\'), an object { path, format, buffer, flush, if } or a list of them; gzip= and variables in the path are refused; stdout/stderr are written by Node\'s streams',
    }),
  },
  checkConfig(config: ResolvedConfig): void {
    // ngx_http_log_set_log: the format named must exist (combined is built in)
    const formats = config.http.logFormat as ReadonlyMap<string, LogFormat>;
    for (const conf of blocks(config)) {
      const logs = conf.accessLog as AccessLogs;
      if (logs === ACCESS_LOG_OFF) continue;
      for (const l of logs.logs) {
        if (l.formatName === 'combined') { l.format = combinedFormat(); continue; }
        const f = formats.get(l.formatName);
        if (f === undefined) throw new ConfigError(`unknown log format "${l.formatName}"`, 'accessLog');
        l.format = f;
      }
    }
  },
});
