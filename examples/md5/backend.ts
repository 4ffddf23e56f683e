// The md5 backend of the OpenResty docs' example: answers md5(body .. salt).

import { md5, type Request } from 'sluice';

export const SALT = 'sluice-salt';

export function md5Backend(port: number) {
  return {
    listen: `127.0.0.1:${port}`,
    locations: {
      '/': {
        content: async (r: Request) => {
          await r.readBody();
          r.print(md5(Buffer.concat([r.body() ?? Buffer.alloc(0), Buffer.from(SALT)])));
        },
      },
    },
  };
}
