// The md5 backend of the OpenResty docs' example: answers md5(body .. salt).

import { md5, type Request } from 'sluice';

export const SALT = 'sluice-salt';

/** The front's input: ?data=...&key=... (as ngx.req.get_uri_args gives them). */
export async function dataAndKey(r: Request): Promise<{ data: string; key: string | null }> {
  await r.readBody();
  const args = r.uriArgs();
  return {
    data: typeof args.data === 'string' ? args.data : '',
    key: typeof args.key === 'string' ? args.key : null,
  };
}

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
