import { UsageError } from '../errors';
import type { LogTarget } from '../logs/script';
import type { CommandDefinition } from './command';
import { wholeNumber } from './numbers';

interface LogsOptions {
  since: string;
  follow?: boolean;
  lines: string;
}

export const logsCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('logs')
      .description(
        'the journal of the controller, Kasm (with its containers) or access server K, through SSM; secrets masked',
      )
      .argument('<target>', 'controller, kasm or access-server')
      .argument('[index]', 'with access-server: its index K')
      .option('--since <duration>', 'how far back (30m, 1h, 2d)', '1h')
      .option('--lines <count>', 'at most this many lines per source', '200')
      .option('--follow', 'keep reading new lines every few seconds until Ctrl-C')
      .action(
        run<LogsOptions>(async (ctx, options, [name, index]) => {
          const { parseSince } = await import('../logs/script');
          const target: LogTarget | undefined =
            name === 'controller' || name === 'kasm'
              ? { kind: name }
              : name === 'access-server'
                ? { kind: 'access-server', index: wholeNumber('access-server K', index, 0, 63) }
                : undefined;
          if (!target)
            throw new UsageError(`logs: the target is controller, kasm or access-server K, not "${name}"`);
          if (target.kind !== 'access-server' && index !== undefined)
            throw new UsageError(`logs ${name} takes no index`);
          const settings = {
            sinceSeconds: parseSince(options.since),
            lines: wholeNumber('--lines', options.lines, 1, 10000),
            follow: options.follow === true,
          };
          const { readLogs, renderLogs } = await import('../logs/fetch');
          const result = await readLogs(ctx, target, settings);
          if (result) ctx.io.result(result, renderLogs);
        }),
      );
  },
};
