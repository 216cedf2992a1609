import { randomBytes } from 'node:crypto';
import { Response } from 'express';
import { SafeHtml } from '../views/html';

/** A fresh CSP nonce for one page. */
export const newNonce = (): string => randomBytes(16).toString('base64');

/**
 * Sends a page with the headers every Attache page has: a CSP that allows only this response's
 * inline style and script and forms posting to Attache (and to `formActions`: on the SSO page,
 * the vendor's and where it may redirect), no framing, no caching (the SSO page holds a signed token) and no referrer abroad.
 */
export function sendHtml(res: Response, status: number, page: SafeHtml, nonce: string, formActions: string[] = []): void {
  res.status(status);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader(
    'Content-Security-Policy',
    [
      "default-src 'none'",
      `style-src 'nonce-${nonce}'`,
      `script-src 'nonce-${nonce}'`,
      `form-action 'self' ${formActions.join(' ')}`.trim(),
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
  );
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
  res.send(page.value);
}
