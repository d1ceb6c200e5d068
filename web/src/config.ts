/**
 * Where the model listing API is. Runtime configuration wins so one build serves any stack:
 * `config.json` next to index.html (written by `playground serve site`), then the build-time
 * VITE_API_URL, then the last configuration seen (so an offline reload still knows it).
 */

export interface AppConfig {
  readonly apiUrl: string | null;
}

const REMEMBERED = 'digit-recogniser.config';

export function parseConfig(body: unknown): AppConfig {
  if (typeof body !== 'object' || body === null) {
    throw new Error('config.json must be a JSON object like {"api_url": "http://127.0.0.1:8787"}');
  }
  const apiUrl = (body as Record<string, unknown>).api_url;
  if (apiUrl === undefined || apiUrl === null || apiUrl === '') return { apiUrl: null };
  if (typeof apiUrl !== 'string' || !/^https?:\/\/\S+$/.test(apiUrl)) {
    throw new Error(`config.json: api_url must be an http(s) URL, got ${JSON.stringify(apiUrl)}`);
  }
  return { apiUrl: apiUrl.replace(/\/+$/, '') };
}

export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<AppConfig> {
  try {
    const response = await fetchImpl('./config.json', { cache: 'no-store' });
    if (response.ok) {
      const config = parseConfig(await response.json());
      if (config.apiUrl !== null) {
        remember(config);
        return config;
      }
    }
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('config.json')) throw error;
    // Offline or no config.json: fall through to the build-time value.
  }
  const built: unknown = import.meta.env.VITE_API_URL;
  if (typeof built === 'string' && built !== '') return parseConfig({ api_url: built });
  return recalled() ?? { apiUrl: null };
}

function remember(config: AppConfig): void {
  try {
    localStorage.setItem(REMEMBERED, JSON.stringify({ api_url: config.apiUrl }));
  } catch {
    // Storage denied: the app still works, it only forgets the URL across offline reloads.
  }
}

function recalled(): AppConfig | null {
  try {
    const raw = localStorage.getItem(REMEMBERED);
    return raw === null ? null : parseConfig(JSON.parse(raw));
  } catch {
    return null;
  }
}
