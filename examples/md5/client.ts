// The same scenario with the HTTP client instead of a subrequest — the alternative OpenResty's
// docs give (lua-resty-http's request_uri over a cosocket, with its own keepalive pool).
//
//   npx sluice -c examples/md5/client.ts
//   curl 'http://127.0.0.1:8080/test?data=hello&key=<md5 of "hello" + salt>'

import { defineConfig, HttpClient, type Request } from 'sluice';
import { SALT, dataAndKey, md5Backend } from './backend.js';

export function md5ClientConfig(port = 8080, md5Port = 8081) {
  const url = `http://127.0.0.1:${md5Port}/`;
  return defineConfig({
    errorLog: 'stderr',
    servers: [
      {
        listen: `127.0.0.1:${port}`,
        locations: {
          '= /test': {
            needRequestBody: true,
            content: async (r: Request) => {
              const { data, key } = dataAndKey(r);
              const httpc = new HttpClient();
              // kept connections: a pool of 20 per host:port, as `keepalive 20` on the other side
              const res = await httpc.requestUri(url, { method: 'POST', body: data, keepalivePool: 20, keepaliveTimeout: 60000 });
              r.say(key === res.body.toString() ? 'valid request' : 'invalid request');
            },
          },
        },
      },
      md5Backend(md5Port),
    ],
  });
}

export { SALT };
export default md5ClientConfig(Number(process.env.SLUICE_PORT ?? 8080), Number(process.env.SLUICE_MD5_PORT ?? 8081));
