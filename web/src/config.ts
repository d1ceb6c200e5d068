/**
 * Where the model listing API and the feedback API are. Runtime configuration wins so one
 * build serves any stack: `config.json` next to index.html (written by `playground serve
 * site`), then the build-time VITE_API_URL / VITE_FEEDBACK_URL, then the last configuration
 * seen (so an offline reload still knows it). Locally both APIs share the gateway's address;
 * in AWS the feedback API is its own Function URL.
 */

export interface AppConfig {
  readonly apiUrl: string | null;
  /** Where corrections go (`POST <feedbackUrl>/feedback`); null: no correction buttons. */
  readonly feedbackUrl: string | null;
}

function httpUrl(body: Record<string, unknown>, name: string): string | null {
  const value = body[name];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || !/^https?:\/\/\S+$/.test(value)) {
    throw new Error(`config.json: ${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  return value.replace(/\/+$/, '');
}

const REMEMBERED = 'digit-recogniser.config';

export function parseConfig(body: unknown): AppConfig {
  if (typeof body !== 'object' || body === null) {
    throw new Error('config.json must be a JSON object like {"api_url": "http://127.0.0.1:8787"}');
  }
  const fields = body as Record<string, unknown>;
  return { apiUrl: httpUrl(fields, 'api_url'), feedbackUrl: httpUrl(fields, 'feedback_url') };
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
  if (typeof built === 'string' && built !== '') {
    return parseConfig({ api_url: built, feedback_url: import.meta.env.VITE_FEEDBACK_URL as unknown });
  }
  return recalled() ?? { apiUrl: null, feedbackUrl: null };
}

function remember(config: AppConfig): void {
  try {
    localStorage.setItem(REMEMBERED, JSON.stringify({ api_url: config.apiUrl, feedback_url: config.feedbackUrl }));
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
