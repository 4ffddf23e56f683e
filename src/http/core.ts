// cf. ngx_http_core_module.c (the phase engine, ngx_http_finalize_request, internal redirects)
// and ngx_http_special_response.c (the pages for error statuses).
//
//   SERVER_REWRITE  the modules' handlers: rewrite's server `return`
//   FIND_CONFIG     location selection, `internal`, client_max_body_size (413)
//   REWRITE         rewrite's location `return`, then lua's `rewrite` handler (rewrite_by_lua)
//   POST_REWRITE    an exec() restarts at FIND_CONFIG (at most 10 times)
//   PREACCESS       limit_req, then limit_conn
//   ACCESS          lua's `access` handler (access_by_lua)
//   CONTENT         lua's `content` handler, proxy's proxyPass, else static (and index)
//   (LOG)           the access log line, after the response is done
//
// Which handlers run in a phase, and in which order, is the module list's (src/modules.ts).

import { Buf, B_LAST_BUF, B_LAST_IN_CHAIN, link } from '../core/buf.js';
import type { ResolvedLocation } from './conf/config.js';
import { logError, logAccess } from '../core/log.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { ExitSignal, RequestError, type Request } from './request.js';
import { specialResponse } from './special-response.js';
import { DECLINED, DONE, SUSPENDED } from './conf/module.js';
import { parseRequestTarget } from './uri.js';
import { RESTART } from './conf/module.js';
import { setCaptures } from './regex.js';
import { tryFilesPhase } from './try-files.js';
import { closesConnection } from './special-response.js';
import { whenUpgradeDone } from './upgrade.js';


// phases (the order of ngx_http_core_module's phase engine)
const PH_SERVER_REWRITE = 0, PH_FIND_CONFIG = 1, PH_REWRITE = 2, PH_PREACCESS = 3, PH_ACCESS = 4, PH_TRY_FILES = 5, PH_CONTENT = 6;

/**
 * Run a request from the server rewrite phase to the end, then finalize it. It stays
 * synchronous as long as the handlers do (no promise, no microtask for a plain handler);
 * the first handler that returns a promise makes the rest of the run asynchronous.
 */
export function runRequest(r: Request): void {
  run(r, PH_SERVER_REWRITE, null);
}

function run(r: Request, ph: number, named: ResolvedLocation | null): void {
  let p: Promise<void> | undefined;
  try {
    // the handlers run with the request as their async context: an error thrown later in a
    // timer or a callback they started still finds its request (see strayError)
    p = requestContext.run(r, phases, r, ph, 0, named);
  } catch (e) {
    handleExit(r, e);
    return;
  }
  if (p === undefined) {
    try { finalizeRequest(r, 0); } catch (e) { crashed(r, e); }
  } else if (p === SUSPEND) {
    // the content handler goes on by itself and calls resumeRequest()
  } else {
    // one promise for the rest of the run: the callbacks catch their own failures
    p.then(() => { settled(r); }, (e: unknown) => { failed(r, e); });
  }
}

/** What phases() gives back when the content handler answered SUSPENDED. */
const SUSPEND = Promise.resolve() as Promise<void>;

/**
 * A content handler that answered SUSPENDED is done: `outcome` null ends the request as it is
 * (the handler's promise resolving, in effect), anything else as a handler's failure or exit
 * (an ExitSignal with a status: its page). Runs in a microtask, as a promise's callback would:
 * never inside the socket event that finished the handler.
 */
export function resumeRequest(r: Request, outcome: unknown): void {
  r.suspended = false;
  if (outcome === null) queueMicrotask(() => { settled(r); });
  else queueMicrotask(() => { failed(r, outcome); });
}

/** The handlers' promise resolved: the request ends (after r.upgrade(): when its stream closes). */
function settled(r: Request): void {
  // (a run that went asynchronous before its content handler suspended: the handler ends it)
  if (r.suspended) return;
  try {
    if (r.upgraded !== null) {
      const w = whenUpgradeDone(r);
      if (w !== null) { w.then(() => { settled(r); }); return; }
    }
    finalizeRequest(r, 0);
  } catch (e) {
    crashed(r, e);
  }
}

function failed(r: Request, e: unknown): void {
  try { handleExit(r, e); } catch (e2) { crashed(r, e2); }
}

/** A bug of ours while finishing a request: log it, drop this connection, keep serving. */
function crashed(r: Request, e: unknown): void {
  logError('alert', r, `request crashed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  r.keepalive = false;
  r.main.conn?.destroy();
}

/** A handler left early (exit, exec, redirect) or failed. */
function handleExit(r: Request, e: unknown): void {
  if (r.finalized) {
    // the request is over (a handler went on after eof() or exit(), and failed or exited later)
    if (!(e instanceof ExitSignal)) logError('error', r, `handler failed after the request was finalized: ${describe(e)}`);
    return;
  }
  if (e instanceof ExitSignal) {
    if (e.byHandler && r.headerSent && e.status >= 200 && e.status !== 444 && e.status !== 499) {
      // too late for a status: finish the response that started (lua-nginx-module does the same)
      if (e.status !== r.headersOut.status) {
        logError('error', r, `attempt to set status ${e.status} via exit() after sending out the response status ${r.headersOut.status}`);
      }
      finalizeRequest(r, 0);
      return;
    }
    if (e.kind === 'exec') {
      const target = internalRedirect(r, e.uri!, e.args);
      if (target === false) { finalizeRequest(r, 500); return; }
      run(r, PH_FIND_CONFIG, target);
      return;
    }
    if (e.kind === 'redirect') r.headersOut.location = e.uri;
    finalizeRequest(r, e.status);
    return;
  }
  logError('error', r, `handler failed: ${describe(e)}`);
  finalizeRequest(r, 500);
}

function describe(e: unknown): string {
  return e instanceof Error ? e.stack ?? e.message : String(e);
}

/** The request whose handlers are running (the async context set by run()). */
const requestContext = new AsyncLocalStorage<Request>();

/**
 * An error nobody caught: thrown in a timer or callback a handler started, or a rejection no one
 * handled (the server installs this for the process's uncaughtException and unhandledRejection).
 * nginx + lua logs a failed timer and goes on; so do we. When the request is known (the async
 * context of the failing callback, or the error names it), that request ends: a 500 if its head
 * has not gone, else its connection closes; every other request goes on untouched.
 */
export function strayError(e: unknown, kind: 'uncaughtException' | 'unhandledRejection'): void {
  const r = e instanceof RequestError ? e.request : requestContext.getStore() ?? null;
  if (r !== null && e instanceof ExitSignal) {
    // r.exit() (or exec, redirect) called from a timer while the request still runs
    if (!r.finalized) { try { handleExit(r, e); } catch (e2) { crashed(r, e2); } return; }
  }
  logError('alert', r, `${kind === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'}${r === null ? '' : ' in a handler of this request'}: ${describe(e)}`);
  if (r === null || r.finalized) return;
  try {
    finalizeRequest(r, 500);
  } catch (e2) {
    crashed(r, e2);
  }
}


/**
 * The phases from `ph` (and its handler `i`) on; undefined when done synchronously, else a promise
 * of the rest. Each module's handlers run in module order (src/modules.ts): DECLINED lets the next
 * one run, DONE means the request was answered; a promise is waited for, then the run goes on
 * (in the content phase, the request is answered when it settles).
 */
function phases(r: Request, ph: number, i: number, named: ResolvedLocation | null): Promise<void> | undefined {
  const engine = r.server.phases;
  for (;;) {
    switch (ph) {
      case PH_SERVER_REWRITE:
      case PH_REWRITE:
      case PH_PREACCESS:
      case PH_ACCESS: {
        const list = ph === PH_SERVER_REWRITE ? engine.serverRewrite : ph === PH_REWRITE ? engine.rewrite
          : ph === PH_PREACCESS ? engine.preaccess : engine.access;
        let restart = false;
        for (; i < list.length; i++) {
          const rc = list[i](r);
          if (rc === DECLINED) continue;
          if (rc === DONE) return undefined;
          if (rc === RESTART) { restart = ph === PH_REWRITE; if (restart) break; continue; }
          const at = ph, next = i + 1;
          return (rc as Promise<unknown>).then(() => phases(r, at, next, null));
        }
        if (restart) {
          // POST_REWRITE: the URI was rewritten, the location is found again
          if (--r.uriChanges < 0) {
            logError('error', r, `rewrite or internal redirection cycle while processing "${r.uri}"`);
            r.exit(500);
          }
          ph = PH_FIND_CONFIG;
          named = null;
          i = 0;
          break;
        }
        ph = ph === PH_SERVER_REWRITE ? PH_FIND_CONFIG : ph === PH_REWRITE ? PH_PREACCESS : ph === PH_PREACCESS ? PH_ACCESS : PH_TRY_FILES;
        i = 0;
        break;
      }
      case PH_TRY_FILES: {
        const tf = r.conf.tryFiles;
        ph = PH_CONTENT;
        i = 0;
        if (tf === null) break;
        const next = tryFilesPhase(r, tf);
        if (next === null) break;
        if ('code' in next) r.exit(next.code);
        const target = internalRedirect(r, next.uri, null);
        if (target === false) r.exit(500);
        ph = PH_FIND_CONFIG;
        named = target;
        break;
      }
      case PH_FIND_CONFIG: {
        // a URI no location matches is served with the server block's config, as in nginx
        const loc = named ?? r.server.locations.find(r.uri) ?? r.server.implicit;
        if (loc.conf.internal && !r.internal) r.exit(404);
        r.loc = loc;
        r.conf = loc.conf;
        if (loc.captures !== null) {
          const m = loc.captures.regex.exec(r.uri);
          if (m !== null) setCaptures(r, m, loc.captures.names);
        }
        if (r === r.main && r.hc !== null) r.hc.confChosen(r);
        const max = loc.conf.clientMaxBodySize;
        if (max > 0 && r === r.main) {
          if (r.contentLengthIn > max) {
            logError('error', r, `client intended to send too large body: ${r.contentLengthIn} bytes`);
            r.exit(413);
          }
          // a chunked body's bytes that came with the head were counted against the server's limit
          const rb = r.requestBody;
          if (rb !== null && rb.size > max && rb.error === 0 && !rb.discarding) {
            logError('error', r, `client intended to send too large chunked body: ${rb.size} bytes`);
            rb.overLimit();
          }
        }
        ph = PH_REWRITE;
        i = 0;
        break;
      }
      default: {
        const list = engine.content;
        for (; i < list.length; i++) {
          const rc = list[i](r);
          if (rc === DECLINED) continue;
          if (rc === DONE) return undefined;
          if (rc === SUSPENDED) { r.suspended = true; return SUSPEND; }
          return rc as Promise<void>;
        }
        r.exit(404); // no module answered (a config without the static module)
      }
    }
  }
}

/** ngx_http_internal_redirect / ngx_http_named_location. Returns the named location, null, or false. */
function internalRedirect(r: Request, uri: string, args: string | null): ResolvedLocation | null | false {
  if (--r.uriChanges < 0) {
    logError('error', r, `rewrite or internal redirection cycle while internally redirecting to "${uri}"`);
    return false;
  }
  r.internal = true;
  r.headersOut.reset();
  r.ctx = {};
  if (uri.startsWith('@')) {
    const loc = r.server.named.get(uri.slice(1)) ?? r.server.named.get(uri);
    if (loc === undefined) {
      logError('error', r, `could not find named location "${uri}"`);
      return false;
    }
    return loc;
  }
  const q = uri.indexOf('?');
  const t = parseRequestTarget(Buffer.from(uri), 0, Buffer.byteLength(uri));
  if (t === null) {
    logError('error', r, `invalid uri in exec: "${uri}"`);
    return false;
  }
  r.uri = t.uri;
  r.args = args !== null ? (q >= 0 && t.args ? t.args + '&' + args : args) : t.args;
  return null;
}

/**
 * ngx_http_send_error_page: the error_page for `status`, if the block has one and the request
 * may take it. Returns -1 (none: the plain page), 0 (an internal redirect was started), or the
 * redirect status whose page goes out (the Location is set).
 */
function sendErrorPage(r: Request, status: number): number {
  if (r !== r.main || r.uriChanges <= 0 || (r.errorPage && !r.conf.recursiveErrorPages)) return -1;
  const page = r.conf.errorPage!.get(status);
  if (page === undefined) return -1;
  r.errorPage = true;
  if (closesConnection(status)) r.keepalive = false;
  if (r.hc !== null) r.hc.discardBody(r, false);
  const uri = page.uri.run(r);
  if (page.redirect && !uri.startsWith('/') && !uri.startsWith('@')) {
    const code = page.overwrite === 301 || page.overwrite === 302 || page.overwrite === 303
      || page.overwrite === 307 || page.overwrite === 308 ? page.overwrite : 302;
    r.headersOut.reset();
    r.headersOut.location = uri;
    r.errStatus = 0;
    return code;
  }
  r.errStatus = page.overwrite === -1 ? status : page.overwrite;
  if (r.method !== 'HEAD') r.method = 'GET';
  const target = internalRedirect(r, uri, null);
  if (target === false) {
    r.errStatus = 0;
    return 500;
  }
  run(r, PH_FIND_CONFIG, target);
  return 0;
}

/**
 * ngx_http_finalize_request: rc 0 ends the response normally; a status >= 300 (or 201/204)
 * replaces an unsent response with the page for that status.
 */
export function finalizeRequest(r: Request, rc: number): void {
  if (r.finalized) return;
  if (rc === 444 || rc === 499) {
    // close without an answer; the code is for the log only (499: the client closed first)
    // (from a subrequest too: nginx terminates the whole request)
    r.finalized = true;
    r.keepalive = false;
    r.main.keepalive = false;
    if (!r.headerSent) r.headersOut.status = rc;
    r.main.conn?.destroy();
    if (r === r.main) logAccess(r);
    r.hc?.requestDone(r);
    return;
  }
  if (rc >= 300 || rc === 201 || rc === 204) {
    if (!r.headerSent) {
      if (rc >= 300 && r.conf.errorPage !== null) {
        const code = sendErrorPage(r, rc);
        if (code === 0) return; // an internal redirect: that run finalizes the request
        if (code > 0) rc = code;
      }
      specialResponse(r, rc);
    } else if (!r.outputDone) {
      if (r !== r.main) {
        // a subrequest cut short: what it sent stands, its capture says truncated
        r.truncated = true;
      } else {
        // too late for a status: the response is cut short and the connection closed (and
        // logged, with the status that went out and the bytes that did)
        r.finalized = true;
        r.keepalive = false;
        r.main.conn?.destroy();
        logAccess(r);
        r.hc?.requestDone(r);
        return;
      }
    }
  } else if (rc >= 200 && !r.headerSent) {
    r.headersOut.status = rc;
  }
  if (!r.headerSent) {
    if (r.headersOut.contentLength < 0 && r.out === null) r.headersOut.contentLength = 0;
    r.sendHeader();
  }
  if (!r.outputDone) {
    r.outputDone = true;
    r.chains.output(r, link(Buf.special(r === r.main ? B_LAST_BUF : B_LAST_IN_CHAIN)));
  }
  r.finalized = true;
  if (r === r.main) {
    logAccess(r);
    if (r.outputPending()) r.waitingOutput = true; // onWritable finishes it
    else r.hc?.requestDone(r);
    return;
  }
  // a subrequest: hand the turn back to its parent and let the parent's postponed output go
  const main = r.main;
  const parent = r.parent!;
  if (main.active === r && r.postponed === null) {
    main.active = parent;
    if (r.capture === null) parent.onWritable();
  }
  const done = r.onDone;
  r.onDone = null;
  if (done !== null) done();
}
