/**
 * Which pointer draws, as drawing apps decide it: one stroke at a time, drawn by one pointer.
 *
 * - The first pointer down starts the stroke; a second finger (or any other pointer) is
 *   ignored until that stroke ends, and its lifting never ends the stroke.
 * - A pen outranks touch: a pen coming down during a touch stroke takes the stroke over (the
 *   touch was most likely the hand resting), and the touch stroke's ink is discarded. Touch
 *   that starts while a pen is down, or shortly after it lifted, is ignored.
 * - A palm never draws: a touch whose contact is PALM_MIN_PX (CSS px, PointerEvent
 *   width/height) or more across is ignored. A touch stroke whose contact grows to that size
 *   before it has drawn anything (a hand landing edge first) is discarded; once it has drawn,
 *   the stroke is kept: the palm-sized moments draw nothing, and the stroke goes on when the
 *   contact shrinks back (a finger pressing harder) and ends when it lifts.
 * - Only the main button of a mouse draws.
 *
 * Plain data in, a decision out: no DOM, so the rules are tested without a browser.
 */

/**
 * The contact size from which a touch is a palm, in CSS px (about 26 mm at the CSS reference
 * density of 96 px per inch, about 16 mm on a phone at 160 px per inch). Fingertips report
 * contacts of about 8 to 20 mm, wider when pressed hard (Chrome DevTools' example touch is
 * 51.7 px wide); the side or heel of a resting hand reports 30 mm and more.
 */
export const PALM_MIN_PX = 100;
/** A hand resting after the pen lifts (between strokes of one digit) still must not draw. */
export const PEN_GRACE_MS = 600;

export type PointerPhase = 'down' | 'move' | 'up' | 'cancel';

/** What the tracker needs of a PointerEvent. */
export interface PointerSample {
  readonly phase: PointerPhase;
  readonly pointerId: number;
  readonly pointerType: string;
  /** Contact size in CSS px (1 for a mouse or a pen without contact geometry). */
  readonly width: number;
  readonly height: number;
  /** PointerEvent.button: 0 is the main button (or contact) on down. */
  readonly button: number;
  /** Event time in ms (PointerEvent.timeStamp). */
  readonly time: number;
}

export type IgnoreReason = 'other-pointer' | 'palm' | 'touch-near-pen' | 'not-main-button';

export type Decision =
  /** Begin a stroke at this point. */
  | { readonly action: 'start' }
  /** Remove the ink of the stroke in progress, then begin a stroke with this pointer. */
  | { readonly action: 'takeover' }
  /** Extend the stroke to this point. */
  | { readonly action: 'draw' }
  /** The stroke is finished: keep its ink and recognise the drawing. */
  | { readonly action: 'end' }
  /** Remove the ink of the stroke in progress; no stroke is active any more. */
  | { readonly action: 'discard' }
  | { readonly action: 'ignore'; readonly reason: IgnoreReason | 'no-stroke' };

const ignore = (reason: IgnoreReason | 'no-stroke'): Decision => ({ action: 'ignore', reason });

export const isPalm = (s: Pick<PointerSample, 'pointerType' | 'width' | 'height'>): boolean =>
  s.pointerType === 'touch' && Math.max(s.width, s.height) >= PALM_MIN_PX;

export class StrokeTracker {
  private active: { readonly id: number; readonly type: string; drawn: boolean } | null = null;
  private readonly pensDown = new Set<number>();
  private penLiftedAt = -Infinity;

  /** The pointer drawing the current stroke, or null between strokes. */
  get activePointer(): number | null {
    return this.active?.id ?? null;
  }

  /** Decide what one pointer event does to the drawing. */
  handle(sample: PointerSample): Decision {
    this.trackPens(sample);
    switch (sample.phase) {
      case 'down':
        return this.down(sample);
      case 'move':
        return this.move(sample);
      case 'up':
      case 'cancel':
        if (this.active?.id !== sample.pointerId) return ignore('other-pointer');
        this.active = null;
        return { action: 'end' };
    }
  }

  /** Forget the stroke in progress (the pad was cleared or disabled). */
  reset(): void {
    this.active = null;
  }

  private down(s: PointerSample): Decision {
    if (s.pointerType === 'mouse' && s.button !== 0) return ignore('not-main-button');
    if (isPalm(s)) return ignore('palm');
    if (s.pointerType === 'touch' && this.penNearby(s)) return ignore('touch-near-pen');
    if (this.active === null) {
      this.active = { id: s.pointerId, type: s.pointerType, drawn: false };
      return { action: 'start' };
    }
    if (s.pointerType === 'pen' && this.active.type === 'touch') {
      this.active = { id: s.pointerId, type: s.pointerType, drawn: false };
      return { action: 'takeover' };
    }
    return ignore('other-pointer');
  }

  private move(s: PointerSample): Decision {
    if (this.active === null) return ignore('no-stroke');
    if (this.active.id !== s.pointerId) return ignore('other-pointer');
    if (isPalm(s)) {
      // Ink already drawn is never taken back: only a stroke that drew nothing yet was a palm.
      if (this.active.drawn) return ignore('palm');
      this.active = null;
      return { action: 'discard' };
    }
    this.active.drawn = true;
    return { action: 'draw' };
  }

  private penNearby(s: PointerSample): boolean {
    return this.pensDown.size > 0 || s.time - this.penLiftedAt < PEN_GRACE_MS;
  }

  private trackPens(s: PointerSample): void {
    if (s.pointerType !== 'pen') return;
    if (s.phase === 'down') this.pensDown.add(s.pointerId);
    if ((s.phase === 'up' || s.phase === 'cancel') && this.pensDown.delete(s.pointerId)) {
      this.penLiftedAt = s.time;
    }
  }
}
