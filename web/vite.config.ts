/// <reference types="vitest/config" />
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// onnxruntime-web's wasm binary is served by the site itself (never a CDN) so that the app
// works offline; the app points ort.env.wasm.wasmPaths at ./ort/.
const ORT_DIST = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-web')), '');
const ORT_FILES = ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs'];

function serveOrtWasm(): Plugin {
  return {
    name: 'serve-ort-wasm',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = req.url?.split('?')[0]?.replace(/^.*\/ort\//, '');
        if (!req.url?.includes('/ort/') || name === undefined || !ORT_FILES.includes(name)) {
          next();
          return;
        }
        res.setHeader(
          'Content-Type',
          name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript',
        );
        createReadStream(join(ORT_DIST, name)).pipe(res);
      });
    },
    generateBundle() {
      for (const name of ORT_FILES) {
        this.emitFile({ type: 'asset', fileName: `ort/${name}`, source: readFileSync(join(ORT_DIST, name)) });
      }
    },
  };
}

// The service worker precaches every file of this build, so the app opens offline.
function serviceWorker(): Plugin {
  return {
    name: 'service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle).filter((name) => !name.endsWith('.map')).sort();
      const id = createHash('sha256');
      for (const name of files) {
        const file = bundle[name];
        id.update(name);
        if (file?.type === 'chunk') id.update(file.code);
      }
      const template = readFileSync(new URL('./sw/service-worker.js', import.meta.url), 'utf8');
      if (!template.includes('__BUILD_ID__') || !template.includes('[/* __PRECACHE__ */]')) {
        throw new Error('sw/service-worker.js lost its __BUILD_ID__ or __PRECACHE__ placeholder');
      }
      const source = template
        .replace('__BUILD_ID__', id.digest('hex').slice(0, 16))
        .replace('[/* __PRECACHE__ */]', JSON.stringify(files.map((name) => `./${name}`)));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [react(), serveOrtWasm(), serviceWorker()],
  // The wasm-only build that loads its glue (.mjs) and binary (.wasm) from wasmPaths at run
  // time, rather than the bundle that makes Vite emit a second, hashed copy of the 14 MB wasm.
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 1000 },
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
  },
});
