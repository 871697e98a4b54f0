import { main } from './cli';
import { exitOnInterrupt } from './io/interrupt';

// The AWS SDK warns on every run that future releases will need Node 22; wavectl pins SDK versions that
// support Node 20, so that notice is noise on an operator's terminal and in a CI log.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : warning.message;
  const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  if (type === 'NodeVersionSupportWarning' || /will require node >=22/.test(text)) return;
  // biome-ignore lint/suspicious/noExplicitAny: forwarding the original overloads
  (emitWarning as any)(warning, ...rest);
}) as typeof process.emitWarning;

const argv = process.argv.slice(2);
main(argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
  onCommand: ({ name, json }) => {
    // These stop cleanly on SIGINT by themselves: the controller server (its database included), and
    // `devices watch` and `logs` (`--follow`), for which Ctrl-C is the normal end (exit 0); `logs` has
    // nothing to finish either.
    if (name !== 'controller serve' && name !== 'devices watch' && name !== 'logs') {
      exitOnInterrupt(argv, { stdout: process.stdout, stderr: process.stderr, json }, process.exit);
    }
  },
}).then((code) => {
  process.exitCode = code;
});
