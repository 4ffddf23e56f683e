// Module hooks for loading config files (registered with node:module's register()):
// `import ... from 'sluice'` resolves to this package wherever the config lives, and `.ts`
// configs are transpiled on load with TypeScript (types stripped, no type check).

interface ResolveContext { parentURL?: string }
interface LoadContext { format?: string }
type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string; format?: string }>;
type NextLoad = (url: string, context: LoadContext) => Promise<{ format: string; source?: string | ArrayBuffer | Uint8Array }>;

const SELF = new URL('../index.js', import.meta.url).href;

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
  if (url.startsWith('file:') && (url.endsWith('.ts') || url.endsWith('.mts'))) {
    const { readFile } = await import('node:fs/promises');
    const source = await readFile(new URL(url), 'utf8');
    let ts: typeof import('typescript');
    try {
      ts = (await import('typescript')).default;
    } catch {
      throw new Error('sluice: a .ts config needs the "typescript" package (npm install typescript), or write it as .mjs');
    }
    const out = ts.transpileModule(source, {
      fileName: new URL(url).pathname,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false, inlineSourceMap: true },
    });
    return { format: 'module', source: out.outputText, shortCircuit: true };
  }
  if (url.startsWith('file:') && url.includes('.js?sluice-config=1')) {
    const r = await next(url, { ...context, format: 'module' });
    return { ...r, format: 'module', shortCircuit: true };
  }
  return next(url, context);
}
