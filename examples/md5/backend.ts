// The md5 backend of the OpenResty docs' example: answers md5(body .. salt).

import { md5, type Request } from 'sluice';

export const SALT = 'sluice-salt';
const SALT_BYTES = Buffer.from(SALT);
const EMPTY = Buffer.alloc(0);

/**
 * The front's input: ?data=...&key=... (as ngx.req.get_uri_args gives them). The front's location
 * says needRequestBody (lua_need_request_body on), which stands for the docs' ngx.req.read_body().
 */
export function dataAndKey(r: Request): { data: string; key: string | null } {
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
        // the body is read before the handler runs (lua_need_request_body on): no await needed
        needRequestBody: true,
        content: (r: Request) => {
          r.print(md5(Buffer.concat([r.body() ?? EMPTY, SALT_BYTES])));
        },
      },
    },
  };
}
