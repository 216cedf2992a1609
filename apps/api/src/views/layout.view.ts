import { SafeHtml, html } from './html';

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #f6f6f8; }
header { background: #3b2f63; color: #fff; padding: .75rem 1.5rem; display: flex; justify-content: space-between; align-items: center; }
header a, header button { color: #fff; }
main { max-width: 46rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.1); }
h1 { font-size: 1.5rem; margin-top: 0; }
label { display: block; margin: .75rem 0 .25rem; }
input[type=email], input[type=password], input[type=text] { width: 100%; padding: .5rem; box-sizing: border-box; }
button { margin-top: 1rem; padding: .5rem 1rem; cursor: pointer; }
header button { margin: 0; background: none; border: 1px solid #fff; border-radius: 4px; padding: .25rem .75rem; }
.error { background: #fde8e8; border: 1px solid #f5b5b5; padding: .5rem .75rem; border-radius: 4px; }
.notice { background: #e8f5e9; border: 1px solid #b5dfb8; padding: .5rem .75rem; border-radius: 4px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.5rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #eee; overflow-wrap: anywhere; }
`;

export interface PageOptions {
  /** Per-response CSP nonce for the inline style and any inline script. */
  nonce: string;
  /** The signed-in developer and the session's CSRF token (for the sign-out button). */
  signedIn?: { email: string; csrfToken: string };
}

/** The frame of every Attache page. */
export function layout(title: string, body: SafeHtml, options: PageOptions): SafeHtml {
  const account = options.signedIn
    ? html`<form method="post" action="/logout"><span>${options.signedIn.email}</span>
        <input type="hidden" name="_csrf" value="${options.signedIn.csrfToken}"> <button type="submit">Sign out</button></form>`
    : null;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Attache</title><style nonce="${options.nonce}">${new SafeHtml(STYLE)}</style></head>
<body><header><strong>Attache</strong>${account}</header>
<main>${body}</main></body></html>
`;
}
