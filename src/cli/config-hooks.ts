// Module hooks for loading config files (registered with node:module's register()):
// `import ... from 'sluice'` resolves to this package wherever the config lives, and `.ts`
// configs are transpiled on load with TypeScript (types stripped, no type check; a syntax
// error fails the load with TypeScript's message, file, line and column).

import { fileURLToPath } from 'node:url';

interface ResolveContext { parentURL?: string }
interface LoadContext { format?: string }
type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string; format?: string }>;
type NextLoad = (url: string, context: LoadContext) => Promise<{ format: string; source?: string | ArrayBuffer | Uint8Array }>;

const SELF = new URL('../index.js', import.meta.url).href;

/** Starts the message of a syntax error found here (load-config.ts knows it by this). */
export const SYNTAX_MARK = 'sluice-config-syntax: ';

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve) {
  if (specifier === 'sluice') return { url: SELF, shortCircuit: true };
  try {
    return await next(specifier, context);
  } catch (e) {
    // "./util.js" written in a .ts config may mean ./util.ts, as tsc's NodeNext allows
    if (specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      return next(specifier.slice(0, -3) + '.ts', context);
    }
    throw e;
  }
}

export async function load(url: string, context: LoadContext, next: NextLoad) {
  // (a reload imports the file anew under a query: ?sluice-reload=N)
  const bare = url.replace(/\?sluice-reload=\d+$/, '');
  if (url.startsWith('file:') && (bare.endsWith('.ts') || bare.endsWith('.mts'))) {
    const { readFile } = await import('node:fs/promises');
    const source = await readFile(new URL(bare), 'utf8');
    let ts: typeof import('typescript');
    try {
      ts = (await import('typescript')).default;
    } catch {
      throw new Error('sluice: a .ts config needs the "typescript" package (npm install typescript), or write it as .mjs');
    }
    const fileName = fileURLToPath(bare);
    const out = ts.transpileModule(source, {
      fileName,
      reportDiagnostics: true,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false, inlineSourceMap: true },
    });
    // transpileModule repairs what it cannot parse and emits it anyway: a syntax error must
    // fail the load (and `sluice -t`), named by TypeScript's own diagnostic and its position
    const bad = out.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
    if (bad !== undefined) {
      let at = fileName;
      if (bad.file !== undefined && bad.start !== undefined) {
        const { line, character } = bad.file.getLineAndCharacterOfPosition(bad.start);
        at += `:${line + 1}:${character + 1}`;
      }
      throw new SyntaxError(`${SYNTAX_MARK}${ts.flattenDiagnosticMessageText(bad.messageText, ' ').replace(/\.$/, '')} (TS${bad.code}) in ${at}`);
    }
    return { format: 'module', source: out.outputText, shortCircuit: true };
  }
  if (url.startsWith('file:') && url.includes('.js?sluice-config=1')) {
    const r = await next(url, { ...context, format: 'module' });
    return { ...r, format: 'module', shortCircuit: true };
  }
  return next(url, context);
}
