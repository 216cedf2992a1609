import { Command } from 'commander';
import { AccountPasswords } from '@app/domain';
import { withContext } from '../context';

/** The password from ATTACHE_PASSWORD, or else stdin's first line (typed without echo on a terminal). */
async function readPassword(): Promise<string> {
  const fromEnv = process.env.ATTACHE_PASSWORD;
  if (fromEnv) return fromEnv;
  const stdin = process.stdin;
  if (stdin.isTTY) {
    process.stderr.write('Password: ');
    stdin.setRawMode(true);
  }
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const done = () => {
      if (stdin.isTTY) {
        stdin.setRawMode(false);
        process.stderr.write('\n');
      }
      stdin.pause();
      stdin.removeAllListeners('data');
      resolve(Buffer.concat(chunks).toString('utf8').split(/\r?\n|\r/)[0]);
    };
    stdin.on('data', (chunk: Buffer) => {
      if (stdin.isTTY && chunk.includes(3)) return reject(new Error('interrupted'));
      chunks.push(chunk);
      if (stdin.isTTY && /[\r\n]/.test(chunk.toString('utf8'))) done();
    });
    stdin.once('end', done);
    stdin.once('error', reject);
  });
}

export function passwordCommands(program: Command): void {
  program
    .command('accounts:password')
    .description("Set an account's password for signing in to Attache's pages (from ATTACHE_PASSWORD or stdin); signs out its browsers")
    .argument('<email>', 'email address of the account')
    .action(async (email: string) => {
      const password = await readPassword();
      const account = await withContext((ctx) => ctx.get(AccountPasswords).setByEmail(email, password));
      process.stdout.write(`Password set for ${account.email}; its browser sessions were signed out.\n`);
    });
}
