// A small config: `npx sluice -c examples/hello.ts` (check it with `npx sluice -t -c examples/hello.ts`).
import { defineConfig, md5, type Request } from 'sluice';

export default defineConfig({
  clientMaxBodySize: '1m',
  keepaliveTimeout: '75s',
  servers: [{
    listen: '127.0.0.1:8081',
    serverName: ['localhost', '*.example.test'],
    locations: {
      '= /': { return: [200, 'hello from sluice\n'] },
      '/md5': {
        content: async (r: Request) => {
          await r.readBody();
          r.say(md5(r.body() ?? ''));
        },
      },
      '~* \\.txt$': { defaultType: 'text/plain', return: [200, 'a .txt location\n'] },
    },
  }],
});
