// The scenario from OpenResty's ngx.location.capture docs, in sluice:
//
//   client ─► /test (content handler) ─capture POST─► /spe_md5 (internal, proxyPass)
//          ─► upstream md5_server { keepalive 20 } ─► md5 backend: md5(data .. salt)
//
// The handler answers "valid request" when the client's key is md5(data .. salt).
// Both servers run in this one process, as nginx runs both with one worker.
//
//   npx sluice -c examples/md5/capture.ts
//   curl 'http://127.0.0.1:8080/test?data=hello&key=<md5 of "hello" + salt>'   (see README)

import { defineConfig, HTTP_POST, type Request } from 'sluice';
import { SALT, dataAndKey, md5Backend } from './backend.js';

export function md5CaptureConfig(port = 8080, md5Port = 8081) {
  return defineConfig({
    upstreams: {
      md5_server: { servers: [`127.0.0.1:${md5Port}`], keepalive: 20 },
    },
    errorLog: 'stderr',
    servers: [
      {
        listen: `127.0.0.1:${port}`,
        locations: {
          '= /test': {
            needRequestBody: true,
            content: async (r: Request) => {
              const { data, key } = dataAndKey(r);
              const res = await r.location.capture('/spe_md5', { method: HTTP_POST, body: data });
              r.say(key === res.body.toString() ? 'valid request' : 'invalid request');
            },
          },
          '= /spe_md5': { internal: true, proxyPass: 'http://md5_server' },
        },
      },
      md5Backend(md5Port),
    ],
  });
}

export { SALT };
export default md5CaptureConfig(Number(process.env.SLUICE_PORT ?? 8080), Number(process.env.SLUICE_MD5_PORT ?? 8081));
