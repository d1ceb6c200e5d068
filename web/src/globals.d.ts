/** Set by vite.config.ts: the folder of the onnxruntime wasm files, relative to the site. */
declare const __ORT_DIR__: string;
/** Set by vite.config.ts: this build's label (SITE_BUILD, else the commit). */
declare const __SITE_BUILD__: string;
