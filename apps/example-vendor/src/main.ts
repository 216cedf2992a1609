import { ExampleVendorServer } from './example-vendor.server';

// This app stands in for a third-party vendor, so it reads its own environment instead of
// going through libs/config.

function fail(message: string): never {
  process.stderr.write(`example-vendor: ${message}\n`);
  process.exit(1);
}

function requiredSecret(name: string): string {
  const value = process.env[name];
  if (!value) fail(`${name} is not set; use the value from the add-on manifest.`);
  return value;
}

function portFromEnv(): number {
  const raw = process.env.EXAMPLE_VENDOR_PORT || '5100';
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) fail(`EXAMPLE_VENDOR_PORT must be a port number, not "${raw}".`);
  return port;
}

async function main(): Promise<void> {
  const slug = process.env.EXAMPLE_VENDOR_SLUG || 'sudo-notes';
  const clientSecret = process.env.EXAMPLE_VENDOR_CLIENT_SECRET || undefined;
  const server = new ExampleVendorServer({
    port: portFromEnv(),
    slug,
    password: requiredSecret('EXAMPLE_VENDOR_PASSWORD'),
    ssoSalt: requiredSecret('EXAMPLE_VENDOR_SSO_SALT'),
    clientSecret,
    attacheUrl: process.env.ATTACHE_URL || 'http://127.0.0.1:5000',
    log: (line) => console.log(`example-vendor: ${line}`),
  });
  const { url } = await server.start();
  const asyncNote = clientSecret ? '' : ' (async plan disabled: EXAMPLE_VENDOR_CLIENT_SECRET is not set)';
  console.log(`example-vendor: ${slug} listening on ${url}, base_url ${server.baseUrl}${asyncNote}`);

  const shutdown = (): void => {
    process.off('SIGTERM', shutdown);
    process.off('SIGINT', shutdown);
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => fail(`could not stop cleanly: ${error instanceof Error ? error.message : String(error)}`),
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
