import fc from 'fast-check';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, RangeNotSatisfiableError, nextRangeAfter, parseRange } from './range';

describe('parseRange (Heroku Range header)', () => {
  const fields = ['name', 'id', 'version'];

  it('defaults to the first field, ascending, 200 items', () => {
    expect(parseRange(undefined, fields, 'name')).toEqual({ field: 'name', start: undefined, end: undefined, startExclusive: false, endExclusive: false, max: DEFAULT_PAGE_SIZE, order: 'asc' });
  });

  it('reads the forms the Heroku CLI sends', () => {
    expect(parseRange('version ..; max=1, order=desc', fields, 'name')).toMatchObject({ field: 'version', max: 1, order: 'desc', start: undefined });
    expect(parseRange('version ..; order=desc,max=1', fields, 'name')).toMatchObject({ field: 'version', max: 1, order: 'desc' });
  });

  it('reads exclusive and inclusive bounds', () => {
    expect(parseRange('name ]app-b..app-x[; max=10', fields, 'id')).toMatchObject({
      start: 'app-b',
      startExclusive: true,
      end: 'app-x',
      endExclusive: true,
      max: 10,
    });
    expect(parseRange('name app-b..', fields, 'id')).toMatchObject({ start: 'app-b', startExclusive: false, end: undefined });
  });

  it('caps max at 1000', () => {
    expect(parseRange('name ..; max=5000', fields, 'id').max).toBe(MAX_PAGE_SIZE);
  });

  it.each(['size ..', 'name ab', 'name ..; max=0', 'name ..; order=sideways', 'name ..; color=red', '42 ..'])('refuses %p', (header) => {
    expect(() => parseRange(header, fields, 'name')).toThrow(RangeNotSatisfiableError);
  });

  it('continues after the last item with an exclusive start that parses back', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...fields),
        fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,30}$/),
        fc.integer({ min: 1, max: 1000 }),
        fc.constantFrom<'asc' | 'desc'>('asc', 'desc'),
        (field, last, max, order) => {
          const spec = parseRange(`${field} ..; max=${max}, order=${order}`, fields, 'name');
          const next = parseRange(nextRangeAfter(spec, last), fields, 'name');
          expect(next).toMatchObject({ field, start: last, startExclusive: true, max, order, end: undefined });
        },
      ),
    );
  });
});
