import { SafeHtml, html } from './html';
import { PageOptions, layout } from './layout.view';

/** A page that only says something: errors (403, 404…), the signed-in home page. */
export function messageView(title: string, message: string, options: PageOptions, extra: SafeHtml | null = null): SafeHtml {
  return layout(title, html`<h1>${title}</h1><p>${message}</p>${extra}`, options);
}
