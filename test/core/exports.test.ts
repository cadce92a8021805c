import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '../..');

/** Where the engine's rules live, checked so the layout stays as docs/ARCHITECTURE.md describes it. */
describe('the engine’s public surface', () => {
  it('documents every export of src/core/index.ts', function () {
    this.timeout(60_000);
    const entry = path.join(root, 'src/core/index.ts');
    const program = ts.createProgram([entry], {
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      skipLibCheck: true,
    });
    const checker = program.getTypeChecker();
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    const exports = checker.getExportsOfModule(moduleSymbol);
    assert.ok(exports.length > 40, `read ${exports.length} exports`);
    const undocumented = exports
      .filter((symbol) => {
        const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
        return target.getDocumentationComment(checker).length === 0;
      })
      .map((symbol) => symbol.getName());
    assert.deepEqual(undocumented, []);
  });

  it('keeps src/core free of Node-RED, MQTT and mDNS, and src/mqtt, src/web, src/mdns free of src/nodes', () => {
    const offenders: string[] = [];
    const walk = (dir: string, forbidden: RegExp): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file, forbidden);
        else if (file.endsWith('.ts') && forbidden.test(readFileSync(file, 'utf8'))) offenders.push(path.relative(root, file));
      }
    };
    walk(path.join(root, 'src/core'), /from ['"](node-red|@node-red\/[^'"]*|mqtt|bonjour-service)['"]/);
    for (const folder of ['mqtt', 'web', 'mdns']) walk(path.join(root, 'src', folder), /from ['"]\.\.\/nodes\//);
    assert.deepEqual(offenders, []);
  });

  it('keeps every file under src/ at 400 lines or fewer', () => {
    const long: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (readFileSync(file, 'utf8').split('\n').length > 401) long.push(path.relative(root, file));
      }
    };
    walk(path.join(root, 'src'));
    assert.deepEqual(long, []);
  });
});
