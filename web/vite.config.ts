/// <reference types="vitest/config" />
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { constants as zlib, gzipSync } from 'node:zlib';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';

// onnxruntime-web's wasm binary is served by the site itself (never a CDN) so that the app
// works offline. Its two files keep the names the runtime asks for, so they go in a folder
// named by their content: a deploy with another runtime never mixes its files with a cached
// copy of the old ones, and the folder can be cached forever like the other hashed assets.
const ORT_DIST = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
const ORT_FILES = ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs'];
const ORT_DIR = `assets/ort-${ORT_FILES.reduce(
  (hash, name) => hash.update(readFileSync(join(ORT_DIST, name))),
  createHash('sha256'),
)
  .digest('hex')
  .slice(0, 12)}/`;

// What the footer shows and the service worker answers, so a page can tell that a newer
// site has taken over: SITE_BUILD when the deploy names one, else the commit.
function siteBuild(): string {
  if (process.env.SITE_BUILD) return process.env.SITE_BUILD;
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'local';
  }
}

// CloudFront compresses only objects of 1,000 to 10,000,000 bytes (AWS CloudFront Developer
// Guide, "Serve compressed files"), so it would send the 14 MB wasm uncompressed. The build
// writes a gzip copy beside it (`X.wasm.gz`, the gzip_static convention): web/deploy.sh uploads
// that copy under the wasm's own name with `Content-Encoding: gzip`, and `playground site
// serve` sends it the same way. Gzip, not Brotli: every browser accepts it, over HTTP too.
// Level 9 takes seconds, so the result is kept under node_modules/.cache by content hash.
const PRECOMPRESSED = ['ort-wasm-simd-threaded.wasm'];

function gzipOnce(name: string): Buffer {
  const source = readFileSync(join(ORT_DIST, name));
  const digest = createHash('sha256').update(source).digest('hex');
  const cacheDir = join(dirname(ORT_DIST), '..', '.cache', 'precompressed');
  const cached = join(cacheDir, `${digest}.gz`);
  if (existsSync(cached)) return readFileSync(cached);
  const gz = gzipSync(source, { level: zlib.Z_BEST_COMPRESSION, memLevel: 9 });
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(`${cached}.tmp`, gz);
  renameSync(`${cached}.tmp`, cached);
  return gz;
}

function serveOrtWasm(): Plugin {
  return {
    name: 'serve-ort-wasm',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = req.url?.split('?')[0] ?? '';
        const name = path.slice(path.lastIndexOf('/') + 1);
        if (!path.includes(`/${ORT_DIR}`) || !ORT_FILES.includes(name)) {
          next();
          return;
        }
        res.setHeader('Content-Type', name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        createReadStream(join(ORT_DIST, name)).pipe(res);
      });
    },
    generateBundle() {
      for (const name of ORT_FILES) {
        this.emitFile({ type: 'asset', fileName: `${ORT_DIR}${name}`, source: readFileSync(join(ORT_DIST, name)) });
      }
      for (const name of PRECOMPRESSED) {
        this.emitFile({ type: 'asset', fileName: `${ORT_DIR}${name}.gz`, source: gzipOnce(name) });
      }
    },
  };
}

const define = {
  __ORT_DIR__: JSON.stringify(ORT_DIR),
  __SITE_BUILD__: JSON.stringify(siteBuild()),
};

export default defineConfig({
  base: './',
  define,
  plugins: [
    react(),
    serveOrtWasm(),
    // The service worker (sw/sw.ts) is Workbox: the build lists every file with its revision,
    // and a changed file is fetched again on the next visit, the rest stay cached.
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'sw',
      filename: 'sw.ts',
      injectRegister: false,
      manifest: false,
      injectManifest: {
        globPatterns: ['**/*.{html,js,mjs,css,svg,wasm}'],
        // The runtime's wasm is about 14 MB (its .gz copy is not a file of its own to a browser).
        maximumFileSizeToCacheInBytes: 32 * 1024 * 1024,
        // Hashed names need no revision of their own.
        dontCacheBustURLsMatching: /^assets\//,
        buildPlugins: { vite: [{ name: 'sw-define', config: () => ({ define }) }] },
      },
    }),
  ],
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
