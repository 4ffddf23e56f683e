// sluice answering "hello\n" on "= /", from dist/ (run `npm run build` first).
// Usage: node bench/load/sluice-hello.mjs PORT [say|return]   (prints "ready" when listening)
//   say:    content handler r.say('hello')      (cf. content_by_lua_block { ngx.say("hello") })
//   return: return: [200, 'hello\n']            (cf. nginx's return directive)
import { startServer } from '../../dist/src/index.js';

const port = Number(process.argv[2] ?? 0);
const mode = process.argv[3] ?? 'say';

const HANDLERS = {
  say: { content: (r) => { r.say('hello'); } },
  return: { return: [200, 'hello\n'] },
};
if (!(mode in HANDLERS)) {
  console.error(`unknown mode "${mode}" (say | return)`);
  process.exit(2);
}

const server = await startServer({
  accessLog: false,
  servers: [{ listen: `127.0.0.1:${port}`, locations: { '= /': HANDLERS[mode] } }],
});
console.log('ready', server.port);
// exit normally on SIGTERM so --cpu-prof / --prof output gets written
process.on('SIGTERM', () => process.exit(0));
