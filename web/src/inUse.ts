/** The model in use, remembered across visits (localStorage), so a reload reopens it. */

const IN_USE = 'digit-recogniser.model-in-use';
/** Its sha256, and whether it was chosen knowingly although withdrawn. */
export interface InUse {
  readonly sha256: string;
  readonly knowingly: boolean;
}

export function rememberInUse(value: InUse | null): void {
  try {
    if (value === null) localStorage.removeItem(IN_USE);
    else localStorage.setItem(IN_USE, JSON.stringify(value));
  } catch {
    // Storage denied: the app only forgets which model was in use.
  }
}

export function recallInUse(): InUse | null {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(IN_USE) ?? 'null');
    if (typeof value !== 'object' || value === null) return null;
    const { sha256, knowingly } = value as Partial<InUse>;
    return typeof sha256 === 'string' ? { sha256, knowingly: knowingly === true } : null;
  } catch {
    return null;
  }
}
