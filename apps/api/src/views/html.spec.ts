import fc from 'fast-check';
import { SafeHtml, escapeHtml, html } from './html';

const unescape = (text: string) =>
  text.replace(/&(amp|lt|gt|quot|#39|#96);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#96': '`' })[e]!);

describe('html templates', () => {
  it('escapes every interpolated value so it can neither open a tag nor leave an attribute, and loses nothing', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const out = html`<input value="${value}">${value}`.value;
        const inner = out.slice('<input value="'.length, out.indexOf('">'));
        expect(inner).not.toMatch(/[<>"'`]/);
        expect(unescape(inner)).toBe(value);
        expect(unescape(escapeHtml(value))).toBe(value);
      }),
    );
  });

  it('keeps nested templates as they are, joins lists and renders nothing for null, undefined and false', () => {
    const items = ['<a>', 'b&c'].map((item) => html`<li>${item}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}${false}${0}`.value).toBe('<ul><li>&lt;a&gt;</li><li>b&amp;c</li></ul>0');
    expect(html`${new SafeHtml('<b>ok</b>')}`.value).toBe('<b>ok</b>');
  });
});
