import { readFileSync } from 'node:fs';

/** This machine's ephemeral port range (Linux), or null where it cannot be read. */
export function ephemeralPorts(path = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] | null {
  try {
    const [low, high] = readFileSync(path, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(low) && Number.isInteger(high) ? [low, high] : null;
  } catch {
    return null;
  }
}

/**
 * A warning when a host's port range overlaps the ephemeral ports: outgoing connections take ports
 * from that range, and a server starting or restarting on one of them then cannot bind it.
 */
export function ephemeralOverlapWarning(portMin: number, portMax: number, ephemeral: [number, number] | null = ephemeralPorts()): string | null {
  if (!ephemeral || portMax < ephemeral[0] || portMin > ephemeral[1]) return null;
  return (
    `Warning: ports ${portMin}-${portMax} overlap this machine's ephemeral ports (${ephemeral[0]}-${ephemeral[1]}, net.ipv4.ip_local_port_range). ` +
    'Outgoing connections can hold a port of that range, and a server restarting on it would then fail to bind; prefer a range below it.\n'
  );
}
