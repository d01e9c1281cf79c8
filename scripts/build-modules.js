#!/usr/bin/env node
/**
 * Compiles modules kept outside src/ (e.g. test/fixtures/orders-module) into dist/ beside the server, as
 * `nest build` compiles src/: same compiler options, same Swagger plugin, so their DTOs are documented the
 * same way. Only the given folders are written; what they import from src/ is the build's own dist/src, so
 * they share its classes (decorator metadata, providers) at run time.
 *
 *   node scripts/build-modules.js test/fixtures/orders-module [more folders…]
 * then start the server with TOLLGATE_MODULES=dist/test/fixtures/orders-module/orders.module.js
 */
const { resolve, relative, join, sep } = require('node:path');
const { readdirSync, statSync, mkdirSync, writeFileSync } = require('node:fs');
const ts = require('typescript');
const swaggerPlugin = require('@nestjs/swagger/plugin');

const root = resolve(__dirname, '..');
const dirs = process.argv.slice(2).map((d) => resolve(d));
if (dirs.length === 0) {
  process.stderr.write('usage: node scripts/build-modules.js <folder> [folder…]\n');
  process.exit(2);
}
const files = (dir) => readdirSync(dir).flatMap((name) => {
  const path = join(dir, name);
  return statSync(path).isDirectory() ? files(path) : /\.ts$/.test(name) && !/\.(spec|d)\.ts$/.test(name) ? [path] : [];
});
const rootNames = dirs.flatMap(files);

const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
const options = { ...config.options, outDir: join(root, 'dist'), rootDir: root, noEmit: false };
const program = ts.createProgram({ rootNames, options });
const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file && rootNames.includes(resolve(d.file.fileName)));
if (diagnostics.length > 0) {
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }));
  process.exit(1);
}
const pluginOptions = { classValidatorShim: true, introspectComments: true, dtoFileNameSuffix: ['.dto.ts'], controllerFileNameSuffix: ['.controller.ts'] };
const inside = (file) => dirs.some((d) => resolve(file).startsWith(d + sep));
const outDirs = dirs.map((d) => join(root, 'dist', relative(root, d)) + sep);
for (const file of rootNames) {
  const source = program.getSourceFile(file);
  program.emit(
    source,
    (name, text) => {
      if (!outDirs.some((o) => resolve(name).startsWith(o))) return;
      mkdirSync(resolve(name, '..'), { recursive: true });
      writeFileSync(name, text);
    },
    undefined,
    false,
    { before: [swaggerPlugin.before(pluginOptions, program)] },
  );
}
process.stdout.write(`compiled ${rootNames.filter(inside).length} files into dist/\n`);
