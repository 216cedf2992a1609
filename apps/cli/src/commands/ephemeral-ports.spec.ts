import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ephemeralOverlapWarning, ephemeralPorts } from './ephemeral-ports';

describe('ephemeral port overlap', () => {
  it('warns when a range touches the ephemeral ports, at either end or inside', () => {
    const ephemeral: [number, number] = [32768, 60999];
    expect(ephemeralOverlapWarning(15400, 15599, ephemeral)).toBeNull();
    expect(ephemeralOverlapWarning(30000, 32767, ephemeral)).toBeNull();
    expect(ephemeralOverlapWarning(61000, 61999, ephemeral)).toBeNull();
    for (const [min, max] of [
      [32000, 32768],
      [34000, 34999],
      [60999, 61500],
      [1000, 65000],
    ]) {
      expect(ephemeralOverlapWarning(min, max, ephemeral)).toMatch(new RegExp(`^Warning: ports ${min}-${max} overlap this machine's ephemeral ports \\(32768-60999`));
    }
  });

  it("says nothing where the machine's range cannot be read", () => {
    expect(ephemeralOverlapWarning(34000, 34999, null)).toBeNull();
    expect(ephemeralPorts(join(tmpdir(), 'no-such-file'))).toBeNull();
  });

  it('reads the range as the kernel writes it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ports-')), 'ip_local_port_range');
    writeFileSync(file, '32768\t60999\n');
    expect(ephemeralPorts(file)).toEqual([32768, 60999]);
    writeFileSync(file, 'garbage\n');
    expect(ephemeralPorts(file)).toBeNull();
  });
});
