// Minifies the JavaScript of the browser bundle cargo-leptos has built, then
// writes its gzip and brotli copies again (the server sends those as they are).
//
// wasm-bindgen's glue and wasm-split's loader ship with their comments and
// indentation, and the loader's comments list which pages share each chunk in
// an order that changes from build to build: on a first visit that held to
// 300,000 bytes, the loader alone moved by tens of bytes between two builds of
// the same code. Terser (compress and mangle, module mode so every export
// keeps its name) takes both out.
//
//     node bundle/minify.mjs target/site/pkg

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { minify } from 'terser';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node bundle/minify.mjs SITE_PKG_DIR');
  process.exit(2);
}

const files = readdirSync(dir).filter((name) => name.endsWith('.js'));
if (files.length === 0) {
  console.error(`${dir}: no JavaScript to minify (was the bundle built?)`);
  process.exit(1);
}
for (const name of files) {
  const path = join(dir, name);
  const source = readFileSync(path, 'utf8');
  const { code } = await minify(source, {
    module: true,
    ecma: 2020,
    compress: { passes: 2 },
    mangle: true,
    format: { comments: false },
  });
  const bytes = Buffer.from(code);
  writeFileSync(path, bytes);
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
  writeFileSync(
    `${path}.br`,
    brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }),
  );
  console.log(`${name}: ${source.length} -> ${bytes.length} bytes`);
}
